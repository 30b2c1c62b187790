/**
 * Secrets end to end on loopback servers: no error shows the client secret, the Basic credentials or an access
 * token, and neither interceptors registered before attachAuth nor a successful response show the token. The unit
 * tables of redaction are in redact.test.ts. Both jest projects.
 */
import axios, { AxiosError } from 'axios';
import { inspect } from 'node:util';
import { ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { json, startServer } from './helpers/http.js';
import { startApiServer, startAuthServer } from './helpers/oauth.js';
import { attachedClient } from './helpers/attached-client.js';

describe('secrets', () => {
  const SECRET = 'Sup3r-Secret-Value';
  const basic = Buffer.from(`id:${SECRET}`).toString('base64');
  const leaks = (value: unknown, token: string) => {
    const texts = [
      String((value as Error).message),
      inspect(value, { depth: 8 }),
      JSON.stringify(value) ?? '',
      String((value as Error).stack),
    ];
    return texts.some((t) => t.includes(SECRET) || t.includes(basic) || t.includes(token));
  };

  test('no error shows the client secret, the Basic credentials or the access token', async () => {
    const { auth, api, client } = await attachedClient({ clientSecret: SECRET, retry: false });
    const errors: unknown[] = [];
    auth.next((_req, res) =>
      json(res, 401, { error: 'invalid_client', error_description: `client secret ${SECRET} is wrong` }),
    );
    errors.push(await client.get('/a').catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 1100));
    errors.push(await client.post('/forbidden', { x: 1 }).catch((e: unknown) => e));
    api.revoke();
    errors.push(await client.get('/b', { clientCredentials: { replay: false } }).catch((e: unknown) => e));
    const boom = await startServer((_req, res) => json(res, 500, { error: 'boom' }));
    const c2 = axios.create({ baseURL: boom.url });
    attachAuth(c2, new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: SECRET }));
    errors.push(await c2.get('/x').catch((e: unknown) => e));
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'TokenEndpointError',
      'PermissionError',
      'AuthenticationError',
      'AxiosError',
    ]);
    for (const error of errors) for (const token of auth.issued) expect(leaks(error, token)).toBe(false);
  });

  test('interceptors registered before attachAuth never see the token, on success, on error, or on a retry', async () => {
    const auth = await startAuthServer();
    const api = await startApiServer(auth);
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create({ baseURL: api.url });
    const seen: string[] = [];
    client.interceptors.request.use((config) => {
      seen.push(JSON.stringify(config.headers));
      return config;
    });
    client.interceptors.response.use(
      (response) => {
        seen.push(inspect(response, { depth: 6 }));
        return response;
      },
      (error: AxiosError) => {
        seen.push(inspect(error, { depth: 6 }), JSON.stringify(error));
        throw error;
      },
    );
    attachAuth(client, provider);
    await client.get('/ok');
    await client.get('/forbidden').catch(() => undefined);
    api.revoke();
    await client.get('/again');
    expect(auth.issued).toHaveLength(2);
    for (const text of seen) for (const token of auth.issued) expect(text).not.toContain(token);
  });

  test('a successful response does not carry the token in its config or request for logs', async () => {
    const { auth, client } = await attachedClient();
    const response = await client.get('/a');
    const token = auth.issued[0]!;
    expect(inspect(response, { depth: 6 })).not.toContain(token);
    expect(JSON.stringify(response.config)).not.toContain(token);
  });
});
