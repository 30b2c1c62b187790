import { inspect } from 'node:util';
import { TokenEndpointError } from './errors.js';
import { jwtExpiresAt } from './jwt.js';
import { REDACTED, hideProperty } from './redact.js';

/**
 * A successful token response as it comes over the wire.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number | string;
  scope?: string;
  [field: string]: unknown;
}

/** An access token as the library hands it out. */
export interface AccessToken {
  /** The access token. Shown as `[REDACTED]` by `util.inspect` and `JSON.stringify`. */
  readonly accessToken: string;
  /** `Bearer` (the only type this library sends, RFC 6750). */
  readonly tokenType: string;
  /** When the token expires, in ms since the epoch, counted from when the token request was sent; `undefined` when the server did not say. */
  readonly expiresAt: number | undefined;
  /** The granted scopes: the response's `scope`, else the requested ones (RFC 6749 §5.1). */
  readonly scope: readonly string[];
  /** The token response as received (non-enumerable; it holds the token). */
  readonly raw: Readonly<TokenResponse>;
}

/** Internal: a token with the times the provider needs. */
export interface TokenRecord {
  token: AccessToken;
  /** When the token request was sent (ms). */
  issuedAt: number;
  /** Time after which the token is no longer used (expiry minus leeway). */
  staleAt: number;
  /** Time after which a background refresh starts. */
  refreshAt: number;
}

/** RFC 6750 §2.1 b64token: a token can never carry a space, CR or LF into a header. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** Anything above ten years is not a lifetime but a bug. */
export const MAX_LIFETIME_SECONDS = 10 * 365 * 24 * 3600;

function redactedView(token: AccessToken): object {
  return { accessToken: REDACTED, tokenType: token.tokenType, expiresAt: token.expiresAt, scope: token.scope };
}

/** Builds an {@link AccessToken} whose token never shows in logs or JSON. */
export function makeAccessToken(fields: Omit<AccessToken, 'raw'>, raw: TokenResponse): AccessToken {
  const token = { ...fields };
  hideProperty(token, 'raw', Object.freeze({ ...raw }));
  hideProperty(token, 'toJSON', function (this: AccessToken) {
    return redactedView(this);
  });
  hideProperty(token, inspect.custom, function (this: AccessToken, _depth: number, options: object) {
    return `AccessToken ${inspect(redactedView(this), options)}`;
  });
  return Object.freeze(token) as AccessToken;
}

export function invalidResponse(message: string, status: number, details: { error?: string } = {}): TokenEndpointError {
  return new TokenEndpointError(message, { status, error: details.error ?? 'invalid_token_response' });
}

/** Parses `expires_in`: a non-negative number or numeric string of seconds. */
function parseExpiresIn(value: unknown, status: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_LIFETIME_SECONDS) {
    throw invalidResponse(`Token endpoint returned an invalid expires_in (${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : String(value)}): expected a number of seconds from 0 to ${MAX_LIFETIME_SECONDS}.`, status);
  }
  return seconds;
}

/** Normalises `token_type`; only Bearer is understood (RFC 6749 §7.1). */
function parseTokenType(value: unknown, status: number): string {
  if (value === undefined || value === null) return 'Bearer';
  if (typeof value === 'string' && value.toLowerCase() === 'bearer') return 'Bearer';
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  throw invalidResponse(`Token endpoint returned token_type ${shown}, which this client does not understand; only Bearer tokens are sent (RFC 6749 §7.1).`, status, { error: 'unsupported_token_type' });
}

export interface ParseContext {
  /** HTTP status of the answer (for error details). */
  status: number;
  /** When the token request was sent (ms). */
  sentAt: number;
  /** Scopes asked for; the granted scope when the response has none. */
  requestedScope: readonly string[];
}

/**
 * Validates a 2xx token response body and turns it into an {@link AccessToken}.
 * Throws {@link TokenEndpointError} for anything that is not a usable token.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function parseTokenResponse(body: unknown, ctx: ParseContext): { token: AccessToken; lifetimeSeconds: number | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidResponse('Token endpoint answered without a JSON object.', ctx.status);
  }
  const response = body as Record<string, unknown>;
  if (response.error !== undefined) {
    throw errorFromBody(response, ctx.status, 'Token endpoint answered with an error');
  }
  const accessToken = response.access_token;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw invalidResponse('Token endpoint response has no access_token string.', ctx.status);
  }
  if (!B64TOKEN.test(accessToken)) {
    throw invalidResponse('Token endpoint returned an access_token that is not valid token syntax (RFC 6750 §2.1: no spaces, CR, LF or other separators).', ctx.status);
  }
  const tokenType = parseTokenType(response.token_type, ctx.status);
  const lifetimeSeconds = parseExpiresIn(response.expires_in, ctx.status);
  const jwtExpiry = lifetimeSeconds === undefined ? jwtExpiresAt(accessToken) : undefined;
  // A JWT exp is held to the same bound as expires_in: beyond it, the default lifetime applies.
  const usableJwtExpiry = jwtExpiry !== undefined && jwtExpiry - ctx.sentAt <= MAX_LIFETIME_SECONDS * 1000 ? jwtExpiry : undefined;
  const expiresAt = lifetimeSeconds !== undefined ? ctx.sentAt + lifetimeSeconds * 1000 : usableJwtExpiry;
  let scope: readonly string[] = ctx.requestedScope;
  if (response.scope !== undefined && response.scope !== null) {
    if (typeof response.scope !== 'string') throw invalidResponse('Token endpoint returned a scope that is not a string.', ctx.status);
    scope = response.scope.split(/\s+/).filter(Boolean);
  }
  const token = makeAccessToken({ accessToken, tokenType, expiresAt, scope: Object.freeze([...scope]) }, response as TokenResponse);
  return { token, lifetimeSeconds };
}

/** An RFC 6749 §5.2 error body as a {@link TokenEndpointError}. */
export function errorFromBody(body: Record<string, unknown> | undefined, status: number, lead: string, extra: { attempts?: number; retryable?: boolean } = {}): TokenEndpointError {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v.slice(0, 500) : undefined);
  const error = str(body?.error);
  const errorDescription = str(body?.error_description);
  const errorUri = str(body?.error_uri);
  const detail = [error, errorDescription].filter(Boolean).join(': ');
  return new TokenEndpointError(`${lead} (HTTP ${status}${detail ? `, ${detail}` : ''}).`, { status, error, errorDescription, errorUri, ...extra });
}
