import type { TokenRecord } from '../grant/token-response.js';
import { ClientCredentialsError } from '../errors.js';
import { scrub } from '../util/redact.js';
import { afterIo, sleep, unref } from '../util/timers.js';
import type { TokenStore } from './token-store.js';

/** Settings of the coordination, from the provider's options. */
export interface CoordinatorSettings {
  storeTimeoutMs: number;
  lockTtlMs: number;
  /** The longest a token request cycle can run, retries included (ms): how long a live lock holder may take. */
  longestCycleMs: number;
  now: () => number;
  /** Strings that must never appear in an error (the client's credentials). */
  secrets: readonly string[];
  /** Reports a store failure, once per outage. */
  onError: (error: ClientCredentialsError) => void;
}

/** What a fetch hands back: settles `storing` once its token is in the store (or could not be put there). */
export interface Fetched {
  storing?: Promise<unknown> | undefined;
}

const FAILED = Symbol('store failed');
/** After a store failure, token requests skip the store this long before trying it again. */
const STORE_RETRY_MS = 1000;

/**
 * The provider's side of a {@link TokenStore}: every call bounded by `storeTimeoutMs` and never thrown,
 * an outage skipped for a second so it costs no request a store timeout, and cross-process
 * single-flight: one process fetches under the store's lock (heartbeated while it fetches), the others
 * wait for its token.
 */
export class StoreCoordinator {
  readonly #store: TokenStore;
  readonly #settings: CoordinatorSettings;
  #down = false;
  #retryAt = 0;

  constructor(store: TokenStore, settings: CoordinatorSettings) {
    this.#store = store;
    this.#settings = settings;
  }

  /** Whether the store is worth asking: it has not failed within the last second. */
  get usable(): boolean {
    return !this.#down || Date.now() >= this.#retryAt;
  }

  /** The value under `key`, or `undefined` (also when the store fails). */
  async get(key: string): Promise<string | undefined> {
    const value = await this.#call(() => this.#store.get(key));
    return value === FAILED || value === null ? undefined : value;
  }

  /** Stores `value`; resolves to whether it got there. */
  async set(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.#call(() => this.#store.set(key, value, ttlMs))) !== FAILED;
  }

  /** Deletes `key` if it still holds `value`, in the background. */
  delete(key: string, value: string): void {
    void this.#call(() => this.#store.delete(key, value));
  }

  /**
   * A token for `key` for this process: `read` (from the store) if there is one, else one process of
   * the fleet runs `fetch` under the store's lock while the others wait for its token and `read` it.
   * `fetch(true)` stores what it fetched; `fetch(false)` is a fetch that cannot count on the store.
   * `read(notified)` is given the value the store's change notification carried, when it did: it takes
   * that one if it is good, else reads the store.
   */
  async acquire<T extends Fetched>(
    key: string,
    read: (notified?: string) => Promise<T | undefined>,
    fetch: (store: boolean) => Promise<T>,
  ): Promise<T> {
    const shared = await read();
    if (shared) return shared;
    const store = this.#store;
    if (!store.lock) return fetch(this.usable);
    const { lockTtlMs, storeTimeoutMs, longestCycleMs, now } = this.#settings;
    // With extendLock a held lock proves its holder alive: wait out the longest cycle it can run.
    // Without it, a lock that outlives two TTLs is not trusted any more.
    const deadline = now() + (store.extendLock ? longestCycleMs + lockTtlMs : 2 * lockTtlMs);
    while (now() < deadline && !this.#down) {
      const lockId = await this.#call(() => store.lock!(key, lockTtlMs));
      if (lockId === FAILED) break;
      if (lockId !== undefined) return this.#underLock(key, lockId, read, fetch);
      // A long wait is the point of waitForChange: bound it by its own time limit, not storeTimeoutMs.
      const waited = store.waitForChange
        ? await this.#call(() => store.waitForChange!(key, lockTtlMs), lockTtlMs + storeTimeoutMs)
        : await sleep(store.pollIntervalMs ?? 10);
      if (waited === FAILED) break;
      const arrived = await read(typeof waited === 'string' ? waited : undefined);
      if (arrived) return arrived;
    }
    return fetch(this.usable);
  }

  /** Fetches while holding the lock, extending it while a long retry cycle runs; released once the token is stored. */
  async #underLock<T extends Fetched>(
    key: string,
    lockId: string,
    read: () => Promise<T | undefined>,
    fetch: (store: boolean) => Promise<T>,
  ): Promise<T> {
    const store = this.#store;
    const ttl = this.#settings.lockTtlMs;
    const heartbeat = store.extendLock
      ? unref(
          setInterval(
            () => void this.#call(() => store.extendLock!(key, lockId, ttl)),
            Math.max(1, Math.floor(ttl / 3)),
          ),
        )
      : undefined;
    const release = (): void => {
      clearInterval(heartbeat);
      if (store.unlock) void this.#call(() => store.unlock!(key, lockId));
    };
    try {
      const acquired = (await read()) ?? (await fetch(true));
      // Released only once the token is in the store: before that, another process would take the lock and fetch again.
      if (acquired.storing) acquired.storing.then(release, release);
      else release();
      return acquired;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** One store call, bounded by `storeTimeoutMs`; a failure is reported once per outage and never thrown. */
  async #call<T>(call: () => Promise<T>, timeoutMs = this.#settings.storeTimeoutMs): Promise<T | typeof FAILED> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        // Timers run before pending I/O: after a blocked event loop, give an answer that already arrived one turn to land.
        timer = unref(
          setTimeout(() => afterIo(() => reject(new Error(`no answer within ${timeoutMs} ms`))), timeoutMs),
        );
      });
      const result = await Promise.race([Promise.resolve().then(call), timeout]);
      this.#down = false;
      return result;
    } catch (error) {
      this.#retryAt = Date.now() + STORE_RETRY_MS;
      if (!this.#down) {
        this.#down = true;
        const message = scrub(error instanceof Error ? error.message : String(error), this.#settings.secrets);
        this.#settings.onError(
          new ClientCredentialsError(
            `The token store failed (${message}); tokens are fetched without it until it answers again.`,
            'ERR_STORE',
          ),
        );
      }
      return FAILED;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A token the provider got: fetched, or read from the store. */
export interface Acquired {
  record: TokenRecord;
  /** The store value of this token, when it came from the store. */
  stored: string | undefined;
  /** For a token just fetched: settles with its store value once it is in the store, or `undefined` if it could not be put there. */
  storing?: Promise<string | undefined> | undefined;
}
