/**
 * The harness the DPoP tests (RFC 9449) stand on: oidc-provider with `features.dPoP` (nonces off, required,
 * offered; FAPI 2.0 with private_key_jwt) and a resource server that verifies every proof with jose and can
 * demand nonces. It is exercised here without the library: node:https requests, client assertions and DPoP
 * proofs signed by hand with node:crypto.
 */
import {
  accessTokenHash,
  clientAssertion,
  dpopJwk,
  dpopProof,
  ecKey,
  edKey,
  jwkThumbprint,
  jwksOf,
  rsaKey,
  signJwt,
  type ClientKey,
  type DpopProofOptions,
} from './helpers/client-keys.js';
import { ASSERTION_TYPE, fetchJson, jwtPayload, type Reply } from './helpers/https-request.js';
import { startOidcServer, type ClientMetadata, type OidcServer } from './helpers/oidc-server.js';
import { startResourceServer, type ResourceServer, type ResourceServerOptions } from './helpers/resource-server.js';

const ALGS = 'algs="ES256 PS256 EdDSA"';

/** A client registered for private_key_jwt with `key`. */
function jwtClient(clientId: string, key: ClientKey, more: Partial<ClientMetadata> = {}): ClientMetadata {
  return { client_id: clientId, token_endpoint_auth_method: 'private_key_jwt', jwks: jwksOf(key), ...more };
}

/** A resource server that takes `server`'s access tokens (its CA, issuer, keys and audience). */
function startApiFor(server: OidcServer, options: Partial<ResourceServerOptions> = {}): Promise<ResourceServer> {
  const { ca, issuer, jwks, audience } = server;
  return startResourceServer({ ca, issuer, jwks, audience, ...options });
}

/** A private_key_jwt token request for `clientId`, with a DPoP proof when given. */
function requestToken(
  server: OidcServer,
  client: { id: string; key: ClientKey; audience?: string },
  proof?: string,
): Promise<Reply> {
  return fetchJson(server.tokenEndpoint, {
    ca: server.ca.cert,
    form: {
      grant_type: 'client_credentials',
      client_id: client.id,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: clientAssertion({
        clientId: client.id,
        audience: client.audience ?? server.issuer,
        key: client.key,
      }),
    },
    ...(proof !== undefined ? { headers: { dpop: proof } } : {}),
  });
}

/** A resource request with `Authorization: <scheme> <token>` and, when given, a `DPoP` header. */
function callApi(
  api: ResourceServer,
  ca: string,
  request: { path?: string; method?: string; scheme?: string; token?: unknown; proof?: string | string[] },
): Promise<Reply> {
  const headers: Record<string, string | string[]> = {};
  if (request.token !== undefined) headers['authorization'] = `${request.scheme ?? 'DPoP'} ${String(request.token)}`;
  // An array is sent as that many DPoP header lines.
  if (request.proof !== undefined) headers['dpop'] = request.proof;
  return fetchJson(`${api.url}${request.path ?? '/accounts'}`, {
    ca,
    headers,
    ...(request.method ? { method: request.method } : {}),
  });
}

/** Splits a `WWW-Authenticate` value into its challenges (`Scheme` and its auth-params), quoted strings kept whole. */
function challenges(header: unknown): { scheme: string; params: Record<string, string> }[] {
  const text = typeof header === 'string' ? header : '';
  const tokens = text.match(/[\w!#$%&'*+.^`|~-]+=(?:"(?:[^"\\]|\\.)*"|[^\s,]*)|[\w!#$%&'*+.^`|~-]+/g) ?? [];
  const result: { scheme: string; params: Record<string, string> }[] = [];
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq < 0) result.push({ scheme: token, params: {} });
    else result.at(-1)!.params[token.slice(0, eq)] = token.slice(eq + 1).replace(/^"(.*)"$/, '$1');
  }
  return result;
}

