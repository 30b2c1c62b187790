/**
 * The demo's servers in FAPI 2.0 mode (`npm run demo -- --fapi`): oidc-provider with its FAPI 2.0
 * profile and DPoP nonces required, the demo client registered for private_key_jwt with the public
 * half of an EC P-256 key made here and `dpop_bound_access_tokens: true`; and the bank API taking
 * DPoP-bound tokens only, with a proof on every call and a nonce of its own.
 */
import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { startAuthServer, type AuthServer } from './auth-server.js';
import type { BankApi } from './bank-api.js';
import { BANKING_AUDIENCE, BANKING_SCOPES, withBankApi } from './servers.js';

export interface FapiCredentials {
  clientId: string;
  /** The client's private_key_jwt signing key: a `KeyObject` the library signs with and never exports. */
  privateKey: KeyObject;
  /** The key's id, in every assertion's header and in the registered JWK. */
  kid: string;
  /** The registered public JWK. */
  publicJwk: JWK;
  /** The scopes the client is registered for. */
  scope: string[];
  apiKey: string;
}

export interface FapiServers {
  auth: AuthServer;
  bank: BankApi;
  credentials: FapiCredentials;
  close(): Promise<void>;
}

/** Both servers, wired to each other, and the client's fresh key pair and API key. */
export async function startFapiServers(): Promise<FapiServers> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const credentials: FapiCredentials = {
    clientId: `fapi-${randomBytes(6).toString('base64url')}`,
    privateKey,
    kid,
    publicJwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
    scope: ['banking/read', 'banking/write'],
    apiKey: randomBytes(16).toString('base64url'),
  };
  const auth = await startAuthServer({
    fapi: true,
    clients: [
      {
        clientId: credentials.clientId,
        authMethod: 'private_key_jwt',
        jwks: { keys: [credentials.publicJwk] },
        dpopBoundAccessTokens: true,
        scope: credentials.scope.join(' '),
      },
    ],
    audience: BANKING_AUDIENCE,
    scopes: BANKING_SCOPES,
  });
  return { ...(await withBankApi(auth, { apiKey: credentials.apiKey, dpop: { requireNonce: true } })), credentials };
}
