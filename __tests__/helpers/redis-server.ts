// Starts a real, throwaway redis-server for tests: no persistence, its own temp dir, listening on a
// private unix socket (or, for cluster mode, a free loopback port). It can be stopped and started again
// on the same address mid-test, to show what happens while Redis is down and after it is back.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** Listen on a free loopback TCP port instead of a unix socket (needed for cluster mode). @default false */
  tcp?: boolean;
  /** Start with `cluster-enabled yes` and assign all 16384 slots to this one node. Implies `tcp`. @default false */
  cluster?: boolean;
}

export interface RedisServer {
  /** Unix socket path, when listening on one. */
  readonly path: string | undefined;
  /** Loopback TCP port, when listening on one. */
  readonly port: number | undefined;
  /** ioredis / node-redis connection options for this server. */
  readonly ioredisOptions: { path: string } | { host: string; port: number };
  readonly nodeRedisOptions: { socket: { path: string } | { host: string; port: number } };
  /** Whether the server process is running. */
  readonly running: boolean;
  /** Sends one command over a fresh connection and resolves to the raw RESP reply text. */
  command(...args: string[]): Promise<string>;
  /** Stops the server (SIGTERM, or SIGKILL with `{ kill: true }`) and resolves when it has exited. */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Starts it again on the same socket/port, with an empty dataset; resolves when it accepts connections. */
  start(): Promise<void>;
  /** Stops the server and removes its temp dir. */
  close(): Promise<void>;
}

const READY = /ready to accept connections/i;

/** A loopback port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function encode(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

/** Sends one RESP command and resolves to the first complete reply line(s) the server sends. */
function rawCommand(target: { path: string } | { host: string; port: number }, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (isCompleteReply(reply)) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('connect', () => socket.write(encode(args)));
    if ('path' in target) socket.connect(target.path);
    else socket.connect(target.port, target.host);
  });
}

/** Whether `text` holds one complete simple, error, integer or bulk-string reply. */
function isCompleteReply(text: string): boolean {
  const end = text.indexOf('\r\n');
  if (end < 0) return false;
  if (text[0] !== '$') return true;
  const length = Number(text.slice(1, end));
  return length < 0 || text.length >= end + 2 + length + 2;
}

/**
 * Starts a redis-server (`--save '' --appendonly no`) in a fresh temp dir and resolves once it logs that
 * it accepts connections.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const cluster = options.cluster ?? false;
  const tcp = options.tcp ?? cluster;
  const dir = mkdtempSync(join(tmpdir(), 'acc-redis-'));
  const path = tcp ? undefined : join(dir, 'redis.sock');
  let port = tcp ? await freePort() : undefined;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const target = () => (path ? { path } : { host: '127.0.0.1', port: port! });

  const args = () => [
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--bind',
    '127.0.0.1',
    '--protected-mode',
    'no',
    ...(path ? ['--port', '0', '--unixsocket', path, '--unixsocketperm', '700'] : ['--port', String(port)]),
    ...(cluster
      ? [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, 'nodes.conf'),
          '--cluster-announce-ip',
          '127.0.0.1',
        ]
      : []),
  ];

  /** Spawns redis-server; resolves when ready, rejects with its log if it exits first. */
  const spawnOnce = () =>
    new Promise<void>((resolve, reject) => {
      const proc = spawn('redis-server', args(), { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      // If the test process ends without close() (a crash, a forced exit), take the server and its
      // dir down with it.
      const killOnExit = () => {
        proc.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      };
      process.once('exit', killOnExit);
      proc.once('exit', () => process.off('exit', killOnExit));
      let log = '';
      let ready = false;
      exited = new Promise<void>((done) => proc.once('exit', () => done()));
      proc.once('error', reject);
      proc.once('exit', (code, signal) => {
        if (child === proc) child = undefined;
        if (!ready) reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${log}`));
      });
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (!ready && READY.test(log)) {
          ready = true;
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onData);
    });

  const start = async () => {
    if (child) throw new Error('redis-server is already running');
    for (let attempt = 0; ; attempt++) {
      try {
        await spawnOnce();
        break;
      } catch (error) {
        // Another process took the port between freePort() and the bind: pick another one.
        if (!tcp || attempt >= 5 || !/Address already in use/i.test(String(error))) throw error;
        port = await freePort();
      }
    }
    if (cluster) await assignAllSlots();
  };

  const assignAllSlots = async () => {
    const added = await rawCommand(target(), ['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
    if (!added.startsWith('+OK')) throw new Error(`CLUSTER ADDSLOTSRANGE failed: ${added}`);
    // The node turns its state to ok on its own cron tick; CLUSTER INFO is the signal.
    for (;;) {
      const info = await rawCommand(target(), ['CLUSTER', 'INFO']);
      if (info.includes('cluster_state:ok')) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const stop = async ({ kill = false } = {}) => {
    const proc = child;
    if (!proc) return;
    const done = exited;
    proc.kill(kill ? 'SIGKILL' : 'SIGTERM');
    await done;
  };

  await start();

  return {
    get path() {
      return path;
    },
    get port() {
      return port;
    },
    get ioredisOptions() {
      return target();
    },
    get nodeRedisOptions() {
      return { socket: target() };
    },
    get running() {
      return child !== undefined;
    },
    command: (...commandArgs) => rawCommand(target(), commandArgs),
    stop,
    start: async () => {
      if (cluster) rmSync(join(dir, 'nodes.conf'), { force: true });
      await start();
    },
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
