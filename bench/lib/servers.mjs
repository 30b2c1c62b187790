// Loopback servers for the benchmark: an authorization server that issues opaque tokens by the
// client credentials grant, and an API that accepts only tokens the authorization server issued,
// not revoked and not expired. Both count what they see; both listen on 127.0.0.1 only.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { now } from './clock.mjs';

export const CLIENT = Object.freeze({ id: 'bench-client', secret: 'bench-secret-0123456789abcdef' });

/** Starts `server` (a node:http server) on 127.0.0.1 at a free port; resolves to its base URL. */
export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

/** Closes `server` and every connection it holds, idle keep-alive ones included; resolves once it is closed. */
export function close(server) {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
  });
}

/** The client id and secret of a token request, from HTTP Basic (RFC 6749 §2.3.1) or the form body. */
function credentials(req, form) {
  const header = req.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const [id, secret] = Buffer.from(header.slice(6), 'base64').toString().split(':').map(decodeURIComponent);
    return { id, secret };
  }
  return { id: form.get('client_id'), secret: form.get('client_secret') };
}

/**
 * Authorization server. `mode` 'ok' issues tokens after `delayMs`; 'fail' answers 500 to every
 * token request. `requests` counts token requests; `issued` maps each token to its issue and expiry
 * times (ms, {@link now}).
 */
export async function startAuthServer({ delayMs = 20, expiresInS = 3600 } = {}) {
  const auth = {
    url: '',
    tokenUrl: '',
    mode: 'ok',
    delayMs,
    expiresInS,
    requests: 0,
    issued: new Map(),
    revoked: new Set(),
    /** Marks every token issued so far as revoked: the API answers 401 to them. */
    revokeAll() {
      for (const token of this.issued.keys()) this.revoked.add(token);
    },
    /** Whether the API should accept `token` now. */
    accepts(token) {
      const info = token === undefined ? undefined : this.issued.get(token);
      return info !== undefined && !this.revoked.has(token) && now() < info.expiresAt;
    },
    close: () => close(server),
  };
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST' || !req.url.startsWith('/token')) {
      res.writeHead(404).end();
      return;
    }
    auth.requests++;
    const form = new URLSearchParams(await readBody(req));
    if (auth.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, auth.delayMs));
    const json = (status, body) =>
      res
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
    if (auth.mode === 'fail')
      return json(500, { error: 'server_error', error_description: 'benchmark: always failing' });
    const { id, secret } = credentials(req, form);
    if (form.get('grant_type') !== 'client_credentials' || id !== CLIENT.id || secret !== CLIENT.secret) {
      return json(401, { error: 'invalid_client' });
    }
    const token = `t${auth.requests}.${randomBytes(12).toString('base64url')}`;
    const issuedAt = now();
    auth.issued.set(token, { issuedAt, expiresAt: issuedAt + auth.expiresInS * 1000 });
    json(200, { access_token: token, token_type: 'Bearer', expires_in: auth.expiresInS });
  });
  auth.url = await listen(server);
  auth.tokenUrl = `${auth.url}/token`;
  return auth;
}

/**
 * API server accepting only tokens `auth` issued and still considers valid; 401 otherwise.
 * `requests` and `unauthorized` count what it saw; with `trace` on, each request's `x-bench-id`,
 * token and arrival time is kept in `trace` (cleared by the caller).
 */
export async function startApiServer(auth) {
  const api = {
    url: '',
    requests: 0,
    unauthorized: 0,
    tracing: false,
    trace: [],
    close: () => close(server),
  };
  const server = createServer((req, res) => {
    api.requests++;
    const header = req.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : undefined;
    const ok = auth.accepts(token);
    if (api.tracing) api.trace.push({ id: req.headers['x-bench-id'], token, at: now(), status: ok ? 200 : 401 });
    if (!ok) {
      api.unauthorized++;
      res
        .writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' })
        .end('{"error":"invalid_token"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  api.url = await listen(server);
  return api;
}

/** An authorization server and an API that trusts it. */
export async function startServers(options) {
  const auth = await startAuthServer(options);
  const api = await startApiServer(auth);
  return { auth, api, close: async () => Promise.all([api.close(), auth.close()]) };
}

/** Runs `fn(servers)` against a fresh pair of servers and closes them afterwards. */
export async function withServers(options, fn) {
  const servers = await startServers(options);
  try {
    return await fn(servers);
  } finally {
    await servers.close();
  }
}
