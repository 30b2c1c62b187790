import { Buffer } from 'node:buffer';
import { constants, createHmac, createPrivateKey, sign, type JsonWebKey, type KeyObject } from 'node:crypto';
import { ConfigurationError } from '../errors.js';

/** A JWS algorithm the library signs client assertions with. */
export type AssertionAlg = 'ES256' | 'ES384' | 'ES512' | 'PS256' | 'PS384' | 'PS512' | 'RS256' | 'EdDSA' | 'HS256';

/**
 * A private key for `private_key_jwt`: a JWK with `alg` (and, usually, `kid`), a `KeyObject`, a PKCS#8 PEM
 * string, or one of these with the algorithm and key id to use: `{ key, alg: 'RS256', kid: 'k1' }`.
 */
export type PrivateKeyInput =
  | JsonWebKey
  | KeyObject
  | string
  | {
      /** The private key: a JWK, a `KeyObject` or a PKCS#8 PEM string. */
      key: JsonWebKey | KeyObject | string;
      /** The JWS algorithm, e.g. `RS256` (used only when asked). @default by key type */
      alg?: string | undefined;
      /** The key id the server knows the public key by (the JWS `kid` header). */
      kid?: string | undefined;
    };

/** A key that signs JWTs, with what a JWS header names. Holds no readable key material. */
export interface SigningKey {
  readonly alg: AssertionAlg;
  readonly kid: string | undefined;
  /** Signs the JWS signing input (`header.payload`), returning the raw signature. */
  sign(input: string): Buffer;
  /**
   * Material to derive the store's encryption key from: the key's private part, when the user handed
   * it readable (a JWK or a PEM); `undefined` for a `KeyObject`, which the library never exports.
   */
  readonly material: Buffer | undefined;
}

const MIN_RSA_BITS = 2048;
const EC_ALGS: Readonly<Record<string, AssertionAlg>> = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' };
const EC_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const HASHES: Readonly<Record<string, string>> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

function isKeyObject(value: unknown): value is KeyObject {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as KeyObject).type === 'string' &&
    typeof (value as KeyObject).asymmetricKeyType !== 'undefined' &&
    typeof (value as KeyObject).export === 'function'
  );
}

/** Splits `{ key, alg, kid }` from a bare key; a JWK names its own `alg` and `kid`. */
function unwrap(input: PrivateKeyInput): { key: JsonWebKey | KeyObject | string; alg?: unknown; kid?: unknown } {
  if (typeof input === 'object' && input !== null && !isKeyObject(input) && 'key' in input) {
    return input as { key: JsonWebKey | KeyObject | string; alg?: unknown; kid?: unknown };
  }
  if (typeof input === 'object' && input !== null && !isKeyObject(input)) {
    const jwk = input as JsonWebKey & { alg?: unknown; kid?: unknown };
    return { key: jwk, alg: jwk.alg, kid: jwk.kid };
  }
  return { key: input };
}

/**
 * A key the user handed readable (a JWK or a PEM), with its material in one canonical form (the private
 * JWK of the key object made from it here), so one key given as a JWK in one process and as a PEM in
 * another derives the same store encryption key.
 */
function readable(object: KeyObject): { object: KeyObject; material: Buffer } {
  return { object, material: Buffer.from(JSON.stringify(object.export({ format: 'jwk' })), 'utf8') };
}

/** The KeyObject of a private key given in any accepted form; never echoes the input. */
function privateKeyObject(key: unknown): { object: KeyObject; material: Buffer | undefined } {
  if (isKeyObject(key)) {
    if (key.type !== 'private') {
      throw new ConfigurationError(
        'privateKey is a public key: pass the private key (the server holds the public one).',
      );
    }
    return { object: key, material: undefined };
  }
  try {
    if (typeof key === 'string') return readable(createPrivateKey({ key, format: 'pem' }));
    if (typeof key === 'object' && key !== null) {
      if (typeof (key as JsonWebKey).d !== 'string') throw new ConfigurationError('no private part');
      return readable(createPrivateKey({ key: key as JsonWebKey, format: 'jwk' }));
    }
  } catch {
    // The parser's message may quote the input: it is not passed on.
  }
  throw new ConfigurationError(
    'privateKey is not a private key: pass a JWK with its private part ("d"), a KeyObject from crypto.createPrivateKey(), or a PKCS#8 PEM string ("-----BEGIN PRIVATE KEY-----").',
  );
}

