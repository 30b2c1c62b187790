/**
 * Client key material for the private_key_jwt, client_secret_jwt and self_signed_tls_client_auth tests,
 * made with node:crypto (and the openssl CLI for a self-signed certificate): keys to register with
 * {@link startOidcServer} (`jwks`) and to hand to the library, and JWTs signed by hand.
 *
 * jose is ESM-only and jest cannot load it in-process, so the JWS signing here is node:crypto's; it is
 * also an independent implementation to check the library's against (oidc-provider verifies both).
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import {
  constants,
  createHash,
  createHmac,
  generateKeyPairSync,
  randomUUID,
  sign,
  X509Certificate,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A JSON Web Key as registered or sent: node:crypto's JWK with its `kid` and `alg`. */
export type Jwk = JsonWebKey & { kid: string; alg: string; use?: 'sig'; x5c?: string[] };

/** The JWS algorithms the helpers sign with. */
export type SigningAlg =
  'ES256' | 'ES384' | 'RS256' | 'RS384' | 'PS256' | 'PS384' | 'EdDSA' | 'Ed25519' | 'HS256' | 'HS384' | 'HS512';

/** An asymmetric client key in every shape a test needs. */
export interface ClientKey {
  /** The JWS `alg` this key signs with. */
  alg: SigningAlg;
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** PKCS #8 PEM. */
  privatePem: string;
  /** The private JWK, with `kid` and `alg`. */
  privateJwk: Jwk;
  /** The public JWK, with `kid`, `alg` and `use: 'sig'`: what a client registers in its `jwks`. */
  publicJwk: Jwk;
}

function clientKey(alg: SigningAlg, pair: { privateKey: KeyObject; publicKey: KeyObject }, kid: string): ClientKey {
  return {
    alg,
    kid,
    privateKey: pair.privateKey,
    publicKey: pair.publicKey,
    privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    privateJwk: { ...pair.privateKey.export({ format: 'jwk' }), kid, alg },
    publicJwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
  };
}

/** An EC P-256 key for ES256. */
export function ecKey(kid: string = randomUUID()): ClientKey {
  return clientKey('ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' }), kid);
}

/** An RSA key (2048 bits unless told) for RS256, or PS256 when `alg` says so. */
export function rsaKey(bits = 2048, alg: 'RS256' | 'PS256' = 'RS256', kid: string = randomUUID()): ClientKey {
  return clientKey(alg, generateKeyPairSync('rsa', { modulusLength: bits }), kid);
}

/** An Ed25519 key for EdDSA. */
export function edKey(kid: string = randomUUID()): ClientKey {
  return clientKey('EdDSA', generateKeyPairSync('ed25519'), kid);
}

function isClientKey(key: ClientKey | Jwk): key is ClientKey {
  return typeof key['publicJwk'] === 'object';
}

/** `{ keys: [...] }` of the public JWKs: a client's `jwks` metadata. */
export function jwksOf(...keys: (ClientKey | Jwk)[]): { keys: Jwk[] } {
  return { keys: keys.map((key) => (isClientKey(key) ? key.publicJwk : key)) };
}

const b64u = (input: string | Buffer): string => Buffer.from(input).toString('base64url');

/**
 * Signs a JWT (compact JWS) with node:crypto: `header.alg` picks the algorithm; `key` is a private
 * KeyObject (or {@link ClientKey}) for the asymmetric ones and the shared secret for HS*.
 */
