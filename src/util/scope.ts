import { ConfigurationError } from '../errors.js';
import type { AccessToken } from '../grant/token-response.js';

/** The scope tokens of a space-separated scope string (RFC 6749 §3.3), without empty ones. */
export function splitScope(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/**
 * Whether `token` was granted every scope in `required` (a space-separated
 * string or a list). Servers such as Applixure may grant a subset of the
 * scopes asked for; check before calling an API that needs one.
 *
 * @example
 * if (!hasScope(await tokens.getToken(), 'account-data:manage')) { ... }
 */
export function hasScope(token: Pick<AccessToken, 'scope'>, required: string | readonly string[]): boolean {
  if (typeof token !== 'object' || token === null || !Array.isArray(token.scope))
    throw new ConfigurationError('hasScope needs a token from getToken() as its first argument.');
  if (typeof required !== 'string' && !Array.isArray(required))
    throw new ConfigurationError('hasScope needs the required scope as a string or an array of strings.');
  const wanted = typeof required === 'string' ? splitScope(required) : required;
  const granted = new Set(token.scope);
  return wanted.every((scope) => granted.has(scope));
}
