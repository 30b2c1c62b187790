/**
 * Each file in examples/ run as a user runs it (a child process importing the built package),
 * against loopback servers that behave as its vendor document says.
 */
import { runScript, startDemoServersProcess } from './helpers/run-script.js';
import {
  startApplixureServer,
  startLogin3Server,
  startOauthV2JwtServer,
  type VendorServer,
} from './helpers/vendor-servers.js';

jest.setTimeout(30_000);

const basicOf = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('examples/apiture.ts', () => {
  it('lists accounts and balances through the generated client, after discovery', async () => {
    const credentials = { clientId: 'example-app', clientSecret: 'apiture-secret-1', apiKey: 'apiture-key-1' };
    const servers = await startDemoServersProcess(credentials);
    try {
      const run = await runScript('examples/apiture.ts', [], {
        APITURE_ISSUER: servers.issuer,
        APITURE_API_URL: servers.apiUrl,
        APITURE_CLIENT_ID: credentials.clientId,
        APITURE_CLIENT_SECRET: credentials.clientSecret,
        APITURE_API_KEY: credentials.apiKey,
      });
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      expect(run.stdout).toMatch(/^Everyday checking \*3210: 1520\.37 USD available$/m);
      expect(run.stdout).toMatch(/^3 accounts$/m);
      // Least privilege: the reads asked for, and got, a token with banking/read alone.
      expect(run.stdout).toMatch(/^read with a token for banking\/read$/m);
    } finally {
      expect((await servers.stop()).code).toBe(0);
    }
  });

  it('fails with a clear message when the API key is missing from the environment', async () => {
    const run = await runScript('examples/apiture.ts', [], {
      APITURE_CLIENT_ID: 'x',
      APITURE_CLIENT_SECRET: 'y',
      APITURE_API_KEY: '',
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('Set APITURE_API_KEY');
  });
});

describe('examples/oauth-v2-token-jwt.ts', () => {
  const client = { clientId: 'my-chosen-id', clientSecret: 'NgXCXRKc-Mz0Yjw_secret' };
  let server: VendorServer & { restrictedUrl: string };
  beforeEach(async () => {
    server = await startOauthV2JwtServer(client);
  });
  afterEach(() => server.close());

  const run = (secret: string, apiUrl = server.apiUrl) =>
    runScript('examples/oauth-v2-token-jwt.ts', [], {
      OAUTH_V2_TOKEN_URL: server.tokenUrl,
      OAUTH_V2_API_URL: apiUrl,
      OAUTH_V2_CLIENT_ID: client.clientId,
      OAUTH_V2_CLIENT_SECRET: secret,
    });

  it('gets a JWT with Basic credentials and only grant_type in the body, then calls the API', async () => {
    const result = await run(client.clientSecret);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^GET \/api\/v1\/accounts: 200 \{"ok":true,"subject":"my-chosen-id"/m);
    expect(server.tokenRequests).toHaveLength(1);
    expect(server.tokenRequests[0]?.headers.authorization).toBe(basicOf(client.clientId, client.clientSecret));
    expect(server.tokenRequests[0]?.form).toEqual({ grant_type: 'client_credentials' });
    expect(server.apiRequests.map((r) => [r.authorization?.split(' ')[0], r.status])).toEqual([['Bearer', 200]]);
  });

  it('reports a 401 from the token endpoint as bad credentials and never calls the API', async () => {
    const result = await run('wrong-secret');
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('Token request refused (401 invalid_client): check the client ID and secret.');
    expect(server.apiRequests).toHaveLength(0);
  });

  it('reports a 403 from the API as a permissions problem', async () => {
    const result = await run(client.clientSecret, server.restrictedUrl);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('403 Forbidden from the API: check account permissions and access.');
    expect(server.tokenRequests).toHaveLength(1);
  });
});

describe('examples/applixure.ts', () => {
  const keypair = { clientId: 'key-id-7f3a', clientSecret: 'key-secret-91c2' };
  let server: VendorServer | undefined;
  afterEach(() => server?.close());

  const run = (target: VendorServer) =>
    runScript('examples/applixure.ts', [], {
      APPLIXURE_TOKEN_URL: target.tokenUrl,
      APPLIXURE_API_URL: target.apiUrl,
      APPLIXURE_KEY_ID: keypair.clientId,
      APPLIXURE_KEY_SECRET: keypair.clientSecret,
    });

  it('asks for two scopes, reports the one not granted, and calls the API', async () => {
    server = await startApplixureServer({ ...keypair, allowedScope: ['account-all:read'] });
    const result = await run(server);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^granted account-all:read; not granted: account-data:manage$/m);
    expect(result.stdout).toMatch(/^GET \/api\/v1\/accounts: 200 .*"scope":"account-all:read"/m);
    expect(server.tokenRequests[0]?.headers.authorization).toBe(basicOf(keypair.clientId, keypair.clientSecret));
    expect(server.tokenRequests[0]?.form).toEqual({
      grant_type: 'client_credentials',
      scope: 'account-all:read account-data:manage',
    });
    // Applixure answers token_type "bearer"; the API gets the standard "Bearer".
    expect(server.apiRequests.map((r) => r.authorization?.split(' ')[0])).toEqual(['Bearer']);
  });

  it('rides out a 503 from the token service', async () => {
    server = await startApplixureServer({
      ...keypair,
      allowedScope: ['account-all:read', 'account-data:manage'],
      failFirst: { count: 1, status: 503 },
    });
    const result = await run(server);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^token service unavailable \(HTTP 503\); retry 1 in \d+ ms$/m);
    expect(result.stdout).not.toMatch(/not granted/);
    expect(server.tokenRequests).toHaveLength(2);
    expect(server.apiRequests.map((r) => r.status)).toEqual([200]);
  });
});

describe('examples/login3.ts', () => {
  const options = {
    clientId: 'm2m-client',
    clientSecret: 'login3-secret',
    audience: 'https://myapi.com/api',
    organization: 'org_4f1c',
  };
  let server: VendorServer;
  beforeEach(async () => {
    server = await startLogin3Server(options);
  });
  afterEach(() => server.close());

  it('posts the credentials, audience and organization in the body and gets a day-long token', async () => {
    const result = await runScript('examples/login3.ts', [], {
      LOGIN3_TOKEN_URL: server.tokenUrl,
      LOGIN3_API_URL: server.apiUrl,
      LOGIN3_CLIENT_ID: options.clientId,
      LOGIN3_CLIENT_SECRET: options.clientSecret,
      LOGIN3_AUDIENCE: options.audience,
      LOGIN3_ORGANIZATION: options.organization,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^token valid for 24 h$/m);
    expect(result.stdout).toMatch(/^GET \/api\/orders: 200 \{"ok":true,"subject":"m2m-client@clients"/m);
    expect(server.tokenRequests).toHaveLength(1);
    expect(server.tokenRequests[0]?.headers.authorization).toBeUndefined();
    expect(server.tokenRequests[0]?.form).toEqual({
      grant_type: 'client_credentials',
      client_id: options.clientId,
      client_secret: options.clientSecret,
      audience: options.audience,
      organization: options.organization,
    });
  });
});
