/**
 * Applixure, against a loopback AAS that behaves as its vendor document says
 * (/work/shared/vendor-docs/applixure-client-credentials.txt).
 */
import axios from 'axios';
import {
  attachAuth,
  ClientCredentialsProvider,
  hasScope,
  TokenEndpointError,
  type RetryEvent,
  type TokenEvent,
} from '../../src/index.js';
import { basicOf, formOf, rejectionOf } from '../helpers/vendors/common.js';
import { startApplixureServer, type ApplixureServer } from '../helpers/vendors/applixure.js';

const key = { keyId: 'axk-3f1c2a', keySecret: 'Kx9/+secret:with=odd%chars' };
const scope = ['account-all:read', 'account-data:manage'];

let server: ApplixureServer;
beforeEach(async () => {
  server = await startApplixureServer({ ...key, allowedScope: scope });
});

const provider = (extra: Partial<ConstructorParameters<typeof ClientCredentialsProvider>[0]> = {}) =>
  new ClientCredentialsProvider({
    tokenUrl: server.tokenUrl,
    clientId: key.keyId,
    clientSecret: key.keySecret,
    scope,
    ...extra,
  });

it('sends the payload of the document example: grant_type=client_credentials&scope=account-all%3Aread+account-data%3Amanage', async () => {
  await provider().getToken();
  const request = server.tokenRequests[0]!;
  expect(request.body.toString('utf8')).toBe(
    'grant_type=client_credentials&scope=account-all%3Aread+account-data%3Amanage',
  );
  expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
});

it('authenticates with HTTP Basic, as Applixure recommends, with the key id and secret form-encoded (RFC 6749 §2.3.1)', async () => {
  await provider().getToken();
  expect(server.tokenRequests[0]?.headers.authorization).toBe(basicOf(key.keyId, key.keySecret));
  expect(formOf(server.tokenRequests[0]!)).not.toHaveProperty('client_secret');
});

it('exposes a granted subset of the scopes asked on the token, on the token event and through hasScope', async () => {
  server = await startApplixureServer({ ...key, allowedScope: ['account-all:read'] });
  const tokens = provider();
  const events: TokenEvent[] = [];
  tokens.on('token', (e) => events.push(e));
  const token = await tokens.getToken();
  expect(token.scope).toEqual(['account-all:read']);
  expect(events).toEqual([
    expect.objectContaining({
      scope: ['account-all:read'],
      requestedScope: scope,
      missingScope: ['account-data:manage'],
    }),
  ]);
  expect(hasScope(token, 'account-all:read')).toBe(true);
  expect(hasScope(token, 'account-data:manage')).toBe(false);
  expect(hasScope(token, scope)).toBe(false);
  expect(tokens.grantedScope).toEqual(['account-all:read']);
});

it('reports no missing scope when every scope asked is granted', async () => {
  const tokens = provider();
  const events: TokenEvent[] = [];
  tokens.on('token', (e) => events.push(e));
  const token = await tokens.getToken();
  expect(token.scope).toEqual(scope);
  expect(events[0]?.missingScope).toEqual([]);
  expect(hasScope(token, 'account-all:read account-data:manage')).toBe(true);
});

it('sends the lower-case token_type "bearer" as Authorization: Bearer <token>', async () => {
  const api = axios.create({ baseURL: server.apiUrl });
  const tokens = provider();
  attachAuth(api, tokens);
  expect((await api.get('/v1/devices')).status).toBe(200);
  const issued = server.issued[0]!;
  expect(server.apiRequests[0]?.headers.authorization).toBe(`Bearer ${issued.accessToken}`);
  expect((await tokens.getToken()).tokenType).toBe('Bearer');
});

it('turns a 400 with an RFC 6749 §5.2 body into a TokenEndpointError with error, errorDescription and errorUri, without a retry', async () => {
  const retries: RetryEvent[] = [];
  const tokens = provider({ clientSecret: 'not-the-secret' });
  tokens.on('retry', (e) => retries.push(e));
  const error = await rejectionOf(tokens.getToken());
  expect(error).toBeInstanceOf(TokenEndpointError);
  expect(error).toMatchObject({
    status: 400,
    error: 'invalid_client',
    errorDescription: 'Unknown API credential keypair',
    errorUri: 'https://docs.applixure.com/errors#invalid_client',
    attempts: 1,
    retryable: false,
  });
  expect(server.tokenRequests).toHaveLength(1);
  expect(retries).toEqual([]);
});

it('turns a 400 invalid_scope into a TokenEndpointError without a retry', async () => {
  const error = await rejectionOf(provider({ scope: ['device-all:read'] }).getToken());
  expect(error).toMatchObject({ name: 'TokenEndpointError', status: 400, error: 'invalid_scope', attempts: 1 });
  expect(server.tokenRequests).toHaveLength(1);
});

it.each([
  ['500 (temporary error)', [500]],
  ['503 (AAS offline)', [503]],
  ['500 then 503', [500, 503]],
] as const)('retries %s and then uses the token', async (_, statuses) => {
  server.failNext(...statuses);
  const retries: RetryEvent[] = [];
  const tokens = provider({ retry: { baseDelayMs: 20 } });
  tokens.on('retry', (e) => retries.push(e));
  const token = await tokens.getToken();
  expect(token.accessToken).toBe(server.issued[0]?.accessToken);
  expect(server.tokenRequests).toHaveLength(statuses.length + 1);
  expect(retries.map((r) => r.reason)).toEqual(statuses.map((s) => `HTTP ${s}`));
});

it('can send the key in the body (client_secret_post), which the document accepts but does not recommend', async () => {
  await provider({ authMethod: 'client_secret_post' }).getToken();
  const request = server.tokenRequests[0]!;
  expect(request.headers.authorization).toBeUndefined();
  expect(formOf(request)).toEqual({
    grant_type: 'client_credentials',
    scope: scope.join(' '),
    client_id: key.keyId,
    client_secret: key.keySecret,
  });
});
