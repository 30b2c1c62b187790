import type { AxiosInstance } from 'axios';
import { CLIENT_AUTH_METHODS, type ClientAuthMethod } from './grant/client-auth.js';
import { ConfigurationError } from './errors.js';
import { isLoopbackHost } from './interceptors/origin.js';
import { MAX_LIFETIME_SECONDS } from './grant/token-response.js';
import { resolveRetry, type RetryOptions, type RetryPolicy } from './grant/retry.js';
import { splitScope } from './util/scope.js';
import type { TokenStore } from './provider/token-store.js';

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
  /** The client secret. Never shown in an error, log or event. */
  clientSecret: string;
  /** Scopes to ask for; a space-separated string or a list. Sent space-joined. @default none */
  scope?: string | readonly string[] | undefined;
  /** How the client authenticates. @default 'client_secret_basic', or what discovery says the server supports */
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
  /** Key material for encrypting tokens at rest in the store. @default the client secret */
  encryptionKey?: string | Uint8Array | undefined;
  /** The clock, in ms since the epoch (for tests). @default Date.now */
  now?: (() => number) | undefined;
}

export interface ResolvedOptions {
  tokenUrl: string | undefined;
  issuer: string | undefined;
  clientId: string;
  clientSecret: string;
  scope: readonly string[];
  authMethod: ClientAuthMethod | undefined;
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
  encryptionKey: string | Uint8Array | undefined;
  now: () => number;
}

/** The default lock TTL of a store whose holder heartbeats its lock: a dead holder's lock is taken over this fast. */
const HEARTBEAT_LOCK_TTL_MS = 2000;
const RESERVED_PARAMS = ['grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type'];
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function nonEmptyString(value: unknown, name: string, hint: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(`${name} is ${value === undefined ? 'missing' : 'not a non-empty string'}: ${hint}`);
  }
  return value;
}

function number(
  value: unknown,
  name: string,
  fallback: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigurationError(`${name} must be a number from ${min} to ${max} (got ${String(value)}).`);
  }
  return value;
}

function list(value: unknown, name: string): string[] {
  if (value === undefined || value === null) return [];
  const items = typeof value === 'string' ? splitScope(value) : Array.isArray(value) ? value : undefined;
  if (!items || items.some((item) => typeof item !== 'string' || item === '')) {
    throw new ConfigurationError(`${name} must be a string or an array of non-empty strings.`);
  }
  return items as string[];
}

/**
 * Checks a token or discovery URL: absolute, no fragment or credentials, and
 * `https:` unless the host is loopback or `allowInsecureHttp` is set (RFC 6749 §3.2).
 */
