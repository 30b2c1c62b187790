/**
 * Applixure APIs with an Applixure API credential keypair (Key ID + Key Secret).
 * The granted scopes may be a subset of the ones asked for; the example reports any it did not get.
 * Applixure's token service answers 500/503 when temporarily unavailable: those are retried.
 *
 *   APPLIXURE_TOKEN_URL=… APPLIXURE_API_URL=… APPLIXURE_KEY_ID=… APPLIXURE_KEY_SECRET=… npx tsx examples/applixure.ts
 */
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider, TokenEndpointError } from 'axios-client-credentials';

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (!value) throw new Error(`Set ${name} (see the top of examples/applixure.ts).`);
  return value;
}

// The token endpoint of Applixure's authorization service (AAS), from Applixure's API documentation.
const tokenUrl = env('APPLIXURE_TOKEN_URL');
// The Applixure API endpoint to call.
const endpoint = new URL(env('APPLIXURE_API_URL'));

const tokens = new ClientCredentialsProvider({
  tokenUrl,
  clientId: env('APPLIXURE_KEY_ID'),
  clientSecret: env('APPLIXURE_KEY_SECRET'),
  // The default, HTTP Basic, is what Applixure recommends (RFC 6749 §2.3.1); 'client_secret_post' also works.
  authMethod: 'client_secret_basic',
  scope: env('APPLIXURE_SCOPE', 'account-all:read account-data:manage'),
  retry: { retries: 3, baseDelayMs: 200, maxDelayMs: 5000 }, // the defaults, spelled out: 500 and 503 are temporary
});
tokens.on('token', (e) => {
  if (e.missingScope.length > 0) console.log(`granted ${e.scope.join(' ')}; not granted: ${e.missingScope.join(' ')}`);
});
tokens.on('retry', (e) =>
  console.log(`token service unavailable (${e.reason}); retry ${e.attempt} in ${Math.round(e.delayMs)} ms`),
);

const api = axios.create({ baseURL: endpoint.origin });
attachAuth(api, tokens);

async function main(): Promise<void> {
  const { status, data } = await api.get(`${endpoint.pathname}${endpoint.search}`);
  console.log(`GET ${endpoint.pathname}: ${status}`, JSON.stringify(data));
}

main().catch((error: unknown) => {
  if (error instanceof TokenEndpointError) {
    console.error(
      `Token request failed: ${error.status ?? 'no answer'} ${error.error ?? ''} ${error.errorDescription ?? ''}`.trim(),
    );
  } else {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  }
  process.exitCode = 1;
});
