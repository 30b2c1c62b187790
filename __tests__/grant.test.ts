import axios from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { ClientCredentialsProvider, TokenEndpointError, attachAuth } from '../src/index.js';
import { inspect } from 'node:util';
import { json, startServer } from './helpers/http.js';
import { startAuthServer } from './helpers/oauth.js';
import type { ClientCredentialsOptions } from '../src/index.js';

const TOKEN_URL = 'https://auth.example.com/oauth/v2/token';

function setup(options: Partial<ClientCredentialsOptions> = {}) {
  const httpClient = axios.create();
  const mock = new MockAdapter(httpClient);
  const provider = new ClientCredentialsProvider({
    tokenUrl: TOKEN_URL,
    clientId: 'client',
    clientSecret: 'very-secret',
    retry: false,
    ...options,
    httpClient,
  });
  return { mock, provider };
}

const form = (data: unknown) => new URLSearchParams(String(data));
const decodeBasic = (header: unknown) => Buffer.from(String(header).replace(/^Basic /, ''), 'base64').toString('utf8');

describe('the token request (RFC 6749 §4.4)', () => {
  test('is a form-urlencoded POST with grant_type=client_credentials and the scopes space-joined', async () => {
    const { mock, provider } = setup({ scope: ['banking/read', 'banking/write'] });
    mock.onPost(TOKEN_URL).reply(200, { access_token: 'abc', token_type: 'Bearer', expires_in: 60 });
    await provider.getToken();
    const sent = mock.history.post[0]!;
    expect(sent.headers?.['Content-Type']).toBe('application/x-www-form-urlencoded');
    expect(form(sent.data).get('grant_type')).toBe('client_credentials');
    expect(form(sent.data).get('scope')).toBe('banking/read banking/write');
    expect(String(sent.data)).toContain('scope=banking%2Fread+banking%2Fwrite');
  });

  test('sends only grant_type in the body with client_secret_basic and no scope', async () => {
    const { mock, provider } = setup();
    mock.onPost(TOKEN_URL).reply(200, { access_token: 'abc', token_type: 'Bearer' });
    await provider.getToken();
    expect(mock.history.post[0]!.data).toBe('grant_type=client_credentials');
  });

  test.each([
    ['a plain id', 'c3793a03-1234-4179', '843f-6ad71454858b'],
    ['a colon', 'id:with:colons', 'sec:ret'],
    ['percent and plus', 'id%20+x', 'p%2B+q'],
    ['spaces', 'my client', 'a secret with spaces'],
    ['non-ASCII', 'clíent-ü', 'sécret-€'],
  ])('form-urlencodes id and secret before base64 for %s (RFC 6749 §2.3.1)', async (_name, clientId, clientSecret) => {
    const { mock, provider } = setup({ clientId, clientSecret });
    mock.onPost(TOKEN_URL).reply(200, { access_token: 'abc' });
    await provider.getToken();
    const [id, secret] = decodeBasic(mock.history.post[0]!.headers?.Authorization).split(':');
    const decode = (s: string | undefined) => decodeURIComponent(String(s).replace(/\+/g, ' '));
    expect(decode(id)).toBe(clientId);
    expect(decode(secret)).toBe(clientSecret);
  });

  test('puts id and secret in the body with client_secret_post, with audience, resource and extra params', async () => {
    const { mock, provider } = setup({
      authMethod: 'client_secret_post',
      audience: 'https://api.example.com',
      resource: ['https://a.example.com', 'https://b.example.com'],
      params: { organization: 'org_1' },
    });
    mock.onPost(TOKEN_URL).reply(200, { access_token: 'abc' });
    await provider.getToken();
    const sent = mock.history.post[0]!;
    expect(sent.headers?.Authorization ?? undefined).not.toEqual(expect.stringMatching(/^Basic/));
    expect(sent.headers?.Authorization).toBeFalsy();
    const body = form(sent.data);
    expect(body.get('client_id')).toBe('client');
    expect(body.get('client_secret')).toBe('very-secret');
    expect(body.get('audience')).toBe('https://api.example.com');
    expect(body.getAll('resource')).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(body.get('organization')).toBe('org_1');
  });
});

