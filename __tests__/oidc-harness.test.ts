/**
 * The harness the client authentication tests stand on: a real oidc-provider (private_key_jwt,
 * client_secret_jwt, tls_client_auth, self_signed_tls_client_auth, certificate-bound tokens, FAPI 2.0) and
 * a real resource server checking RFC 8705 bindings, both over https with a test CA. It is exercised
 * here without the library: node:https requests and client assertions signed by hand.
 */
import {
  clientAssertion,
  ecKey,
  edKey,
  jwksOf,
  rsaKey,
  selfSignedCertificate,
  type ClientKey,
  type SelfSignedCertificate,
} from './helpers/client-keys.js';
import { ASSERTION_TYPE, fetchJson, jwtPayload } from './helpers/https-request.js';
import { startOidcServer, type OidcServer } from './helpers/oidc-server.js';
import {
  certificateThumbprint,
  startResourceServer,
  type ResourceServer,
  type ResourceServerOptions,
} from './helpers/resource-server.js';
import type { Pem } from './helpers/tls.js';

const HMAC_SECRET = 'a-client-secret-of-more-than-32-bytes-for-HS256';
/** How the token endpoint refuses a client it cannot authenticate. */
const INVALID_CLIENT = { status: 401, body: { error: 'invalid_client' } };

/** A resource server that takes `server`'s access tokens (its CA, issuer, keys and audience). */
function startApiFor(server: OidcServer, options: Partial<ResourceServerOptions> = {}): Promise<ResourceServer> {
  const { ca, issuer, jwks, audience } = server;
  return startResourceServer({ ca, issuer, jwks, audience, ...options });
}

/** The `error_detail` of the last `count` token requests `server` answered. */
async function lastErrorDetails(server: OidcServer, count: number): Promise<(string | undefined)[]> {
  return (await server.snapshot()).tokenRequests.slice(-count).map((r) => r.errorDetail);
}

function assertionForm(clientId: string, assertion: string, scope?: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    ...(scope !== undefined ? { scope } : {}),
    client_id: clientId,
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: assertion,
  };
}

