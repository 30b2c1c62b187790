/**
 * Apiture Digital Banking, through the client generated from examples/apiture/openapi.yaml by
 * @hey-api/openapi-ts (regenerate with `node examples/apiture/generate.mjs`).
 * axios-client-credentials sets `Authorization`; the `API-Key` header is the instance's own.
 * Least privilege: the reads below ask for a token with `banking/read` alone (a transfer would ask for
 * `banking/write` alone); each scope set is a token of its own, cached and refreshed apart.
 *
 *   APITURE_CLIENT_ID=… APITURE_CLIENT_SECRET=… APITURE_API_KEY=… npx tsx examples/apiture.ts
 */
import axios from 'axios';
import { apitureIssuers, attachAuth, ClientCredentialsProvider, PermissionError } from 'axios-client-credentials';
import { listAccountBalances, listAccounts } from './apiture/client';
import { createClient } from './apiture/client/client';

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (!value) throw new Error(`Set ${name} (see the top of examples/apiture.ts).`);
  return value;
}

// The issuer whose discovery document names the token endpoint. Apiture's are exported:
// apitureIssuers.production = https://auth.apiture.com/oidc/ (and .cat, .cat2 for the test environments).
const issuer = env('APITURE_ISSUER', apitureIssuers.production);
// The banking API's base URL, e.g. https://api.apiture.com/banking (the definition's server).
const baseURL = env('APITURE_API_URL', 'https://api.apiture.com/banking');

const tokens = new ClientCredentialsProvider({
  issuer,
  clientId: env('APITURE_CLIENT_ID'),
  clientSecret: env('APITURE_CLIENT_SECRET'),
  scope: ['banking/read', 'banking/write'], // the default set, for calls that name none
});
const api = axios.create({ baseURL, headers: { 'API-Key': env('APITURE_API_KEY') } });
attachAuth(api, tokens);
const client = createClient({ axios: api, baseURL, throwOnError: true });

// The generated SDK passes axios config through on every call: name each call's scopes there. A read
// travels with a banking/read token, so a leaked read token cannot move money; a transfer would pass
// `clientCredentials: { scope: 'banking/write' }` to createTransfer and get a banking/write token of its own.
const read = { clientCredentials: { scope: 'banking/read' } };

async function main(): Promise<void> {
  const { data: accounts } = await listAccounts({ client, ...read });
  const { data: balances } = await listAccountBalances({
    client,
    ...read,
    query: { accounts: accounts.items.map((a) => a.id) },
  });
  for (const account of accounts.items) {
    const balance = balances.items.find((b) => b.id === account.id);
    console.log(
      `${account.nickname} ${account.maskedNumber}: ${balance?.available ?? '?'} ${account.currency} available`,
    );
  }
  console.log(`${accounts.items.length} accounts`);
  console.log(`read with a token for ${tokens.peekToken({ scope: 'banking/read' })?.scope.join(' ') ?? '?'}`);
}

main().catch((error: unknown) => {
  if (error instanceof PermissionError)
    console.error(`The application lacks a scope: ${error.requiredScope.join(' ')}`);
  else console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
});
