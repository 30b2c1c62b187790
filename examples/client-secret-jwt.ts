/**
 * client_secret_jwt (RFC 7523): the client still has a shared secret, but the secret never travels: each
 * token request carries a short-lived JWT signed with HMAC-SHA256 (HS256) over it instead. For servers that
 * offer it in place of client_secret_basic or client_secret_post.
 *
 *   OAUTH_ISSUER=https://auth.example.com OAUTH_CLIENT_ID=… OAUTH_CLIENT_SECRET=… [OAUTH_SCOPE=…] \
 *   API_URL=https://api.example.com/accounts [CA_FILE=sandbox-ca.pem] npx tsx examples/client-secret-jwt.ts
 *
 * - OAUTH_CLIENT_SECRET: the client secret (HS256 wants one of 32 bytes or more).
 * - CA_FILE: PEM of a private CA that issued the authorization server's and the API's certificates; leave it
 *   unset when they use public CAs.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider } from 'axios-client-credentials';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} (see the top of examples/client-secret-jwt.ts).`);
  return value;
}

const scope = process.env['OAUTH_SCOPE'];
const caFile = process.env['CA_FILE'];
const ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
const endpoint = new URL(env('API_URL'));

const tokens = new ClientCredentialsProvider({
  issuer: env('OAUTH_ISSUER'),
  clientId: env('OAUTH_CLIENT_ID'),
  clientSecret: env('OAUTH_CLIENT_SECRET'),
  // A secret means client_secret_basic unless told: ask for the JWT. (Without authMethod, discovery picks
  // the first of basic, post and jwt that the server lists.)
  authMethod: 'client_secret_jwt',
  ...(scope ? { scope } : {}),
  ...(ca ? { ca } : {}),
});
tokens.on('token', (e) => console.log(`token valid for ${Math.round((e.lifetimeMs ?? 0) / 60_000)} min`));

const api = axios.create({ baseURL: endpoint.origin, ...(ca ? { httpsAgent: new Agent({ ca }) } : {}) });
attachAuth(api, tokens);

async function main(): Promise<void> {
  const { status, data } = await api.get(`${endpoint.pathname}${endpoint.search}`);
  console.log(`GET ${endpoint.pathname}: ${status}`, JSON.stringify(data));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
});
