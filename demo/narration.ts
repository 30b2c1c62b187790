/**
 * What the demo's narrations share: the console every line goes through (so no secret or token can
 * reach it) and the small formatters of its lines.
 */

/** Everything printed goes through here, so no secret or token can reach the console. */
export class Console {
  readonly #secrets: string[] = [];
  leaks = 0;

  hide(secret: string): void {
    if (secret) this.#secrets.push(secret);
  }

  line(text = ''): void {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) {
        this.leaks++;
        out = out.split(secret).join('[redacted]');
      }
    }
    if (/eyJ[\w-]{8,}\.eyJ[\w-]{8,}\./.test(out)) {
      this.leaks++;
      out = out.replace(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*/g, '[jwt]');
    }
    process.stdout.write(`${out}\n`);
  }
}

/** The claims of a JWT, decoded without verification; `{}` when it is none. */
export function jwtClaims(jwt: string): Record<string, unknown> {
  try {
    const claims: unknown = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The `jti` of a JWT access token, shortened: enough to tell tokens apart, useless to an attacker. */
export function tokenLabel(accessToken: string): string {
  const { jti } = jwtClaims(accessToken);
  return typeof jti === 'string' ? `jti ${jti.slice(0, 6)}…` : 'opaque token';
}

/** `1 token request`, `2 token requests`. */
export const plural = (n: number, word: string, words = `${word}s`): string => `${n} ${n === 1 ? word : words}`;

/** `banking/read 1, banking/write 1`: grants by scope set, those with none left out. */
export const grantsText = (grants: Record<string, number>): string =>
  Object.entries(grants)
    .filter(([, n]) => n > 0)
    .map(([scope, n]) => `${scope || '(no scope)'} ${n}`)
    .join(', ');

/** The scope each operation's token must carry, and nothing more (least privilege). */
const LEAST_PRIVILEGE: Record<string, string> = {
  listAccounts: 'banking/read',
  listAccountBalances: 'banking/read',
  getAccount: 'banking/read',
  getTransfer: 'banking/read',
  createTransfer: 'banking/write',
};

/**
 * Whether every token the bank verified carried exactly its operation's scope (reads `banking/read` alone,
 * transfers `banking/write` alone), from the bank's `tokenScopes` counter; and the line that says so.
 */
export function leastPrivilege(tokenScopes: Record<string, Record<string, number>>): { holds: boolean; text: string } {
  const seen = Object.entries(tokenScopes);
  const holds = seen.every(([op, byScope]) => Object.keys(byScope).every((scope) => scope === LEAST_PRIVILEGE[op]));
  const count = (scope: string) => seen.reduce((n, [, byScope]) => n + (byScope[scope] ?? 0), 0);
  return {
    holds: holds && count('banking/read') > 0 && count('banking/write') > 0,
    text:
      `reads reached the API with banking/read tokens only (${count('banking/read')}), ` +
      `transfers with banking/write tokens only (${count('banking/write')})`,
  };
}
