import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, type JsonWebKey } from 'node:crypto';
import type { GrantRequest } from '../grant/grant.js';
import { makeAccessToken, type AccessToken } from '../grant/token-response.js';

/**
 * The store key of a grant: a hash of everything that identifies it (token
 * endpoint, client id, auth method, the client certificate's thumbprint, scope,
 * audience, resource, extra fields). It never contains a secret or a key.
 */
export function cacheKey(grant: GrantRequest): string {
  const identity = JSON.stringify([
    'v1',
    grant.tokenUrl,
    grant.clientId,
    grant.authMethod,
    [...grant.scope].sort(),
    grant.audience ?? null,
    [...grant.resource].sort(),
    Object.entries(grant.params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    // Only when there is one, so the keys of grants without a certificate stay what they were.
    ...(grant.certificateThumbprint === undefined ? [] : [`x5t#S256:${grant.certificateThumbprint}`]),
    ...(grant.dpopKeyId === undefined ? [] : [`dpop:${grant.dpopKeyId}`]),
  ]);
  return createHash('sha256').update(identity).digest('base64url').slice(0, 32);
}

/** A 256-bit AES key for one grant, derived with HKDF-SHA256 from the client secret or `encryptionKey`. */
export function deriveKey(material: string | Uint8Array, key: string): Buffer {
  return Buffer.from(hkdfSync('sha256', material, 'axios-client-credentials', `token-store:${key}`, 32));
}

/** What a store holds, before encryption. */
export interface StoredToken {
  token: AccessToken;
  /** When the token request was sent (ms). */
  sentAt: number;
  /**
   * When the token's lifetime ends (ms): the server's expiry, or, when the server did not say
   * (`token.expiresAt` undefined), the end of the assumed default lifetime.
   */
  endsAt: number;
  /** The private JWK of a DPoP key the provider generated: the token is only usable with it. */
  dpopJwk?: JsonWebKey | undefined;
}

/** Encrypts a token for a store with AES-256-GCM; the store key is bound as associated data. */
export function encodeToken(stored: StoredToken, aesKey: Buffer, key: string): string {
  const { token } = stored;
  const plain = JSON.stringify({
    a: token.accessToken,
    t: token.tokenType,
    e: token.expiresAt ?? null,
    s: token.scope,
    i: stored.sentAt,
    x: stored.endsAt,
    ...(stored.dpopJwk === undefined ? {} : { k: stored.dpopJwk }),
  });
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv);
  cipher.setAAD(Buffer.from(key));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `v1.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
}

/** Decrypts a stored value; anything that does not decrypt or parse is `undefined`, never an error. */
export function decodeToken(value: unknown, aesKey: Buffer, key: string): StoredToken | undefined {
  try {
    if (typeof value !== 'string' || !value.startsWith('v1.')) return undefined;
    const bytes = Buffer.from(value.slice(3), 'base64url');
    if (bytes.length < 12 + 16 + 2) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', aesKey, bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(key));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plain = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString(
      'utf8',
    );
    const p = JSON.parse(plain) as {
      a?: unknown;
      t?: unknown;
      e?: unknown;
      s?: unknown;
      i?: unknown;
      x?: unknown;
      k?: unknown;
    };
    if (typeof p.a !== 'string' || typeof p.t !== 'string' || typeof p.i !== 'number' || typeof p.x !== 'number')
      return undefined;
    if (!Array.isArray(p.s) || !p.s.every((s) => typeof s === 'string')) return undefined;
    const expiresAt = typeof p.e === 'number' ? p.e : undefined;
    const scope = Object.freeze([...(p.s as string[])]);
    const raw = { access_token: p.a, token_type: p.t, scope: scope.join(' ') };
    return {
      token: makeAccessToken({ accessToken: p.a, tokenType: p.t, expiresAt, scope }, raw),
      sentAt: p.i,
      endsAt: p.x,
      ...(typeof p.k === 'object' && p.k !== null ? { dpopJwk: p.k as JsonWebKey } : {}),
    };
  } catch {
    return undefined;
  }
}
