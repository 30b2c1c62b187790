/**
 * A scriptable loopback token endpoint for the misbehaviour suites (retry, refresh, events), and
 * an API that checks every token against what the endpoint issued, expiry included, by its own clock.
 */
import type { ServerResponse } from 'node:http';
import { json, startServer, type SeenRequest, type TestServer } from '../http.js';

/** What the endpoint does with one token request. */
export type Step =
  /** Answer this status, body and headers. */
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** Issue a fresh token. */
  | 'token'
  /** Never answer. */
  | 'hang'
  /** Destroy the connection before any answer. */
  | 'reset'
  /** Send the status line, headers and half of a body, then destroy the connection. */
  | 'cut'
  | ((req: SeenRequest, res: ServerResponse, n: number) => void | Promise<void>);

export interface Issued {
  token: string;
  /** By the server's clock, ms. */
  issuedAt: number;
  expiresAt: number;
}

export interface TokenEndpoint extends TestServer {
  tokenUrl: string;
  /** Token requests, in order of arrival. */
  readonly tokenRequests: SeenRequest[];
  /** `Date.now()` at each token request's arrival. */
  readonly arrivals: number[];
  readonly issued: Issued[];
  /** Queues steps for the next token requests; afterwards every request gets `fallback`. */
  script(...steps: Step[]): void;
  fallback: Step;
  /** `expires_in` of issued tokens (undefined: omitted). */
  expiresIn: number | undefined;
  /** Extra fields of a token answer. */
  extra: Record<string, unknown>;
  /** Delay of every answer, in ms. */
  delayMs: number;
  /** Holds every answer until the returned function is called. */
  hold(): () => void;
}

let serial = 0;

export async function startTokenEndpoint(path = '/oauth/v2/token'): Promise<TokenEndpoint> {
  const queue: Step[] = [];
  const arrivals: number[] = [];
  const issued: Issued[] = [];
  const tokenRequests: SeenRequest[] = [];
  const state = {
    fallback: 'token' as Step,
    expiresIn: 3600 as number | undefined,
    extra: {} as Record<string, unknown>,
    delayMs: 0,
    gate: undefined as Promise<void> | undefined,
  };
  let count = 0;
  const server = await startServer(async (req, res) => {
    if (req.url.split('?')[0] !== path) return json(res, 404, { error: 'not_found' });
    arrivals.push(Date.now());
    tokenRequests.push(req);
    const n = ++count;
    const step = queue.shift() ?? state.fallback;
    if (step === 'hang') return;
    if (step === 'reset') return void res.socket?.destroy();
    if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
    if (state.gate) await state.gate;
    if (step === 'cut') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '200' });
      res.write('{"access_token":"half-of-a');
      setTimeout(() => res.socket?.destroy(), 5);
      return;
    }
    if (typeof step === 'function') return step(req, res, n);
    if (step !== 'token') return json(res, step.status, step.body ?? {}, step.headers);
    const token = `at-${++serial}-${n}-${Math.random().toString(36).slice(2, 10)}`;
    const now = Date.now();
    issued.push({ token, issuedAt: now, expiresAt: now + (state.expiresIn ?? 3600) * 1000 });
    json(res, 200, {
      access_token: token,
      token_type: 'Bearer',
      ...(state.expiresIn === undefined ? {} : { expires_in: state.expiresIn }),
      ...state.extra,
    });
  });
  const accessor = <K extends keyof typeof state>(key: K) => ({
    get: () => state[key],
    set: (value: (typeof state)[K]) => void (state[key] = value),
    enumerable: true,
  });
  return Object.defineProperties(server, {
    tokenUrl: { value: `${server.url}${path}`, enumerable: true },
    tokenRequests: { value: tokenRequests, enumerable: true },
    arrivals: { value: arrivals, enumerable: true },
    issued: { value: issued, enumerable: true },
    script: { value: (...steps: Step[]) => void queue.push(...steps) },
    fallback: accessor('fallback'),
    expiresIn: accessor('expiresIn'),
    extra: accessor('extra'),
    delayMs: accessor('delayMs'),
    hold: {
      value: () => {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        state.gate = gate;
        return () => {
          if (state.gate === gate) state.gate = undefined;
          release();
        };
      },
    },
  }) as TokenEndpoint;
}

export interface CheckedCall {
  token: string | undefined;
  /** Why the API refused it, or `ok`. */
  verdict: 'ok' | 'missing' | 'unknown' | 'expired';
  /** Ms the token had left by the server's clock when it arrived (negative: expired). */
  leftMs: number | undefined;
}

export interface CheckingApi extends TestServer {
  readonly calls: CheckedCall[];
}

/** An API that accepts only tokens `endpoint` issued and that have not expired by its own clock; 401 otherwise. */
export async function startCheckingApi(endpoint: TokenEndpoint): Promise<CheckingApi> {
  const calls: CheckedCall[] = [];
  const server = await startServer((req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const found = token === undefined ? undefined : endpoint.issued.find((i) => i.token === token);
    const now = Date.now();
    const verdict: CheckedCall['verdict'] =
      token === undefined ? 'missing' : !found ? 'unknown' : now >= found.expiresAt ? 'expired' : 'ok';
    calls.push({ token, verdict, leftMs: found ? found.expiresAt - now : undefined });
    if (verdict === 'ok') return json(res, 200, { ok: true });
    json(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': `Bearer error="invalid_token"` });
  });
  return Object.assign(server, { calls });
}
