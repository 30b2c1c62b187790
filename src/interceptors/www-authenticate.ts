import { splitScope } from '../util/scope.js';
import { MAX_HEADER_LENGTH, scanChallenges } from './challenge-scanner.js';

/**
 * A `Bearer` challenge from a `WWW-Authenticate` header.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
export interface BearerChallenge {
  /** `Bearer`; `DPoP` for the challenge about a DPoP token (RFC 9449 §7.1 gives it the same attributes). */
  scheme: string;
  /** `realm`: the protection space. */
  realm?: string;
  /** `invalid_request`, `invalid_token`, `insufficient_scope`, or another value the server uses. */
  error?: string;
  /** `error_description`: a human-readable explanation. */
  errorDescription?: string;
  /** `error_uri`: a page explaining the error. */
  errorUri?: string;
  /** Scopes the server says the request needs. */
  scope?: string[];
}

/**
 * One challenge of a `WWW-Authenticate` header: `auth-scheme [ 1*SP ( token68 / #auth-param ) ]`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1
 */
export interface AuthChallenge {
  /** The auth-scheme as the server wrote it (`Bearer`, `DPoP`, `Basic`); compare it case-insensitively. */
  scheme: string;
  /**
   * The auth-params by lower-cased name, values unquoted and unescaped. A name the server sent twice keeps its first
   * value. The object has no prototype, so names such as `__proto__` or `constructor` are plain keys and a
   * missing name reads `undefined`.
   */
  params: Readonly<Record<string, string>>;
  /** The token68 (`Basic abc==`, `Negotiate a87421…`) of a challenge that has one instead of auth-params. */
  token68?: string;
}

// The scanner (challenge-scanner.ts) and its limits, re-exported so that this module stays the one to import.
/** @internal Exported for tests. */
export { scanChallenges } from './challenge-scanner.js';
export { MAX_CHALLENGES, MAX_HEADER_LENGTH, MAX_PARAMS, type ScanStats } from './challenge-scanner.js';

/** The header as one string: several values joined as a list, anything that is not a string or array of them empty. */
function headerText(header: unknown): string {
  try {
    if (typeof header === 'string') return header;
    if (!Array.isArray(header)) return '';
    let text = '';
    const count = Math.min(header.length, MAX_HEADER_LENGTH); // a huge (or sparse) array costs no more than a long string
    for (let i = 0; i < count && text.length <= MAX_HEADER_LENGTH; i++) {
      const part: unknown = header[i];
      if (typeof part === 'string') text = i === 0 ? part : `${text}, ${part}`;
    }
    return text;
  } catch {
    return ''; // an exotic object (a revoked Proxy, a throwing getter) carries no challenge
  }
}

/**
 * Parses a `WWW-Authenticate` header (a string, or several values as an array) into its challenges, in one linear
 * pass over at most its first {@link MAX_HEADER_LENGTH} characters. Parse once per response and read the result
 * with {@link bearerChallenge} and {@link findChallenge}. Never throws: anything that is not a string or an array of
 * strings has no challenge, and malformed parts are skipped.
 *
 * @example
 * parseChallenges('Bearer realm="api", error="invalid_token", DPoP algs="ES256"')
 * // [{ scheme: 'Bearer', params: { realm: 'api', error: 'invalid_token' } }, { scheme: 'DPoP', params: { algs: 'ES256' } }]
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-11.6.1
 */
export function parseChallenges(header: unknown): AuthChallenge[] {
  return scanChallenges(headerText(header));
}

/**
 * The first challenge with the given auth-scheme, compared case-insensitively (`findChallenge(challenges, 'DPoP')`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-11.1
 */
export function findChallenge(challenges: readonly AuthChallenge[], scheme: string): AuthChallenge | undefined {
  const wanted = scheme.toLowerCase();
  return challenges.find((challenge) => challenge.scheme.toLowerCase() === wanted);
}

/**
 * The first `Bearer` challenge of parsed challenges, with the RFC 6750 attributes in camelCase and `scope` split
 * on whitespace; `undefined` when there is none.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
export function bearerChallenge(challenges: readonly AuthChallenge[]): BearerChallenge | undefined {
  const challenge = findChallenge(challenges, 'bearer');
  if (!challenge) return undefined;
  const p = challenge.params;
  const result: BearerChallenge = { scheme: 'Bearer' };
  if (p.realm !== undefined) result.realm = p.realm;
  if (p.error !== undefined) result.error = p.error;
  if (p.error_description !== undefined) result.errorDescription = p.error_description;
  if (p.error_uri !== undefined) result.errorUri = p.error_uri;
  if (p.scope !== undefined) result.scope = splitScope(p.scope);
  return result;
}

/**
 * Parses `WWW-Authenticate` (RFC 9110 §11.6.1 syntax) and returns its `Bearer`
 * challenge, or `undefined` when there is none. Never throws.
 */
export function parseBearerChallenge(header: string | string[] | undefined | null): BearerChallenge | undefined {
  return bearerChallenge(parseChallenges(header));
}

/** The auth-schemes a `WWW-Authenticate` header challenges with, e.g. `['Bearer']` or `['API-Key']`. */
export function challengeSchemes(header: string | string[] | undefined | null): string[] {
  return parseChallenges(header).map((c) => c.scheme);
}