describe('oidc-provider harness: JWT client assertions', () => {
  let server: OidcServer;
  const es256 = ecKey();
  const ps256 = rsaKey(2048, 'PS256');
  const rs256 = rsaKey(2048, 'RS256');
  const eddsa = edKey();

  beforeAll(async () => {
    server = await startOidcServer({
      scopes: ['accounts:read', 'payments:write'],
      clients: [
        {
          client_id: 'jwt-client',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: jwksOf(es256, ps256, rs256, eddsa),
        },
        {
          client_id: 'hmac-client',
          token_endpoint_auth_method: 'client_secret_jwt',
          client_secret: HMAC_SECRET,
          scope: 'accounts:read',
        },
      ],
    });
  });
  afterAll(() => server?.close());

  const token = (form: Record<string, string>) => fetchJson(server.tokenEndpoint, { ca: server.ca.cert, form });

  it('advertises the JWT client authentication methods and algorithms in discovery, and no mTLS without it', async () => {
    const { status, body } = await fetchJson(server.discoveryUrl, { ca: server.ca.cert });
    expect(status).toBe(200);
    expect(body['issuer']).toBe(server.issuer);
    expect(body['token_endpoint']).toBe(server.tokenEndpoint);
    expect(body['token_endpoint_auth_methods_supported']).toEqual(
      expect.arrayContaining(['private_key_jwt', 'client_secret_jwt', 'client_secret_basic', 'client_secret_post']),
    );
    expect(body['token_endpoint_auth_methods_supported']).not.toContain('tls_client_auth');
    expect(body['token_endpoint_auth_signing_alg_values_supported']).toEqual(
      expect.arrayContaining(['ES256', 'PS256', 'RS256', 'EdDSA', 'HS256']),
    );
    expect(body['mtls_endpoint_aliases']).toBeUndefined();
    expect(server.mtlsTokenEndpoint).toBeUndefined();
  });

  it('private_key_jwt (ES256, aud = issuer) gets a JWT access token; the same assertion again is invalid_client', async () => {
    const assertion = clientAssertion({ clientId: 'jwt-client', audience: server.issuer, key: es256 });
    const first = await token(assertionForm('jwt-client', assertion, 'accounts:read payments:write'));
    expect(first.status).toBe(200);
    expect(first.body['token_type']).toBe('Bearer');
    const claims = jwtPayload(first.body['access_token']);
    expect(claims).toMatchObject({
      iss: server.issuer,
      aud: server.audience,
      client_id: 'jwt-client',
      scope: 'accounts:read payments:write',
    });
    expect(claims['cnf']).toBeUndefined();

    const replay = await token(assertionForm('jwt-client', assertion, 'accounts:read payments:write'));
    expect(replay.status).toBe(401);
    expect(replay.body['error']).toBe('invalid_client');

    const { tokenRequests, assertionJtis, tokenErrorMessages } = await server.snapshot();
    const jti = jwtPayload(assertion)['jti'] as string;
    expect(assertionJtis.filter((seen) => seen === jti)).toHaveLength(2);
    const last = tokenRequests.at(-1);
    expect(last).toMatchObject({
      status: 401,
      error: 'invalid_client',
      errorDetail: 'client assertion tokens must only be used once',
      clientId: 'jwt-client',
      clientAssertionType: ASSERTION_TYPE,
      clientCertificate: false,
    });
    expect(last?.clientAssertion).toMatchObject({
      header: { alg: 'ES256', kid: es256.kid },
      claims: { iss: 'jwt-client', sub: 'jwt-client', aud: server.issuer, jti },
    });
    expect(tokenErrorMessages.at(-1)).toBe('invalid_client: client assertion tokens must only be used once');
  });

  it.each<[string, ClientKey]>([
    ['PS256', ps256],
    ['RS256', rs256],
    ['EdDSA', eddsa],
  ])('private_key_jwt accepts %s', async (_alg, key) => {
    const reply = await token(
      assertionForm('jwt-client', clientAssertion({ clientId: 'jwt-client', audience: server.issuer, key })),
    );
    expect(reply.status).toBe(200);
  });

  it('accepts the token endpoint URL as aud outside FAPI 2.0, and refuses a wrong aud or a wrong key', async () => {
    expect(
      (
        await token(
          assertionForm(
            'jwt-client',
            clientAssertion({ clientId: 'jwt-client', audience: server.tokenEndpoint, key: es256 }),
          ),
        )
      ).status,
    ).toBe(200);
    const wrongAud = await token(
      assertionForm(
        'jwt-client',
        clientAssertion({ clientId: 'jwt-client', audience: 'https://elsewhere.test', key: es256 }),
      ),
    );
    expect(wrongAud).toMatchObject(INVALID_CLIENT);
    const stranger = ecKey(es256.kid);
    const wrongKey = await token(
      assertionForm('jwt-client', clientAssertion({ clientId: 'jwt-client', audience: server.issuer, key: stranger })),
    );
    expect(wrongKey).toMatchObject(INVALID_CLIENT);
    const { tokenRequests } = await server.snapshot();
    expect(tokenRequests.at(-2)?.errorDetail).toMatch(/audience/);
    expect(tokenRequests.at(-1)?.errorDetail).toMatch(/signature/);
  });

  it('client_secret_jwt (HS256) gets a token', async () => {
    const assertion = clientAssertion({
      clientId: 'hmac-client',
      audience: server.issuer,
      key: HMAC_SECRET,
      alg: 'HS256',
    });
    const reply = await token(assertionForm('hmac-client', assertion, 'accounts:read'));
    expect(reply.status).toBe(200);
    expect(jwtPayload(reply.body['access_token'])).toMatchObject({
      client_id: 'hmac-client',
      scope: 'accounts:read',
      aud: server.audience,
    });
    const wrongSecret = await token(
      assertionForm(
        'hmac-client',
        clientAssertion({ clientId: 'hmac-client', audience: server.issuer, key: `${HMAC_SECRET}!`, alg: 'HS256' }),
      ),
    );
    expect(wrongSecret).toMatchObject(INVALID_CLIENT);
  });

  it('failNextTokenRequests answers 503 before oidc-provider sees the request, then lets requests through', async () => {
    const before = (await server.snapshot()).counters;
    await server.failNextTokenRequests(2, 503, { retryAfterSeconds: 1 });
    const assertions = [1, 2, 3].map(() =>
      clientAssertion({ clientId: 'jwt-client', audience: server.issuer, key: es256 }),
    );
    const replies = [];
    for (const assertion of assertions) replies.push(await token(assertionForm('jwt-client', assertion)));
    expect(replies.map((r) => r.status)).toEqual([503, 503, 200]);
    expect(replies[0]?.body['error']).toBe('temporarily_unavailable');
    expect(replies[0]?.headers['retry-after']).toBe('1');

    const { counters, tokenRequests, assertionJtis } = await server.snapshot();
    expect(counters.tokenFailuresInjected - before.tokenFailuresInjected).toBe(2);
    expect(counters.tokenRequests - before.tokenRequests).toBe(3);
    expect(counters.tokensIssued - before.tokensIssued).toBe(1);
    expect(counters.tokenErrors).toBe(before.tokenErrors);
    expect(tokenRequests.slice(-3).map((r) => r.answeredBy)).toEqual([
      'injected-failure',
      'injected-failure',
      'oidc-provider',
    ]);
    // The injected failures read the form too: every jti the server received is logged.
    expect(assertionJtis.slice(-3)).toEqual(assertions.map((a) => jwtPayload(a)['jti']));

    await server.failNextTokenRequests(1, 500);
    const fiveHundred = await token(
      assertionForm('jwt-client', clientAssertion({ clientId: 'jwt-client', audience: server.issuer, key: es256 })),
    );
    expect(fiveHundred).toMatchObject({ status: 500, body: { error: 'server_error' } });
  });
});

