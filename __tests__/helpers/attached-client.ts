import axios from 'axios';
import { ClientCredentialsProvider, attachAuth } from '../../src/index.js';
import type { ClientCredentialsOptions } from '../../src/index.js';
import { startApiServer, startAuthServer } from './oauth.js';

/**
 * A loopback authorization server and API, a provider for client `id` / `secret` (with `options` over
 * these), and an axios instance with `baseURL` `<api>/banking` that `attachAuth` serves with it.
 */
export async function attachedClient(options: Partial<ClientCredentialsOptions> = {}) {
  const auth = await startAuthServer();
  const api = await startApiServer(auth);
  const provider = new ClientCredentialsProvider({
    tokenUrl: auth.tokenUrl,
    clientId: 'id',
    clientSecret: 'secret',
    ...options,
  });
  const client = axios.create({ baseURL: `${api.url}/banking` });
  const handle = attachAuth(client, provider);
  return { auth, api, provider, client, handle };
}