export function signJwt(
  header: { alg: SigningAlg; kid?: string; typ?: string } & Record<string, unknown>,
  claims: Record<string, unknown>,
  key: KeyObject | ClientKey | string | Buffer,
): string {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const data = Buffer.from(input);
  const { alg } = header;
  const bits = alg.slice(2);
  let signature: Buffer;
  if (alg.startsWith('HS')) {
    if (typeof key !== 'string' && !Buffer.isBuffer(key)) throw new TypeError(`${alg} needs the shared secret`);
    signature = createHmac(`sha${bits}`, key).update(data).digest();
  } else {
    if (typeof key === 'string' || Buffer.isBuffer(key)) throw new TypeError(`${alg} needs a private key`);
    const privateKey = 'privateKey' in key ? key.privateKey : key;
    if (alg === 'EdDSA' || alg === 'Ed25519') signature = sign(null, data, privateKey);
    else if (alg.startsWith('ES')) signature = sign(`sha${bits}`, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    else if (alg.startsWith('PS'))
      signature = sign(`sha${bits}`, data, {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: Number(bits) / 8,
      });
    else signature = sign(`sha${bits}`, data, privateKey);
  }
  return `${input}.${signature.toString('base64url')}`;
}

/** What {@link clientAssertion} puts in a client assertion (RFC 7523 §3). */
export interface ClientAssertionOptions {
  clientId: string;
  /** The `aud`: the issuer identifier, the token endpoint URL, or several. */
  audience: string | string[];
  /** A {@link ClientKey} (private_key_jwt) or the client secret (client_secret_jwt, then `alg` is required). */
  key: ClientKey | string;
  /** @default the key's `alg` */
  alg?: SigningAlg;
  /** @default the key's `kid`; none for a secret */
  kid?: string;
  /** @default a random UUID */
  jti?: string;
  /** @default 60 */
  lifetimeSeconds?: number;
  /** The JWS `typ` header; none unless told. */
  typ?: string;
  /** More claims, merged last. */
  claims?: Record<string, unknown>;
}

/** A client assertion JWT for private_key_jwt or client_secret_jwt (`iss` = `sub` = the client id). */
export function clientAssertion(options: ClientAssertionOptions): string {
  const now = Math.floor(Date.now() / 1000);
  const isKey = typeof options.key !== 'string';
  const alg = options.alg ?? (typeof options.key === 'string' ? undefined : options.key.alg);
  if (!alg) throw new TypeError('clientAssertion: alg is required with a client secret');
  const kid = options.kid ?? (typeof options.key === 'string' ? undefined : options.key.kid);
  const header = {
    alg,
    ...(kid !== undefined ? { kid } : {}),
    ...(options.typ !== undefined ? { typ: options.typ } : {}),
  };
  const claims = {
    iss: options.clientId,
    sub: options.clientId,
    aud: options.audience,
    jti: options.jti ?? randomUUID(),
    iat: now,
    exp: now + (options.lifetimeSeconds ?? 60),
    ...options.claims,
  };
  return signJwt(header, claims, isKey ? (options.key as ClientKey) : (options.key as string));
}

/** A self-signed certificate for self_signed_tls_client_auth, with its key and the JWK to register. */
export interface SelfSignedCertificate {
  /** PEM */
  cert: string;
  /** PEM (PKCS #8) */
  key: string;
  /** The public JWK with `x5c` (the certificate): oidc-provider matches self_signed_tls_client_auth by its thumbprint. */
  jwk: Jwk;
  /** SHA-256 of the DER, base64url: the `x5t#S256` a certificate-bound token carries. */
  thumbprint: string;
}

/**
 * A self-signed client certificate made with the openssl CLI in a temporary directory (removed at once),
 * for `key` (a new P-256 key unless given).
 */
export function selfSignedCertificate(
  commonName = 'self-signed client',
  key: ClientKey = ecKey(),
): SelfSignedCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'acc-self-signed-'));
  try {
    writeFileSync(join(dir, 'key.pem'), key.privatePem, { mode: 0o600 });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-new',
        '-key',
        'key.pem',
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        'extendedKeyUsage=clientAuth',
        '-addext',
        'basicConstraints=critical,CA:FALSE',
        '-out',
        'cert.pem',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const x509 = new X509Certificate(cert);
    return {
      cert,
      key: key.privatePem,
      jwk: { ...key.publicJwk, x5c: [x509.raw.toString('base64')] },
      thumbprint: createHash('sha256').update(x509.raw).digest('base64url'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// DPoP (RFC 9449)
// ---------------------------------------------------------------------------------------------------

/** The members RFC 7638 §3.2 hashes, per key type. */
const THUMBPRINT_MEMBERS: Record<string, string[]> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
  oct: ['k', 'kty'],
};

/**
 * The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public or private JWK, computed by hand with
 * node:crypto: an independent check of jose's `calculateJwkThumbprint`, which oidc-provider puts in
 * `cnf.jkt` and the resource server compares with.
 */
export function jwkThumbprint(jwk: JsonWebKey | Record<string, unknown>): string {
  const kty = (jwk as Record<string, unknown>)['kty'];
  const members = typeof kty === 'string' ? THUMBPRINT_MEMBERS[kty] : undefined;
  if (!members) throw new TypeError(`jwkThumbprint: unsupported kty ${String(kty)}`);
  const canonical = `{${members
    .map((name) => {
      const value = (jwk as Record<string, unknown>)[name];
      if (typeof value !== 'string') throw new TypeError(`jwkThumbprint: the JWK has no "${name}"`);
      return `${JSON.stringify(name)}:${JSON.stringify(value)}`;
    })
    .join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** RFC 9449 §4.2 `ath`: base64url(SHA-256(ASCII access token)). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

/** A key's public JWK as a DPoP proof's `jwk` header carries it: the public members only (no `kid`, `alg`, `use`). */
export function dpopJwk(key: ClientKey): JsonWebKey {
  const { kty, crv, x, y, n, e } = key.publicKey.export({ format: 'jwk' });
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, value]) => value !== undefined));
}

/** What {@link dpopProof} signs (RFC 9449 §4.2). */
export interface DpopProofOptions {
  /** The key the proof is made with: its public JWK goes in the header, its `alg` signs (ES256: IEEE P1363 r‖s). */
  key: ClientKey;
  /** The request's method. */
  htm: string;
  /** The request's URL without query and fragment (not stripped here: a test may send a wrong one). */
  htu: string;
  /** Adds `ath` = {@link accessTokenHash} of it (a resource request); none at the token endpoint. */
  accessToken?: string;
  /** The server's `DPoP-Nonce`. */
  nonce?: string;
  /** @default a random UUID */
  jti?: string;
  /** Seconds since the epoch. @default now */
  iat?: number;
  /** Header members merged last (a wrong `typ`, a `jwk` with private members, another `alg`); `undefined` removes one. */
  header?: Record<string, unknown>;
  /** Claims merged last; `undefined` removes one. */
  claims?: Record<string, unknown>;
}

const withoutUndefined = (record: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));

/**
 * A DPoP proof JWT signed by hand with node:crypto: header `{ typ: 'dpop+jwt', alg, jwk }`, claims
 * `{ jti, htm, htu, iat, ath?, nonce? }`, as RFC 9449 §4.2 describes it and independent of the library.
 */
export function dpopProof(options: DpopProofOptions): string {
  const header = withoutUndefined({
    typ: 'dpop+jwt',
    alg: options.key.alg,
    jwk: dpopJwk(options.key),
    ...options.header,
  });
  const claims = withoutUndefined({
    jti: options.jti ?? randomUUID(),
    htm: options.htm,
    htu: options.htu,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    ...(options.accessToken !== undefined ? { ath: accessTokenHash(options.accessToken) } : {}),
    ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
    ...options.claims,
  });
  return signJwt(header as { alg: SigningAlg }, claims, options.key);
}

/** A DPoP proof as a server received it, decoded without verification (for the servers' records). */
export interface DecodedDpopProof {
  typ?: unknown;
  alg?: unknown;
  /** The RFC 7638 thumbprint of the header's `jwk`, when it has one that can be thumbprinted. */
  jkt?: string;
  /** Whether the header's `jwk` carries private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`). */
  jwkPrivate?: boolean;
  htm?: unknown;
  htu?: unknown;
  iat?: unknown;
  jti?: unknown;
  nonce?: unknown;
  ath?: unknown;
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Whether a JWK carries private (or symmetric) key members. */
export function jwkHasPrivateMembers(jwk: Record<string, unknown>): boolean {
  return PRIVATE_JWK_MEMBERS.some((name) => jwk[name] !== undefined);
}

/** Decodes a DPoP proof's header and claims, without verifying anything; `{ malformed: true }` when it is no JWT. */
export function decodeDpopProof(proof: string): DecodedDpopProof | { malformed: true } {
  try {
    const parts = proof.split('.');
    if (parts.length !== 3) return { malformed: true };
    const [header, claims] = parts
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown);
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null)
      return { malformed: true };
    const h = header as Record<string, unknown>;
    const c = claims as Record<string, unknown>;
    const jwk = typeof h['jwk'] === 'object' && h['jwk'] !== null ? (h['jwk'] as Record<string, unknown>) : undefined;
    let jkt: string | undefined;
    try {
      jkt = jwk ? jwkThumbprint(jwk) : undefined;
    } catch {
      jkt = undefined;
    }
    return withoutUndefined({
      typ: h['typ'],
      alg: h['alg'],
      jkt,
      jwkPrivate: jwk ? jwkHasPrivateMembers(jwk) : undefined,
      htm: c['htm'],
      htu: c['htu'],
      iat: c['iat'],
      jti: c['jti'],
      nonce: c['nonce'],
      ath: c['ath'],
    }) as DecodedDpopProof;
  } catch {
    return { malformed: true };
  }
}
