import type { ServerResponse } from 'node:http';
import { cleanup, json, startServer, type SeenRequest, type TestServer } from './http.js';

/** What the fake authorization server answers to one token request; default: a fresh token. */
export type TokenReply = (req: SeenRequest, res: ServerResponse, n: number) => void | Promise<void>;

export interface AuthServer extends TestServer {
  tokenUrl: string;
  /** Token requests received. */
  readonly tokenRequests: SeenRequest[];
  /** Tokens issued, in order. */
  readonly issued: string[];
  /** Queues special replies for the next token requests. */
  next(...replies: TokenReply[]): void;
  /** expires_in of the default reply (undefined: omitted). */
  expiresIn: number | string | undefined;
  /** Extra fields of the default reply. */
  extra: Record<string, unknown>;
}

/** A loopback token endpoint at /oauth/v2/token issuing opaque tokens `tok-1`, `tok-2`, … */
export async function startAuthServer(): Promise<AuthServer> {
  const queue: TokenReply[] = [];
  const issued: string[] = [];
  let count = 0;
  const state = { expiresIn: 3600 as number | string | undefined, extra: {} as Record<string, unknown> };
  const server = await startServer(async (req, res) => {
    if (!req.url.startsWith('/oauth/v2/token')) return json(res, 404, { error: 'not_found' });
    count++;
    const reply = queue.shift();
    if (reply) return reply(req, res, count);
    const token = `tok-${count}`;
    issued.push(token);
    json(res, 200, {
      access_token: token,
      token_type: 'Bearer',
      ...(state.expiresIn === undefined ? {} : { expires_in: state.expiresIn }),
      ...state.extra,
    });
  });
  const result = server as AuthServer;
  Object.defineProperties(result, {
    tokenUrl: { value: `${server.url}/oauth/v2/token` },
    tokenRequests: { get: () => server.requests.filter((r) => r.url.startsWith('/oauth/v2/token')) },
    issued: { value: issued },
    next: { value: (...replies: TokenReply[]) => void queue.push(...replies) },
    expiresIn: { get: () => state.expiresIn, set: (v: number | string | undefined) => void (state.expiresIn = v) },
    extra: { get: () => state.extra, set: (v: Record<string, unknown>) => void (state.extra = v) },
  });
  cleanup.push(() => result.close());
  return result;
}

export interface ApiServer extends TestServer {
  /** Tokens the API accepts; by default every token the auth server issued that is not revoked. */
  revoke(): void;
  /** Bearer tokens seen on API requests, in order. */
  readonly seenTokens: (string | undefined)[];
  /** Count of 401 answers. */
  unauthorized: number;
}

/**
 * A loopback resource server: 200 with `{ ok, path, body }` for a token the
 * auth server issued and that is not revoked, else 401 with a Bearer challenge.
 * `/forbidden` answers 403 insufficient_scope; `/redirect?to=URL` answers 302.
 */
export async function startApiServer(auth: AuthServer): Promise<ApiServer> {
  const revoked = new Set<string>();
  const seenTokens: (string | undefined)[] = [];
  const stats = { unauthorized: 0 };
  const server = await startServer((req, res) => {
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    seenTokens.push(token);
    const url = new URL(req.url, 'http://x');
    if (url.pathname.endsWith('/redirect')) {
      res.writeHead(302, { Location: url.searchParams.get('to') ?? '/' });
      res.end();
      return;
    }
    if (!token || !auth.issued.includes(token) || revoked.has(token)) {
      stats.unauthorized++;
      return json(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    if (url.pathname.endsWith('/forbidden')) {
      return json(
        res,
        403,
        { error: 'forbidden' },
        { 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="moneyMovement/write"' },
      );
    }
    json(res, 200, {
      ok: true,
      path: req.url,
      method: req.method,
      contentType: req.headers['content-type'] ?? null,
      body: req.body.toString('base64'),
    });
  });
  const result = server as ApiServer;
  Object.defineProperties(result, {
    revoke: { value: () => auth.issued.forEach((t) => revoked.add(t)) },
    seenTokens: { value: seenTokens },
    unauthorized: { get: () => stats.unauthorized, set: (v: number) => void (stats.unauthorized = v) },
  });
  cleanup.push(() => result.close());
  return result;
}
