import axios, { AxiosError } from 'axios';
import { inspect } from 'node:util';
import { Readable } from 'node:stream';
import FormDataPackage from 'form-data';
import { ClientCredentialsProvider, attachAuth } from '../src/index.js';
import type { ClientCredentialsOptions } from '../src/index.js';
import { json, startServer } from './helpers/http.js';
import { startApiServer, startAuthServer } from './helpers/oauth.js';

async function setup(options: Partial<ClientCredentialsOptions> = {}) {
  const auth = await startAuthServer();
  const api = await startApiServer(auth);
  const provider = new ClientCredentialsProvider({
    tokenUrl: auth.tokenUrl,
    clientId: 'id',
    clientSecret: 'secret',
    ...options,
  });
  const client = axios.create({ baseURL: `${api.url}/banking` });
  const handle = attachAuth(client, provider);
  return { auth, api, provider, client, handle };
}

describe('the Authorization header', () => {
  test('is "<token_type> <access_token>", with bearer in any case sent as Bearer', async () => {
    const { auth, api, client } = await setup();
    auth.extra = { token_type: 'bearer' };
    await client.get('/accounts');
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
  });

  test('replaces a lowercase authorization default header of the instance, never sending two', async () => {
    const { api, client } = await setup();
    client.defaults.headers.common.authorization = 'Bearer stale-default';
    await client.get('/accounts');
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    const names = api.requests[0]!.rawHeaders.filter(
      (_, i) => i % 2 === 0 && /^authorization$/i.test(api.requests[0]!.rawHeaders[i]!),
    );
    expect(names).toHaveLength(1);
  });

  test('is not added to a request that carries its own', async () => {
    const { auth, api, client } = await setup();
    await client.get('/accounts', { headers: { Authorization: 'Basic dXNlcjpwYXNz' } }).catch(() => undefined);
    expect(api.requests[0]!.headers.authorization).toBe('Basic dXNlcjpwYXNz');
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('is not added with clientCredentials.skip', async () => {
    const { auth, api, client } = await setup();
    await client.get('/public', { clientCredentials: { skip: true } }).catch(() => undefined);
    expect(api.requests[0]!.headers.authorization).toBeUndefined();
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('comes from one token request for every instance that shares the provider', async () => {
    const { auth, api, provider, client } = await setup();
    const other = axios.create({ baseURL: api.url });
    attachAuth(other, provider);
    await Promise.all([
      ...Array.from({ length: 50 }, () => client.get('/a')),
      ...Array.from({ length: 50 }, () => other.get('/b')),
    ]);
    expect(auth.tokenRequests).toHaveLength(1);
  });

  test('is no longer added after detach()', async () => {
    const { api, client, handle } = await setup();
    handle.detach();
    await client.get('/accounts').catch(() => undefined);
    expect(api.requests[0]!.headers.authorization).toBeUndefined();
  });
});

describe('origins', () => {
  test('the token goes only to the origin of baseURL by default, never to another absolute URL', async () => {
    const { auth, client } = await setup();
    const other = await startServer((_req, res) => json(res, 200, {}));
    await client.get(`${other.url}/steal`);
    await client.get(`${other.url.replace('127.0.0.1', 'localhost')}/steal`);
    expect(other.requests.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('a protocol-relative URL never gets the token', async () => {
    const { auth, client } = await setup();
    await client.get('//127.0.0.1:1/x').catch(() => undefined);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('with allowAbsoluteUrls: false a foreign absolute url gets no token, even though axios keeps it under baseURL', async () => {
    const { auth, api, client } = await setup();
    await client.get('https://evil.example.com/x', { allowAbsoluteUrls: false }).catch(() => undefined);
    expect(api.requests[0]!.url).toBe('/banking/https://evil.example.com/x');
    expect(api.requests[0]!.headers.authorization).toBeUndefined();
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('with allowAbsoluteUrls: false an absolute url of the allowed origin gets the token', async () => {
    const { api, client } = await setup();
    await client.get(`${api.url}/x`, { allowAbsoluteUrls: false });
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
  });

  test('an explicit origins list allows those origins and no others', async () => {
    const auth = await startAuthServer();
    const a = await startApiServer(auth);
    const b = await startApiServer(auth);
    const c = await startApiServer(auth);
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create();
    attachAuth(client, provider, { origins: [a.url, `${b.url}/some/path`] });
    await client.get(`${a.url}/x`);
    await client.get(`${b.url}/x`);
    await client.get(`${c.url}/x`).catch(() => undefined);
    expect([a, b, c].map((s) => s.requests[0]!.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-1',
      undefined,
    ]);
  });

  test('a URL changed by a request interceptor registered before attachAuth is still checked', async () => {
    const auth = await startAuthServer();
    const api = await startApiServer(auth);
    const other = await startServer((_req, res) => json(res, 200, {}));
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create({ baseURL: api.url });
    // Registered first, so axios runs it after attachAuth's interceptor.
    client.interceptors.request.use((config) => ({ ...config, baseURL: other.url }));
    attachAuth(client, provider);
    await client.get('/x');
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('a URL changed by a request interceptor registered after attachAuth is checked too', async () => {
    const { api, client } = await setup();
    const other = await startServer((_req, res) => json(res, 200, {}));
    client.interceptors.request.use((config) => ({ ...config, url: `${other.url}/x` }));
    await client.get('/x');
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
    expect(api.requests).toHaveLength(0);
  });

  test('a redirect to another origin does not carry the token', async () => {
    const { api, client } = await setup();
    const other = await startServer((_req, res) => json(res, 200, {}));
    await client.get(`${api.url}/redirect?to=${encodeURIComponent(`${other.url}/landing`)}`);
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(other.requests[0]!.headers.authorization).toBeUndefined();
  });

  test('a 401 from a redirect target the token was withheld from neither drops the token nor replays', async () => {
    const { auth, api, client } = await setup();
    const other = await startServer((_req, res) => json(res, 401, {}, { 'WWW-Authenticate': 'Bearer' }));
    for (let i = 0; i < 3; i++) {
      const error = await client
        .get(`${api.url}/redirect?to=${encodeURIComponent(`${other.url}/file`)}`)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AxiosError', response: { status: 401 } });
    }
    expect(auth.tokenRequests).toHaveLength(1);
    expect(other.requests.map((r) => r.headers.authorization)).toEqual([undefined, undefined, undefined]);
  });

  test('a redirect to a subdomain, which follow-redirects would keep the header for, does not carry the token', async () => {
    const auth = await startAuthServer();
    const target = await startServer((_req, res) => json(res, 200, {}));
    const port = Number(new URL(target.url).port);
    const api = await startServer((_req, res) => {
      res.writeHead(302, { Location: `http://evil.api.test:${port}/landing` });
      res.end();
    });
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const apiPort = new URL(api.url).port;
    const client = axios.create({
      baseURL: `http://api.test:${apiPort}`,
      lookup: ((_host: string, _opts: unknown, cb: (e: null, a: string, f: number) => void) =>
        cb(null, '127.0.0.1', 4)) as never,
    });
    attachAuth(client, provider, { allowInsecureHttp: true });
    await client.get('/start');
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(target.requests[0]!.headers.host).toBe(`evil.api.test:${port}`);
    expect(target.requests[0]!.headers.authorization).toBeUndefined();
  });
});

describe('401: replay once with a fresh token', () => {
  test('a burst of 200 requests that all get 401 causes one token request and 200 successful replays', async () => {
    const { auth, api, client } = await setup();
    await client.get('/warm');
    api.revoke();
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => client.get(`/r/${i}`)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(200);
    expect(auth.tokenRequests).toHaveLength(2);
  });

  test('a 401 for a request sent with an older token is replayed with the cached token without a new grant', async () => {
    const auth = await startAuthServer();
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((r) => (releaseSlow = r));
    const api = await startServer(async (req, res) => {
      const token = req.headers.authorization?.slice('Bearer '.length);
      if (req.url === '/slow' && token === 'tok-1') {
        await slowGate;
        return json(res, 401, {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      }
      json(res, 200, { token });
    });
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    const slow = client.get('/slow'); // sent with tok-1, answered 401 later
    while (api.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await provider.getToken({ forceRefresh: true }); // tok-2 is now cached
    releaseSlow();
    const response = await slow;
    expect(response.data).toEqual({ token: 'tok-2' });
    expect(auth.tokenRequests).toHaveLength(2);
  });

  test('if the replay gets 401 again, rejects with AuthenticationError', async () => {
    const { auth, client } = await setup();
    const always401 = await startServer((_req, res) =>
      json(res, 401, { error: 'no' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }),
    );
    const c2 = axios.create({ baseURL: always401.url });
    attachAuth(c2, new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' }));
    const error = await c2.get('/x').catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'AuthenticationError',
      code: 'ERR_AUTHENTICATION',
      reason: 'rejected-after-replay',
    });
    expect(axios.isAxiosError(error)).toBe(true);
    expect((error as AxiosError).response?.status).toBe(401);
    expect(always401.requests).toHaveLength(2);
    expect((error as { challenge?: { error?: string } }).challenge?.error).toBe('invalid_token');
    void client;
  });

  test('a 401 that challenges another scheme only keeps the token and is not replayed', async () => {
    const auth = await startAuthServer();
    const api = await startServer((_req, res) =>
      json(res, 401, { title: 'bad API key' }, { 'WWW-Authenticate': 'API-Key realm="bank"' }),
    );
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    const error = await client.get('/x').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AuthenticationError', reason: 'other-scheme' });
    expect((error as Error).message).toContain('API-Key');
    expect(api.requests).toHaveLength(1);
    expect(auth.tokenRequests).toHaveLength(1);
    expect(provider.peekToken()?.accessToken).toBe('tok-1');
  });

  test('replay: false turns the replay off for one request', async () => {
    const { api, client } = await setup();
    await client.get('/warm');
    api.revoke();
    const error = await client.get('/x', { clientCredentials: { replay: false } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AuthenticationError', reason: 'replay-disabled' });
    expect(api.requests).toHaveLength(2);
  });
});

describe('bodies on replay', () => {
  const cases: [string, () => unknown, string | undefined][] = [
    ['a JSON object', () => ({ amount: 10, memo: 'rent' }), undefined],
    ['a string', () => 'plain text body', 'text/plain'],
    ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two words' }), undefined],
    ['a Buffer', () => Buffer.from([0, 1, 2, 250, 251]), 'application/octet-stream'],
    [
      'native FormData',
      () => {
        const fd = new FormData();
        fd.append('field', 'value');
        fd.append('file', new Blob(['file-bytes']), 'a.txt');
        return fd;
      },
      undefined,
    ],
  ];
  test.each(cases)('%s is replayed byte-identical with the same Content-Type', async (_name, make, contentType) => {
    const { api, client } = await setup();
    await client.get('/warm');
    api.revoke();
    api.requests.length = 0;
    const response = await client.post(
      '/transfers',
      make(),
      contentType ? { headers: { 'Content-Type': contentType } } : {},
    );
    expect(response.status).toBe(200);
    expect(api.requests).toHaveLength(2);
    const [first, replay] = api.requests;
    expect(replay!.body.equals(first!.body)).toBe(true);
    expect(first!.body.length).toBeGreaterThan(0);
    expect(replay!.headers['content-type']).toBe(first!.headers['content-type']);
    expect(replay!.headers.authorization).toBe('Bearer tok-2');
  });

  test.each([
    ['a Node stream', async () => Readable.from([Buffer.from('streamed body')])],
    [
      'a form-data package instance',
      async () => {
        const fd = new FormDataPackage();
        fd.append('field', 'value');
        return fd;
      },
    ],
  ])('%s is not replayed: AuthenticationError after exactly one send, never an empty body', async (_name, make) => {
    const { api, client } = await setup();
    await client.get('/warm');
    api.revoke();
    api.requests.length = 0;
    const error = await client.post('/upload', await make()).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AuthenticationError', reason: 'body-not-replayable' });
    expect((error as Error).message).toMatch(/cannot be replayed/);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]!.body.length).toBeGreaterThan(0);
  });
});

describe('403', () => {
  test('turns a 403 into a PermissionError with the challenge and the missing scope, without a new grant or a replay', async () => {
    const { auth, api, client } = await setup();
    const error = await client.post('/forbidden', { a: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'PermissionError',
      code: 'ERR_PERMISSION',
      requiredScope: ['moneyMovement/write'],
      challenge: { scheme: 'Bearer', error: 'insufficient_scope', scope: ['moneyMovement/write'] },
    });
    expect((error as Error).message).toContain('moneyMovement/write');
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error).toBeInstanceOf(AxiosError);
    expect((error as AxiosError).response?.status).toBe(403);
    expect(auth.tokenRequests).toHaveLength(1);
    expect(api.requests).toHaveLength(1);
  });
});

describe('waiting for a token', () => {
  test('an aborted request rejects at once with CanceledError while others waiting on the same token succeed', async () => {
    const { auth, client } = await setup();
    let release!: () => void;
    auth.next((_req, res) =>
      new Promise<void>((r) => (release = r)).then(() => json(res, 200, { access_token: 'late', expires_in: 60 })),
    );
    auth.issued.push('late');
    const controller = new AbortController();
    const aborted = client.get('/a', { signal: controller.signal });
    const other = client.get('/b');
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    const error = await aborted.catch((e: unknown) => e);
    expect(axios.isCancel(error)).toBe(true);
    release();
    expect((await other).status).toBe(200);
  });

  test('a CancelToken cancels its own waiting request only, and its listener is removed once the wait ends', async () => {
    const { auth, client } = await setup();
    let release!: () => void;
    auth.next((_req, res) =>
      new Promise<void>((r) => (release = r)).then(() => json(res, 200, { access_token: 'late', expires_in: 60 })),
    );
    auth.issued.push('late');
    const source = axios.CancelToken.source();
    const other = axios.CancelToken.source();
    const waiting = client.get('/a', { cancelToken: source.token });
    const fine = client.get('/b', { cancelToken: other.token });
    await new Promise((r) => setTimeout(r, 50));
    source.cancel('stop');
    expect(axios.isCancel(await waiting.catch((e: unknown) => e))).toBe(true);
    release();
    expect((await fine).status).toBe(200);
    const listeners = (other.token as unknown as { _listeners?: unknown[] })._listeners;
    expect(listeners === undefined || listeners === null || listeners.length === 0).toBe(true);
  });

  test("a request's own timeout bounds the wait for a token endpoint that never answers", async () => {
    const { auth, api, client } = await setup();
    auth.next(() => new Promise<void>(() => undefined));
    const error = await client.get('/a', { timeout: 200 }).catch((e: unknown) => e);
    expect(axios.isAxiosError(error)).toBe(true);
    expect((error as AxiosError).code).toBe('ECONNABORTED');
    expect((error as Error).message).toMatch(/timeout of 200ms exceeded while waiting for an access token/);
    expect(api.requests).toHaveLength(0);
  });

  test('the timeout is the budget of the whole call: token wait and API call together', async () => {
    const auth = await startAuthServer();
    const slowApi = await startServer((_req, res) => void setTimeout(() => json(res, 200, { ok: true }), 300));
    const c2 = axios.create({ baseURL: slowApi.url });
    attachAuth(c2, new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' }));
    auth.next((_req, res) => void setTimeout(() => json(res, 200, { access_token: 'slow2', expires_in: 60 }), 300));
    const timedOut = await c2.get('/x', { timeout: 450 }).catch((e: unknown) => e);
    expect(axios.isAxiosError(timedOut)).toBe(true);
    expect((timedOut as AxiosError).code).toBe('ECONNABORTED');
    expect((timedOut as AxiosError).config?.timeout).toBe(450);
  });

  test('a failing token endpoint means the API request is not sent', async () => {
    const { auth, api, client } = await setup({ retry: false });
    auth.next((_req, res) => json(res, 400, { error: 'invalid_client' }));
    await expect(client.get('/a')).rejects.toMatchObject({
      name: 'TokenEndpointError',
      status: 400,
      error: 'invalid_client',
    });
    expect(api.requests).toHaveLength(0);
  });
});

describe('secrets', () => {
  const SECRET = 'Sup3r-Secret-Value';
  const basic = Buffer.from(`id:${SECRET}`).toString('base64');
  const leaks = (value: unknown, token: string) => {
    const texts = [
      String((value as Error).message),
      inspect(value, { depth: 8 }),
      JSON.stringify(value) ?? '',
      String((value as Error).stack),
    ];
    return texts.some((t) => t.includes(SECRET) || t.includes(basic) || t.includes(token));
  };

  test('no error shows the client secret, the Basic credentials or the access token', async () => {
    const { auth, api, client } = await setup({ clientSecret: SECRET, retry: false });
    const errors: unknown[] = [];
    auth.next((_req, res) =>
      json(res, 401, { error: 'invalid_client', error_description: `client secret ${SECRET} is wrong` }),
    );
    errors.push(await client.get('/a').catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 1100));
    errors.push(await client.post('/forbidden', { x: 1 }).catch((e: unknown) => e));
    api.revoke();
    errors.push(await client.get('/b', { clientCredentials: { replay: false } }).catch((e: unknown) => e));
    const boom = await startServer((_req, res) => json(res, 500, { error: 'boom' }));
    const c2 = axios.create({ baseURL: boom.url });
    attachAuth(c2, new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: SECRET }));
    errors.push(await c2.get('/x').catch((e: unknown) => e));
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'TokenEndpointError',
      'PermissionError',
      'AuthenticationError',
      'AxiosError',
    ]);
    for (const error of errors) for (const token of auth.issued) expect(leaks(error, token)).toBe(false);
  });

  test('interceptors registered before attachAuth never see the token, on success, on error, or on a retry', async () => {
    const auth = await startAuthServer();
    const api = await startApiServer(auth);
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create({ baseURL: api.url });
    const seen: string[] = [];
    client.interceptors.request.use((config) => {
      seen.push(JSON.stringify(config.headers));
      return config;
    });
    client.interceptors.response.use(
      (response) => {
        seen.push(inspect(response, { depth: 6 }));
        return response;
      },
      (error: AxiosError) => {
        seen.push(inspect(error, { depth: 6 }), JSON.stringify(error));
        throw error;
      },
    );
    attachAuth(client, provider);
    await client.get('/ok');
    await client.get('/forbidden').catch(() => undefined);
    api.revoke();
    await client.get('/again');
    expect(auth.issued).toHaveLength(2);
    for (const text of seen) for (const token of auth.issued) expect(text).not.toContain(token);
  });

  test('a successful response does not carry the token in its config or request for logs', async () => {
    const { auth, client } = await setup();
    const response = await client.get('/a');
    const token = auth.issued[0]!;
    expect(inspect(response, { depth: 6 })).not.toContain(token);
    expect(JSON.stringify(response.config)).not.toContain(token);
  });
});