describe('DPoP harness: DPoP-bound tokens from oidc-provider, proofs verified by the resource server', () => {
  let server: OidcServer;
  let api: ResourceServer;
  const clientKey = ecKey();
  const proofKey = ecKey();
  const otherKey = ecKey();
  const psKey = rsaKey(2048, 'PS256');
  const client = { id: 'dpop-client', key: clientKey };
  let token: string;

  beforeAll(async () => {
    server = await startOidcServer({
      scopes: ['accounts:read'],
      dpop: { signingAlgValues: ['ES256', 'PS256', 'EdDSA'] },
      clients: [
        jwtClient('dpop-client', clientKey),
        jwtClient('bound-client', clientKey, { dpop_bound_access_tokens: true }),
      ],
    });
    api = await startApiFor(server, { dpop: true });
    const reply = await requestToken(server, client, tokenProof(proofKey));
    token = reply.body['access_token'] as string;
  });
  afterAll(() => Promise.all([server?.close(), api?.close()]));

  const tokenProof = (key: ClientKey, more: Partial<DpopProofOptions> = {}) =>
    dpopProof({ key, htm: 'POST', htu: server.tokenEndpoint, ...more });
  const apiProof = (more: Partial<DpopProofOptions> = {}) =>
    dpopProof({ key: proofKey, htm: 'GET', htu: `${api.url}/accounts`, accessToken: token, ...more });
  const ca = () => server.ca.cert;

  it('advertises the DPoP algorithms in discovery', async () => {
    const { body } = await fetchJson(server.discoveryUrl, { ca: ca() });
    expect(body['dpop_signing_alg_values_supported']).toEqual(['ES256', 'PS256', 'EdDSA']);
  });

  it('a token request with a proof gets token_type DPoP and a JWT with cnf.jkt = the proof key thumbprint; the server records the proof', async () => {
    const before = (await server.snapshot()).counters;
    const jti = 'token-proof-1';
    const reply = await requestToken(server, client, tokenProof(proofKey, { jti }));
    expect(reply.status).toBe(200);
    expect(reply.body['token_type']).toBe('DPoP');
    const thumbprint = jwkThumbprint(proofKey.publicJwk);
    expect(thumbprint).toBe(jwkThumbprint(dpopJwk(proofKey)));
    expect(jwtPayload(reply.body['access_token'])).toMatchObject({
      client_id: 'dpop-client',
      cnf: { jkt: thumbprint },
    });

    const { counters, tokenRequests, dpopJtis } = await server.snapshot();
    expect(counters.dpopProofs - before.dpopProofs).toBe(1);
    expect(counters.dpopTokensIssued - before.dpopTokensIssued).toBe(1);
    expect(counters.dpopNonceChallenges).toBe(0);
    expect(dpopJtis.at(-1)).toBe(jti);
    expect(tokenRequests.at(-1)).toMatchObject({
      dpopProof: true,
      dpop: {
        typ: 'dpop+jwt',
        alg: 'ES256',
        jkt: thumbprint,
        jwkPrivate: false,
        htm: 'POST',
        htu: server.tokenEndpoint,
        jti,
      },
      status: 200,
      tokenType: 'DPoP',
      accessTokenJkt: thumbprint,
    });
    expect(tokenRequests.at(-1)?.dpopNonceAnswered).toBeUndefined();
  });

  it('without a proof: a bearer token, and a dpop_bound_access_tokens client is refused invalid_grant', async () => {
    const bearer = await requestToken(server, client);
    expect(bearer.status).toBe(200);
    expect(bearer.body['token_type']).toBe('Bearer');
    expect(jwtPayload(bearer.body['access_token'])['cnf']).toBeUndefined();
    expect((await server.snapshot()).tokenRequests.at(-1)).toMatchObject({ dpopProof: false, tokenType: 'Bearer' });

    const refused = await requestToken(server, { id: 'bound-client', key: clientKey });
    expect(refused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await server.snapshot()).tokenRequests.at(-1)?.errorDetail).toBe('DPoP proof JWT not provided');
    const bound = await requestToken(server, { id: 'bound-client', key: clientKey }, tokenProof(proofKey));
    expect(bound.body['token_type']).toBe('DPoP');
  });

  it('the token endpoint refuses a proof for another htu or htm, a reused jti, and an alg it does not take', async () => {
    const wrongHtu = await requestToken(server, client, tokenProof(proofKey, { htu: `${server.issuer}/other` }));
    expect(wrongHtu).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof' } });
    const wrongHtm = await requestToken(server, client, tokenProof(proofKey, { htm: 'GET' }));
    expect(wrongHtm).toMatchObject({ status: 400, body: { error: 'invalid_dpop_proof' } });
    const proof = tokenProof(proofKey);
    expect((await requestToken(server, client, proof)).status).toBe(200);
    expect(await requestToken(server, client, proof)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const rs256 = rsaKey(2048, 'RS256');
    expect(await requestToken(server, client, tokenProof(rs256))).toMatchObject({
      status: 400,
      body: { error: 'invalid_dpop_proof' },
    });
    const { tokenRequests } = await server.snapshot();
    // oidc-provider's reason: error_detail when it has one (the replay, jose's message), else error_description.
    expect(tokenRequests.slice(-5).map((r) => [r.status, r.error, r.errorDetail ?? r.errorDescription])).toEqual([
      [400, 'invalid_dpop_proof', 'DPoP proof htu mismatch'],
      [400, 'invalid_dpop_proof', 'DPoP proof htm mismatch'],
      [200, undefined, undefined],
      [400, 'invalid_grant', 'DPoP proof JWT Replay detected'],
      [400, 'invalid_dpop_proof', '"alg" (Algorithm) Header Parameter value not allowed'],
    ]);
  });

  it('the resource server accepts a correct proof and counts it; a PS256 and an EdDSA key work too', async () => {
    const before = await api.counters();
    const ok = await callApi(api, ca(), { token, proof: apiProof() });
    expect(ok).toMatchObject({
      status: 200,
      body: { ok: true, client_id: 'dpop-client', cnf: { jkt: jwkThumbprint(proofKey.publicJwk) } },
    });
    expect(ok.headers['dpop-nonce']).toBeUndefined();
    const post = await callApi(api, ca(), {
      method: 'POST',
      path: '/payments?x=1',
      token,
      proof: apiProof({ htm: 'POST', htu: `${api.url}/payments` }),
    });
    expect(post.status).toBe(200);
    for (const key of [psKey, edKey()]) {
      const bound = (await requestToken(server, client, tokenProof(key))).body['access_token'] as string;
      const reply = await callApi(api, ca(), {
        token: bound,
        proof: dpopProof({ key, htm: 'GET', htu: `${api.url}/accounts`, accessToken: bound }),
      });
      expect(reply.status).toBe(200);
    }
    const after = await api.counters();
    expect(after.proofsVerified - before.proofsVerified).toBe(4);
    expect(after.distinctJtis - before.distinctJtis).toBe(4);
    expect(after.dpopRequests - before.dpopRequests).toBe(4);
    const records = await api.records();
    expect(records.at(-4)).toMatchObject({
      scheme: 'DPoP',
      outcome: 'ok',
      tokenJkt: jwkThumbprint(proofKey.publicJwk),
      dpop: { proofs: 1, verified: true, jkt: jwkThumbprint(proofKey.publicJwk), expectedHtu: `${api.url}/accounts` },
    });
    expect(records.at(-3)?.dpop?.expectedHtu).toBe(`${api.url}/payments`);
  });

  it('refuses a reused jti, a wrong htu (query, other path) or htm, and a missing or wrong ath', async () => {
    const proof = apiProof();
    expect((await callApi(api, ca(), { token, proof })).status).toBe(200);
    const before = await api.counters();
    const cases: [string, Partial<Parameters<typeof callApi>[2]>, string][] = [
      ['replay', { proof }, 'the DPoP proof jti was used before'],
      ['htu', { proof: apiProof({ htu: `${api.url}/accounts?x=1` }) }, `the DPoP proof htu is not ${api.url}/accounts`],
      ['htu', { proof: apiProof({ htu: `${api.url}/other` }) }, `the DPoP proof htu is not ${api.url}/accounts`],
      ['htm', { proof: apiProof({ htm: 'POST' }) }, 'the DPoP proof htm is not GET'],
      ['ath', { proof: apiProof({ claims: { ath: undefined } }) }, 'the DPoP proof has no ath'],
      [
        'ath',
        { proof: apiProof({ claims: { ath: accessTokenHash(`${token}x`) } }) },
        'the DPoP proof ath is not the hash of the access token',
      ],
    ];
    for (const [failure, request, description] of cases) {
      const reply = await callApi(api, ca(), { token, ...request });
      expect({ failure, status: reply.status, body: reply.body }).toEqual({
        failure,
        status: 401,
        body: { error: 'invalid_dpop_proof' },
      });
      expect(challenges(reply.headers['www-authenticate'])).toEqual([
        {
          scheme: 'DPoP',
          params: { error: 'invalid_dpop_proof', error_description: description, algs: 'ES256 PS256 EdDSA' },
        },
      ]);
      expect((await api.records()).at(-1)).toMatchObject({
        outcome: 'invalid_dpop_proof',
        dpop: { failure, verified: false },
      });
    }
    const after = await api.counters();
    expect(after.replaysRejected - before.replaysRejected).toBe(1);
    expect(after.proofsVerified).toBe(before.proofsVerified);
  });

  it('refuses a proof by another key (the token is bound to the first) and bearer use of a DPoP-bound token; an unbound token still works as Bearer', async () => {
    const other = await callApi(api, ca(), {
      token,
      proof: dpopProof({ key: otherKey, htm: 'GET', htu: `${api.url}/accounts`, accessToken: token }),
    });
    expect(other).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(other.headers['www-authenticate']).toBe(
      `DPoP error="invalid_token", error_description="the DPoP proof key is not the one the access token is bound to", ${ALGS}`,
    );
    const asBearer = await callApi(api, ca(), { scheme: 'Bearer', token });
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers['www-authenticate']).toMatch(
      /^DPoP error="invalid_token", error_description="the access token is DPoP-bound/,
    );
    const unbound = (await requestToken(server, client)).body['access_token'] as string;
    expect((await callApi(api, ca(), { scheme: 'Bearer', token: unbound })).status).toBe(200);
    const unboundAsDpop = await callApi(api, ca(), {
      token: unbound,
      proof: dpopProof({ key: proofKey, htm: 'GET', htu: `${api.url}/accounts`, accessToken: unbound }),
    });
    expect(unboundAsDpop.status).toBe(401);
    const records = await api.records();
    expect(records.slice(-4).map((r) => [r.scheme, r.outcome])).toEqual([
      ['DPoP', 'dpop_key_mismatch'],
      ['Bearer', 'dpop_bound_token_as_bearer'],
      ['Bearer', 'ok'],
      ['DPoP', 'dpop_token_not_bound'],
    ]);
    expect(records.at(-4)?.dpop).toMatchObject({ jkt: jwkThumbprint(otherKey.publicJwk), verified: false });
  });

  it('refuses a proof with a wrong typ, a symmetric or unknown alg, a private jwk, a bad signature, a stale iat, none or two', async () => {
    const hs256 = signJwt(
      { alg: 'HS256', typ: 'dpop+jwt', jwk: dpopJwk(proofKey) },
      {
        jti: 'hs',
        htm: 'GET',
        htu: `${api.url}/accounts`,
        iat: Math.floor(Date.now() / 1000),
        ath: accessTokenHash(token),
      },
      'a-shared-secret-of-at-least-thirty-two-bytes',
    );
    const cases: [string, string | string[] | undefined][] = [
      ['typ', apiProof({ header: { typ: 'JWT' } })],
      ['alg', hs256],
      ['alg', dpopProof({ key: rsaKey(2048, 'RS256'), htm: 'GET', htu: `${api.url}/accounts`, accessToken: token })],
      ['jwk', apiProof({ header: { jwk: { ...dpopJwk(proofKey), d: proofKey.privateJwk.d } } })],
      ['jwk', apiProof({ header: { jwk: undefined } })],
      ['signature', apiProof({ header: { jwk: dpopJwk(otherKey) } })],
      ['iat', apiProof({ iat: Math.floor(Date.now() / 1000) - 120 })],
      ['iat', apiProof({ iat: Math.floor(Date.now() / 1000) + 120 })],
      ['missing', undefined],
      ['multiple', [apiProof(), apiProof()]],
      ['malformed', `${apiProof()}, ${apiProof()}`],
      ['malformed', 'not-a-jwt'],
    ];
    for (const [failure, proof] of cases) {
      const reply = await callApi(api, ca(), { token, ...(proof !== undefined ? { proof } : {}) });
      const record = (await api.records()).at(-1);
      expect({ failure: record?.dpop?.failure, status: reply.status }).toEqual({ failure, status: 401 });
      expect(reply.headers['www-authenticate']).toMatch(
        /^DPoP error="invalid_dpop_proof", error_description="[^"]+", algs="ES256 PS256 EdDSA"$/,
      );
    }
    const none = await callApi(api, ca(), {});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe(`DPoP ${ALGS}`);
  });
});