export function checkEndpointUrl(value: string, what: string, allowInsecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(
      `${what} is not an absolute URL: use the full https:// address of the authorization server.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigurationError(`${what} must be an https: URL (got ${url.protocol}).`);
  }
  if (url.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(url.hostname)) {
    throw new ConfigurationError(
      `${what} uses plain http: on ${url.hostname}; the client secret must travel over TLS (RFC 6749 §3.2). Use https:, or set allowInsecureHttp: true for a trusted private network.`,
    );
  }
  if (url.username || url.password) {
    throw new ConfigurationError(`${what} must not contain user info; pass clientId and clientSecret instead.`);
  }
  if (url.hash) throw new ConfigurationError(`${what} must not contain a fragment (RFC 6749 §3.2).`);
  return url;
}

/** Validates options at construction; every error says how to fix it. */
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
  const clientSecret = nonEmptyString(
    options.clientSecret,
    'clientSecret',
    'pass the client secret, e.g. clientSecret: process.env.CLIENT_SECRET.',
  );
  const allowInsecureHttp = options.allowInsecureHttp === true;
  if (options.tokenUrl !== undefined && options.issuer !== undefined) {
    throw new ConfigurationError(
      'Pass either tokenUrl or issuer, not both: issuer finds the token endpoint by discovery.',
    );
  }
  if (options.tokenUrl === undefined && options.issuer === undefined) {
    throw new ConfigurationError(
      'The token URL is missing: pass tokenUrl (the token endpoint) or issuer (to find it by discovery).',
    );
  }
  if (options.tokenUrl !== undefined)
    checkEndpointUrl(
      nonEmptyString(options.tokenUrl, 'tokenUrl', 'pass the token endpoint URL.'),
      'tokenUrl',
      allowInsecureHttp,
    );
  if (options.issuer !== undefined)
    checkEndpointUrl(nonEmptyString(options.issuer, 'issuer', 'pass the issuer URL.'), 'issuer', allowInsecureHttp);
  if (options.authMethod !== undefined && !CLIENT_AUTH_METHODS.includes(options.authMethod)) {
    throw new ConfigurationError(
      `authMethod ${JSON.stringify(options.authMethod)} is not supported: use ${CLIENT_AUTH_METHODS.map((m) => `'${m}'`).join(' or ')}.`,
    );
  }
  const scope = list(options.scope, 'scope');
  const bad = scope.find((s) => !SCOPE_TOKEN.test(s));
  if (bad !== undefined)
    throw new ConfigurationError(
      `scope ${JSON.stringify(bad)} has a character RFC 6749 §3.3 forbids (a quote, a backslash or a control character).`,
    );
  const params = options.params ?? {};
  if (
    typeof params !== 'object' ||
    params === null ||
    Array.isArray(params) ||
    (Object.getPrototypeOf(params) !== Object.prototype && Object.getPrototypeOf(params) !== null)
  )
    throw new ConfigurationError('params must be an object of form fields, e.g. { organization: "org_123" }.');
  for (const [key, value] of Object.entries(params)) {
    if (RESERVED_PARAMS.includes(key)) {
      throw new ConfigurationError(
        `params.${key} is reserved: the library sets ${key} itself. Use the clientId, clientSecret and authMethod options instead.`,
      );
    }
    if (typeof value !== 'string') throw new ConfigurationError(`params.${key} must be a string.`);
  }
  for (const [key, option] of [
    ['scope', 'scope'],
    ['audience', 'audience'],
    ['resource', 'resource'],
  ] as const) {
    if (key in params && options[option] !== undefined)
      throw new ConfigurationError(`params.${key} conflicts with the ${option} option: set it in one place.`);
  }
  if (options.audience !== undefined) nonEmptyString(options.audience, 'audience', 'pass your API identifier.');
  const resource = list(options.resource, 'resource');
  for (const r of resource) {
    try {
      if (new URL(r).hash) throw new Error('fragment');
    } catch {
      throw new ConfigurationError(
        `resource ${JSON.stringify(r)} must be an absolute URI without a fragment (RFC 8707 §2).`,
      );
    }
  }
  const httpClient = options.httpClient;
  if (httpClient !== undefined && typeof (httpClient as { request?: unknown }).request !== 'function') {
    throw new ConfigurationError('httpClient must be an axios instance (axios.create()).');
  }
  const store = options.store;
  if (
    store !== undefined &&
    (typeof store !== 'object' ||
      store === null ||
      ['get', 'set', 'delete'].some((m) => typeof (store as unknown as Record<string, unknown>)[m] !== 'function'))
  ) {
    throw new ConfigurationError(
      'store must implement the TokenStore interface (get, set, delete), e.g. redisStore(client) from axios-client-credentials/redis.',
    );
  }
  for (const method of ['lock', 'unlock', 'extendLock', 'waitForChange'] as const) {
    const value = (store as unknown as Record<string, unknown> | undefined)?.[method];
    if (value !== undefined && typeof value !== 'function')
      throw new ConfigurationError(`store.${method} must be a function when present.`);
  }
  if (options.now !== undefined && typeof options.now !== 'function')
    throw new ConfigurationError('now must be a function returning ms since the epoch.');
  const refreshRatio =
    options.refreshRatio === false || options.refreshRatio === undefined
      ? options.refreshRatio
      : number(options.refreshRatio, 'refreshRatio', 0, { min: 0.05, max: 1 });
  const timeoutMs = number(options.timeoutMs, 'timeoutMs', 10_000, { min: 1, max: 2_147_483_647 });
  const encryptionKey = options.encryptionKey;
  if (
    (encryptionKey !== undefined && !(typeof encryptionKey === 'string' || encryptionKey instanceof Uint8Array)) ||
    (encryptionKey !== undefined && encryptionKey.length < 16)
  ) {
    throw new ConfigurationError('encryptionKey must be a string or bytes of at least 16 characters.');
  }
  return {
    tokenUrl: options.tokenUrl,
    issuer: options.issuer,
    clientId,
    clientSecret,
    scope,
    authMethod: options.authMethod,
    audience: options.audience,
    resource,
    params: { ...params },
    expiryLeewayMs:
      number(options.expiryLeewaySeconds, 'expiryLeewaySeconds', 30, { max: MAX_LIFETIME_SECONDS }) * 1000,
    defaultExpiresInMs:
      number(options.defaultExpiresInSeconds, 'defaultExpiresInSeconds', 300, { max: MAX_LIFETIME_SECONDS }) * 1000,
    refreshRatio,
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
    encryptionKey,
    now: options.now ?? Date.now,
  };
}
