import type { JsonWebKey } from 'node:crypto';
import { DpopNonces, dpopKeyFromJwk, type DpopKey } from '../grant/dpop.js';
import type { AccessToken } from '../grant/token-response.js';
import type { StoredToken } from './token-codec.js';

/** The key under which a provider hands its DPoP binding to `attachAuth`. @internal */
export const DPOP: unique symbol = Symbol('axios-client-credentials.dpop');

/**
 * Which DPoP key each token is bound to (RFC 9449), and the API's nonces. A token this process fetched is
 * bound to the provider's key; one taken from a store is bound to the key that came with it (a generated
 * key travels with its token, encrypted like it), or to the provider's own key (a key pair the user gave,
 * whose thumbprint is part of the cache key, so only processes with the same key share the entry).
 */
export class DpopBinding {
  readonly #key: DpopKey;
  readonly #generated: boolean;
  readonly #keys = new WeakMap<AccessToken, DpopKey>();
  /** The latest `DPoP-Nonce` of each API origin (RFC 9449 §9). */
  readonly nonces = new DpopNonces();

  constructor(dpop: { key: DpopKey; generated: boolean }) {
    this.#key = dpop.key;
    this.#generated = dpop.generated;
  }

  /** The key to prove possession of `token` with, if it is one of this provider's. */
  keyFor(token: AccessToken): DpopKey | undefined {
    return this.#keys.get(token);
  }

  /** A token this process fetched: bound to the provider's key. Returns what a store entry carries with it. */
  fetched(token: AccessToken): JsonWebKey | undefined {
    this.#keys.set(token, this.#key);
    return this.#generated ? this.#key.privateJwk : undefined;
  }

  /** A token read from a store: usable only with the key it is bound to. Returns whether it is usable. */
  stored(stored: StoredToken): boolean {
    if (!this.#generated) {
      this.#keys.set(stored.token, this.#key);
      return true;
    }
    if (stored.dpopJwk === undefined) return false;
    try {
      this.#keys.set(stored.token, dpopKeyFromJwk(stored.dpopJwk));
      return true;
    } catch {
      return false; // a key that does not import: the entry is garbage, and reads as no token
    }
  }
}
