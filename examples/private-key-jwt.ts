/**
 * private_key_jwt (RFC 7523): the client proves who it is with a JWT signed by its private key; the server
 * holds only the public key (registered as the client's JWKS). What FAPI 2.0 and Australia's CDR ask for.
 * The token endpoint is found by discovery from the issuer, and each assertion is addressed to the issuer.
 *
 *   OAUTH_ISSUER=https://auth.example.com OAUTH_CLIENT_ID=… \
 *   OAUTH_PRIVATE_KEY_FILE=client-key.pem [OAUTH_KEY_ID=…] [OAUTH_SCOPE=…] \
 *   API_URL=https://api.example.com/accounts [CA_FILE=sandbox-ca.pem] npx tsx examples/private-key-jwt.ts
 *
 * - OAUTH_PRIVATE_KEY_FILE: the client's private key, PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"). EC P-256
 *   signs ES256, RSA (2048 bits or more) PS256, Ed25519 EdDSA.
 * - OAUTH_KEY_ID: the `kid` of the key in the JWKS you registered, sent in the assertion's header.
 * - CA_FILE: PEM of a private CA that issued the authorization server's and the API's certificates (a bank's
 *   sandbox often has one); leave it unset when they use public CAs.
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider } from 'axios-client-credentials';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} (see the top of examples/private-key-jwt.ts).`);
  return value;
}

const privateKey = readFileSync(env('OAUTH_PRIVATE_KEY_FILE'), 'utf8');
const kid = process.env['OAUTH_KEY_ID'];
const scope = process.env['OAUTH_SCOPE'];
const caFile = process.env['CA_FILE'];
const ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
const endpoint = new URL(env('API_URL'));

const tokens = new ClientCredentialsProvider({
  issuer: env('OAUTH_ISSUER'), // discovery finds the token endpoint; the assertion's aud is the issuer
  clientId: env('OAUTH_CLIENT_ID'),
  privateKey: kid ? { key: privateKey, kid } : privateKey, // private_key_jwt: the key never leaves this process
  ...(scope ? { scope } : {}),
  ...(ca ? { ca } : {}), // the authorization server's private CA (token endpoint and discovery)
});
tokens.on('token', (e) => console.log(`token valid for ${Math.round((e.lifetimeMs ?? 0) / 60_000)} min`));

// The API's own TLS settings stay on the instance: here, the same private CA.
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
