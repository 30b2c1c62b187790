import type { AxiosInstance, InternalAxiosRequestConfig } from 'axios';
import type { AccessToken } from '../grant/token-response.js';

const AUTHORIZATION = /^authorization$/i;

/** The key under which `headers` holds an Authorization header, in whatever case. */
function authorizationKey(headers: object): string | undefined {
  for (const key of Object.keys(headers)) {
    if (key.length === 13 && key.toLowerCase() === 'authorization') return key;
  }
  return undefined;
}

/**
 * The Authorization header of one `attachAuth`: the value for a token (made once per token), and
 * where a request takes it. A request that brings its own Authorization header keeps it; one this
 * library set before (a resend) or the instance's default is replaced, never doubled.
 */
export class AuthorizationHeader {
  readonly #defaults: AxiosInstance['defaults'];
  /** Header values set lately, to tell them from a caller's own Authorization header. */
  readonly #recentValues = new Set<string>();
  #lastToken: AccessToken | undefined;
  #lastValue = '';

  constructor(defaults: AxiosInstance['defaults']) {
    this.#defaults = defaults;
  }

  /** `<token_type> <access_token>` (RFC 6750 §2.1). */
  valueFor(token: AccessToken): string {
    if (token === this.#lastToken) return this.#lastValue;
    const value = `${token.tokenType} ${token.accessToken}`;
    this.#lastToken = token;
    this.#lastValue = value;
    if (!this.#recentValues.has(value)) {
      this.#recentValues.add(value);
      if (this.#recentValues.size > 8) this.#recentValues.delete(this.#recentValues.values().next().value as string);
    }
    return value;
  }

  /** The header key to set the token under, or `undefined` when the request carries its own Authorization. */
  keyFor(config: InternalAxiosRequestConfig): string | undefined {
    const headers = config.headers as unknown as Record<string, unknown>;
    const key = authorizationKey(headers);
    if (key === undefined) return 'Authorization';
    const existing = headers[key];
    if (existing === undefined || existing === null || existing === false) return key;
    return this.#recentValues.has(String(existing)) || this.#isInstanceDefault(existing, config) ? key : undefined;
  }

  /** Whether an Authorization value came from the instance's default headers (replaced by ours) rather than from the request. */
  #isInstanceDefault(value: unknown, config: InternalAxiosRequestConfig): boolean {
    const defaults = this.#defaults.headers as unknown as Record<string, unknown>;
    const method = (config.method ?? 'get').toLowerCase();
    for (const group of [defaults, defaults.common, defaults[method]]) {
      if (typeof group !== 'object' || group === null) continue;
      for (const [name, candidate] of Object.entries(group)) {
        if (AUTHORIZATION.test(name) && candidate === value) return true;
      }
    }
    return false;
  }
}
