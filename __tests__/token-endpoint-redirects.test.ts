/**
 * Issue 9, test strength: token and discovery requests follow no redirect. A token endpoint that
 * answers 307 (which keeps the method and the body) or 302 must not make the provider send the
 * client secret, in a Basic header or in the body, to the server it points to: that server sees no
 * request at all, and the caller gets a typed error. The same-port subdomain case matters most:
 * follow-redirects keeps the Authorization header on a redirect to a subdomain of the current host.
 */
import axios from 'axios';
import { ClientCredentialsProvider, DiscoveryError, TokenEndpointError } from '../src/index.js';
import type { ClientAuthMethod } from '../src/index.js';
import { json, startServer, type TestServer } from './helpers/http.js';

const clientId = 'redirect-client';
const clientSecret = 'redirect-secret-7c1e';

/** Resolves every host name to 127.0.0.1 (axios's `lookup` option). */
const toLoopback = (
  _host: string,
  _options: object,
  callback: (error: Error | null, address: string, family: 4) => void,
): void => callback(null, '127.0.0.1', 4);

/** A server that records what reaches it and would hand out a token (what an attacker's endpoint does). */
function collector(): Promise<TestServer> {
  return startServer((_req, res) => json(res, 200, { access_token: 'stolen', token_type: 'Bearer', expires_in: 3600 }));
}

/** A server that answers every request with `status` and a Location from `to`. */
function redirector(status: number, to: (req: { url: string }) => string): Promise<TestServer> {
  return startServer((req, res) => {
    res.writeHead(status, { Location: to(req) });
    res.end();
  });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('a token endpoint that redirects', () => {
  test.each<[number, ClientAuthMethod]>([
    [307, 'client_secret_basic'],
    [307, 'client_secret_post'],
    [308, 'client_secret_post'],
    [302, 'client_secret_basic'],
    [301, 'client_secret_post'],
  ])(
    'answering %i, with %s, sends the credentials nowhere else and fails with a TokenEndpointError',
    async (status, authMethod) => {
      const elsewhere = await collector();
      const endpoint = await redirector(status, () => `${elsewhere.url}/token`);
      const provider = new ClientCredentialsProvider({
        tokenUrl: `${endpoint.url}/token`,
        clientId,
        clientSecret,
        authMethod,
        retry: false,
      });
      const error = await rejectionOf(provider.getToken());
      expect(error).toBeInstanceOf(TokenEndpointError);
      expect(error).toMatchObject({ status, attempts: 1 });
      expect(String((error as Error).message)).not.toContain(clientSecret);
      expect(endpoint.requests).toHaveLength(1);
      expect(elsewhere.requests).toEqual([]);
    },
  );

  test('to a subdomain on the same port, where a redirect would keep the Basic header, sends nothing there', async () => {
    let port = 0;
    const seen: { host: string | undefined; authorization: string | undefined }[] = [];
    const server = await startServer((req, res) => {
      seen.push({ host: req.headers.host, authorization: req.headers.authorization });
      if (req.headers.host === `auth.localhost:${port}`) {
        res.writeHead(307, { Location: `http://evil.auth.localhost:${port}/token` });
        res.end();
        return;
      }
      json(res, 200, { access_token: 'stolen', token_type: 'Bearer', expires_in: 3600 });
    });
    port = Number(new URL(server.url).port);
    const provider = new ClientCredentialsProvider({
      tokenUrl: `http://auth.localhost:${port}/token`,
      clientId,
      clientSecret,
      allowInsecureHttp: true,
      retry: false,
      httpClient: axios.create({ lookup: toLoopback }),
    });
    const error = await rejectionOf(provider.getToken());
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect(error).toMatchObject({ status: 307 });
    expect(seen.map((s) => s.host)).toEqual([`auth.localhost:${port}`]);
    expect(seen[0]!.authorization).toMatch(/^Basic /);
  });

  test('is not followed even when the instance given as httpClient follows redirects', async () => {
    const elsewhere = await collector();
    const endpoint = await redirector(307, () => `${elsewhere.url}/token`);
    const provider = new ClientCredentialsProvider({
      tokenUrl: `${endpoint.url}/token`,
      clientId,
      clientSecret,
      retry: false,
      httpClient: axios.create({ maxRedirects: 5 }),
    });
    await expect(provider.getToken()).rejects.toBeInstanceOf(TokenEndpointError);
    expect(elsewhere.requests).toEqual([]);
  });
});

describe('a discovery document URL that redirects', () => {
  test.each([302, 307])(
    'answering %i sends nothing to the server it points to and fails with a DiscoveryError',
    async (status) => {
      const elsewhere = await startServer((req, res) =>
        json(res, 200, { issuer: 'x', token_endpoint: `http://127.0.0.1:1${req.url}` }),
      );
      const issuer = await redirector(status, (req) => `${elsewhere.url}${req.url}`);
      const provider = new ClientCredentialsProvider({ issuer: issuer.url, clientId, clientSecret, retry: false });
      const error = await rejectionOf(provider.getToken());
      expect(error).toBeInstanceOf(DiscoveryError);
      expect(String((error as Error).message)).toContain(String(status));
      expect(issuer.requests.map((r) => r.url)).toEqual([
        '/.well-known/openid-configuration',
        '/.well-known/oauth-authorization-server',
      ]);
      expect(elsewhere.requests).toEqual([]);
    },
  );
});
