/**
 * An API whose OAuth 2.0 service issues JWT access tokens at `/oauth/v2/token`: HTTP Basic
 * client credentials, a body of `grant_type=client_credentials` only, no scopes.
 *
 *   OAUTH_V2_TOKEN_URL=https://<api host>/oauth/v2/token OAUTH_V2_API_URL=https://<api host>/<endpoint> \
 *   OAUTH_V2_CLIENT_ID=… OAUTH_V2_CLIENT_SECRET=… npx tsx examples/oauth-v2-token-jwt.ts
 */
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider, PermissionError, TokenEndpointError } from 'axios-client-credentials';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} (see the top of examples/oauth-v2-token-jwt.ts).`);
  return value;
}

// The vendor's token endpoint: https://<api host>/oauth/v2/token
const tokenUrl = env('OAUTH_V2_TOKEN_URL');
// The API endpoint to call, e.g. https://<api host>/v1/<resource>
const endpoint = new URL(env('OAUTH_V2_API_URL'));

const tokens = new ClientCredentialsProvider({
  tokenUrl,
  clientId: env('OAUTH_V2_CLIENT_ID'), // "You can choose your own Client ID."
  clientSecret: env('OAUTH_V2_CLIENT_SECRET'),
  // client_secret_basic is the default: `Authorization: Basic base64(client_id:client_secret)`.
});
const api = axios.create({ baseURL: endpoint.origin });
attachAuth(api, tokens);

async function main(): Promise<void> {
  const { status, data } = await api.get(`${endpoint.pathname}${endpoint.search}`);
  console.log(`GET ${endpoint.pathname}: ${status}`, JSON.stringify(data));
}

main().catch((error: unknown) => {
  if (error instanceof TokenEndpointError && error.status === 401) {
    console.error(
      `Token request refused (401${error.error ? ` ${error.error}` : ''}): check the client ID and secret.`,
    );
  } else if (error instanceof PermissionError) {
    console.error(`403 Forbidden from the API: check account permissions and access.`);
  } else {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  }
  process.exitCode = 1;
});
