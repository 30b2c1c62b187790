import type { AxiosInstance } from 'axios';
import { ConfigurationError } from './errors.js';
import type { ClientAssertionSigner, ClientAuthMethod } from './grant/client-auth.js';
import { resolveClientAuth, type AssertionAudience, type ResolvedClientAuth } from './grant/client-credential.js';
import type { ClientTlsOptions } from './grant/client-tls.js';
import { generateDpopKey, resolveDpop, type DpopKey, type DpopKeyPair } from './grant/dpop.js';
import { resolveRetry, type RetryOptions, type RetryPolicy } from './grant/retry.js';
import type { PrivateKeyInput } from './grant/signing-key.js';
import { MAX_LIFETIME_SECONDS } from './grant/token-response.js';
import {
  checkEncryptionKey,
  checkEndpoints,
  checkParams,
  checkResource,
  checkScope,
  checkStore,
  nonEmptyString,
  number,
} from './option-checks.js';
import type { TokenStore } from './provider/token-store.js';

export { checkEndpointUrl } from './option-checks.js';

/** Options of {@link ClientCredentialsProvider}. */
export interface ClientCredentialsOptions {
  /** The token endpoint, e.g. `https://auth.example.com/oauth/v2/token`. Give this or `issuer`. */
  tokenUrl?: string | undefined;
  /**
   * The issuer, whose token endpoint is found by OpenID Connect Discovery /
   * RFC 8414 on the first token request. Give this or `tokenUrl`.
   * See {@link apitureIssuers}.
   */
  issuer?: string | undefined;
  /** The client id. */
  clientId: string;
  /**
   * The client secret, for `client_secret_basic` (the default), `client_secret_post` or `client_secret_jwt`.
   * Give exactly one of `clientSecret`, `privateKey` and `clientAssertion` (or `tls` alone). Never shown in an
   * error, log or event.
   */
  clientSecret?: string | undefined;
  /**
   * The private key of `private_key_jwt` (RFC 7523): a JWK with its private part, `alg` and `kid`; a
   * `KeyObject` (never exported by the library); a PKCS#8 PEM string; or `{ key, alg, kid }` to name the
   * algorithm and key id. ES256/ES384/ES512 by curve for EC keys, PS256 for RSA (2048 bits or more; RS256
   * only when asked), EdDSA for Ed25519. Never shown in an error, log or event.
   */
  privateKey?: PrivateKeyInput | undefined;
  /**
   * `private_key_jwt` with a signer you own (KMS, HSM, Vault): called once per token request attempt with
   * the client id, the audience and an abort signal; returns the signed assertion. Bounded by `timeoutMs`.
   */
  clientAssertion?: ClientAssertionSigner | undefined;
  /**
   * The client certificate and its key, PEM, for mutual TLS (RFC 8705): `tls_client_auth` (or
   * `self_signed_tls_client_auth`) when it is the only credential; with a secret, key or signer, it binds
   * the token to the certificate. The token request, discovery, and the API calls `attachAuth` authorizes
   * present it; no other origin ever sees it.
   */
  tls?: ClientTlsOptions | undefined;
  /**
   * Sender-constrained tokens with DPoP (RFC 9449): `true` makes an ES256 key pair for this provider; or a
   * key pair you keep (`CryptoKey`s, which may be non-extractable, or `KeyObject`s). Every token request and
   * every API call `attachAuth` authorizes then carries a fresh proof, and tokens go out as
   * `Authorization: DPoP <token>`. With a `store` and `true`, the generated private key travels with the token,
   * encrypted like it, so every process proves possession of the key the token is bound to; with your own
   * key pair, only processes given the same key share a token, and the key never travels.
   * @default off
   */
  dpop?: boolean | DpopKeyPair | undefined;
  /** PEM of a private CA that issued the token endpoint's (and discovery's) certificate. @default the system's CAs */
  ca?: string | readonly string[] | undefined;
  /**
   * The `aud` of a client assertion: `'issuer'` (the issuer identifier, as FAPI 2.0 and RFC 7523bis ask),
   * `'token_endpoint'`, or an explicit string.
   * @default 'issuer' with `issuer`, else 'token_endpoint'
   */
  assertionAudience?: AssertionAudience | undefined;
  /** Scopes to ask for; a space-separated string or a list. Sent space-joined. @default none */
  scope?: string | readonly string[] | undefined;
  /**
   * How the client authenticates. The credential decides by default: `privateKey` or `clientAssertion` →
   * `private_key_jwt`; `clientSecret` → `client_secret_basic`; `tls` alone → `tls_client_auth`. With
   * discovery, the first method of that credential the server lists (for a secret: basic, post, then jwt).
   * @default from the credential and discovery
   */
  authMethod?: ClientAuthMethod | undefined;
  /** `audience` form field (Auth0-style servers such as Login 3.0). */
  audience?: string | undefined;
  /** RFC 8707 resource indicator(s); each sent as a `resource` field. */
  resource?: string | readonly string[] | undefined;
  /** Extra form fields, e.g. `{ organization: 'org_123' }`. May not set `grant_type`, `client_id`, `client_secret`. */
  params?: Readonly<Record<string, string>> | undefined;
  /** A token is renewed this long before it expires; never more than half its lifetime. @default 30 */
  expiryLeewaySeconds?: number | undefined;
  /** Lifetime assumed when the response has no `expires_in` (or `expires_in: 0`, an unknown lifetime) and the token is not a JWT with `exp`. @default 300 */
  defaultExpiresInSeconds?: number | undefined;
  /**
   * When the next request starts one background refresh while still using the current token.
   * By default, ahead of the end of the usable lifetime by what the token endpoint needs: its slowest
   * answer lately for each attempt the retry policy allows and the back-off between them (at least
   * 1 s), plus `failureCooldownMs` so a failed refresh gets one more try; at most 20 % of the usable
   * lifetime. Steady traffic then costs about one grant per token lifetime (1.001 for a one-hour
   * token) and never waits. A number is a fixed fraction of the usable lifetime instead; `false`
   * turns background refresh off.
   * @default adaptive
   */
  refreshRatio?: number | false | undefined;
  /** Time limit of one token (or discovery) request, in ms. @default 10000 */
  timeoutMs?: number | undefined;
  /** Retries of transient token endpoint failures; `false` turns them off. @default { retries: 3, baseDelayMs: 200, maxDelayMs: 5000, maxRetryAfterMs: 10000 } */
  retry?: RetryOptions | false | undefined;
  /** After a failed token request cycle, further requests fail fast with the same error for this long, in ms. @default 1000 */
  failureCooldownMs?: number | undefined;
  /** The axios instance used for token and discovery requests only. @default a fresh `axios.create()` with no interceptors */
  httpClient?: AxiosInstance | undefined;
  /** Allow a plain `http:` token endpoint on a non-loopback host (RFC 6749 §3.2 requires TLS). @default false */
  allowInsecureHttp?: boolean | undefined;
  /** Where tokens are shared beyond this process, e.g. `redisStore(client)`. @default none: a cache in this process */
  store?: TokenStore | undefined;
  /** Time limit of one store call, in ms; past it the provider goes on without the store. @default 250 */
  storeTimeoutMs?: number | undefined;
  /**
   * How long a process holds the store's fetch lock, in ms. A store with `extendLock` (such as
   * `redisStore`) has the holder extend it every third of this while it fetches, so it can be short: when
   * the holder dies, another process takes over within this time.
   * @default 2000 with a store that has `extendLock`, else timeoutMs + 2000 (the lock must outlast a whole token request)
   */
  lockTtlMs?: number | undefined;
  /**
   * Key material for encrypting tokens at rest in the store. Required with a `store` when the library cannot
   * read the credential (a `clientAssertion` signer, a `KeyObject` private key) and there is no `tls` key.
   * @default the client secret, the private key (JWK or PEM), or the `tls` key
   */
  encryptionKey?: string | Uint8Array | undefined;
  /**
   * The scopes a request or `getToken` call may ask for (`scope` in `config.clientCredentials` or
   * `getToken`); another is a `ConfigurationError` before anything is sent. @default any: the server decides
   */
  allowedScopes?: string | readonly string[] | undefined;
  /**
   * How many tokens (one per scope set and resource set asked for, see `getToken({ scope })` and
   * `config.clientCredentials.scope`) the provider keeps at most; the least recently used goes first.
   * @default 100
   */
  maxCachedTokens?: number | undefined;
  /** The clock, in ms since the epoch (for tests). @default Date.now */
  now?: (() => number) | undefined;
}

