import { splitScope } from '../util/scope.js';

/**
 * A `Bearer` challenge from a `WWW-Authenticate` header.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
export interface BearerChallenge {
  /** Always `Bearer`. */
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

/**
 * How much of a `WWW-Authenticate` header is parsed: its first 16 KiB (UTF-16 code units). A list item
 * (auth-param or token68) that the cut reaches is dropped rather than reported cut short.
 */
export const MAX_HEADER_LENGTH = 16 * 1024;
/** How many challenges are parsed; later ones are ignored. A real header carries a few. */
export const MAX_CHALLENGES = 16;
/** How many auth-params of one challenge are kept; later ones are ignored. Digest, the widest scheme, has about ten. */
export const MAX_PARAMS = 32;

// Character classes (RFC 9110 §5.6, §11.2): tchar, token68 characters, the "=" that pads a token68, OWS, the list comma.
const TCHAR = 1;
const TOKEN68 = 2;
const EQUALS = 4;
const WHITESPACE = 8;
const COMMA = 16;
/** The classes of each ASCII character; any other character is in none. */
const CLASSES = new Uint8Array(128);
const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
for (const [chars, classes] of [
  [ALPHANUMERIC, TCHAR | TOKEN68],
  ["!#$%&'*+-.^_`|~", TCHAR],
  ['-._~+/', TOKEN68],
  ['=', EQUALS],
  [' \t', WHITESPACE],
  [',', COMMA],
] as const) {
  for (const c of chars) CLASSES[c.charCodeAt(0)]! |= classes;
}
// Character codes.
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const EQUALS_SIGN = 0x3d;
const COMMA_SIGN = 0x2c;

/** Counts the scanner's work: one step per character examined, and one per run of characters scanned. */
export interface ScanStats {
  steps: number;
}

type Challenge = { scheme: string; params: Record<string, string>; token68?: string };

/** The index after the run of characters of the given classes that starts at `i`. */
function runEnd(text: string, i: number, end: number, classes: number): number {
  while (i < end) {
    const code = text.charCodeAt(i);
    if (code >= 128 || ((CLASSES[code] ?? 0) & classes) === 0) break;
    i++;
  }
  return i;
}

/** The index after the closing quote of the quoted-string that opens at `i`; -1 if it is not terminated. */
function quotedEnd(text: string, i: number, end: number): number {
  for (i++; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === QUOTE) return i + 1;
    if (code === BACKSLASH) i++;
  }
  return -1;
}

/** The value of the quoted-string from `start` to `stop` (its quotes included), with its quoted-pairs undone. */
function unquote(text: string, start: number, stop: number): string {
  const inner = text.slice(start + 1, stop - 1);
  return inner.includes('\\') ? inner.replace(/\\([\s\S])/g, '$1') : inner;
}

/** The index of the comma that ends the malformed list item at `i`, not counting commas in quoted-strings; or `end`. */
function itemEnd(text: string, i: number, end: number): number {
  while (i < end) {
    const code = text.charCodeAt(i);
    if (code === COMMA_SIGN) return i;
    if (code === QUOTE) {
      i = quotedEnd(text, i, end);
      if (i < 0) return end;
    } else {
      i++;
    }
  }
  return end;
}

/** Whether a list item ending at `at` is whole: a comma follows, or the header itself ends there (not the cut). */
function itemEndsAt(text: string, at: number, end: number, truncated: boolean): boolean {
  return at < end ? text.charCodeAt(at) === COMMA_SIGN : !truncated;
}

/**
 * Scans a header value into challenges, in one forward pass. Lenient: empty list elements and OWS wherever a list
 * allows them, BWS around `=`, HTAB where the grammar says SP; a malformed item (an auth-param without a value, an unterminated
 * quoted-string, a token followed by garbage) is skipped up to the next comma outside quotes, and the scan goes on.
 * An auth-param belongs to the challenge before it; one before any challenge, or after a token68, is dropped.
 *
 * The scan only moves forward, but once after each scheme: when what follows `scheme 1*SP` is no token68, it is read
 * again as the first auth-param. So the work is a few steps per character; `stats.steps` counts them.
 *
 * @internal Exported for tests.
 */
