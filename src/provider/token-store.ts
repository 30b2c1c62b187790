/**
 * Where a provider keeps its token beyond its own process-local cache.
 *
 * Values are opaque strings: the provider serialises and encrypts the token
 * (AES-256-GCM) before a store ever sees it, so a store never holds a usable
 * access token in clear and never needs the client secret.
 *
 * Every method may reject or hang: the provider bounds each call with
 * `storeTimeoutMs` and falls back to fetching on its own, so a store is an
 * optimisation, never a new way to fail.
 */
export interface TokenStore {
  /** The value stored under `key`, or `undefined`. */
  get(key: string): Promise<string | undefined>;
  /** Stores `value` under `key` for `ttlMs` milliseconds (> 0). */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * Deletes `key` only if it still holds exactly `value` (compare-and-delete).
   * Resolves to whether it deleted.
   */
  delete(key: string, value: string): Promise<boolean>;
  /**
   * Optional cross-process single-flight. Tries to take the lock for `key`
   * for `ttlMs` ms; resolves to an opaque lock id when taken, or `undefined`
   * when another holder has it. A store without `lock` is process-local.
   */
  lock?(key: string, ttlMs: number): Promise<string | undefined>;
  /**
   * Optional: extends a lock taken with {@link TokenStore.lock} to `ttlMs` from
   * now, only if `lockId` still holds it; resolves to whether it did. The
   * holder calls it while a long token request cycle (retries) runs, so the
   * lock outlives neither a dead holder nor a slow one by much.
   */
  extendLock?(key: string, lockId: string, ttlMs: number): Promise<boolean>;
  /** Releases a lock taken with {@link TokenStore.lock}, only if `lockId` still holds it. */
  unlock?(key: string, lockId: string): Promise<void>;
  /**
   * Optional: resolves when `key` may have changed (a token was stored, or a
   * lock released), or after `timeoutMs`, whichever comes first. Without it
   * the provider polls `get` every {@link TokenStore.pollIntervalMs} ms while
   * another process holds the lock.
   *
   * The provider reads `key` (`get`), tries the lock, then waits: a change
   * after that read, even one made before the wait began, must end the wait
   * at once, or the process sleeps through the token it waits for. Resolving
   * early or without a change is harmless (the provider reads again and waits
   * again). A rejection counts as a store failure (the provider stops waiting
   * and fetches on its own): a store that cannot be notified should resolve
   * after a poll interval instead.
   *
   * It may resolve with the value that was stored, when the notification
   * carried it: the provider then checks it as it checks what `get` returns
   * (decrypted and authenticated, not stale, not rejected) and takes it
   * without a `get`, or else reads the store as usual.
   */
  waitForChange?(key: string, timeoutMs: number): Promise<string | undefined | void>;
  /** Poll interval while waiting for another process's token. @default 10 */
  readonly pollIntervalMs?: number;
}

/** The default store: a map in this process, shared by every provider given the same instance. */
export class MemoryTokenStore implements TokenStore {
  readonly #entries = new Map<string, { value: string; expiresAt: number }>();

  async get(key: string): Promise<string | undefined> {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#entries.set(key, { value, expiresAt: Date.now() + ttlMs });
  }

  async delete(key: string, value: string): Promise<boolean> {
    if (this.#entries.get(key)?.value !== value) return false;
    this.#entries.delete(key);
    return true;
  }
}

/** Creates a {@link MemoryTokenStore}. */
export function memoryStore(): TokenStore {
  return new MemoryTokenStore();
}
