/**
 * A token endpoint whose certificate is not trusted (a private CA not passed as `ca`) fails at once: a retry
 * cannot fix a TLS verification failure, so none is made, and the error says it is not retryable.
 */
import { ClientCredentialsProvider, TokenEndpointError } from '../src/index.js';
import { closeAll, json } from './helpers/http.js';
import { makeCa, startHttpsServer } from './helpers/tls.js';

afterAll(closeAll);

test('an untrusted certificate is not retried, and the error is not retryable', async () => {
  const ca = makeCa();
  const server = await startHttpsServer(ca, (_req, res) => json(res, 200, { access_token: 't', token_type: 'Bearer' }));
  const retries: unknown[] = [];
  const tokens = new ClientCredentialsProvider({
    tokenUrl: `${server.url}/token`,
    clientId: 'client',
    clientSecret: 'secret',
    retry: { retries: 3, baseDelayMs: 1 },
  });
  tokens.on('retry', (info) => retries.push(info));
  const error = (await tokens.getToken().catch((e: unknown) => e)) as TokenEndpointError;
  expect(error).toBeInstanceOf(TokenEndpointError);
  expect(error.message).toMatch(/after 1 attempt: (unable to verify|self[- ]signed)/);
  expect(error.retryable).toBe(false);
  expect(retries).toEqual([]);
  expect(server.requests).toHaveLength(0);

  const trusting = new ClientCredentialsProvider({
    tokenUrl: `${server.url}/token`,
    clientId: 'client',
    clientSecret: 'secret',
    ca: ca.cert,
  });
  await expect(trusting.getToken()).resolves.toMatchObject({ accessToken: 't' });
});
