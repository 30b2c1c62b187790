/**
 * Issue 13: a token per scope set and resource set, asked for per request or at the provider, and several
 * providers (authorization servers) behind one axios instance. The scope cases run against a real
 * oidc-provider (JWT access tokens that name their scope); the bookkeeping cases against loopback servers.
 */
import axios from 'axios';
import {
  ClientCredentialsProvider,
  ConfigurationError,
  attachAuth,
  memoryStore,
  type ClientCredentialsOptions,
  type TokenEvent,
} from '../src/index.js';
import { closeAll, json, startServer, type TestServer } from './helpers/http.js';
import { startAuthServer, type AuthServer } from './helpers/oauth.js';
import { startOidcServer, type OidcServer } from './helpers/oidc-server.js';

const SECRET = 'least-privilege-secret-value';
const READ = 'banking/read';
const WRITE = 'banking/write';
let oidc: OidcServer;

beforeAll(async () => {
  oidc = await startOidcServer({
    scopes: [READ, WRITE],
    clients: [{ client_id: 'bank-client', client_secret: SECRET }],
  });
}, 60_000);

afterAll(async () => {
  await oidc?.close();
  await closeAll();
});

function provider(options: Partial<ClientCredentialsOptions> = {}) {
  return new ClientCredentialsProvider({
    issuer: oidc.issuer,
    ca: oidc.ca.cert,
    clientId: 'bank-client',
    clientSecret: SECRET,
    scope: [READ, WRITE],
    retry: false,
    ...options,
  });
}

function scopeOf(accessToken: string): string {
  return (JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { scope: string }).scope;
}

async function grants(): Promise<{ scope?: string; status: number }[]> {
  return (await oidc.snapshot()).tokenRequests.filter((r) => r.status === 200);
}

