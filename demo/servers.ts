/**
 * Both demo servers, wired to each other, with fresh random credentials. Import this from a
 * script or a test that runs under tsx or native ESM; oidc-provider and jose are ESM-only, so a
 * CommonJS jest suite starts them in a child process instead (demo/serve.ts).
 */
import { randomBytes } from 'node:crypto';
import { startAuthServer, type AuthServer } from './auth-server';
import { startBankApi, type BankApi, type BankApiOptions } from './bank-api';

export { startAuthServer, type AuthServer, type AuthServerOptions, type AuthServerCounters } from './auth-server';
export { startBankApi, type BankApi, type BankApiOptions, type BankApiCounters } from './bank-api';

/** The API's resource indicator; it becomes the `aud` of every access token. */
export const BANKING_AUDIENCE = 'https://api.apiture.com/banking';
export const BANKING_SCOPES = ['banking/read', 'banking/write', 'moneyMovement/write'];

export interface DemoCredentials {
  clientId: string;
  clientSecret: string;
  /** The scopes the client is registered for: no `moneyMovement/write`. */
  scope: string[];
  apiKey: string;
}

export interface DemoServers {
  auth: AuthServer;
  bank: BankApi;
  credentials: DemoCredentials;
  close(): Promise<void>;
}

const random = (bytes: number) => randomBytes(bytes).toString('base64url');

export async function startDemoServers(credentials: Partial<DemoCredentials> = {}): Promise<DemoServers> {
  const creds: DemoCredentials = {
    clientId: credentials.clientId ?? `demo-${random(6)}`,
    clientSecret: credentials.clientSecret ?? random(24),
    scope: credentials.scope ?? ['banking/read', 'banking/write'],
    apiKey: credentials.apiKey ?? random(16),
  };
  const auth = await startAuthServer({
    clients: [{ clientId: creds.clientId, clientSecret: creds.clientSecret, scope: creds.scope.join(' ') }],
    audience: BANKING_AUDIENCE,
    scopes: BANKING_SCOPES,
  });
  return { ...(await withBankApi(auth, { apiKey: creds.apiKey })), credentials: creds };
}

/**
 * Starts the bank API for `auth` (its issuer, JWKS and the banking audience), closing `auth` if the API
 * cannot start; `close` stops both.
 */
export async function withBankApi(
  auth: AuthServer,
  options: Omit<BankApiOptions, 'issuer' | 'jwksUri' | 'audience'>,
): Promise<{ auth: AuthServer; bank: BankApi; close(): Promise<void> }> {
  let bank: BankApi;
  try {
    bank = await startBankApi({ issuer: auth.issuer, jwksUri: auth.jwksUri, audience: BANKING_AUDIENCE, ...options });
  } catch (error) {
    await auth.close();
    throw error;
  }
  return {
    auth,
    bank,
    close: async () => {
      await Promise.all([bank.close(), auth.close()]);
    },
  };
}
