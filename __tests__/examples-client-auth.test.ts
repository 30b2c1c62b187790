/**
 * The client authentication examples (issue 11) run as a user runs them: a child process importing the built
 * package, against a real oidc-provider (discovery, private_key_jwt, client_secret_jwt, tls_client_auth with
 * certificate-bound tokens) and a resource server that verifies each token and its certificate binding, both
 * over https with a test CA. Keys and certificates reach the examples as files, as the examples ask.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ecKey, jwksOf } from './helpers/client-keys.js';
import { startOidcServer, type OidcServer, type TokenRequestRecord } from './helpers/oidc-server.js';
import { certificateThumbprint, startResourceServer, type ResourceServer } from './helpers/resource-server.js';
import { runScript, type ScriptResult } from './helpers/run-script.js';
import type { Pem } from './helpers/tls.js';

jest.setTimeout(30_000);

const SECRET = 'client-secret-jwt-example-secret-of-more-than-32-bytes';
const keys = { pkj: ecKey('pkj-key-1'), kms: ecKey('kms-key-1'), stranger: ecKey('pkj-key-1') };
const unbound = { tls_client_certificate_bound_access_tokens: false };

let server: OidcServer;
let api: ResourceServer;
let clientCert: Pem;
let dir: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  server = await startOidcServer({
    scopes: ['accounts'],
    certificateBoundAccessTokens: true,
    clients: [
      { client_id: 'pkj', token_endpoint_auth_method: 'private_key_jwt', jwks: jwksOf(keys.pkj), ...unbound },
      { client_id: 'kms', token_endpoint_auth_method: 'private_key_jwt', jwks: jwksOf(keys.kms), ...unbound },
      { client_id: 'hs', token_endpoint_auth_method: 'client_secret_jwt', client_secret: SECRET, ...unbound },
      { client_id: 'mtls', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=mtls' },
    ],
  });
  api = await startResourceServer({
    ca: server.ca,
    issuer: server.issuer,
    jwks: server.jwks,
    audience: server.audience,
  });
  clientCert = server.ca.issue('mtls', { client: true, names: ['mtls.test'] });
  dir = mkdtempSync(join(tmpdir(), 'acc-examples-'));
  const write = (name: string, text: string) => {
    files[name] = join(dir, name);
    writeFileSync(files[name], text, { mode: 0o600 });
  };
  write('ca.pem', server.ca.cert);
  write('pkj-key.pem', keys.pkj.privatePem);
  write('kms-key.pem', keys.kms.privatePem);
  write('stranger-key.pem', keys.stranger.privatePem);
  write('client.crt', clientCert.cert);
  write('client.key', clientCert.key);
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.close(), api?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs an example against the servers, with the settings every example shares. */
function run(example: string, env: Record<string, string>): Promise<ScriptResult> {
  return runScript(`examples/${example}`, [], {
    OAUTH_ISSUER: server.issuer,
    OAUTH_SCOPE: 'accounts',
    API_URL: `${api.url}/accounts`,
    CA_FILE: files['ca.pem']!,
    ...env,
  });
}

/** The token requests a client sent since `before` requests had been recorded. */
async function tokenRequestsOf(clientId: string, before: number): Promise<TokenRequestRecord[]> {
  return (await server.snapshot()).tokenRequests.slice(before).filter((r) => r.clientId === clientId);
}

const recorded = async () => (await server.snapshot()).tokenRequests.length;

function assertionOf(record: TokenRequestRecord | undefined) {
  const assertion = record?.clientAssertion;
  if (!assertion || 'malformed' in assertion) throw new Error('no client assertion');
  return assertion;
}

const ok = (clientId: string) =>
  new RegExp(`^GET /accounts: 200 \\{"ok":true,"path":"/accounts","client_id":"${clientId}","scope":"accounts"`, 'm');

