/**
 * Apiture, against a loopback environment that behaves as the Apiture vendor documents say
 * (/work/shared/vendor-docs/apiture-client-credentials.txt and …-environments.txt).
 */
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider, PermissionError } from '../../src/index.js';
import { formOf, manualClock, until } from '../helpers/vendors/common.js';
import { startApitureServer, type ApitureServer } from '../helpers/vendors/apiture.js';

// The document's example credentials.
const clientId = 'c3793a03-1234-4179';
const clientSecret = '843f-6ad71454858b';
const scope = ['banking/read', 'banking/write'];

let server: ApitureServer;
beforeEach(async () => {
  server = await startApitureServer({ clientId, clientSecret, registeredScope: scope });
});

const provider = (extra: Partial<ConstructorParameters<typeof ClientCredentialsProvider>[0]> = {}) =>
  new ClientCredentialsProvider({ issuer: server.issuer, clientId, clientSecret, scope, ...extra });

it('gets the token_endpoint by GET on the OIDC discovery URL of the root authority, then posts to it', async () => {
  await provider().getToken();
  expect(server.discoveryRequests.map((r) => `${r.method} ${server.origin}${r.url}`)).toEqual([
    `GET ${server.discoveryUrl}`,
  ]);
  expect(server.tokenRequests.map((r) => `${r.method} ${server.origin}${r.url}`)).toEqual([
    `POST ${server.tokenEndpoint}`,
  ]);
});

it('sends Authorization: Basic base64(client-id:client-secret), for the document example c3793a03-1234-4179:843f-6ad71454858b', async () => {
  await provider().getToken();
  const expected = `Basic ${Buffer.from('c3793a03-1234-4179:843f-6ad71454858b').toString('base64')}`;
  expect(server.tokenRequests[0]?.headers.authorization).toBe(expected);
});

it('posts form data with grant_type=client_credentials and the scopes separated by a space: banking/read banking/write', async () => {
  await provider().getToken();
  const request = server.tokenRequests[0]!;
  expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
  expect(formOf(request)).toEqual({ grant_type: 'client_credentials', scope: 'banking/read banking/write' });
});

it('takes the scopes as the document writes them, one space-separated string', async () => {
  await provider({ scope: 'banking/read banking/write' }).getToken();
  expect(formOf(server.tokenRequests[0]!).scope).toBe('banking/read banking/write');
});

it('calls the API with Authorization: <token_type> <access_token> from the token response', async () => {
  const api = axios.create({ baseURL: server.apiUrl });
  attachAuth(api, provider());
  const answer = await api.get('/accounts');
  expect(answer.status).toBe(200);
  const issued = server.issued[0]!;
  expect(server.apiRequests[0]?.headers.authorization).toBe(`${issued.tokenType} ${issued.accessToken}`);
  expect(issued.accessToken).toMatch(/^[0-9A-F]{32}$/);
});

it('has no refresh token to use: before the token expires it repeats the client credentials grant, with discovery done once', async () => {
  const clock = manualClock();
  const tokens = provider({ now: clock.now });
  const first = await tokens.getToken();
  expect(first.raw).not.toHaveProperty('refresh_token');
  // 3600 s token, stale from 3570 s: refreshed from 2.4 s before that (the retry back-off and the failure cooldown).
  clock.advance(3568_000);
  expect(await tokens.getToken()).toBe(first);
  await until(() => server.issued.length === 2, 'the renewed token');
  const renewal = server.tokenRequests[1]!;
  expect(formOf(renewal)).toEqual({ grant_type: 'client_credentials', scope: 'banking/read banking/write' });
  expect(renewal.headers.authorization).toBe(server.tokenRequests[0]?.headers.authorization);
  expect(server.discoveryRequests).toHaveLength(1);
});

it('turns the API 403 for a missing scope into a PermissionError naming it', async () => {
  const api = axios.create({ baseURL: server.apiUrl });
  attachAuth(api, provider({ scope: ['banking/read'] }));
  const error = await api.post('/transfers', { amount: '1.00' }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PermissionError);
  expect((error as PermissionError).requiredScope).toEqual(['banking/write']);
  expect(server.tokenRequests).toHaveLength(1);
});