describe('DPoP harness: nonces at the token endpoint and at the resource server', () => {
  let server: OidcServer;
  let api: ResourceServer;
  const clientKey = ecKey();
  const proofKey = ecKey();
  const client = { id: 'nonce-client', key: clientKey };
  let token: string;

  beforeAll(async () => {
    server = await startOidcServer({
      scopes: ['accounts:read'],
      dpop: { nonce: true, boundAccessTokens: true },
      clients: [jwtClient('nonce-client', clientKey)],
    });
    api = await startApiFor(server, { dpop: { requireNonce: true, nonceRotateEvery: 3 }, alsoBearerChallenge: true });
  });
  afterAll(() => Promise.all([server?.close(), api?.close()]));

  const tokenProof = (nonce?: string) =>
    dpopProof({ key: proofKey, htm: 'POST', htu: server.tokenEndpoint, ...(nonce !== undefined ? { nonce } : {}) });
  const apiProof = (nonce?: string) =>
    dpopProof({
      key: proofKey,
      htm: 'GET',
      htu: `${api.url}/accounts`,
      accessToken: token,
      ...(nonce !== undefined ? { nonce } : {}),
    });
  const ca = () => server.ca.cert;

  it('the token endpoint answers a proof without a nonce 400 use_dpop_nonce with a DPoP-Nonce; the retry with it gets a DPoP token', async () => {
    const first = await requestToken(server, client, tokenProof());
    expect(first).toMatchObject({ status: 400, body: { error: 'use_dpop_nonce' } });
    const nonce = first.headers['dpop-nonce'];
    expect(nonce).toMatch(/^[\w-]{43}$/);
    // At the token endpoint the challenge is the 400 body and the header alone: no WWW-Authenticate.
    expect(first.headers['www-authenticate']).toBeUndefined();
    const retry = await requestToken(server, client, tokenProof(nonce as string));
    expect(retry.status).toBe(200);
    expect(retry.body['token_type']).toBe('DPoP');
    token = retry.body['access_token'] as string;
    expect(jwtPayload(token)['cnf']).toEqual({ jkt: jwkThumbprint(proofKey.publicJwk) });
    const wrong = await requestToken(server, client, tokenProof('not-the-nonce'));
    expect(wrong).toMatchObject({ status: 400, body: { error: 'use_dpop_nonce' } });

    const { counters, tokenRequests } = await server.snapshot();
    expect(counters.dpopNonceChallenges).toBe(2);
    expect(counters.dpopTokensIssued).toBe(1);
    expect(tokenRequests.map((r) => [r.status, r.error, r.errorDescription])).toEqual([
      [400, 'use_dpop_nonce', 'nonce is required in the DPoP proof'],
      [200, undefined, undefined],
      [400, 'use_dpop_nonce', 'invalid nonce in DPoP proof'],
    ]);
    expect(tokenRequests[0]).toMatchObject({
      dpopNonceAnswered: nonce,
      dpop: { jkt: jwkThumbprint(proofKey.publicJwk) },
    });
    expect(tokenRequests[1]?.dpop).toMatchObject({ nonce });
  });

  it('the resource server challenges a proof without its nonce (a DPoP and a Bearer challenge), then accepts the retry; every answer carries the nonce', async () => {
    const before = await api.counters();
    const first = await callApi(api, ca(), { token, proof: apiProof() });
    expect(first).toMatchObject({ status: 401, body: { error: 'use_dpop_nonce' } });
    const nonce = first.headers['dpop-nonce'] as string;
    expect(nonce).toBe(await api.nonce());
    expect(challenges(first.headers['www-authenticate'])).toEqual([
      {
        scheme: 'DPoP',
        params: { error: 'use_dpop_nonce', error_description: 'a DPoP nonce is required', algs: 'ES256 PS256 EdDSA' },
      },
      { scheme: 'Bearer', params: { realm: api.origin } },
    ]);
    const retry = await callApi(api, ca(), { token, proof: apiProof(nonce) });
    expect(retry.status).toBe(200);
    expect(retry.headers['dpop-nonce']).toBe(nonce);
    const stale = await callApi(api, ca(), { token, proof: apiProof('an-old-nonce') });
    expect(stale.status).toBe(401);
    expect(challenges(stale.headers['www-authenticate'])[0]?.params['error_description']).toBe(
      'the DPoP nonce is not the current one',
    );
    const after = await api.counters();
    expect(after.nonceChallenges - before.nonceChallenges).toBe(2);
    expect(after.proofsVerified - before.proofsVerified).toBe(1);
    const records = await api.records();
    expect(records.slice(-3).map((r) => [r.outcome, r.dpop?.failure, r.dpop?.nonce, r.nonceAnswered])).toEqual([
      ['use_dpop_nonce', 'nonce', undefined, nonce],
      ['ok', undefined, nonce, nonce],
      ['use_dpop_nonce', 'nonce', 'an-old-nonce', expect.any(String)],
    ]);
  });

  it('rotates the nonce every 3 requests, announcing the new one in the 3rd answer, and on rotateNonce() silently', async () => {
    const n1 = await api.rotateNonce();
    const before = await api.counters();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await callApi(api, ca(), { token, proof: apiProof(n1) }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const n2 = answers[2]?.headers['dpop-nonce'] as string;
    expect(answers.map((a) => a.headers['dpop-nonce'])).toEqual([n1, n1, n2]);
    expect(n2).not.toBe(n1);
    const stale = await callApi(api, ca(), { token, proof: apiProof(n1) });
    expect(stale).toMatchObject({ status: 401, headers: { 'dpop-nonce': n2 } });
    expect((await callApi(api, ca(), { token, proof: apiProof(n2) })).status).toBe(200);
    const n3 = await api.rotateNonce();
    const silent = await callApi(api, ca(), { token, proof: apiProof(n2) });
    expect(silent).toMatchObject({ status: 401, headers: { 'dpop-nonce': n3 } });
    const after = await api.counters();
    expect(after.nonceRotations - before.nonceRotations).toBe(2);
    expect(after.nonceChallenges - before.nonceChallenges).toBe(2);
  });

  it('a Bearer request gets the nonce too, and a Bearer challenge followed by a DPoP one', async () => {
    const reply = await callApi(api, ca(), { scheme: 'Bearer', token: 'not.a.token' });
    expect(reply.status).toBe(401);
    expect(reply.headers['dpop-nonce']).toBe(await api.nonce());
    expect(challenges(reply.headers['www-authenticate']).map((c) => c.scheme)).toEqual(['Bearer', 'DPoP']);
  });
});

describe('DPoP harness: FAPI 2.0 with private_key_jwt and DPoP, end to end', () => {
  let server: OidcServer;
  let api: ResourceServer;
  const clientKey = ecKey();
  const proofKey = ecKey();

  beforeAll(async () => {
    server = await startOidcServer({
      scopes: ['accounts:read'],
      fapi: '2.0',
      dpop: { boundAccessTokens: true },
      clients: [jwtClient('fapi-dpop', clientKey)],
    });
    api = await startApiFor(server, { dpop: true, alsoBearerChallenge: 'first' });
  });
  afterAll(() => Promise.all([server?.close(), api?.close()]));

  it('issues a DPoP-bound token to private_key_jwt (aud = issuer) with a proof, which the resource server accepts', async () => {
    const client = { id: 'fapi-dpop', key: clientKey };
    const proof = dpopProof({ key: proofKey, htm: 'POST', htu: server.tokenEndpoint });
    const reply = await requestToken(server, client, proof);
    expect(reply.status).toBe(200);
    expect(reply.body['token_type']).toBe('DPoP');
    const token = reply.body['access_token'] as string;
    expect(jwtPayload(token)).toMatchObject({
      client_id: 'fapi-dpop',
      cnf: { jkt: jwkThumbprint(proofKey.publicJwk) },
    });
    const ok = await callApi(api, server.ca.cert, {
      token,
      proof: dpopProof({ key: proofKey, htm: 'GET', htu: `${api.url}/accounts`, accessToken: token }),
    });
    expect(ok).toMatchObject({ status: 200, body: { ok: true, client_id: 'fapi-dpop' } });
    expect((await api.counters()).proofsVerified).toBe(1);
    const { tokenRequests } = await server.snapshot();
    expect(tokenRequests.at(-1)).toMatchObject({
      clientAssertion: { claims: { aud: server.issuer } },
      dpop: { htu: server.tokenEndpoint },
      tokenType: 'DPoP',
    });

    // The bound client without a proof, and FAPI 2.0's aud rule with one.
    expect(await requestToken(server, client)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const wrongAud = await requestToken(
      server,
      { ...client, audience: server.tokenEndpoint },
      dpopProof({ key: proofKey, htm: 'POST', htu: server.tokenEndpoint }),
    );
    expect(wrongAud).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // alsoBearerChallenge: 'first' puts the Bearer challenge before the DPoP one.
    const bearer = await callApi(api, server.ca.cert, { scheme: 'Bearer', token });
    expect(challenges(bearer.headers['www-authenticate'])).toEqual([
      { scheme: 'Bearer', params: { realm: api.origin } },
      {
        scheme: 'DPoP',
        params: {
          error: 'invalid_token',
          error_description: 'the access token is DPoP-bound: use the DPoP scheme',
          algs: 'ES256 PS256 EdDSA',
        },
      },
    ]);
  });
});

describe('DPoP harness: oidc-provider with DPoP off, by default, and with nonces offered', () => {
  let off: OidcServer;
  let byDefault: OidcServer;
  let offered: OidcServer;
  const proofKey = ecKey();
  const clients = [
    {
      client_id: 'secret-client',
      token_endpoint_auth_method: 'client_secret_post' as const,
      client_secret: 'a-secret',
    },
  ];
  const token = (on: OidcServer, proof: string) =>
    fetchJson(on.tokenEndpoint, {
      ca: on.ca.cert,
      form: { grant_type: 'client_credentials', client_id: 'secret-client', client_secret: 'a-secret' },
      headers: { dpop: proof },
    });

  beforeAll(async () => {
    [off, byDefault, offered] = await Promise.all([
      startOidcServer({ scopes: ['accounts:read'], clients, dpop: false }),
      startOidcServer({ scopes: ['accounts:read'], clients }),
      startOidcServer({ scopes: ['accounts:read'], clients, dpop: { nonce: 'offered' } }),
    ]);
  });
  afterAll(() => Promise.all([off?.close(), byDefault?.close(), offered?.close()]));

  it('dpop: false ignores the proof and issues a bearer token; without the option oidc-provider issues a DPoP one', async () => {
    const ignored = await token(off, dpopProof({ key: proofKey, htm: 'POST', htu: off.tokenEndpoint }));
    expect(ignored.status).toBe(200);
    expect(ignored.body['token_type']).toBe('Bearer');
    expect(jwtPayload(ignored.body['access_token'])['cnf']).toBeUndefined();
    expect((await off.snapshot()).tokenRequests.at(-1)).toMatchObject({ dpopProof: true, tokenType: 'Bearer' });
    expect(
      (await fetchJson(off.discoveryUrl, { ca: off.ca.cert })).body['dpop_signing_alg_values_supported'],
    ).toBeUndefined();

    const bound = await token(byDefault, dpopProof({ key: proofKey, htm: 'POST', htu: byDefault.tokenEndpoint }));
    expect(bound.body['token_type']).toBe('DPoP');
  });

  it("nonce: 'offered' accepts a proof without a nonce and answers a DPoP-Nonce with the token, which the next proof can carry", async () => {
    const first = await token(offered, dpopProof({ key: proofKey, htm: 'POST', htu: offered.tokenEndpoint }));
    expect(first.status).toBe(200);
    expect(first.body['token_type']).toBe('DPoP');
    const nonce = first.headers['dpop-nonce'] as string;
    expect(nonce).toMatch(/^[\w-]{43}$/);
    const second = await token(offered, dpopProof({ key: proofKey, htm: 'POST', htu: offered.tokenEndpoint, nonce }));
    expect(second.status).toBe(200);
    const { counters, tokenRequests } = await offered.snapshot();
    expect(counters.dpopNonceChallenges).toBe(0);
    expect(tokenRequests[0]?.dpopNonceAnswered).toBe(nonce);
  });
});
