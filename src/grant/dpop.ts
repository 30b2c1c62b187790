import { Buffer } from 'node:buffer';
import {
  KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  type JsonWebKey,
  type webcrypto,
} from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
import { ConfigurationError } from '../errors.js';
import { sleep } from '../util/timers.js';
import { importPrivateKey, type SigningKey } from './signing-key.js';

/** A DPoP key pair you keep: `CryptoKey`s (may be non-extractable) or `KeyObject`s. */
export interface DpopKeyPair {
  /** Signs the proofs; never exported by the library (a non-extractable `CryptoKey` works). */
  privateKey: KeyObject | CryptoKey;
  /** Its public key, sent in every proof's `jwk` header. */
  publicKey: KeyObject | CryptoKey;
}

/** The claims of one DPoP proof that vary (RFC 9449 §4.2). */
export interface ProofClaims {
  /** The HTTP method, upper case. */
  htm: string;
  /** The target URI without query and fragment. */
  htu: string;
  /** The server's latest `DPoP-Nonce`, when it sent one. */
  nonce?: string | undefined;
  /** base64url(SHA-256(access token)), on API calls. */
  ath?: string | undefined;
}

/** A key that signs DPoP proofs; holds no readable key material but, for a generated key, its private JWK for the store. */
export interface DpopKey {
  /** RFC 7638 thumbprint of the public key: the `cnf.jkt` a bound token carries. */
  readonly thumbprint: string;
  /** The private JWK, only for a key the library generated (it travels with the token in a store, encrypted). */
  readonly privateJwk: JsonWebKey | undefined;
  /** A fresh proof (`typ: dpop+jwt`, the public `jwk`, a 128-bit `jti`, `iat` now). */
  proof(claims: ProofClaims): string;
}

const PUBLIC_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
};

function keyObject(key: unknown, name: string): KeyObject {
  if (key instanceof KeyObject) return key;
  try {
    return KeyObject.from(key as CryptoKey); // a handle, not an export: works for non-extractable keys
  } catch {
    throw new ConfigurationError(`dpop.${name} must be a CryptoKey or a KeyObject.`);
  }
}

/** The public JWK with only its required members, and its RFC 7638 thumbprint. */
function publicJwkOf(publicKey: KeyObject): { jwk: JsonWebKey; thumbprint: string } {
  const full = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  const members = PUBLIC_MEMBERS[full.kty ?? ''] ?? [];
  const jwk = Object.fromEntries(members.map((m) => [m, full[m]])) as JsonWebKey;
  const thumbprint = createHash('sha256').update(JSON.stringify(jwk)).digest('base64url');
  return { jwk, thumbprint };
}