describe('oidc-provider harness: mTLS client authentication and certificate-bound tokens (RFC 8705)', () => {
  let server: OidcServer;
  let api: ResourceServer;
  let clientCert: Pem;
  let otherCert: Pem;
  let selfSigned: SelfSignedCertificate;
  const unboundKey = ecKey();

  beforeAll(async () => {
    selfSigned = selfSignedCertificate('self-signed-client');
    server = await startOidcServer({
      scopes: ['accounts:read'],
      certificateBoundAccessTokens: true,
      clients: [
        {
          client_id: 'mtls-client',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_subject_dn: 'CN=mtls-client',
        },
        {
          client_id: 'san-client',
          token_endpoint_auth_method: 'tls_client_auth',
          tls_client_auth_san_dns: 'san-client.test',
        },
        {
          client_id: 'self-signed-client',
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [selfSigned.jwk] },
        },
        {
          client_id: 'unbound-client',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: jwksOf(unboundKey),
          tls_client_certificate_bound_access_tokens: false,
        },
      ],
    });
    clientCert = server.ca.issue('mtls-client', { client: true, names: ['mtls-client.test'] });
    otherCert = server.ca.issue('san-client', { client: true, names: ['san-client.test'] });
    api = await startApiFor(server);
  });
  afterAll(() => Promise.all([server?.close(), api?.close()]));

  const token = (clientId: string, certificate?: Pem, endpoint = server.tokenEndpoint) =>
    fetchJson(endpoint, {
      ca: server.ca.cert,
      form: { grant_type: 'client_credentials', client_id: clientId },
      ...(certificate ? { certificate } : {}),
    });
  const callApi = (accessToken: unknown, certificate?: Pem) =>
    fetchJson(`${api.url}/accounts`, {
      ca: server.ca.cert,
      headers: { authorization: `Bearer ${String(accessToken)}` },
      ...(certificate ? { certificate } : {}),
    });

  it('advertises tls_client_auth, self_signed_tls_client_auth, bound tokens and the mTLS token endpoint alias', async () => {
    const { body } = await fetchJson(server.discoveryUrl, { ca: server.ca.cert });
    expect(body['token_endpoint_auth_methods_supported']).toEqual(
      expect.arrayContaining(['tls_client_auth', 'self_signed_tls_client_auth', 'private_key_jwt']),
    );
    expect(body['tls_client_certificate_bound_access_tokens']).toBe(true);
    expect(server.mtlsTokenEndpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/token$/);
    expect(server.mtlsTokenEndpoint).not.toBe(server.tokenEndpoint);
    expect(body['mtls_endpoint_aliases']).toEqual({ token_endpoint: server.mtlsTokenEndpoint });
  });

  it('tls_client_auth with a CA-issued certificate gets a token bound to it; the resource server accepts it only with that certificate', async () => {
    const reply = await token('mtls-client', clientCert);
    expect(reply.status).toBe(200);
    const thumbprint = certificateThumbprint(clientCert.cert);
    expect(jwtPayload(reply.body['access_token'])['cnf']).toEqual({ 'x5t#S256': thumbprint });
    const { tokenRequests } = await server.snapshot();
    expect(tokenRequests.at(-1)).toMatchObject({
      listener: 'main',
      clientCertificate: true,
      certificateAuthorized: true,
      certificateThumbprint: thumbprint,
      status: 200,
    });

    const accessToken = reply.body['access_token'];
    const ok = await callApi(accessToken, clientCert);
    expect(ok).toMatchObject({
      status: 200,
      body: { ok: true, client_id: 'mtls-client', cnf: { 'x5t#S256': thumbprint } },
    });
    const bare = await callApi(accessToken);
    expect(bare.status).toBe(401);
    expect(bare.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    const other = await callApi(accessToken, otherCert);
    expect(other.status).toBe(401);
    expect(other.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);
    const tampered = await callApi(`${String(accessToken)}x`, clientCert);
    expect(tampered.status).toBe(401);
    const none = await fetchJson(`${api.url}/accounts`, { ca: server.ca.cert, certificate: clientCert });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');

    const records = await api.records();
    expect(records.slice(-5).map((r) => r.outcome)).toEqual([
      'ok',
      'certificate_missing',
      'certificate_mismatch',
      'invalid_token',
      'no_token',
    ]);
    expect(records.at(-5)).toMatchObject({
      method: 'GET',
      path: '/accounts',
      clientCertificate: true,
      certificateThumbprint: thumbprint,
      boundThumbprint: thumbprint,
      clientId: 'mtls-client',
    });
    expect(records.at(-4)).toMatchObject({ clientCertificate: false });
    expect(records.at(-3)?.certificateThumbprint).toBe(certificateThumbprint(otherCert.cert));
  });

  it('tls_client_auth refuses a request without a certificate, or with one whose subject does not match', async () => {
    expect(await token('mtls-client')).toMatchObject(INVALID_CLIENT);
    expect(await token('mtls-client', otherCert)).toMatchObject(INVALID_CLIENT);
    // A self-signed certificate with the right subject is no CA-issued one.
    expect(await token('mtls-client', selfSignedCertificate('mtls-client'))).toMatchObject(INVALID_CLIENT);
    expect(await lastErrorDetails(server, 3)).toEqual([
      'client certificate was not provided',
      'certificate subject value does not match the registered one',
      'client certificate was not verified',
    ]);
    // tls_client_auth_san_dns matches the subjectAltName.
    expect((await token('san-client', otherCert)).status).toBe(200);
    expect((await token('san-client', clientCert)).status).toBe(401);
  });

  it('self_signed_tls_client_auth with a self-signed certificate registered in the jwks (x5c) gets a token bound to it', async () => {
    const reply = await token('self-signed-client', selfSigned);
    expect(reply.status).toBe(200);
    expect(jwtPayload(reply.body['access_token'])['cnf']).toEqual({ 'x5t#S256': selfSigned.thumbprint });
    expect(selfSigned.thumbprint).toBe(certificateThumbprint(selfSigned.cert));
    expect((await callApi(reply.body['access_token'], selfSigned)).status).toBe(200);
    expect((await callApi(reply.body['access_token'], clientCert)).status).toBe(401);
    // Another self-signed certificate, even for the same key, is not the registered one.
    expect(await token('self-signed-client', selfSignedCertificate('self-signed-client'))).toMatchObject(
      INVALID_CLIENT,
    );
    expect((await server.snapshot()).tokenRequests.at(-1)?.errorDetail).toBe(
      'unregistered client certificate provided',
    );
  });

  it('a client registered without binding gets an unbound token even with a certificate; the resource server takes it with or without one', async () => {
    const assertion = clientAssertion({ clientId: 'unbound-client', audience: server.issuer, key: unboundKey });
    const reply = await fetchJson(server.tokenEndpoint, {
      ca: server.ca.cert,
      certificate: clientCert,
      form: assertionForm('unbound-client', assertion),
    });
    expect(reply.status).toBe(200);
    expect(jwtPayload(reply.body['access_token'])['cnf']).toBeUndefined();
    expect((await callApi(reply.body['access_token'])).status).toBe(200);
    expect((await callApi(reply.body['access_token'], otherCert)).status).toBe(200);
  });

  it('the mTLS endpoint alias issues tokens to a CA-issued certificate and refuses a connection without one in the TLS handshake', async () => {
    const alias = server.mtlsTokenEndpoint ?? '';
    const reply = await token('mtls-client', clientCert, alias);
    expect(reply.status).toBe(200);
    expect(jwtPayload(reply.body['access_token'])['cnf']).toEqual({
      'x5t#S256': certificateThumbprint(clientCert.cert),
    });
    const { tokenRequests, counters } = await server.snapshot();
    expect(tokenRequests.at(-1)).toMatchObject({ listener: 'alias', status: 200 });
    expect(counters.aliasTokenRequests).toBe(1);
    // Outside FAPI 2.0, the alias's own token endpoint URL is an accepted client assertion aud too.
    const viaAlias = await fetchJson(alias, {
      ca: server.ca.cert,
      certificate: clientCert,
      form: assertionForm(
        'unbound-client',
        clientAssertion({ clientId: 'unbound-client', audience: alias, key: unboundKey }),
      ),
    });
    expect(viaAlias.status).toBe(200);

    const refused = await token('mtls-client', undefined, alias).then(
      () => undefined,
      (error: NodeJS.ErrnoException) => error,
    );
    expect(refused?.code).toMatch(/^(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ECONNRESET|EPIPE)$/);
    // The server counts the failed handshake (its event may trail the client's error by a moment).
    for (let i = 0; i < 50 && (await server.snapshot()).counters.tlsClientErrors === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await server.snapshot()).counters.tlsClientErrors).toBeGreaterThanOrEqual(1);
  });
});