export function scanChallenges(text: string, stats?: ScanStats): AuthChallenge[] {
  const truncated = text.length > MAX_HEADER_LENGTH;
  const end = truncated ? MAX_HEADER_LENGTH : text.length;
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  let paramCount = 0;
  /** True right after `scheme 1*SP`, where a bare token is no new challenge but garbage. */
  let afterScheme = false;
  let steps = 0;
  let i = 0;

  while (i < end) {
    if (!afterScheme) {
      const start = i;
      i = runEnd(text, i, end, WHITESPACE | COMMA); // empty list elements
      steps += i - start + 1;
      if (i >= end) break;
    }
    const wasAfterScheme = afterScheme;
    afterScheme = false;
    const nameStart = i;
    const nameEnd = runEnd(text, i, end, TCHAR);
    if (nameEnd === nameStart) {
      const stop = itemEnd(text, i, end); // skip the malformed item
      steps += stop - i + 1;
      i = stop;
      continue;
    }
    if (nameEnd === end && truncated) break; // a token the cut may have shortened
    i = runEnd(text, nameEnd, end, WHITESPACE);
    steps += i - nameStart + 2;

    if (i < end && text.charCodeAt(i) === EQUALS_SIGN) {
      // auth-param = token BWS "=" BWS ( token / quoted-string )
      const valueStart = runEnd(text, i + 1, end, WHITESPACE);
      const quoted = valueStart < end && text.charCodeAt(valueStart) === QUOTE;
      const valueEnd = quoted ? quotedEnd(text, valueStart, end) : runEnd(text, valueStart, end, TCHAR);
      if (valueEnd < 0) {
        steps += end - i; // an unterminated quoted-string runs to the end
        break;
      }
      const after = runEnd(text, valueEnd, end, WHITESPACE);
      steps += after - i + 3;
      i = after;
      if (valueEnd === valueStart || !itemEndsAt(text, after, end, truncated)) {
        const stop = itemEnd(text, i, end); // skip the malformed item
        steps += stop - i + 1;
        i = stop;
        continue;
      }
      if (current && current.token68 === undefined && paramCount < MAX_PARAMS) {
        const name = text.slice(nameStart, nameEnd).toLowerCase();
        if (current.params[name] === undefined) {
          current.params[name] = quoted ? unquote(text, valueStart, valueEnd) : text.slice(valueStart, valueEnd);
          paramCount++;
        }
      }
      continue;
    }
    // Not an auth-param: a new challenge, unless it stands where `scheme 1*SP` wants a token68 or an auth-param, or
    // something other than whitespace or a comma follows the scheme (`Bearer"x"`).
    if (wasAfterScheme || (i === nameEnd && i < end && text.charCodeAt(i) !== COMMA_SIGN)) {
      const stop = itemEnd(text, i, end); // skip the malformed item
      steps += stop - i + 1;
      i = stop;
      continue;
    }
    if (out.length >= MAX_CHALLENGES) break;
    current = { scheme: text.slice(nameStart, nameEnd), params: Object.create(null) as Record<string, string> };
    paramCount = 0;
    out.push(current);
    if (i >= end || text.charCodeAt(i) === COMMA_SIGN) continue;

    // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", the challenge's only item
    const bodyEnd = runEnd(text, i, end, TOKEN68);
    const token68End = runEnd(text, bodyEnd, end, EQUALS);
    const after = runEnd(text, token68End, end, WHITESPACE);
    steps += after - i + 3;
    if (bodyEnd > i && itemEndsAt(text, after, end, truncated)) {
      current.token68 = text.slice(i, token68End);
      i = after;
    } else if (after >= end) {
      break; // nothing but what the cut reached
    } else {
      afterScheme = true; // no token68: read it again as the first auth-param
    }
  }
  if (stats) stats.steps += steps;
  return out;
}

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
