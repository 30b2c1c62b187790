/**
 * Issue 11: mutual TLS (RFC 8705) against a real oidc-provider (tls_client_auth, self_signed_tls_client_auth,
 * certificate-bound tokens, an mTLS endpoint alias that demands a certificate) and a real resource server that
 * checks `cnf.x5t#S256` against the certificate each connection presents. Everything over https with a test CA.
 */
import { createServer, Agent, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import axios from 'axios';
import {
  AuthenticationError,
  ClientCredentialsProvider,
  ConfigurationError,
  attachAuth,
  memoryStore,
  type ClientCredentialsOptions,
} from '../src/index.js';
import { ecKey, jwksOf, selfSignedCertificate, type SelfSignedCertificate } from './helpers/client-keys.js';
import { startOidcServer, type OidcServer } from './helpers/oidc-server.js';
import { certificateThumbprint, startResourceServer, type ResourceServer } from './helpers/resource-server.js';
import type { Pem } from './helpers/tls.js';

let server: OidcServer;
let api: ResourceServer;
let elsewhere: ResourceServer;
let clientCert: Pem;
let secondCert: Pem;
let selfSigned: SelfSignedCertificate;
const boundKey = ecKey();

beforeAll(async () => {
  selfSigned = selfSignedCertificate('self-signed-client');
  server = await startOidcServer({
    scopes: ['accounts'],
    certificateBoundAccessTokens: true,
    clients: [
      { client_id: 'mtls', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=mtls' },
      { client_id: 'second', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=second' },
      {
        client_id: 'self-signed',
        token_endpoint_auth_method: 'self_signed_tls_client_auth',
        jwks: { keys: [selfSigned.jwk] },
      },
      { client_id: 'bound-jwt', token_endpoint_auth_method: 'private_key_jwt', jwks: jwksOf(boundKey) },
    ],
    mtlsEndpointAlias: { rejectUnauthorized: false },
  });
  clientCert = server.ca.issue('mtls', { client: true, names: ['mtls.test'] });
  secondCert = server.ca.issue('second', { client: true, names: ['second.test'] });
  const resource = { ca: server.ca, issuer: server.issuer, jwks: server.jwks, audience: server.audience };
  [api, elsewhere] = await Promise.all([startResourceServer(resource), startResourceServer(resource)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.close(), api?.close(), elsewhere?.close()]);
});

function provider(options: Partial<ClientCredentialsOptions> & { clientId: string }): ClientCredentialsProvider {
  return new ClientCredentialsProvider({
    issuer: server.issuer,
    ca: server.ca.cert,
    scope: 'accounts',
    retry: false,
    ...options,
  });
}

/** An axios instance for the API, trusting the test CA through its own agent, as a user behind a private CA does. */
function apiClient() {
  return axios.create({ baseURL: api.url, httpsAgent: new Agent({ ca: server.ca.cert }) });
}

function claims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('tls_client_auth', () => {
  test('gets a token bound to the certificate through the mTLS endpoint alias', async () => {
    const tokens = provider({ clientId: 'mtls', tls: clientCert });
    const token = await tokens.getToken();
    expect(claims(token.accessToken).cnf).toEqual({ 'x5t#S256': certificateThumbprint(clientCert.cert) });
    const { tokenRequests } = await server.snapshot();
    const last = tokenRequests.at(-1)!;
    expect(last).toMatchObject({ listener: 'alias', status: 200, clientId: 'mtls', clientCertificate: true });
    expect(last.certificateThumbprint).toBe(certificateThumbprint(clientCert.cert));
  });

  test('API calls through attachAuth present the same certificate, with no extra code, and the instance keeps its CA', async () => {
    const instance = apiClient();
    attachAuth(instance, provider({ clientId: 'mtls', tls: clientCert }));
    const before = (await api.records()).length;
    const answers = await Promise.all([
      instance.get('/accounts'),
      instance.get('/accounts/1'),
      instance.post('/x', {}),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const seen = (await api.records()).slice(before);
    expect(seen.map((r) => r.outcome)).toEqual(['ok', 'ok', 'ok']);
    expect(seen.every((r) => r.certificateThumbprint === certificateThumbprint(clientCert.cert))).toBe(true);
  });

  test('reuses one agent per instance and certificate, never one per request', async () => {
    const instance = apiClient();
    attachAuth(instance, provider({ clientId: 'mtls', tls: clientCert }));
    const agents = new Set<unknown>();
    const http = axios.getAdapter('http');
    instance.interceptors.request.use((config) => {
      config.adapter = (sent) => {
        agents.add(sent.httpsAgent);
        return http(sent);
      };
      return config;
    });
    for (let i = 0; i < 5; i++) await instance.get('/accounts');
    expect(agents.size).toBe(1);
    expect([...agents][0]).not.toBe(instance.defaults.httpsAgent);
    // The request's own config gets its agent back: a copy sent elsewhere carries no certificate.
    const response = await instance.get('/accounts');
    expect(response.config.httpsAgent).toBe(instance.defaults.httpsAgent);
  });

  test('offers no certificate (and no token) to an origin that is not allowed', async () => {
    const instance = apiClient();
    attachAuth(instance, provider({ clientId: 'mtls', tls: clientCert }));
    await instance.get('/accounts');
    const before = (await elsewhere.records()).length;
    await instance.get(`${elsewhere.url}/public`, { validateStatus: () => true });
    const [record] = (await elsewhere.records()).slice(before);
    expect(record).toMatchObject({ clientCertificate: false, authorization: false });
  });

  test('offers no certificate to an origin a redirect leads to', async () => {
    const { server: redirector, url } = await startRedirector(`${elsewhere.url}/landed`);
    try {
      const instance = axios.create({ baseURL: url, httpsAgent: new Agent({ ca: server.ca.cert }) });
      attachAuth(instance, provider({ clientId: 'mtls', tls: clientCert }));
      const before = (await elsewhere.records()).length;
      await instance.get('/go', { validateStatus: () => true });
      const [record] = (await elsewhere.records()).slice(before);
      expect(record).toMatchObject({ path: '/landed', clientCertificate: false, authorization: false });
      expect(redirector.seen).toEqual([{ certificate: true, authorization: true }]);
    } finally {
      redirector.closeAllConnections();
      await new Promise((resolve) => redirector.close(resolve));
    }
  });

  test('a request that brings its own httpsAgent keeps it (and must carry the certificate itself)', async () => {
    const instance = apiClient();
    attachAuth(instance, provider({ clientId: 'mtls', tls: clientCert }));
    const own = new Agent({ ca: server.ca.cert });
    const error = await instance.get('/accounts', { httpsAgent: own }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    const withCert = new Agent({ ca: server.ca.cert, ...clientCert });
    await expect(instance.get('/accounts', { httpsAgent: withCert })).resolves.toMatchObject({ status: 200 });
  });

  test("refuses axios's fetch adapter, which cannot present a certificate, before anything is sent", async () => {
    const instance = apiClient();
    attachAuth(instance, provider({ clientId: 'mtls', tls: clientCert }));
    const before = (await api.records()).length;
    await expect(instance.get('/accounts', { adapter: 'fetch' })).rejects.toBeInstanceOf(ConfigurationError);
    expect((await api.records()).length).toBe(before);
  });

  test('two providers with different certificates never share a token, even through one store', async () => {
    const store = memoryStore();
    const a = provider({ clientId: 'mtls', tls: clientCert, store });
    const b = provider({ clientId: 'second', tls: secondCert, store });
    const [ta, tb] = [await a.getToken(), await b.getToken()];
    expect(ta.accessToken).not.toBe(tb.accessToken);
    expect(claims(tb.accessToken).cnf).toEqual({ 'x5t#S256': certificateThumbprint(secondCert.cert) });
  });
});

describe('self_signed_tls_client_auth', () => {
  test('gets a bound token with a self-signed certificate registered with the client', async () => {
    const tokens = provider({ clientId: 'self-signed', tls: selfSigned, authMethod: 'self_signed_tls_client_auth' });
    const token = await tokens.getToken();
    expect(claims(token.accessToken).cnf).toEqual({ 'x5t#S256': selfSigned.thumbprint });
  });
});

describe('a certificate with a private key (private_key_jwt authenticates, the certificate binds)', () => {
  test('the token is bound, the client authenticated by assertion, and API calls present the certificate', async () => {
    const tokens = provider({ clientId: 'bound-jwt', tls: clientCert, privateKey: boundKey.privateJwk });
    const instance = apiClient();
    attachAuth(instance, tokens);
    await expect(instance.get('/accounts')).resolves.toMatchObject({ status: 200 });
    const last = (await server.snapshot()).tokenRequests.at(-1)!;
    expect(last).toMatchObject({ clientId: 'bound-jwt', status: 200, clientCertificate: true });
    expect(last.clientAssertion).toBeDefined();
    const token = await tokens.getToken();
    expect(claims(token.accessToken).cnf).toEqual({ 'x5t#S256': certificateThumbprint(clientCert.cert) });
  });
});

/** An https API that redirects every request to `target`, recording whether each came with a certificate and a token. */
async function startRedirector(target: string) {
  const seen: { certificate: boolean; authorization: boolean }[] = [];
  const redirector: Server & { seen?: typeof seen } = createServer(
    { ...server.ca.issue('localhost'), ca: [server.ca.cert], requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const certificate = Object.keys((req.socket as TLSSocket).getPeerCertificate()).length > 0;
      seen.push({ certificate, authorization: req.headers.authorization !== undefined });
      res.writeHead(302, { Location: target }).end();
    },
  );
  redirector.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  redirector.seen = seen;
  const { port } = redirector.address() as AddressInfo;
  return { server: Object.assign(redirector, { seen }), url: `https://127.0.0.1:${port}` };
}