describe('the token response', () => {
  test.each([
    ['Bearer', 'Bearer'],
    ['bearer', 'Bearer'],
    ['BEARER', 'Bearer'],
    [undefined, 'Bearer'],
  ])('token_type %s is used as %s', async (tokenType, expected) => {
    const { mock, provider } = setup();
    mock.onPost(TOKEN_URL).reply(200, { access_token: 'abc', ...(tokenType ? { token_type: tokenType } : {}) });
    expect((await provider.getToken()).tokenType).toBe(expected);
  });

  test.each([
    ['a number', 120, 120_000],
    ['a numeric string', '120', 120_000],
  ])('accepts expires_in as %s', async (_name, expiresIn, lifetimeMs) => {
    const { mock, provider } = setup({ now: () => 1_000_000 });
    mock.onPost(TOKEN_URL).reply(200, { access_token: 'abc', expires_in: expiresIn });
    expect((await provider.getToken()).expiresAt).toBe(1_000_000 + lifetimeMs);
  });

  test('takes the granted scope from the response, else the requested one', async () => {
    const { mock, provider } = setup({ scope: 'a b c' });
    mock
      .onPost(TOKEN_URL)
      .replyOnce(200, { access_token: 'abc', scope: 'a c' })
      .onPost(TOKEN_URL)
      .replyOnce(200, { access_token: 'def' });
    expect((await provider.getToken()).scope).toEqual(['a', 'c']);
    expect((await provider.getToken({ forceRefresh: true })).scope).toEqual(['a', 'b', 'c']);
  });

  const invalid: [string, number, unknown, Partial<TokenEndpointError>][] = [
    ['an HTML page', 200, '<html>login</html>', { error: 'invalid_token_response', status: 200 }],
    ['a JSON array', 200, [1, 2], { error: 'invalid_token_response' }],
    ['no access_token', 200, { token_type: 'Bearer' }, { error: 'invalid_token_response' }],
    ['an empty access_token', 200, { access_token: '' }, { error: 'invalid_token_response' }],
    ['a numeric access_token', 200, { access_token: 42 }, { error: 'invalid_token_response' }],
    ['a token with a space', 200, { access_token: 'abc def' }, { error: 'invalid_token_response' }],
    ['a token with CRLF', 200, { access_token: 'abc\r\nX-Evil: 1' }, { error: 'invalid_token_response' }],
    ['a negative expires_in', 200, { access_token: 'abc', expires_in: -5 }, { error: 'invalid_token_response' }],
    ['a NaN expires_in', 200, { access_token: 'abc', expires_in: 'NaN' }, { error: 'invalid_token_response' }],
    ['expires_in "soon"', 200, { access_token: 'abc', expires_in: 'soon' }, { error: 'invalid_token_response' }],
    ['an absurd expires_in', 200, { access_token: 'abc', expires_in: 1e12 }, { error: 'invalid_token_response' }],
    ['an unknown token_type', 200, { access_token: 'abc', token_type: 'MAC' }, { error: 'unsupported_token_type' }],
    [
      'a 2xx with an error field',
      200,
      { error: 'invalid_scope', error_description: 'nope' },
      { error: 'invalid_scope', errorDescription: 'nope', status: 200 },
    ],
    [
      'a 400 RFC 6749 §5.2 body',
      400,
      { error: 'invalid_client', error_description: 'bad client', error_uri: 'https://docs/err' },
      { status: 400, error: 'invalid_client', errorDescription: 'bad client', errorUri: 'https://docs/err' },
    ],
    ['a 401 without body', 401, '', { status: 401, error: undefined }],
    ['a 500', 500, 'oops', { status: 500 }],
  ];
  test.each(invalid)('rejects %s with a TokenEndpointError', async (_name, status, body, fields) => {
    const { mock, provider } = setup();
    mock.onPost(TOKEN_URL).reply(status, body);
    const error = await provider.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({ name: 'TokenEndpointError', code: 'ERR_TOKEN_ENDPOINT', ...fields });
    expect((error as Error).message.length).toBeLessThan(400);
  });

  test('rejects a body larger than 64 KB', async () => {
    const { mock, provider } = setup();
    mock.onPost(TOKEN_URL).reply(200, JSON.stringify({ access_token: 'abc', padding: 'x'.repeat(70_000) }));
    await expect(provider.getToken()).rejects.toBeInstanceOf(TokenEndpointError);
  });
});