describe('examples/private-key-jwt.ts', () => {
  it('signs an ES256 assertion with the PEM key, addressed to the issuer found by discovery, and calls the API', async () => {
    const before = await recorded();
    const result = await run('private-key-jwt.ts', {
      OAUTH_CLIENT_ID: 'pkj',
      OAUTH_PRIVATE_KEY_FILE: files['pkj-key.pem']!,
      OAUTH_KEY_ID: keys.pkj.kid,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^token valid for 10 min$/m);
    expect(result.stdout).toMatch(ok('pkj'));
    const [request, ...more] = await tokenRequestsOf('pkj', before);
    expect(more).toEqual([]);
    expect(request).toMatchObject({ status: 200, basicAuthorization: false });
    const { header, claims } = assertionOf(request);
    expect(header).toEqual({ alg: 'ES256', kid: keys.pkj.kid });
    expect(claims).toMatchObject({ iss: 'pkj', sub: 'pkj', aud: server.issuer });
  });

  it('reports a key the server does not know as a refused token request, quoting none of the key', async () => {
    const result = await run('private-key-jwt.ts', {
      OAUTH_CLIENT_ID: 'pkj',
      OAUTH_PRIVATE_KEY_FILE: files['stranger-key.pem']!,
      OAUTH_KEY_ID: keys.stranger.kid,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^TokenEndpointError: .*invalid_client/);
    const body = keys.stranger.privatePem.split('\n')[1]!;
    expect(result.stdout + result.stderr).not.toContain(body);
    expect(result.stdout).not.toMatch(/GET \/accounts/);
  });

  it('fails with a clear message when the key file is not set', async () => {
    const result = await run('private-key-jwt.ts', { OAUTH_CLIENT_ID: 'pkj', OAUTH_PRIVATE_KEY_FILE: '' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Set OAUTH_PRIVATE_KEY_FILE');
  });
});

describe('examples/kms-signer.ts', () => {
  it('gets a token with assertions from the (simulated) KMS signer, DER converted to JOSE', async () => {
    const before = await recorded();
    const result = await run('kms-signer.ts', {
      OAUTH_CLIENT_ID: 'kms',
      OAUTH_KEY_ID: keys.kms.kid,
      SIMULATED_KMS_KEY_FILE: files['kms-key.pem']!,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^token valid for 10 min$/m);
    expect(result.stdout).toMatch(ok('kms'));
    const [request] = await tokenRequestsOf('kms', before);
    expect(request?.status).toBe(200);
    const { header, claims } = assertionOf(request);
    expect(header).toEqual({ alg: 'ES256', kid: keys.kms.kid });
    expect(claims).toMatchObject({ iss: 'kms', sub: 'kms', aud: server.issuer });
  });
});

describe('examples/client-secret-jwt.ts', () => {
  it('sends an HS256 assertion, never the secret, and calls the API', async () => {
    const before = await recorded();
    const result = await run('client-secret-jwt.ts', { OAUTH_CLIENT_ID: 'hs', OAUTH_CLIENT_SECRET: SECRET });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^token valid for 10 min$/m);
    expect(result.stdout).toMatch(ok('hs'));
    const [request] = await tokenRequestsOf('hs', before);
    expect(request).toMatchObject({ status: 200, basicAuthorization: false });
    const { header, claims } = assertionOf(request);
    expect(header.alg).toBe('HS256');
    expect(claims).toMatchObject({ iss: 'hs', sub: 'hs', aud: server.issuer });
  });
});

describe('examples/mutual-tls.ts', () => {
  it('gets a certificate-bound token through the mTLS alias, and the API call presents the same certificate', async () => {
    const before = await recorded();
    const apiBefore = (await api.records()).length;
    const result = await run('mutual-tls.ts', {
      OAUTH_CLIENT_ID: 'mtls',
      TLS_CERT_FILE: files['client.crt']!,
      TLS_KEY_FILE: files['client.key']!,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const thumbprint = certificateThumbprint(clientCert.cert);
    expect(result.stdout).toMatch(/^token valid for 10 min$/m);
    expect(result.stdout).toMatch(ok('mtls'));
    expect(result.stdout).toContain(`"cnf":{"x5t#S256":"${thumbprint}"}`);
    const [request] = await tokenRequestsOf('mtls', before);
    expect(request).toMatchObject({ listener: 'alias', status: 200, certificateThumbprint: thumbprint });
    const calls = (await api.records()).slice(apiBefore);
    expect(calls.map((r) => [r.outcome, r.certificateThumbprint, r.boundThumbprint])).toEqual([
      ['ok', thumbprint, thumbprint],
    ]);
  });
});
