/**
 * jose from a jest suite. jose 6 is ESM-only and a CommonJS jest suite cannot load it (jest's
 * module registry has no require(esm) before Node 24.9), so it runs in a worker thread, which is
 * plain Node and imports it natively. The suite signs and verifies JWTs through messages.
 */
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { cleanup } from '../http.js';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ready = import(workerData.joseUrl).then(async (jose) => {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
  return { jose, publicKey, privateKey };
});
parentPort.on('message', async ({ id, op, claims, token }) => {
  try {
    const { jose, publicKey, privateKey } = await ready;
    if (op === 'sign') {
      const jwt = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(privateKey);
      parentPort.postMessage({ id, ok: true, value: jwt });
    } else {
      const { payload } = await jose.jwtVerify(token, publicKey, { algorithms: ['ES256'] });
      parentPort.postMessage({ id, ok: true, value: payload });
    }
  } catch (error) {
    parentPort.postMessage({ id, ok: false, value: String(error && error.code || error) });
  }
});
`;

export interface JwtKit {
  /** Signs `claims` (ES256) with jose. */
  sign(claims: Record<string, unknown>): Promise<string>;
  /** Verifies a JWT with jose (signature and `exp`, against the real clock); resolves its claims or rejects with jose's error code. */
  verify(token: string): Promise<Record<string, unknown>>;
}

/** Starts a jose worker with a fresh ES256 key pair; it is terminated with the test's servers. */
export function startJose(): JwtKit {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { joseUrl: pathToFileURL(require.resolve('jose')).href },
  });
  worker.unref();
  let next = 0;
  const waiting = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  worker.on('message', ({ id, ok, value }: { id: number; ok: boolean; value: unknown }) => {
    const entry = waiting.get(id);
    waiting.delete(id);
    if (ok) entry?.resolve(value as never);
    else entry?.reject(new Error(String(value)));
  });
  worker.on('error', (error) => {
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
  });
  cleanup.push(() => worker.terminate().then(() => undefined));
  const call = <T>(message: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: resolve as (v: never) => void, reject });
      worker.postMessage({ id, ...message });
    });
  return {
    sign: (claims) => call<string>({ op: 'sign', claims }),
    verify: (token) => call<Record<string, unknown>>({ op: 'verify', token }),
  };
}