/** Options after validation. @internal */
export interface ResolvedOptions {
  tokenUrl: string | undefined;
  issuer: string | undefined;
  clientId: string;
  auth: ResolvedClientAuth;
  /** The DPoP key of this provider, and whether it was generated here (then it travels with tokens in a store). */
  dpop: { key: DpopKey; generated: boolean } | undefined;
  scope: readonly string[];
  audience: string | undefined;
  resource: readonly string[];
  params: Readonly<Record<string, string>>;
  expiryLeewayMs: number;
  defaultExpiresInMs: number;
  refreshRatio: number | false | undefined;
  timeoutMs: number;
  retry: RetryPolicy;
  failureCooldownMs: number;
  httpClient: AxiosInstance | undefined;
  allowInsecureHttp: boolean;
  store: TokenStore | undefined;
  storeTimeoutMs: number;
  lockTtlMs: number;
  maxCachedTokens: number;
  allowedScopes: readonly string[] | undefined;
  /** What the store's encryption key derives from: `encryptionKey`, else the credential's material. */
  encryptionMaterial: string | Uint8Array;
  now: () => number;
}

/** The default lock TTL of a store whose holder heartbeats its lock: a dead holder's lock is taken over this fast. */
const HEARTBEAT_LOCK_TTL_MS = 2000;

