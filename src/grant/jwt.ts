import { Buffer } from 'node:buffer';

/**
 * The `exp` claim of a JWT access token in ms since the epoch, or `undefined`
 * when the token is not a JWT or has no numeric `exp`. The signature is not
 * checked: the value only decides when to fetch a new token, never whether to trust one.
 */
export function jwtExpiresAt(token: string): number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    const exp = (claims as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