describe('oidc-provider harness: FAPI 2.0 profile', () => {
  let server: OidcServer;
  let api: ResourceServer;
  const key = ecKey();
  let certificate: Pem;
  let selfSigned: SelfSignedCertificate;

  beforeAll(async () => {
    selfSigned = selfSignedCertificate('fapi-self-signed');
    server = await startOidcServer({
      scopes: ['accounts:read'],
      fapi: '2.0',
      certificateBoundAccessTokens: true,
      // An alias that takes any certificate (self-signed ones too) and refuses a request without one.
      mtlsEndpointAlias: { rejectUnauthorized: false },
      clients: [
        {
          client_id: 'fapi-self-signed',
          token_endpoint_auth_method: 'self_signed_tls_client_auth',
          jwks: { keys: [selfSigned.jwk] },
        },
        { client_id: 'fapi-client', token_endpoint_auth_method: 'private_key_jwt', jwks: jwksOf(key) },
        {
          client_id: 'fapi-unbound',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: jwksOf(key),
          tls_client_certificate_bound_access_tokens: false,
        },
      ],
    });
    certificate = server.ca.issue('fapi-client', { client: true, names: ['fapi-client.test'] });
    api = await startApiFor(server, { requireCertificate: true });
  });
  afterAll(() => Promise.all([server?.close(), api?.close()]));

  const token = (
    clientId: string,
    audience: string | string[],
    withCertificate = true,
    endpoint = server.tokenEndpoint,
  ) =>
    fetchJson(endpoint, {
      ca: server.ca.cert,
      ...(withCertificate ? { certificate } : {}),
      form: assertionForm(clientId, clientAssertion({ clientId, audience, key })),
    });

  it('accepts a client assertion whose aud is the issuer, and refuses the token endpoint URL (or an array) as aud', async () => {
    const ok = await token('fapi-client', server.issuer);
    expect(ok.status).toBe(200);
    expect(jwtPayload(ok.body['access_token'])['cnf']).toEqual({ 'x5t#S256': certificateThumbprint(certificate.cert) });
    expect(
      (
        await fetchJson(`${api.url}/x`, {
          ca: server.ca.cert,
          certificate,
          headers: { authorization: `Bearer ${String(ok.body['access_token'])}` },
        })
      ).status,
    ).toBe(200);

    expect(await token('fapi-client', server.tokenEndpoint)).toMatchObject(INVALID_CLIENT);
    expect(await token('fapi-client', [server.issuer])).toMatchObject(INVALID_CLIENT);
    expect(await lastErrorDetails(server, 2)).toEqual([
      'audience (aud) must equal the issuer identifier url',
      'audience (aud) must equal the issuer identifier url',
    ]);
  });

  it('does not itself demand a sender-constrained token for client credentials: a client registered without binding gets a bearer token', async () => {
    const reply = await token('fapi-unbound', server.issuer, false);
    expect(reply.status).toBe(200);
    expect(jwtPayload(reply.body['access_token'])['cnf']).toBeUndefined();
    // The bound client without a certificate is refused (RFC 8705 binding, not FAPI).
    expect(await token('fapi-client', server.issuer, false)).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
    // A resource server with requireCertificate refuses any request without a certificate.
    const bare = await fetchJson(`${api.url}/x`, {
      ca: server.ca.cert,
      headers: { authorization: `Bearer ${String(reply.body['access_token'])}` },
    });
    expect(bare.status).toBe(401);
    expect((await api.records()).at(-1)?.outcome).toBe('certificate_required');
  });

  it('at an alias with rejectUnauthorized: false: a self-signed certificate gets a token, no certificate gets 401, and FAPI 2.0 still wants aud = issuer', async () => {
    const alias = server.mtlsTokenEndpoint ?? '';
    expect(alias).not.toBe('');
    const selfSignedReply = await fetchJson(alias, {
      ca: server.ca.cert,
      certificate: selfSigned,
      form: { grant_type: 'client_credentials', client_id: 'fapi-self-signed' },
    });
    expect(selfSignedReply.status).toBe(200);
    expect(jwtPayload(selfSignedReply.body['access_token'])['cnf']).toEqual({ 'x5t#S256': selfSigned.thumbprint });

    expect(await token('fapi-unbound', server.issuer, false, alias)).toMatchObject(INVALID_CLIENT);
    expect((await token('fapi-client', alias, true, alias)).status).toBe(401);
    expect((await token('fapi-client', server.issuer, true, alias)).status).toBe(200);
    const { tokenRequests } = await server.snapshot();
    expect(tokenRequests.slice(-4).map((r) => [r.listener, r.answeredBy, r.status])).toEqual([
      ['alias', 'oidc-provider', 200],
      ['alias', 'alias-certificate-check', 401],
      ['alias', 'oidc-provider', 401],
      ['alias', 'oidc-provider', 200],
    ]);
    expect(tokenRequests.at(-2)?.errorDetail).toBe('audience (aud) must equal the issuer identifier url');
  });
});