/** Validates options at construction; every error says how to fix it. @internal */
export function resolveOptions(options: ClientCredentialsOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError(
      'ClientCredentialsProvider needs an options object: { tokenUrl, clientId, clientSecret }.',
    );
  }
  const clientId = nonEmptyString(
    options.clientId,
    'clientId',
    'pass the client id your authorization server issued, e.g. clientId: process.env.CLIENT_ID.',
  );
  const allowInsecureHttp = options.allowInsecureHttp === true;
  checkEndpoints(options.tokenUrl, options.issuer, allowInsecureHttp);
  const auth = resolveClientAuth({ ...options, clientId });
  if (options.audience !== undefined) nonEmptyString(options.audience, 'audience', 'pass your API identifier.');
  const httpClient = options.httpClient;
  if (httpClient !== undefined && typeof (httpClient as { request?: unknown }).request !== 'function') {
    throw new ConfigurationError('httpClient must be an axios instance (axios.create()).');
  }
  const store = checkStore(options.store);
  if (options.now !== undefined && typeof options.now !== 'function')
    throw new ConfigurationError('now must be a function returning ms since the epoch.');
  const timeoutMs = number(options.timeoutMs, 'timeoutMs', 10_000, { min: 1, max: 2_147_483_647 });
  return {
    tokenUrl: options.tokenUrl,
    issuer: options.issuer,
    clientId,
    auth,
    dpop: dpopOf(options.dpop),
    scope: checkScope(options.scope),
    audience: options.audience,
    resource: checkResource(options.resource),
    params: checkParams(options.params, options as unknown as Record<string, unknown>),
    expiryLeewayMs:
      number(options.expiryLeewaySeconds, 'expiryLeewaySeconds', 30, { max: MAX_LIFETIME_SECONDS }) * 1000,
    defaultExpiresInMs:
      number(options.defaultExpiresInSeconds, 'defaultExpiresInSeconds', 300, { max: MAX_LIFETIME_SECONDS }) * 1000,
    refreshRatio:
      options.refreshRatio === false || options.refreshRatio === undefined
        ? options.refreshRatio
        : number(options.refreshRatio, 'refreshRatio', 0, { min: 0.05, max: 1 }),
    timeoutMs,
    retry: resolveRetry(options.retry),
    failureCooldownMs: number(options.failureCooldownMs, 'failureCooldownMs', 1000),
    httpClient,
    allowInsecureHttp,
    store,
    storeTimeoutMs: number(options.storeTimeoutMs, 'storeTimeoutMs', 250, { min: 1 }),
    lockTtlMs: number(options.lockTtlMs, 'lockTtlMs', store?.extendLock ? HEARTBEAT_LOCK_TTL_MS : timeoutMs + 2000, {
      min: 1,
    }),
    encryptionMaterial: encryptionMaterial(options.encryptionKey, auth, store),
    allowedScopes: options.allowedScopes === undefined ? undefined : checkScope(options.allowedScopes, 'allowedScopes'),
    maxCachedTokens: number(options.maxCachedTokens, 'maxCachedTokens', 100, { min: 1, max: 100_000 }),
    now: options.now ?? Date.now,
  };
}

function dpopOf(option: unknown): ResolvedOptions['dpop'] {
  const resolved = resolveDpop(option);
  if (resolved === undefined) return undefined;
  return resolved === 'generate' ? { key: generateDpopKey(), generated: true } : { key: resolved, generated: false };
}

/** `encryptionKey`, else what the credential gives; a store with neither is a configuration error. */
function encryptionMaterial(
  value: unknown,
  auth: ResolvedClientAuth,
  store: TokenStore | undefined,
): string | Uint8Array {
  const key = checkEncryptionKey(value) ?? auth.keyMaterial;
  if (key !== undefined) return key;
  if (store !== undefined) {
    throw new ConfigurationError(
      'A store needs encryptionKey here: tokens are encrypted at rest with a key derived from the credential, and this one (a clientAssertion signer, or a KeyObject the library never exports) cannot be read. Pass encryptionKey: a secret of 16 or more characters shared by every process.',
    );
  }
  return ''; // no store: nothing is encrypted
}
