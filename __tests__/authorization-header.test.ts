/**
 * The Authorization header attachAuth sends, end to end on loopback servers: `<token_type> <access_token>`, one
 * header only, none where the request carries its own or skips, one token request for every instance sharing a
 * provider, none after detach(). Both jest projects.
 */
import axios from 'axios';
import { attachAuth } from '../src/index.js';
import { attachedClient } from './helpers/attached-client.js';

describe('the Authorization header', () => {
  test('is "<token_type> <access_token>", with bearer in any case sent as Bearer', async () => {
    const { auth, api, client } = await attachedClient();
    auth.extra = { token_type: 'bearer' };
    await client.get('/accounts');
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
  });

  test('replaces a lowercase authorization default header of the instance, never sending two', async () => {
    const { api, client } = await attachedClient();
    client.defaults.headers.common.authorization = 'Bearer stale-default';
    await client.get('/accounts');
    expect(api.requests[0]!.headers.authorization).toBe('Bearer tok-1');
    const names = api.requests[0]!.rawHeaders.filter(
      (_, i) => i % 2 === 0 && /^authorization$/i.test(api.requests[0]!.rawHeaders[i]!),
    );
    expect(names).toHaveLength(1);
  });

  test('is not added to a request that carries its own', async () => {
    const { auth, api, client } = await attachedClient();
    await client.get('/accounts', { headers: { Authorization: 'Basic dXNlcjpwYXNz' } }).catch(() => undefined);
    expect(api.requests[0]!.headers.authorization).toBe('Basic dXNlcjpwYXNz');
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('is not added with clientCredentials.skip', async () => {
    const { auth, api, client } = await attachedClient();
    await client.get('/public', { clientCredentials: { skip: true } }).catch(() => undefined);
    expect(api.requests[0]!.headers.authorization).toBeUndefined();
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('comes from one token request for every instance that shares the provider', async () => {
    const { auth, api, provider, client } = await attachedClient();
    const other = axios.create({ baseURL: api.url });
    attachAuth(other, provider);
    await Promise.all([
      ...Array.from({ length: 50 }, () => client.get('/a')),
      ...Array.from({ length: 50 }, () => other.get('/b')),
    ]);
    expect(auth.tokenRequests).toHaveLength(1);
  });

  test('is no longer added after detach()', async () => {
    const { api, client, handle } = await attachedClient();
    handle.detach();
    await client.get('/accounts').catch(() => undefined);
    expect(api.requests[0]!.headers.authorization).toBeUndefined();
  });
});
