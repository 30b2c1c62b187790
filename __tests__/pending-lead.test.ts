/**
 * Failing tests for bugs found while proving issue 4, in files the lead owns. Each says where
 * the bug is; they pass once it is fixed.
 */
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider } from '../src/index.js';
import { json, startServer } from './helpers/http.js';
import { rejectionOf } from './helpers/vendors/common.js';
import { startTokenEndpoint } from './helpers/vendors/token-endpoint.js';

const credentials = { clientId: 'pending-client', clientSecret: 'pending-secret-77' };

describe('src/attach-auth.ts', () => {
  // waitForToken bounds the wait for a token by config.timeout, then `go` hands the adapter the
  // same config.timeout, untouched: the HTTP call gets the whole budget again. A request with
  // `timeout: 450` whose token takes 300 ms and whose API answer takes 300 ms resolves after
  // ~600 ms instead of timing out. axios's `timeout` is the budget of the whole call. Fix: in
  // `go`, after a wait, set config.timeout to what is left (and reject at once if nothing is).
  it('rejects an API request whose timeout runs out across the token wait and the API call together', async () => {
    const endpoint = await startTokenEndpoint();
    endpoint.delayMs = 300;
    const api = await startServer((_req, res) => void setTimeout(() => json(res, 200, { ok: true }), 300));
    const provider = new ClientCredentialsProvider({ tokenUrl: endpoint.tokenUrl, ...credentials });
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    const error = await rejectionOf(client.get('/slow', { timeout: 450 }));
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ECONNABORTED' });
  });
});
