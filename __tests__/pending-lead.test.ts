/**
 * Failing tests for bugs found while proving issue 4, in files the lead owns (src/token-provider.ts,
 * src/attach-auth.ts, …). Each says where the bug is; they pass once it is fixed.
 */
import { ClientCredentialsProvider, DiscoveryError } from '../src/index.js';
import { json, startServer } from './helpers/http.js';
import { rejectionOf } from './helpers/vendors/common.js';

const credentials = { clientId: 'pending-client', clientSecret: 'pending-secret-77' };

describe('src/token-provider.ts', () => {
  // #resolveEndpoint: `discover(...).then(onMetadata, onFailure)`. When pickAuthMethod (called in
  // onMetadata) throws, onFailure does not run, so #endpoint keeps the rejected promise for good:
  // the metadata is never fetched again and every later call gets the first DiscoveryError.
  // Fix: `.then(onMetadata).catch(onFailure)` (or try/catch inside onMetadata).
  it('fetches the metadata again after a document that listed no usable client authentication method', async () => {
    let documents = 0;
    const server = await startServer((req, res) => {
      if (req.method === 'POST') return json(res, 200, { access_token: 'fresh-token', token_type: 'Bearer', expires_in: 60 });
      documents++;
      const methods = documents === 1 ? ['private_key_jwt'] : ['private_key_jwt', 'client_secret_basic'];
      json(res, 200, { issuer: `${server.origin}/`, token_endpoint: `${server.origin}/token`, token_endpoint_auth_methods_supported: methods });
    });
    const provider = new ClientCredentialsProvider({ issuer: `${server.origin}/`, ...credentials, failureCooldownMs: 0 });
    expect(await rejectionOf(provider.getToken())).toBeInstanceOf(DiscoveryError);
    // The server now lists client_secret_basic: the next call must fetch the document again.
    const token = await provider.getToken();
    expect(token.accessToken).toBe('fresh-token');
    expect(documents).toBe(2);
  });
});