/** The algorithms a key can sign with, the first being its default. */
function algsFor(object: KeyObject): AssertionAlg[] {
  const type = object.asymmetricKeyType;
  const details = object.asymmetricKeyDetails ?? {};
  if (type === 'ec') {
    const alg = EC_ALGS[EC_CURVES[details.namedCurve ?? ''] ?? ''];
    return alg ? [alg] : [];
  }
  if (type === 'rsa' || type === 'rsa-pss') {
    if ((details.modulusLength ?? 0) < MIN_RSA_BITS) {
      throw new ConfigurationError(
        `privateKey is a ${details.modulusLength ?? '?'}-bit RSA key: use at least ${MIN_RSA_BITS} bits (RFC 7518 §3.3), or an EC P-256 key (ES256).`,
      );
    }
    return type === 'rsa' ? ['PS256', 'PS384', 'PS512', 'RS256'] : ['PS256', 'PS384', 'PS512'];
  }
  if (type === 'ed25519') return ['EdDSA'];
  return [];
}

/**
 * Validates a private key for client assertions and picks its algorithm: the one asked for (`alg` of a
 * JWK or of `{ key, alg }`), else ES256/ES384/ES512 by curve, PS256 for RSA, EdDSA for Ed25519.
 * RS256 only when asked. Every problem is a {@link ConfigurationError} that says how to fix it and
 * quotes nothing of the key.
 */
export function importPrivateKey(input: PrivateKeyInput): SigningKey {
  const { key, alg: askedAlg, kid } = unwrap(input);
  const { object, material } = privateKeyObject(key);
  const algs = algsFor(object);
  if (algs.length === 0) {
    throw new ConfigurationError(
      `privateKey is a ${object.asymmetricKeyType ?? 'unknown'} key with no JWS algorithm for client assertions: use an EC key on P-256 (ES256), P-384 or P-521, an RSA key of ${MIN_RSA_BITS} bits or more (PS256), or Ed25519 (EdDSA).`,
    );
  }
  if (askedAlg !== undefined && (typeof askedAlg !== 'string' || !algs.includes(askedAlg as AssertionAlg))) {
    throw new ConfigurationError(
      `privateKey's alg ${typeof askedAlg === 'string' && /^[A-Z][A-Za-z0-9]{1,9}$/.test(askedAlg) ? JSON.stringify(askedAlg) : '(not a JWS algorithm name)'} cannot be used with this ${object.asymmetricKeyType ?? ''} key: use ${algs.join(', ')}.`,
    );
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw new ConfigurationError('privateKey kid must be a non-empty string.');
  }
  const alg = (askedAlg as AssertionAlg | undefined) ?? (algs[0] as AssertionAlg);
  return { alg, kid, material, sign: (data) => signWith(object, alg, data) };
}

/** A signing key for `client_secret_jwt`: HMAC with SHA-256 over the client secret (RFC 7523 §2.2, RFC 7518 §3.2). */
export function secretSigningKey(secret: string): SigningKey {
  return {
    alg: 'HS256',
    kid: undefined,
    material: undefined,
    sign: (data) => createHmac('sha256', secret).update(data).digest(),
  };
}

/** One JWS signature with node:crypto (RFC 7518 §3): ECDSA in the JWS (r ‖ s) form, RSASSA-PSS with a digest-long salt. */
function signWith(object: KeyObject, alg: AssertionAlg, input: string): Buffer {
  const data = Buffer.from(input, 'utf8');
  if (alg === 'EdDSA') return sign(null, data, object);
  const hash = HASHES[alg.slice(2)] as string;
  if (alg.startsWith('ES')) return sign(hash, data, { key: object, dsaEncoding: 'ieee-p1363' });
  if (alg.startsWith('PS')) {
    return sign(hash, data, {
      key: object,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  }
  return sign(hash, data, { key: object, padding: constants.RSA_PKCS1_PADDING });
}

/** A compact JWS: `base64url(header).base64url(claims).base64url(signature)`; `header` adds members (a DPoP `jwk`). */
export function signJwt(
  key: SigningKey,
  claims: Record<string, unknown>,
  type?: string,
  header: Record<string, unknown> = {},
): string {
  const protectedHeader: Record<string, unknown> = { alg: key.alg };
  if (type !== undefined) protectedHeader.typ = type;
  if (key.kid !== undefined) protectedHeader.kid = key.kid;
  const input = `${encode({ ...protectedHeader, ...header })}.${encode(claims)}`;
  return `${input}.${key.sign(input).toString('base64url')}`;
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}
