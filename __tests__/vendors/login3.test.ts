/**
 * Login 3.0, against a loopback tenant that behaves as its vendor document says
 * (/work/shared/vendor-docs/login3-client-credentials.txt).
 */
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider } from '../../src/index.js';
import { formOf, manualClock, until } from '../helpers/vendors/common.js';
import { startLogin3Server, type Login3Server } from '../helpers/vendors/login3.js';

const client = { clientId: 'YOUR_CLIENT_ID-m2m', clientSecret: 'YOUR_CLIENT_SECRET-8c1d' };
const audience = 'https://myapi.com/api';

let server: Login3Server;
beforeEach(async () => {
  server = await startLogin3Server({ ...client, audience });
});

const provider = (extra: Partial<ConstructorParameters<typeof ClientCredentialsProvider>[0]> = {}) =>
  new ClientCredentialsProvider({
    tokenUrl: server.tokenUrl,
    ...client,
    authMethod: 'client_secret_post',
    audience,
    ...extra,
  });

it('posts grant_type, client_id, client_secret and audience as form fields, with no Authorization header (client_secret_post)', async () => {
  await provider().getToken();
  const request = server.tokenRequests[0]!;
  expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
  expect(request.headers.authorization).toBeUndefined();
  expect(formOf(request)).toEqual({
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret,
    audience,
  });
});

it('adds the optional organization field through params', async () => {
  const api = axios.create({ baseURL: server.apiUrl });
  attachAuth(api, provider({ params: { organization: 'org_W2Yx4kJ8' } }));
  const answer = await api.get('');
  expect(formOf(server.tokenRequests[0]!)).toEqual({
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret,
    audience,
    organization: 'org_W2Yx4kJ8',
  });
  expect(answer.data).toEqual({ ok: true, org: 'org_W2Yx4kJ8' });
});

it('keeps the token for its expires_in of 86400 s, counted from the request, and renews it in the background before then', async () => {
  const clock = manualClock();
  const tokens = provider({ now: clock.now });
  const sentAt = clock.now();
  const first = await tokens.getToken();
  expect(first.expiresAt).toBe(sentAt + 86_400_000);
  clock.advance(19 * 3600_000); // 19 h: long before the refresh point, 2.4 s before it stops using the token at 86370 s
  expect(await tokens.getToken()).toBe(first);
  expect(server.tokenRequests).toHaveLength(1);
  clock.advance(86_368_000 - 19 * 3600_000); // past the refresh point (86367.6 s), before the stale point
  expect(await tokens.getToken()).toBe(first);
  await until(() => server.tokenRequests.length === 2, 'the background renewal');
});

it('calls the API with authorization: Bearer ACCESS_TOKEN, a JWT for the audience', async () => {
  const api = axios.create({ baseURL: server.apiUrl });
  attachAuth(api, provider());
  expect((await api.get('')).status).toBe(200);
  expect(server.apiCalls).toEqual([
    { status: 200, claims: expect.objectContaining({ aud: audience, sub: `${client.clientId}@clients` }) },
  ]);
});
