import { TokenEndpointError } from '../errors.js';
import { jwtExpiresAt } from './jwt.js';
import { REDACTED, hideProperty, scrub } from '../util/redact.js';
import { splitScope } from '../util/scope.js';
import { isJsonObject } from '../util/json.js';

/** `util.inspect.custom` without importing `node:util`: Node, Bun and Deno all look this symbol up. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');
/**
 * A successful token response as it comes over the wire.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export interface TokenResponse {
  /** The access token (RFC 6749 §5.1). */
  access_token: string;
  /** `Bearer`, in any case. */
  token_type?: string;
  /**
   * Lifetime in seconds. `0` is taken as "unknown", never as "already expired" (which would cost one
   * token request per call): the JWT `exp` is used if the token is a JWT, else `defaultExpiresInSeconds`.
   */
  expires_in?: number | string;
  /** The granted scopes, space-separated, when they differ from those asked for (RFC 6749 §3.3). */
  scope?: string;
  [field: string]: unknown;
}

/** An access token as the library hands it out. */
export interface AccessToken {
  /** The access token. Shown as `[REDACTED]` by `util.inspect` and `JSON.stringify`. */
  readonly accessToken: string;
  /** `Bearer` (RFC 6750), or `DPoP` for a token bound to the provider's DPoP key (RFC 9449). */
  readonly tokenType: string;
  /**
   * When the token expires, in ms since the epoch: `expires_in` counted from when the token request was sent,
   * else the JWT `exp`; `undefined` when the server did not say (no `expires_in`, or `expires_in: 0`, and no JWT `exp`):
   * the provider then keeps the token for `defaultExpiresInSeconds`.
   */
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
  sentAt: number;
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
  hideProperty(
    token,
    INSPECT,
    function (
      this: AccessToken,
      _depth: number,
      options: object,
      inspect: (value: unknown, options: object) => string,
    ) {
      return `AccessToken ${inspect(redactedView(this), options)}`;
    },
  );
  return Object.freeze(token) as AccessToken;
}

/** A {@link TokenEndpointError} for a 2xx answer that is not a usable token response (`error` defaults to `invalid_token_response`). */
export function invalidResponse(message: string, status: number, details: { error?: string } = {}): TokenEndpointError {
  return new TokenEndpointError(message, { status, error: details.error ?? 'invalid_token_response' });
}

/** Longest field value quoted in a message; a longer one is described, never cut (a cut secret would escape the scrub). */
const MAX_QUOTED_LENGTH = 40;

/**
 * A response field as a message may show it: a short string whole (scrubbed) and quoted, a number as
 * written, anything else by its type and size, so no part of a secret can survive in a cut form.
 */
function describeValue(value: unknown, secrets: readonly string[]): string {
  if (typeof value === 'number') return scrub(String(value), secrets);
  if (typeof value === 'string') {
    return value.length <= MAX_QUOTED_LENGTH
      ? JSON.stringify(scrub(value, secrets))
      : `a string of ${value.length} characters`;
  }
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Parses `expires_in`: a non-negative number or numeric string of seconds. */
function parseExpiresIn(value: unknown, status: number, secrets: readonly string[]): number | undefined {
  if (value === undefined || value === null) return undefined;
  const seconds =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_LIFETIME_SECONDS) {
    throw invalidResponse(
      `Token endpoint returned an invalid expires_in (${describeValue(value, secrets)}): expected a number of seconds from 0 to ${MAX_LIFETIME_SECONDS}.`,
      status,
    );
  }
  return seconds;
}

/**
 * Normalises `token_type` (RFC 6749 §7.1): `Bearer` (also when absent), or `DPoP` when the provider asked for a
 * DPoP-bound token (RFC 9449 §5), and nothing else: a server that ignored DPoP hands out a bearer token, and a
 * token of another type would be sent as something the client does not hold the key to.
 */
function parseTokenType(
  value: unknown,
  expected: 'Bearer' | 'DPoP',
  status: number,
  secrets: readonly string[],
): string {
  const given = typeof value === 'string' ? value.toLowerCase() : value;
  if (expected === 'Bearer' && (given === undefined || given === null || given === 'bearer')) return 'Bearer';
  if (expected === 'DPoP' && given === 'dpop') return 'DPoP';
  const shown = describeValue(value, secrets);
  throw invalidResponse(
    expected === 'DPoP'
      ? `Token endpoint returned token_type ${shown}, not DPoP: the server ignored the DPoP proof and issued a token that is not bound to the key (RFC 9449 §5). Enable DPoP for this client at the server, or leave out the dpop option.`
      : `Token endpoint returned token_type ${shown}, which this client does not understand; only Bearer tokens are sent (RFC 6749 §7.1), and DPoP tokens with the dpop option.`,
    status,
    { error: 'unsupported_token_type' },
  );
}

