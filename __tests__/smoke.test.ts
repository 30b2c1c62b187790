import axios from 'axios';
import { ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { startApiServer, startAuthServer } from './helpers/oauth.js';

test('smoke', async () => {
  const auth = await startAuthServer();
  const api = await startApiServer(auth);
  const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret-value' });
  const client = axios.create({ baseURL: api.url });
  attachAuth(client, provider);
  const results = await Promise.all(Array.from({ length: 50 }, () => client.get('/x')));
  expect(results.every((r) => r.status === 200)).toBe(true);
  expect(auth.tokenRequests).toHaveLength(1);
  api.revoke();
  const again = await Promise.all(Array.from({ length: 200 }, () => client.post('/y', { a: 1 })));
  expect(again.every((r) => r.status === 200)).toBe(true);
  expect(auth.tokenRequests).toHaveLength(2);
  await auth.close();
  await api.close();
});
