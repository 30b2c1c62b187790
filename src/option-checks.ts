import { ConfigurationError } from './errors.js';
import { isLoopbackHost } from './interceptors/origin.js';
import type { TokenStore } from './provider/token-store.js';
import { splitScope } from './util/scope.js';

/** RFC 6749 §3.3 scope-token. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function nonEmptyString(value: unknown, name: string, hint: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(`${name} is ${value === undefined ? 'missing' : 'not a non-empty string'}: ${hint}`);
  }
  return value;
}

export function number(
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

export function list(value: unknown, name: string): string[] {
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

/** Form fields the library sets itself. */
const RESERVED_PARAMS = ['grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type'];

/** Scopes as a list of RFC 6749 §3.3 scope-tokens. */
export function checkScope(value: unknown, name = 'scope'): string[] {
  const scope = list(value, name);
  const bad = scope.find((s) => !SCOPE_TOKEN.test(s));
  if (bad !== undefined) {
    throw new ConfigurationError(
      `${name} ${JSON.stringify(bad)} has a character RFC 6749 §3.3 forbids (a quote, a backslash or a control character).`,
    );
  }
  return scope;
}

/** Resource indicators: absolute URIs without a fragment (RFC 8707 §2). */
export function checkResource(value: unknown, name = 'resource'): string[] {
  const resource = list(value, name);
  for (const r of resource) {
    let url: URL | undefined;
    try {
      url = new URL(r);
    } catch {
      url = undefined;
    }
    if (!url || url.hash || r.includes('#')) {
      throw new ConfigurationError(
        `${name} ${JSON.stringify(r)} must be an absolute URI without a fragment (RFC 8707 §2).`,
      );
    }
  }
  return resource;
}

/** Extra form fields: a plain object of strings that set nothing the library sets, nor what an option sets. */
export function checkParams(value: unknown, options: Record<string, unknown>): Record<string, string> {
  const params = value ?? {};
  const proto = typeof params === 'object' && params !== null ? (Object.getPrototypeOf(params) as unknown) : undefined;
  if (
    typeof params !== 'object' ||
    params === null ||
    Array.isArray(params) ||
    (proto !== Object.prototype && proto !== null)
  ) {
    throw new ConfigurationError('params must be an object of form fields, e.g. { organization: "org_123" }.');
  }
  for (const [key, field] of Object.entries(params)) {
    if (RESERVED_PARAMS.includes(key)) {
      throw new ConfigurationError(
        `params.${key} is reserved: the library sets ${key} itself. Use the clientId, clientSecret, privateKey, clientAssertion and authMethod options instead.`,
      );
    }
    if (typeof field !== 'string') throw new ConfigurationError(`params.${key} must be a string.`);
    if ((key === 'scope' || key === 'audience' || key === 'resource') && options[key] !== undefined) {
      throw new ConfigurationError(`params.${key} conflicts with the ${key} option: set it in one place.`);
    }
  }
  return { ...(params as Record<string, string>) };
}

/** A store: the TokenStore interface (get, set, delete; lock, unlock, extendLock, waitForChange when present). */
export function checkStore(store: unknown): TokenStore | undefined {
  if (store === undefined) return undefined;
  const methods = store as Record<string, unknown> | null;
  if (
    typeof store !== 'object' ||
    methods === null ||
    ['get', 'set', 'delete'].some((m) => typeof methods[m] !== 'function')
  ) {
    throw new ConfigurationError(
      'store must implement the TokenStore interface (get, set, delete), e.g. redisStore(client) from axios-client-credentials/redis.',
    );
  }
  for (const method of ['lock', 'unlock', 'extendLock', 'waitForChange'] as const) {
    if (methods[method] !== undefined && typeof methods[method] !== 'function') {
      throw new ConfigurationError(`store.${method} must be a function when present.`);
    }
  }
  return store as TokenStore;
}

/** The token endpoint or issuer: exactly one, each a URL {@link checkEndpointUrl} accepts. */
export function checkEndpoints(tokenUrl: unknown, issuer: unknown, allowInsecureHttp: boolean): void {
  if (tokenUrl !== undefined && issuer !== undefined) {
    throw new ConfigurationError(
      'Pass either tokenUrl or issuer, not both: issuer finds the token endpoint by discovery.',
    );
  }
  if (tokenUrl === undefined && issuer === undefined) {
    throw new ConfigurationError(
      'The token URL is missing: pass tokenUrl (the token endpoint) or issuer (to find it by discovery).',
    );
  }
  if (tokenUrl !== undefined) {
    checkEndpointUrl(
      nonEmptyString(tokenUrl, 'tokenUrl', 'pass the token endpoint URL.'),
      'tokenUrl',
      allowInsecureHttp,
    );
  }
  if (issuer !== undefined) {
    checkEndpointUrl(nonEmptyString(issuer, 'issuer', 'pass the issuer URL.'), 'issuer', allowInsecureHttp);
  }
}

/** Key material for encryption at rest: a string or bytes of at least 16. */
export function checkEncryptionKey(value: unknown): string | Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (!(typeof value === 'string' || value instanceof Uint8Array) || value.length < 16) {
    throw new ConfigurationError('encryptionKey must be a string or bytes of at least 16 characters.');
  }
  return value;
}