/** What {@link parseTokenResponse} needs besides the body. */
export interface ParseContext {
  /** HTTP status of the answer (for error details). */
  status: number;
  /** When the token request was sent (ms). */
  sentAt: number;
  /** Scopes asked for; the granted scope when the response has none. */
  requestedScope: readonly string[];
  /** Every form of the client's credentials (`credentialForms`): withheld from any text quoted from the response. */
  secrets?: readonly string[] | undefined;
  /** The token type asked for: `DPoP` with a proof, else `Bearer`. @default 'Bearer' */
  tokenType?: 'Bearer' | 'DPoP' | undefined;
}

/**
 * Validates a 2xx token response body and turns it into an {@link AccessToken}.
 * Throws {@link TokenEndpointError} for anything that is not a usable token.
 * `lifetimeSeconds` is `expires_in` when it gives a lifetime; `undefined` when absent or `0` (unknown lifetime:
 * the JWT `exp` applies, else the provider's default).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function parseTokenResponse(
  body: unknown,
  ctx: ParseContext,
): { token: AccessToken; lifetimeSeconds: number | undefined } {
  if (!isJsonObject(body)) throw invalidResponse('Token endpoint answered without a JSON object.', ctx.status);
  const response = body;
  const secrets = ctx.secrets ?? [];
  if (response.error !== undefined) {
    throw errorFromBody(response, ctx.status, 'Token endpoint answered with an error', { secrets });
  }
  const accessToken = response.access_token;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw invalidResponse('Token endpoint response has no access_token string.', ctx.status);
  }
  if (!B64TOKEN.test(accessToken)) {
    throw invalidResponse(
      'Token endpoint returned an access_token that is not valid token syntax (RFC 6750 §2.1: no spaces, CR, LF or other separators).',
      ctx.status,
    );
  }
  const tokenType = parseTokenType(response.token_type, ctx.tokenType ?? 'Bearer', ctx.status, secrets);
  const stated = parseExpiresIn(response.expires_in, ctx.status, secrets);
  // 0 says nothing usable about the lifetime: taken at its word, it would cost one token request per call.
  const lifetimeSeconds = stated === 0 ? undefined : stated;
  const jwtExpiry = lifetimeSeconds === undefined ? jwtExpiresAt(accessToken) : undefined;
  // A JWT exp is held to the same bound as expires_in: beyond it, the default lifetime applies.
  const usableJwtExpiry =
    jwtExpiry !== undefined && jwtExpiry - ctx.sentAt <= MAX_LIFETIME_SECONDS * 1000 ? jwtExpiry : undefined;
  const expiresAt = lifetimeSeconds !== undefined ? ctx.sentAt + lifetimeSeconds * 1000 : usableJwtExpiry;
  let scope: readonly string[] = ctx.requestedScope;
  if (response.scope !== undefined && response.scope !== null) {
    if (typeof response.scope !== 'string')
      throw invalidResponse('Token endpoint returned a scope that is not a string.', ctx.status);
    scope = splitScope(response.scope);
  }
  const token = makeAccessToken(
    { accessToken, tokenType, expiresAt, scope: Object.freeze([...scope]) },
    response as TokenResponse,
  );
  return { token, lifetimeSeconds };
}

/**
 * An RFC 6749 §5.2 error body as a {@link TokenEndpointError}. Each field is scrubbed of `secrets` before it is
 * cut to 500 characters, so no part of a secret across the cut survives.
 */
export function errorFromBody(
  body: Record<string, unknown> | undefined,
  status: number,
  lead: string,
  { secrets = [], ...extra }: { attempts?: number; retryable?: boolean; secrets?: readonly string[] } = {},
): TokenEndpointError {
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? scrub(v, secrets, 500) : undefined);
  const error = str(body?.error);
  const errorDescription = str(body?.error_description);
  const errorUri = str(body?.error_uri);
  const detail = [error, errorDescription].filter(Boolean).join(': ');
  return new TokenEndpointError(`${lead} (HTTP ${status}${detail ? `, ${detail}` : ''}).`, {
    status,
    error,
    errorDescription,
    errorUri,
    ...extra,
  });
}
