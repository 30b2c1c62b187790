/**
 * Login 3.0, machine-to-machine: credentials in the form body (`client_secret_post`), the API's
 * identifier as `audience`, and optionally an `organization`. Tokens live 86400 s (a day).
 *
 *   LOGIN3_TOKEN_URL=https://{yourDomain}/oauth/token LOGIN3_AUDIENCE=… LOGIN3_API_URL=… \
 *   LOGIN3_CLIENT_ID=… LOGIN3_CLIENT_SECRET=… [LOGIN3_ORGANIZATION=…] npx tsx examples/login3.ts
 */
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider } from 'axios-client-credentials';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} (see the top of examples/login3.ts).`);
  return value;
}

// Login 3.0's token endpoint: https://{yourDomain}/oauth/token
const tokenUrl = env('LOGIN3_TOKEN_URL');
// Your API's endpoint, e.g. https://myapi.com/api
const endpoint = new URL(env('LOGIN3_API_URL'));
const organization = process.env['LOGIN3_ORGANIZATION'];

const tokens = new ClientCredentialsProvider({
  tokenUrl,
  clientId: env('LOGIN3_CLIENT_ID'),
  clientSecret: env('LOGIN3_CLIENT_SECRET'),
  authMethod: 'client_secret_post', // client_id and client_secret go in the body, as Login 3.0 shows
  audience: env('LOGIN3_AUDIENCE'), // your API's identifier
  ...(organization ? { params: { organization } } : {}),
});
tokens.on('token', (e) => console.log(`token valid for ${Math.round((e.lifetimeMs ?? 0) / 3_600_000)} h`));

const api = axios.create({ baseURL: endpoint.origin });
attachAuth(api, tokens);

async function main(): Promise<void> {
  const { status, data } = await api.get(`${endpoint.pathname}${endpoint.search}`);
  console.log(`GET ${endpoint.pathname}: ${status}`, JSON.stringify(data));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
});
