import axios from 'axios';
import MockAdapter from 'axios-mock-adapter';
import { ClientCredentialsProvider, TokenEndpointError, attachAuth } from '../src/index.js';
import { json, startServer } from './helpers/http.js';
import type { ClientCredentialsOptions } from '../src/index.js';

const TOKEN_URL = 'https://auth.example.com/oauth/v2/token';

function setup(options: Partial<ClientCredentialsOptions> = {}) {
  const httpClient = axios.create();
  const mock = new MockAdapter(httpClient);
  const provider = new ClientCredentialsProvider({ tokenUrl: TOKEN_URL, clientId: 'client', clientSecret: 'very-secret', retry: false, ...options, httpClient });
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
    ['zero', 0, 0],
  ])('accepts expires_in as %s', async (_name, expiresIn, lifetimeMs) => {
    const { mock, provider } = setup({ now: () => 1_000_000 });
    mock.onPost(TOKEN_URL).reply(200, { access_token: 'abc', expires_in: expiresIn });
    expect((await provider.getToken()).expiresAt).toBe(1_000_000 + lifetimeMs);
  });

  test('takes the granted scope from the response, else the requested one', async () => {
    const { mock, provider } = setup({ scope: 'a b c' });
    mock.onPost(TOKEN_URL).replyOnce(200, { access_token: 'abc', scope: 'a c' }).onPost(TOKEN_URL).replyOnce(200, { access_token: 'def' });
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
    ['a 2xx with an error field', 200, { error: 'invalid_scope', error_description: 'nope' }, { error: 'invalid_scope', errorDescription: 'nope', status: 200 }],
    ['a 400 RFC 6749 §5.2 body', 400, { error: 'invalid_client', error_description: 'bad client', error_uri: 'https://docs/err' }, { status: 400, error: 'invalid_client', errorDescription: 'bad client', errorUri: 'https://docs/err' }],
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
    const provider = new ClientCredentialsProvider({ tokenUrl: `${auth.url}/token`, clientId: 'c', clientSecret: 'very-secret', authMethod: 'client_secret_post', retry: false });
    await provider.getToken();
    expect(elsewhere.requests).toHaveLength(0);
    expect(auth.requests[0]!.headers.authorization).toBeUndefined();
  });

  test('does not deadlock when the intercepted instance itself is the httpClient', async () => {
    const server = await startServer((req, res) => (req.url === '/token' ? json(res, 200, { access_token: 'abc', expires_in: 60 }) : json(res, 200, { auth: req.headers.authorization })));
    const api = axios.create({ baseURL: server.url });
    const provider = new ClientCredentialsProvider({ tokenUrl: `${server.url}/token`, clientId: 'c', clientSecret: 'very-secret', httpClient: api, timeoutMs: 2000 });
    attachAuth(api, provider);
    expect((await api.get('/x')).data).toEqual({ auth: 'Bearer abc' });
  });
});