describe('the token request is isolated', () => {
  afterEach(() => {
    delete axios.defaults.headers.common.Authorization;
    delete axios.defaults.baseURL;
  });

  test("never inherits axios's global baseURL or Authorization default", async () => {
    const auth = await startServer((_req, res) => json(res, 200, { access_token: 'abc', expires_in: 60 }));
    const elsewhere = await startServer((_req, res) => json(res, 500, {}));
    axios.defaults.baseURL = elsewhere.url;
    axios.defaults.headers.common.Authorization = 'Bearer someone-elses';
    const provider = new ClientCredentialsProvider({
      tokenUrl: `${auth.url}/token`,
      clientId: 'c',
      clientSecret: 'very-secret',
      authMethod: 'client_secret_post',
      retry: false,
    });
    await provider.getToken();
    expect(elsewhere.requests).toHaveLength(0);
    expect(auth.requests[0]!.headers.authorization).toBeUndefined();
  });

  test('does not deadlock when the intercepted instance itself is the httpClient', async () => {
    const server = await startServer((req, res) =>
      req.url === '/token'
        ? json(res, 200, { access_token: 'abc', expires_in: 60 })
        : json(res, 200, { auth: req.headers.authorization }),
    );
    const api = axios.create({ baseURL: server.url });
    const provider = new ClientCredentialsProvider({
      tokenUrl: `${server.url}/token`,
      clientId: 'c',
      clientSecret: 'very-secret',
      httpClient: api,
      timeoutMs: 2000,
    });
    attachAuth(api, provider);
    expect((await api.get('/x')).data).toEqual({ auth: 'Bearer abc' });
  });
});

