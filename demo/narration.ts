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
