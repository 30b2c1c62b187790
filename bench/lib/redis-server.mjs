// A throwaway redis-server for the benchmark: its own temp dir, no persistence, no TCP port,
// listening only on a private unix socket. stop() ends it and removes the dir; it is also killed
// if the bench process exits first.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const READY = /ready to accept connections/i;

export async function startRedisServer({ timeoutMs = 10_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'acc-bench-redis-'));
  const path = join(dir, 'redis.sock');
  const proc = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', path, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const stopSync = () => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync); // never leave it behind, even if the bench dies
  try {
    await new Promise((resolve, reject) => {
      let log = '';
      const timer = setTimeout(
        () => reject(new Error(`redis-server not ready within ${timeoutMs} ms:\n${log}`)),
        timeoutMs,
      );
      const onData = (chunk) => {
        log += chunk;
        if (READY.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${log}`));
      });
    });
  } catch (error) {
    process.off('exit', stopSync);
    stopSync();
    throw error;
  }
  return {
    path,
    pid: proc.pid,
    async stop() {
      process.off('exit', stopSync);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
