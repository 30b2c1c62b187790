/**
 * How the demo's bank API checks a DPoP proof (RFC 9449 §4.3, §9), with jose: one `DPoP` header, a
 * JWT of `typ` `dpop+jwt` signed by the public key in its own `jwk` header, `htm` and `htu` of this
 * request, `iat` within a window of now, a `jti` never presented before (a replay cache), `ath` the
 * hash of the access token sent with it, and, when the API demands its own nonce, that nonce. What it
 * resolves, the key's RFC 7638 thumbprint, is what the access token's `cnf.jkt` must be.
 */
import { createHash, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';

/** The proof algorithms the API accepts, advertised in its `DPoP algs="…"` challenges. */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'PS256'];

export interface DpopVerifierOptions {
  /** Demand the API's own nonce in every proof (RFC 9449 §9). @default false */
  requireNonce?: boolean;
  /** How far a proof's `iat` may be from now, in seconds. @default 60 */
  iatWindowSeconds?: number;
}

/** One request's proof and what it must match. */
export interface DpopRequest {
  /** Every `DPoP` header value the request carried. */
  proofs: readonly string[];
  /** The request's method, upper case. */
  method: string;
  /** The URL the request was sent to, without query and fragment. */
  htu: string;
  /** The access token sent with the proof. */
  accessToken: string;
}

/** A proof refused: `use_dpop_nonce` is a nonce challenge, anything else is `invalid_dpop_proof`. */
export class DpopRefusal extends Error {
  constructor(
    readonly error: 'invalid_dpop_proof' | 'use_dpop_nonce',
    /** A short label for counting: `nonce`, `signature`, `htm`, `htu`, `iat`, `jti replayed`, `ath`… */
    readonly reason: string,
    description: string,
  ) {
    super(description);
  }
}

const invalid = (reason: string, description: string) => new DpopRefusal('invalid_dpop_proof', reason, description);

/** Checks DPoP proofs and keeps the API's nonce and the `jti`s already presented. */
export class DpopVerifier {
  readonly #requireNonce: boolean;
  readonly #windowSeconds: number;
  /** Each `jti` presented, with when it may be forgotten (its proof's `iat` is out of the window by then). */
  readonly #jtis = new Map<string, number>();
  #nonce: string | undefined;

  constructor(options: DpopVerifierOptions = {}) {
    this.#requireNonce = options.requireNonce ?? false;
    this.#windowSeconds = options.iatWindowSeconds ?? 60;
    if (this.#requireNonce) this.rotateNonce();
  }

  /** The nonce every proof must carry now, when the API demands one; every answer sends it as `DPoP-Nonce`. */
  get nonce(): string | undefined {
    return this.#nonce;
  }

  /** Makes a new nonce: proofs with the old one are answered `use_dpop_nonce` from now on. */
  rotateNonce(): string {
    this.#nonce = randomBytes(16).toString('base64url');
    return this.#nonce;
  }

  /** Verifies the request's proof and resolves the thumbprint of its key; rejects with a {@link DpopRefusal}. */
  async verify(request: DpopRequest): Promise<string> {
    if (request.proofs.length !== 1)
      throw invalid(request.proofs.length ? 'several proofs' : 'no proof', 'exactly one DPoP proof is required');
    let verified: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      verified = await jwtVerify(request.proofs[0]!, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: DPOP_ALGORITHMS });
    } catch (error) {
      if (error instanceof joseErrors.JOSEError)
        throw invalid('signature', `the DPoP proof does not verify (${error.code})`);
      throw error;
    }
    this.#checkClaims(verified.payload, request);
    this.#consume(verified.payload.jti as string);
    if (this.#nonce !== undefined && verified.payload['nonce'] !== this.#nonce)
      throw new DpopRefusal('use_dpop_nonce', 'nonce', 'the DPoP proof must carry the current nonce');
    const jwk = verified.protectedHeader.jwk;
    if (!jwk) throw invalid('jwk', 'the DPoP proof header has no jwk');
    return calculateJwkThumbprint(jwk);
  }

  /** `htm`, `htu`, `iat`, `jti` present, `ath`. */
  #checkClaims(payload: JWTPayload, request: DpopRequest): void {
    if (payload['htm'] !== request.method) throw invalid('htm', `the DPoP proof is not for ${request.method}`);
    if (payload['htu'] !== request.htu) throw invalid('htu', `the DPoP proof is not for ${request.htu}`);
    const now = Date.now() / 1000;
    if (typeof payload.iat !== 'number' || Math.abs(now - payload.iat) > this.#windowSeconds)
      throw invalid('iat', `the DPoP proof was not made within ${this.#windowSeconds} s of now`);
    if (typeof payload.jti !== 'string' || payload.jti.length < 16) throw invalid('jti', 'the DPoP proof has no jti');
    const ath = createHash('sha256').update(request.accessToken, 'ascii').digest('base64url');
    if (payload['ath'] !== ath) throw invalid('ath', 'the DPoP proof is not for this access token');
  }

  /** Refuses a `jti` presented before; remembers it for as long as a proof carrying it could pass the `iat` check. */
  #consume(jti: string): void {
    this.#forgetExpired();
    if (this.#jtis.has(jti)) throw invalid('jti replayed', 'the DPoP proof was presented before');
    this.#jtis.set(jti, Date.now() + 2 * this.#windowSeconds * 1000);
  }

  /** Drops the oldest `jti`s once their proofs are out of the window (the map is in insertion order). */
  #forgetExpired(): void {
    const now = Date.now();
    for (const [jti, until] of this.#jtis) {
      if (until > now) break;
      this.#jtis.delete(jti);
    }
  }
}