/** A loopback API that answers with the token it saw, and 401s the tokens in `revoked`. */
async function echoApi(revoked = new Set<string>()): Promise<TestServer & { revoked: Set<string> }> {
  const server = await startServer((req, res) => {
    const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (revoked.has(token)) {
      return json(res, 401, {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    json(res, 200, { token });
  });
  return Object.assign(server, { revoked });
}

describe('a token per scope set (against oidc-provider)', () => {
  test('a request asking for banking/read gets a token with exactly that scope, another asking for banking/write another', async () => {
    const tokens = provider();
    const read = await tokens.getToken({ scope: [READ] });
    const write = await tokens.getToken({ scope: WRITE });
    const all = await tokens.getToken();
    expect(scopeOf(read.accessToken)).toBe(READ);
    expect(scopeOf(write.accessToken)).toBe(WRITE);
    expect(scopeOf(all.accessToken).split(' ').sort()).toEqual([READ, WRITE]);
    expect(new Set([read.accessToken, write.accessToken, all.accessToken]).size).toBe(3);
  });

  test('order and repeats do not matter: one entry, one grant', async () => {
    const tokens = provider();
    const before = (await grants()).length;
    const results = await Promise.all([
      tokens.getToken({ scope: [READ, WRITE] }),
      tokens.getToken({ scope: `${WRITE} ${READ}` }),
      tokens.getToken({ scope: [WRITE, READ, READ] }),
      tokens.getToken(),
    ]);
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    expect((await grants()).length - before).toBe(1);
  });

  test('per request through attachAuth; events name the scope set, never a token', async () => {
    const tokens = provider();
    const events: TokenEvent[] = [];
    tokens.on('token', (e) => events.push(e));
    const api = await echoApi();
    const instance = axios.create({ baseURL: api.url });
    attachAuth(instance, tokens);
    const read = await instance.get('/accounts', { clientCredentials: { scope: [READ] } });
    const write = await instance.post('/transfers', {}, { clientCredentials: { scope: WRITE } });
    expect(scopeOf(read.data.token)).toBe(READ);
    expect(scopeOf(write.data.token)).toBe(WRITE);
    expect(events.map((e) => e.requestedScope)).toEqual([[READ], [WRITE]]);
    expect(JSON.stringify(events)).not.toContain(read.data.token);
  });

  test('a 401 storm on the read token costs one grant for it and nothing for the write token', async () => {
    const tokens = provider();
    const api = await echoApi();
    const instance = axios.create({ baseURL: api.url });
    attachAuth(instance, tokens);
    const read = (await instance.get('/r', { clientCredentials: { scope: READ } })).data.token as string;
    const write = (await instance.get('/w', { clientCredentials: { scope: WRITE } })).data.token as string;
    api.revoked.add(read);
    const before = await grants();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => instance.get('/r', { clientCredentials: { scope: READ } })),
    );
    expect(answers.every((a) => a.status === 200 && a.data.token !== read)).toBe(true);
    const after = await grants();
    expect(after.slice(before.length).map((g) => g.scope)).toEqual([READ]);
    expect((await instance.get('/w', { clientCredentials: { scope: WRITE } })).data.token).toBe(write);
  });

  test('a shared store shares each scope set separately', async () => {
    const store = memoryStore();
    const a = provider({ store });
    const b = provider({ store });
    const before = (await grants()).length;
    const readA = await a.getToken({ scope: READ });
    expect((await b.getToken({ scope: READ })).accessToken).toBe(readA.accessToken);
    expect((await b.getToken({ scope: WRITE })).accessToken).not.toBe(readA.accessToken);
    expect((await grants()).length - before).toBe(2);
  });

  test('a resource per request (RFC 8707) is its own entry, sent as resource', async () => {
    const tokens = provider();
    const plain = await tokens.getToken({ scope: READ });
    const withResource = await tokens.getToken({ scope: READ, resource: oidc.audience });
    expect(withResource.accessToken).not.toBe(plain.accessToken);
    const last = (await oidc.snapshot()).tokenRequests.at(-1)!;
    expect(last.resource).toEqual([oidc.audience]);
  });
});

describe('bounded and validated', () => {
  let auth: AuthServer;
  beforeEach(async () => {
    auth = await startAuthServer();
  });
  const local = (options: Partial<ClientCredentialsOptions> = {}) =>
    new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      clientId: 'c',
      clientSecret: 's',
      retry: false,
      ...options,
    });

  test.each<[string, object, RegExp]>([
    ['a scope with a quote', { scope: 'a"b' }, /RFC 6749 §3.3/],
    ['a scope with a space inside a list item', { scope: ['a b'] }, /RFC 6749 §3.3/],
    ['a scope that is not a string', { scope: 42 }, /scope must be a string/],
    ['a resource with a fragment', { resource: 'https://api.example.com/x#frag' }, /RFC 8707/],
    ['a relative resource', { resource: '/payments' }, /RFC 8707/],
  ])('refuses %s with a ConfigurationError, and sends nothing', async (_, selection, message) => {
    const tokens = local();
    const error = await tokens.getToken(selection as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
    const api = await echoApi();
    const instance = axios.create({ baseURL: api.url });
    attachAuth(instance, tokens);
    await expect(instance.get('/x', { clientCredentials: selection as never })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    expect(api.requests).toHaveLength(0);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('a scope cannot inject form fields: it is one form-encoded value', async () => {
    await local().getToken({ scope: 'read&grant_type=password&client_id=evil' });
    const form = new URLSearchParams(auth.tokenRequests[0]!.body.toString());
    expect(form.getAll('grant_type')).toEqual(['client_credentials']);
    expect(form.getAll('client_id')).toEqual([]);
    expect(form.get('scope')).toBe('read&grant_type=password&client_id=evil');
  });

  test('keeps at most maxCachedTokens entries, the least recently used going first', async () => {
    const tokens = local({ maxCachedTokens: 2 });
    await tokens.getToken({ scope: 'a' });
    await tokens.getToken({ scope: 'b' });
    await tokens.getToken({ scope: 'a' }); // a is now the most recently used
    await tokens.getToken({ scope: 'c' }); // b goes
    expect(auth.tokenRequests).toHaveLength(3);
    await tokens.getToken({ scope: 'a' });
    expect(auth.tokenRequests).toHaveLength(3);
    await tokens.getToken({ scope: 'b' });
    expect(auth.tokenRequests).toHaveLength(4);
  });

  test('an empty scope asks for no scope parameter (the server default) and is an entry of its own', async () => {
    const tokens = local({ scope: 'a b' });
    await tokens.getToken();
    await tokens.getToken({ scope: [] });
    await tokens.getToken({ scope: '' });
    expect(auth.tokenRequests).toHaveLength(2);
    const forms = auth.tokenRequests.map((r) => new URLSearchParams(r.body.toString()));
    expect(forms.map((f) => f.get('scope'))).toEqual(['a b', null]);
  });

  test('a per-request resource replaces the provider default rather than adding to it', async () => {
    const tokens = local({ resource: 'https://api.example.com/default' });
    await tokens.getToken({ resource: 'https://api.example.com/payments' });
    const form = new URLSearchParams(auth.tokenRequests[0]!.body.toString());
    expect(form.getAll('resource')).toEqual(['https://api.example.com/payments']);
  });

  test('with allowedScopes, a scope outside them is a ConfigurationError before anything is sent', async () => {
    const tokens = local({ scope: 'read write', allowedScopes: ['read', 'write'] });
    await expect(tokens.getToken({ scope: 'read' })).resolves.toBeDefined();
    const error = await tokens.getToken({ scope: ['read', 'admin'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/"admin" is not among this provider's allowedScopes/);
    expect(auth.tokenRequests).toHaveLength(1);
  });

  test('without allowedScopes, a scope beyond the configured ones is sent and the server decides', async () => {
    await local({ scope: 'read' }).getToken({ scope: 'admin' });
    expect(new URLSearchParams(auth.tokenRequests[0]!.body.toString()).get('scope')).toBe('admin');
  });

  test('replay: false and skip work beside a per-request scope', async () => {
    const tokens = local();
    const api = await echoApi();
    const instance = axios.create({ baseURL: api.url });
    attachAuth(instance, tokens);
    await instance.get('/s', { clientCredentials: { scope: 'a', skip: true } });
    expect(api.requests[0]!.headers.authorization).toBeUndefined();
    const first = (await instance.get('/r', { clientCredentials: { scope: 'a' } })).data.token as string;
    api.revoked.add(first);
    const error = await instance
      .get('/r', { clientCredentials: { scope: 'a', replay: false } })
      .catch((e: unknown) => e);
    expect((error as { reason?: string }).reason).toBe('replay-disabled');
  });

  test('one selection object used again after another entry still names its own token', async () => {
    const tokens = local();
    const read = { scope: 'read' };
    const first = await tokens.getToken(read);
    const other = await tokens.getToken();
    expect(other.accessToken).not.toBe(first.accessToken);
    expect((await tokens.getToken(read)).accessToken).toBe(first.accessToken);
    expect(tokens.peekToken(read)?.accessToken).toBe(first.accessToken);
  });

  test('maxCachedTokens must be a positive number', () => {
    expect(() => local({ maxCachedTokens: 0 })).toThrow(ConfigurationError);
  });

  test('a granted subset is reported with missingScope for the scope set asked', async () => {
    auth.extra = { scope: 'a' };
    const tokens = local();
    const events: TokenEvent[] = [];
    tokens.on('token', (e) => events.push(e));
    await tokens.getToken({ scope: ['a', 'b'] });
    expect(events[0]).toMatchObject({ requestedScope: ['a', 'b'], scope: ['a'], missingScope: ['b'] });
  });
});

describe('several providers on one instance, each for its own origins', () => {
  test('each origin gets its own provider’s token, another origin none; a 401 re-grants only there', async () => {
    const [authA, authB] = [await startAuthServer(), await startAuthServer()];
    const [apiA, apiB, other] = [await echoApi(), await echoApi(), await echoApi()];
    const bankA = new ClientCredentialsProvider({ tokenUrl: authA.tokenUrl, clientId: 'a', clientSecret: 'sa' });
    const bankB = new ClientCredentialsProvider({ tokenUrl: authB.tokenUrl, clientId: 'b', clientSecret: 'sb' });
    const api = axios.create();
    attachAuth(api, bankA, { origins: [apiA.origin] });
    attachAuth(api, bankB, { origins: [apiB.origin] });
    expect((await api.get(`${apiA.url}/x`)).data.token).toBe('tok-1');
    expect((await api.get(`${apiB.url}/x`)).data.token).toBe('tok-1');
    expect((await api.get(`${other.url}/x`)).data.token).toBe('');
    expect(apiA.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(apiB.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(authA.tokenRequests[0]!.headers.authorization).toContain(Buffer.from('a:sa').toString('base64'));
    expect(authB.tokenRequests[0]!.headers.authorization).toContain(Buffer.from('b:sb').toString('base64'));
    apiA.revoked.add('tok-1');
    expect((await api.get(`${apiA.url}/y`)).data.token).toBe('tok-2');
    expect([authA.tokenRequests.length, authB.tokenRequests.length]).toEqual([2, 1]);
    expect((await api.get(`${apiB.url}/y`)).data.token).toBe('tok-1');
  });

  test('a redirect from one bank to the other carries neither token there', async () => {
    const [authA, authB] = [await startAuthServer(), await startAuthServer()];
    const apiB = await echoApi();
    const apiA = await startServer((_req, res) => {
      res.writeHead(302, { Location: `${apiB.url}/landed` });
      res.end();
    });
    const api = axios.create();
    attachAuth(api, new ClientCredentialsProvider({ tokenUrl: authA.tokenUrl, clientId: 'a', clientSecret: 'sa' }), {
      origins: [apiA.origin],
    });
    attachAuth(api, new ClientCredentialsProvider({ tokenUrl: authB.tokenUrl, clientId: 'b', clientSecret: 'sb' }), {
      origins: [apiB.origin],
    });
    await api.get(`${apiA.url}/go`);
    expect(apiA.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    expect(apiB.requests[0]!.url).toBe('/landed');
    expect(apiB.requests[0]!.headers.authorization).toBeUndefined();
  });

  test('overlapping origins between two handles are a ConfigurationError; detach() of one leaves the other working', async () => {
    const [authA, authB] = [await startAuthServer(), await startAuthServer()];
    const [apiA, apiB] = [await echoApi(), await echoApi()];
    const bankA = new ClientCredentialsProvider({ tokenUrl: authA.tokenUrl, clientId: 'a', clientSecret: 'sa' });
    const bankB = new ClientCredentialsProvider({ tokenUrl: authB.tokenUrl, clientId: 'b', clientSecret: 'sb' });
    const api = axios.create();
    const handleA = attachAuth(api, bankA, { origins: [apiA.origin] });
    expect(() => attachAuth(api, bankB, { origins: [apiB.origin, apiA.origin] })).toThrow(ConfigurationError);
    const handleB = attachAuth(api, bankB, { origins: [apiB.origin] });
    handleA.detach();
    handleA.detach();
    expect((await api.get(`${apiA.url}/x`)).data.token).toBe('');
    expect((await api.get(`${apiB.url}/x`)).data.token).toBe('tok-1');
    // The detached origin may be served again.
    attachAuth(api, bankA, { origins: [apiA.origin] });
    expect((await api.get(`${apiA.url}/x`)).data.token).toBe('tok-1');
    handleB.detach();
  });
});
