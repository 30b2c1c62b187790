/**
 * A `Bearer` challenge from a `WWW-Authenticate` header.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3
 */
export interface BearerChallenge {
  /** Always `Bearer`. */
  scheme: string;
  realm?: string;
  /** `invalid_request`, `invalid_token`, `insufficient_scope`, or another value the server uses. */
  error?: string;
  errorDescription?: string;
  errorUri?: string;
  /** Scopes the server says the request needs. */
  scope?: string[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

/**
 * Parses `WWW-Authenticate` (RFC 9110 §11.6.1 syntax) and returns its `Bearer`
 * challenge, or `undefined` when there is none. Never throws.
 */
export function parseBearerChallenge(header: string | string[] | undefined | null): BearerChallenge | undefined {
  if (header === undefined || header === null) return undefined;
  const text = Array.isArray(header) ? header.join(', ') : String(header);
  for (const challenge of parseChallenges(text)) {
    if (challenge.scheme.toLowerCase() !== 'bearer') continue;
    const p = challenge.params;
    const result: BearerChallenge = { scheme: 'Bearer' };
    if (p.realm !== undefined) result.realm = p.realm;
    if (p.error !== undefined) result.error = p.error;
    if (p.error_description !== undefined) result.errorDescription = p.error_description;
    if (p.error_uri !== undefined) result.errorUri = p.error_uri;
    if (p.scope !== undefined) result.scope = p.scope.split(/\s+/).filter(Boolean);
    return result;
  }
  return undefined;
}

/** The auth-schemes a `WWW-Authenticate` header challenges with, e.g. `['Bearer']` or `['API-Key']`. */
export function challengeSchemes(header: string | string[] | undefined | null): string[] {
  if (header === undefined || header === null) return [];
  return parseChallenges(Array.isArray(header) ? header.join(', ') : String(header)).map((c) => c.scheme);
}

function parseChallenges(text: string): { scheme: string; params: Record<string, string> }[] {
  const out: { scheme: string; params: Record<string, string> }[] = [];
  let rest = text;
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (rest.length > 0) {
    rest = rest.replace(/^[\s,]+/, '');
    const name = TOKEN.exec(rest)?.[0];
    if (!name) break;
    rest = rest.slice(name.length);
    const afterSpaces = rest.replace(/^\s+/, '');
    if (afterSpaces.startsWith('=') && current && !/^=+\s*(,|$)/.test(afterSpaces)) {
      // auth-param: name = token / quoted-string
      rest = afterSpaces.slice(1).replace(/^\s+/, '');
      let value = '';
      if (rest.startsWith('"')) {
        let i = 1;
        while (i < rest.length && rest[i] !== '"') {
          if (rest[i] === '\\' && i + 1 < rest.length) i++;
          value += rest[i];
          i++;
        }
        rest = rest.slice(i + 1);
      } else {
        value = TOKEN.exec(rest)?.[0] ?? '';
        rest = rest.slice(value.length);
      }
      current.params[name.toLowerCase()] = value;
    } else {
      // a new challenge; a token68 after it is skipped
      current = { scheme: name, params: {} };
      out.push(current);
      const token68 = /^\s+[A-Za-z0-9\-._~+/]+=*\s*(,|$)/.exec(rest);
      if (token68) rest = rest.slice(token68[0].length);
    }
  }
  return out;
}
