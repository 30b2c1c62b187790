/**
 * The test side of a fleet of worker processes (fixtures/fleet-worker.ts, fixtures/dpop-fleet-worker.ts, on
 * fixtures/worker-common.ts): forks each one with tsx, keeps what it reports and writes, sends it bursts and
 * collects their results, and stops the fleet.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { BurstOrder, WorkerReport } from '../fixtures/worker-common.js';

/** Processes in a fleet (half of them on ioredis, half on node-redis). */
export const FLEET_SIZE = 8;
/** Concurrent API calls per process in a burst. */
export const CONCURRENCY = 100;
/**
 * The store call time limit of the workers' providers (their Redis commands' is 100 ms less). 8 processes
 * answering 100 requests each saturate a 2-CPU runner: at the default 250 ms a process that was not scheduled,
 * or a starved redis-server, looks like an outage and the process fetches alone. The fleet suites are about
 * sharing, so they give Redis a second; their outage tests stop Redis for real.
 */
export const STORE_TIMEOUT_MS = 1_000;

/** The Redis client a worker uses. */
export type RedisClientKind = 'ioredis' | 'node-redis';

/** How a burst went: the calls answered 200, and a message for each other one (`<worker id>: <message>`). */
export interface BurstResult {
  ok: number;
  failures: string[];
}

/** A worker process: `M` is what it reports, `O` the burst orders it takes. */
export interface FleetProcess<M extends { type: string }, O extends BurstOrder> {
  id: string;
  client: RedisClientKind;
  proc: ChildProcess;
  /** Everything it reported over IPC, in order. */
  readonly messages: M[];
  /** What it wrote to stdout and stderr. */
  stdout: string;
  stderr: string;
  /** Resolves on the next message matching `match`. */
  next<T extends M>(match: (m: M) => m is T): Promise<T>;
  /** Sends it a burst order; resolves when it reports the burst done, rejects if it exits first. */
  burst(order: Omit<O, 'type' | 'id'>): Promise<BurstResult>;
}

/** What {@link forkWorker} gives a worker, in its environment (with FLEET_STORE_TIMEOUT_MS: {@link STORE_TIMEOUT_MS}). */
export interface WorkerOptions {
  /** FLEET_WORKER. */
  id: string;
  /** FLEET_CLIENT. */
  client: RedisClientKind;
  /** FLEET_REDIS_PATH: the redis-server's Unix socket. */
  redisPath: string;
  /** The worker's own settings. */
  env: Record<string, string>;
}

type BurstDone = Extract<WorkerReport, { type: 'burst-done' }>;

const isBurstDone = (m: { type: string }): m is BurstDone => m.type === 'burst-done';

let burstIds = 0;

/** Forks `script` (`node --import tsx`) as a worker; resolves once it reports ready, rejects if it exits first. */
export async function forkWorker<M extends { type: string }, O extends BurstOrder>(
  script: string,
  options: WorkerOptions,
): Promise<FleetProcess<M, O>> {
  const { id, client } = options;
  const proc = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: {
      ...process.env,
      FLEET_WORKER: id,
      FLEET_CLIENT: client,
      FLEET_REDIS_PATH: options.redisPath,
      FLEET_STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS),
      ...options.env,
    },
  });
  const waiters = new Set<{ match: (m: M) => boolean; resolve: (m: M) => void }>();
  /** The next message matching `match`; with `beforeExit`, rejects if the process exits first. */
  const waitFor = (match: (m: M) => boolean, beforeExit?: string) =>
    new Promise<M>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) => {
        waiters.delete(waiter);
        reject(new Error(`worker ${id} exited (${code ?? signal}) ${beforeExit}:\n${worker.stderr}`));
      };
      const waiter = {
        match,
        resolve: (m: M) => {
          proc.off('exit', onExit);
          resolve(m);
        },
      };
      waiters.add(waiter);
      if (beforeExit === undefined) return;
      if (proc.exitCode !== null || proc.signalCode !== null) onExit(proc.exitCode, proc.signalCode);
      else proc.once('exit', onExit);
    });
  const worker: FleetProcess<M, O> = {
    id,
    client,
    proc,
    messages: [],
    stdout: '',
    stderr: '',
    next: <T extends M>(match: (m: M) => m is T) => waitFor(match) as Promise<T>,
    burst: async (order) => {
      const burstId = ++burstIds;
      const done = waitFor((m) => isBurstDone(m) && m.id === burstId, 'mid-burst');
      proc.send({ ...order, type: 'burst', id: burstId });
      const { ok, failures } = (await done) as unknown as BurstDone;
      return { ok, failures: failures.map((f) => `${id}: ${f}`) };
    },
  };
  proc.stdout!.on('data', (chunk: Buffer) => (worker.stdout += chunk.toString()));
  proc.stderr!.on('data', (chunk: Buffer) => (worker.stderr += chunk.toString()));
  proc.on('message', (message: M) => {
    worker.messages.push(message);
    for (const waiter of waiters) {
      if (waiter.match(message)) {
        waiters.delete(waiter);
        waiter.resolve(message);
      }
    }
  });
  await waitFor((m) => m.type === 'ready', 'before it was ready');
  return worker;
}

/** A burst from every worker at once: the total of calls answered 200, and every failure. */
export async function burstAll<O extends BurstOrder>(
  workers: readonly Pick<FleetProcess<{ type: string }, O>, 'burst'>[],
  order: Omit<O, 'type' | 'id'>,
): Promise<BurstResult> {
  const results = await Promise.all(workers.map((w) => w.burst(order)));
  return { ok: results.reduce((n, r) => n + r.ok, 0), failures: results.flatMap((r) => r.failures) };
}

/** Closes every worker's IPC channel (which ends it) and resolves once all have exited. */
export async function stopFleet(workers: readonly { proc: ChildProcess }[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.proc.exitCode !== null || w.proc.signalCode !== null) return resolve();
          w.proc.once('exit', () => resolve());
          w.proc.disconnect();
        }),
    ),
  );
}
