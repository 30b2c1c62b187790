/** Small tools shared by the issue-4 suites: form and Basic decoding, a manual clock, waiting for a condition. */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { SeenRequest } from '../http.js';

/** The form fields of a token request. */
export function formOf(req: SeenRequest): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
}

/** `Basic base64(urlencode(id):urlencode(secret))` as RFC 6749 §2.3.1 builds it. */
export function basicOf(clientId: string, clientSecret: string): string {
  const enc = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString('base64')}`;
}

/** The client id and secret of an `Authorization: Basic` header, decoded as RFC 6749 §2.3.1 says. */
export function decodeBasic(header: string | undefined): { clientId: string; clientSecret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const text = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  return { clientId: dec(text.slice(0, colon)), clientSecret: dec(text.slice(colon + 1)) };
}

/** A clock the test moves by hand, for the provider's `now` option. */
export function manualClock(start = Date.now()): {
  now: () => number;
  advance(ms: number): void;
  set(ms: number): void;
} {
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      time += ms;
    },
    set(ms) {
      time = ms;
    },
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Waits until `condition()` holds, checking on every turn of the event loop; fails after `timeoutMs` (a generous bound, never a timing assertion). */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Whether a promise has settled, without waiting for it. */
export function track<T>(promise: Promise<T>): { readonly settled: boolean; promise: Promise<T> } {
  const state = { settled: false };
  promise.then(
    () => void (state.settled = true),
    () => void (state.settled = true),
  );
  return {
    get settled() {
      return state.settled;
    },
    promise,
  };
}

/** A loopback URL on which nothing listens (a port taken from the OS, then released). */
export async function closedPortUrl(path = '/oauth/v2/token'): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
}

/** Rejection value of a promise that must reject. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