function dpopKey(signer: SigningKey, publicKey: KeyObject, privateJwk: JsonWebKey | undefined): DpopKey {
  const { jwk, thumbprint } = publicJwkOf(publicKey);
  // The header is the same for every proof of a key: encoded once.
  const header = Buffer.from(JSON.stringify({ typ: 'dpop+jwt', alg: signer.alg, jwk }), 'utf8').toString('base64url');
  return Object.freeze({
    thumbprint,
    privateJwk,
    proof({ htm, htu, nonce, ath }: ProofClaims): string {
      // 122 random bits (RFC 9449 §4.2 asks for at least 96), from the runtime's buffered generator.
      const claims: Record<string, unknown> = { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) };
      if (nonce !== undefined) claims.nonce = nonce;
      if (ath !== undefined) claims.ath = ath;
      const input = `${header}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
      return `${input}.${signer.sign(input).toString('base64url')}`;
    },
  });
}

/** A new ES256 (P-256) key pair, made by the provider; its private JWK may travel with the token in a store. */
export function generateDpopKey(): DpopKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return dpopKey(importPrivateKey(privateKey), publicKey, privateKey.export({ format: 'jwk' }));
}

/** The key of a private JWK a store entry carried (a generated key another process made). */
export function dpopKeyFromJwk(privateJwk: JsonWebKey): DpopKey {
  const privateKey = createPrivateKey({ key: privateJwk, format: 'jwk' });
  return dpopKey(importPrivateKey(privateKey), createPublicKey(privateKey), privateJwk);
}

/**
 * Checks the `dpop` option: `true` (the provider generates an ES256 key pair) or a key pair you keep
 * (ES256/384/512, PS256 or EdDSA by key type; the private key is never exported).
 */
export function resolveDpop(option: unknown): DpopKey | 'generate' | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return 'generate';
  if (typeof option !== 'object' || option === null) {
    throw new ConfigurationError('dpop must be true (a key pair made for you) or { privateKey, publicKey }.');
  }
  const { privateKey, publicKey } = option as Partial<DpopKeyPair>;
  const privateObject = keyObject(privateKey, 'privateKey');
  const publicObject = keyObject(publicKey, 'publicKey');
  if (privateObject.type !== 'private' || publicObject.type !== 'public') {
    throw new ConfigurationError(
      'dpop needs { privateKey, publicKey }: a private key and its public key, in that order.',
    );
  }
  const derived = createPublicKey(privateObject).export({ format: 'der', type: 'spki' });
  if (!Buffer.from(derived).equals(publicObject.export({ format: 'der', type: 'spki' }))) {
    throw new ConfigurationError(
      'dpop.publicKey is not the public key of dpop.privateKey: pass the pair as it was made.',
    );
  }
  return dpopKey(importPrivateKey(privateObject), publicObject, undefined);
}

/** `ath` (RFC 9449 §4.2): base64url(SHA-256(access token)). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url');
}

/** Where a proof is for: its `htu` (the URL without query and fragment, RFC 9449 §4.2, as the URL parser normalises it) and its origin. */
export interface ProofTarget {
  htu: string;
  origin: string;
}

/** The {@link ProofTarget} of a URL: one parse. */
export function proofTarget(url: string): ProofTarget {
  const parsed = new URL(url);
  return { htu: `${parsed.origin}${parsed.pathname}`, origin: parsed.origin };
}

/** How long later requests to a new origin wait for the first one's answer (and its nonce) at most. */
const FIRST_ANSWER_WAIT_MS = 2000;

/**
 * The latest `DPoP-Nonce` of each server, by origin (RFC 9449 §8, §9); bounded. Until an origin has answered
 * once, one request goes first and the others to that origin wait for its answer (at most 2 s), so a cold burst
 * to a server that demands nonces meets one nonce challenge, not one per request.
 */
export class DpopNonces {
  readonly #byOrigin = new Map<string, string | null>();
  readonly #firstAnswers = new Map<string, Promise<void>>();
  readonly #release = new Map<string, () => void>();

  /** The nonce to put in a proof for a server (`origin`), if it sent one. */
  get(origin: string): string | undefined {
    return this.#byOrigin.get(origin) ?? undefined;
  }

  /**
   * `undefined` when a request to `origin` may go now; else a promise that settles once the first request to
   * it has been answered (or after 2 s).
   */
  gate(origin: string): Promise<void> | undefined {
    if (this.#byOrigin.has(origin)) return undefined;
    const first = this.#firstAnswers.get(origin);
    if (first) return first;
    let release: () => void = () => {};
    const answered = new Promise<void>((resolve) => (release = resolve));
    this.#firstAnswers.set(origin, Promise.race([answered, sleep(FIRST_ANSWER_WAIT_MS)]));
    this.#release.set(origin, release);
    return undefined;
  }

  /** Remembers the `DPoP-Nonce` of an answer from `origin`, if it carries one (on a success too). Returns whether it changed. */
  update(origin: string, headers: unknown): boolean {
    this.#answered(origin);
    const nonce = headerOf(headers, 'dpop-nonce');
    if (typeof nonce !== 'string' || !NONCE.test(nonce)) {
      if (!this.#byOrigin.has(origin)) this.#remember(origin, null);
      return false;
    }
    if (this.#byOrigin.get(origin) === nonce) return false;
    this.#remember(origin, nonce);
    return true;
  }

  #answered(origin: string): void {
    this.#release.get(origin)?.();
    this.#release.delete(origin);
    this.#firstAnswers.delete(origin);
  }

  #remember(origin: string, nonce: string | null): void {
    this.#byOrigin.delete(origin);
    this.#byOrigin.set(origin, nonce);
    if (this.#byOrigin.size > 64) this.#byOrigin.delete(this.#byOrigin.keys().next().value as string);
  }
}

/** RFC 9449 §8.1: `nonce = 1*NQCHAR` (printable ASCII but `"` and `\`). */
const NONCE = /^[\x21\x23-\x5B\x5D-\x7E]{1,1024}$/;

/** The origin of a URL, as nonces are kept. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** A response header, from axios's headers object or a plain one. */
export function headerOf(headers: unknown, name: string): unknown {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  return typeof h.get === 'function' ? h.get(name) : h[name];
}