describe('expires_in: 0 is an unknown lifetime, not an expired token', () => {
  /** An unsigned JWT access token with these claims (only `exp` is read, never trusted). */
  function jwtWith(claims: object): string {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${part({ alg: 'RS256', typ: 'at+jwt' })}.${part(claims)}.c2lnbmF0dXJl`;
  }

  test('10 calls after a token with expires_in 0 cost one grant, not ten', async () => {
    const auth = await startAuthServer();
    auth.expiresIn = 0;
    const provider = new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      clientId: 'client',
      clientSecret: 'very-secret',
      retry: false,
    });
    for (let i = 0; i < 10; i++) await provider.getToken();
    expect(auth.tokenRequests).toHaveLength(1);
  });

  test('uses the default lifetime for an opaque token with expires_in 0', async () => {
    const auth = await startAuthServer();
    auth.expiresIn = 0;
    const clock = { now: 1_700_000_000_000 };
    const provider = new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      clientId: 'client',
      clientSecret: 'very-secret',
      retry: false,
      refreshRatio: false,
      defaultExpiresInSeconds: 300,
      now: () => clock.now,
    });
    expect((await provider.getToken()).expiresAt).toBeUndefined();
    clock.now += 150_000; // half the 300 s default: no leeway reaches this far
    await provider.getToken();
    expect(auth.tokenRequests).toHaveLength(1);
    clock.now += 151_000; // past the 300 s default itself
    await provider.getToken();
    expect(auth.tokenRequests).toHaveLength(2);
  });

  test("uses a JWT access token's exp when expires_in is 0", async () => {
    const auth = await startAuthServer();
    auth.expiresIn = 0;
    const exp = Math.floor(Date.now() / 1000) + 3600;
    auth.extra = { access_token: jwtWith({ sub: 'client', exp }) };
    const provider = new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      clientId: 'client',
      clientSecret: 'very-secret',
      retry: false,
    });
    expect((await provider.getToken()).expiresAt).toBe(exp * 1000);
    for (let i = 0; i < 9; i++) await provider.getToken();
    expect(auth.tokenRequests).toHaveLength(1);
  });
});

describe('no form of the credentials in a token endpoint error', () => {
  // Characters that every encoding treats differently: space, + / = % & : " \ and non-ASCII.
  const clientId = 'app:1 é';
  const clientSecret = 'p@ss/+w=rd "é" \\ 9%&';
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
  const formEncode = (text: string) => new URLSearchParams({ v: text }).toString().slice(2);
  const rawPair = `${clientId}:${clientSecret}`;
  const formPair = `${formEncode(clientId)}:${formEncode(clientSecret)}`;
  const asciiJson = JSON.stringify(clientSecret)
    .slice(1, -1)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

  const forms: [string, string][] = [
    ['the raw secret', clientSecret],
    ['the form-encoded secret (client_secret_post)', formEncode(clientSecret)],
    ['the percent-encoded secret', encodeURIComponent(clientSecret)],
    ['the secret percent-encoded twice', encodeURIComponent(encodeURIComponent(clientSecret))],
    ['the JSON-escaped secret', JSON.stringify(clientSecret).slice(1, -1)],
    ['the JSON-escaped secret with \\u escapes', asciiJson],
    ['base64 of the secret alone', b64(clientSecret)],
    ['base64 of the raw id:secret', b64(rawPair)],
    ['base64 of the raw id:secret without padding', b64(rawPair).replace(/=+$/, '')],
    ['base64url of the raw id:secret', b64url(rawPair)],
    ['base64 of the form-encoded id:secret (Basic)', b64(formPair)],
    ['base64url of the form-encoded id:secret', b64url(formPair)],
    ['the Basic header value', `Basic ${b64(formPair)}`],
    ['base64 of a text that quotes the secret', b64(`received client_secret=${clientSecret} from you`)],
  ];

  test.each(forms)('withholds %s echoed in error, error_description and error_uri', async (_name, echoed) => {
    const { mock, provider } = setup({ clientId, clientSecret });
    mock.onPost(TOKEN_URL).reply(400, {
      error: `invalid_client ${echoed}`,
      error_description: `we got ${echoed} from you`,
      error_uri: `https://docs.example/e?got=${echoed}`,
    });
    const error = (await provider.getToken().catch((e: unknown) => e)) as TokenEndpointError;
    expect(error).toBeInstanceOf(TokenEndpointError);
    const texts = [
      error.message,
      error.error,
      error.errorDescription,
      error.errorUri,
      JSON.stringify(error),
      inspect(error, { depth: null }),
    ];
    expect(texts.filter((text) => text?.includes(echoed) || text?.includes(clientSecret))).toEqual([]);
  });

  test.each(forms)('withholds %s from the message of a network failure', async (_name, echoed) => {
    const httpClient = axios.create({
      adapter: () => Promise.reject(Object.assign(new Error(`proxy refused ${echoed}`), { code: 'ECONNRESET' })),
    });
    const provider = new ClientCredentialsProvider({
      tokenUrl: TOKEN_URL,
      clientId,
      clientSecret,
      retry: false,
      httpClient,
    });
    const error = (await provider.getToken().catch((e: unknown) => e)) as TokenEndpointError;
    expect(error).toBeInstanceOf(TokenEndpointError);
    const texts = [error.message, (error.cause as Error).message, inspect(error, { depth: null })];
    expect(texts.filter((text) => text.includes(echoed) || text.includes(clientSecret))).toEqual([]);
  });

  test('keeps the rest of an error_description around a base64-echoed id:secret', async () => {
    const { mock, provider } = setup({ clientId, clientSecret });
    mock
      .onPost(TOKEN_URL)
      .reply(400, { error: 'invalid_client', error_description: `we got ${b64(rawPair)} from you` });
    const error = (await provider.getToken().catch((e: unknown) => e)) as TokenEndpointError;
    expect(error.errorDescription).toBe('we got [REDACTED] from you');
  });

  test.each([
    ['token_type', (value: string) => ({ access_token: 'abc', token_type: value })],
    ['expires_in', (value: string) => ({ access_token: 'abc', expires_in: value })],
  ] as const)('never echoes a secret put in %s, whole or across a cut', async (_field, body) => {
    for (const value of [clientSecret, `${'x'.repeat(30)}${clientSecret}`, `${'x'.repeat(36)}${clientSecret}`]) {
      const { mock, provider } = setup({ clientId, clientSecret });
      mock.onPost(TOKEN_URL).reply(200, body(value));
      const error = (await provider.getToken().catch((e: unknown) => e)) as TokenEndpointError;
      expect(error).toBeInstanceOf(TokenEndpointError);
      // The first 4 characters of the secret: what a cut at 40 would leave of the last value.
      expect(error.message).not.toContain(clientSecret.slice(0, 4));
      expect(error.message).not.toContain(JSON.stringify(clientSecret).slice(1, 5));
    }
  });
});
