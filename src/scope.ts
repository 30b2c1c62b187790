import type { AccessToken } from './token-response.js';

/**
 * Whether `token` was granted every scope in `required` (a space-separated
 * string or a list). Servers such as Applixure may grant a subset of the
 * scopes asked for; check before calling an API that needs one.
 *
 * @example
 * if (!hasScope(await tokens.getToken(), 'account-data:manage')) { ... }
 */
export function hasScope(token: Pick<AccessToken, 'scope'>, required: string | readonly string[]): boolean {
  const wanted = typeof required === 'string' ? required.split(/\s+/).filter(Boolean) : required;
  const granted = new Set(token.scope);
  return wanted.every((scope) => granted.has(scope));
}
