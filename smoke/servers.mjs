// The loopback servers every smoke client talks to, run by smoke/run.mjs in its own Node process:
//   main  — POST /token (the token endpoint), GET /data and POST /forbidden (the API), /control/* (the test's
//           switches and counters);
//   other — another origin, which must never see a token.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req) {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => resolve(body));
  });
}

function listen(handler) {
  const server = createServer((req, res) => {
    handler(req, res).catch((error) => json(res, 500, { error: String(error) }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const fresh = () => ({
  tokenRequests: 0,
  tokenDelayMs: 0,
  issued: new Set(),
  revoked: new Set(),
  api: { 200: 0, 401: 0, 403: 0 },
  otherAuthorization: [],
  basicCredentials: [],
});

export async function startServers() {
  let state = fresh();

  const main = await listen(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/token' && req.method === 'POST') {
      const body = new URLSearchParams(await readBody(req));
      state.tokenRequests++;
      state.basicCredentials.push(req.headers.authorization ?? null);
      if (body.get('grant_type') !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
      if (state.tokenDelayMs) await new Promise((resolve) => setTimeout(resolve, state.tokenDelayMs));
      const token = `smoke-${state.tokenRequests}-${randomBytes(12).toString('base64url')}`;
      state.issued.add(token);
      return json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600, scope: 'x/read' });
    }
    if (url.pathname.startsWith('/control/')) {
      const what = url.pathname.slice('/control/'.length);
      if (what === 'reset') state = fresh();
      else if (what === 'revoke') for (const token of state.issued) state.revoked.add(token);
      else if (what === 'delay') state.tokenDelayMs = Number(url.searchParams.get('ms'));
      return json(res, 200, {
        tokenRequests: state.tokenRequests,
        api: state.api,
        otherAuthorization: state.otherAuthorization,
        basicCredentials: state.basicCredentials,
      });
    }
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !state.issued.has(token) || state.revoked.has(token)) {
      state.api[401]++;
      return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (url.pathname === '/forbidden') {
      state.api[403]++;
      return json(
        res,
        403,
        { error: 'insufficient_scope' },
        { 'www-authenticate': 'Bearer error="insufficient_scope", scope="x/write"' },
      );
    }
    state.api[200]++;
    return json(res, 200, { ok: true, path: url.pathname });
  });

  const other = await listen(async (req, res) => {
    state.otherAuthorization.push(req.headers.authorization ?? null);
    return json(res, 200, { other: true });
  });

  const url = (server) => `http://127.0.0.1:${server.address().port}`;
  return {
    urls: { main: url(main), other: url(other) },
    close: () =>
      Promise.all([main, other].map((server) => new Promise((resolve) => server.close(resolve)))).then(() => undefined),
  };
}
