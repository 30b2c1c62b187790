/**
 * The `/oauth/v2/token` JWT API, against a loopback server that behaves as its vendor document
 * says (/work/shared/vendor-docs/oauth-v2-token-jwt-api.txt); the API verifies every JWT with jose.
 */
import axios from 'axios';
import {
  AuthenticationError,
  attachAuth,
  ClientCredentialsProvider,
  PermissionError,
  TokenEndpointError,
  type DeniedEvent,
  type ReplayEvent,
} from '../../src/index.js';
import { basicOf, rejectionOf } from '../helpers/vendors/common.js';
import { startOauthV2JwtServer, type OauthV2JwtOptions } from '../helpers/vendors/oauth-v2-token-jwt.js';

// "Tip: You can choose your own Client ID."
const client = { clientId: 'my-chosen-id', clientSecret: 'NgXCXRKc-Mz0Yjw_secret' };

async function setup(options: Partial<OauthV2JwtOptions> = {}, secret = client.clientSecret) {
  const server = await startOauthV2JwtServer({ ...client, ...options });
  const provider = new ClientCredentialsProvider({
    tokenUrl: server.tokenUrl,
    clientId: client.clientId,
    clientSecret: secret,
  });
  return { server, provider };
}

describe('the token request', () => {
  it('authenticates with Basic <base64 client_id:client_secret> and sends only grant_type=client_credentials, form-encoded', async () => {
    const { server, provider } = await setup();
    await provider.getToken();
    const request = server.tokenRequests[0]!;
    expect(request.headers.authorization).toBe(basicOf(client.clientId, client.clientSecret));
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request.body.toString()).toBe('grant_type=client_credentials');
  });

  it('turns HTTP 401 for invalid credentials into a TokenEndpointError with status 401 and the error of the body, after one request', async () => {
    const { server, provider } = await setup({}, 'wrong-secret');
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({
      status: 401,
      error: 'invalid_client',
      errorDescription: 'Invalid client credentials',
      attempts: 1,
      retryable: false,
    });
    expect(server.tokenRequests).toHaveLength(1);
    expect((error as Error).message).not.toContain('wrong-secret');
  });

  it('turns a bare HTTP 401 (no body) into a TokenEndpointError with status 401 and no error, after one request', async () => {
    const { server, provider } = await setup({ unauthorizedBody: null }, 'wrong-secret');
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({ status: 401, error: undefined, attempts: 1 });
    expect(server.tokenRequests).toHaveLength(1);
  });

  it('uses the JWT access token the API verifies, expiring expires_in seconds after the request was sent', async () => {
    const { server, provider } = await setup();
    const before = Date.now();
    const token = await provider.getToken();
    expect(token.tokenType).toBe('Bearer');
    expect(token.expiresAt! - before).toBeGreaterThanOrEqual(3600_000);
    expect(token.expiresAt! - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(await server.jose.verify(token.accessToken)).toMatchObject({ sub: client.clientId });
  });

  it('takes the expiry from the JWT exp claim when the answer has no expires_in', async () => {
    const { server, provider } = await setup({ expiresIn: null, jwtLifetimeSeconds: 120 });
    const token = await provider.getToken();
    const { exp } = await server.jose.verify(token.accessToken);
    expect(token.raw).not.toHaveProperty('expires_in');
    expect(token.expiresAt).toBe((exp as number) * 1000);
  });
});

describe('a 401 or 403 from the API follows the core rules', () => {
  it('replays a request the API answers 401 once, with a fresh token', async () => {
    const { server, provider } = await setup();
    const replays: ReplayEvent[] = [];
    provider.on('replay', (e) => replays.push(e));
    const api = axios.create({ baseURL: server.origin });
    attachAuth(api, provider);
    await api.get('/api/v1/accounts');
    server.revokeIssued();
    const answer = await api.get('/api/v1/accounts');
    expect(answer.status).toBe(200);
    expect(server.tokenRequests).toHaveLength(2);
    expect(server.apiCalls.map((c) => [c.authorization, c.status])).toEqual([
      [`Bearer ${server.issued[0]}`, 200],
      [`Bearer ${server.issued[0]}`, 401],
      [`Bearer ${server.issued[1]}`, 200],
    ]);
    expect(replays).toEqual([{ method: 'GET', url: server.accountsUrl, status: 401 }]);
  });

  it('gives up with an AuthenticationError when the replay is answered 401 too', async () => {
    const { server, provider } = await setup();
    const api = axios.create({ baseURL: server.origin });
    attachAuth(api, provider);
    server.refuseAll();
    const error = await rejectionOf(api.get('/api/v1/accounts'));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ reason: 'rejected-after-replay', response: { status: 401 } });
    expect(server.apiCalls.map((c) => [c.authorization, c.status])).toEqual([
      [`Bearer ${server.issued[0]}`, 401],
      [`Bearer ${server.issued[1]}`, 401],
    ]);
  });

  it('turns a 403 from the API into a PermissionError without a new token or a replay', async () => {
    const { server, provider } = await setup();
    const denied: DeniedEvent[] = [];
    provider.on('denied', (e) => denied.push(e));
    const api = axios.create({ baseURL: server.origin });
    attachAuth(api, provider);
    const error = await rejectionOf(api.get('/api/v1/restricted'));
    expect(error).toBeInstanceOf(PermissionError);
    expect(axios.isAxiosError(error)).toBe(true);
    expect((error as PermissionError).response?.status).toBe(403);
    expect(server.tokenRequests).toHaveLength(1);
    expect(server.apiCalls.map((c) => c.status)).toEqual([403]);
    expect(denied).toEqual([{ method: 'GET', url: server.restrictedUrl, requiredScope: [] }]);
  });
});
