/**
 * Mutual TLS (RFC 8705): tls_client_auth, the client certificate alone authenticates the client, and the
 * token it gets is bound to that certificate (`cnf.x5t#S256`), so the API accepts it only on a connection
 * that presents the same certificate. What UK Open Banking, Brazil Open Finance and the Berlin Group ask for.
 *
 * The token request (and discovery) present the certificate, through the server's mTLS endpoint aliases
 * when it lists them; API calls that `attachAuth` authorizes present it too, with no extra code: the
 * instance's own `httpsAgent` settings (here the API's private CA) are kept. No other origin sees it.
 *
 *   OAUTH_ISSUER=https://auth.example.com OAUTH_CLIENT_ID=… TLS_CERT_FILE=client.crt TLS_KEY_FILE=client.key \
 *   [OAUTH_SCOPE=…] API_URL=https://api.example.com/accounts [CA_FILE=sandbox-ca.pem] [API_CA_FILE=api-ca.pem] \
 *   npx tsx examples/mutual-tls.ts
 *
 * - TLS_CERT_FILE, TLS_KEY_FILE: the client certificate (issued by a CA the server trusts; its subject is
 *   what you registered, e.g. `tls_client_auth_subject_dn`) and its private key, PEM.
 * - CA_FILE: PEM of a private CA that issued the authorization server's certificate; unset for public CAs.
 * - API_CA_FILE: the same for the API, when it differs (defaults to CA_FILE).
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider } from 'axios-client-credentials';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} (see the top of examples/mutual-tls.ts).`);
  return value;
}

const pem = (file: string | undefined) => (file ? readFileSync(file, 'utf8') : undefined);
const scope = process.env['OAUTH_SCOPE'];
const ca = pem(process.env['CA_FILE']);
const apiCa = pem(process.env['API_CA_FILE']) ?? ca;
const endpoint = new URL(env('API_URL'));

const tokens = new ClientCredentialsProvider({
  issuer: env('OAUTH_ISSUER'),
  clientId: env('OAUTH_CLIENT_ID'),
  // tls alone: tls_client_auth. With privateKey or clientSecret beside it, those authenticate the client
  // and the certificate still binds the token.
  tls: { cert: readFileSync(env('TLS_CERT_FILE'), 'utf8'), key: readFileSync(env('TLS_KEY_FILE'), 'utf8') },
  ...(scope ? { scope } : {}),
  ...(ca ? { ca } : {}),
});
tokens.on('token', (e) => console.log(`token valid for ${Math.round((e.lifetimeMs ?? 0) / 60_000)} min`));

// The instance's agent carries the API's CA; attachAuth adds the client certificate to a copy of it (one
// agent per instance and certificate, reused) for the origins it authorizes. A request that brings its own
// httpsAgent keeps it, and that agent must then carry the certificate itself.
const api = axios.create({ baseURL: endpoint.origin, ...(apiCa ? { httpsAgent: new Agent({ ca: apiCa }) } : {}) });
attachAuth(api, tokens);

async function main(): Promise<void> {
  const { status, data } = await api.get(`${endpoint.pathname}${endpoint.search}`);
  console.log(`GET ${endpoint.pathname}: ${status}`, JSON.stringify(data));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
});
