import { DiscoveryError } from '../errors.js';
import type { ErrorEvent, TokenEvent } from '../events.js';
import { tokenEventOf } from '../events.js';
import { requestToken } from '../grant/grant.js';
import type { HttpContext } from '../grant/send.js';
import type { Endpoint } from '../grant/token-endpoint.js';
import type { AccessToken, TokenRecord } from '../grant/token-response.js';
import type { ResolvedOptions } from '../options.js';
import type { DpopBinding } from './dpop-binding.js';
import { recordOf } from './refresh-policy.js';
import type { Acquired, StoreCoordinator } from './store-coordinator.js';
import { decodeToken, encodeToken, type StoredToken } from './token-codec.js';

/** What every cache entry of one provider shares. */
export interface EntryContext {
  readonly options: ResolvedOptions;
  readonly http: HttpContext;
  readonly shared: StoreCoordinator | undefined;
  readonly dpop: DpopBinding | undefined;
  /** How long the last few grants took (ms), for all entries: how far ahead a refresh must start. */
  readonly grantMs: number[];
  /** Tokens the API rejected lately: never taken back from the store. */
  readonly rejected: readonly string[];
  emitToken(event: TokenEvent): void;
  emitError(event: ErrorEvent): void;
}

/**
 * One cached token of a provider, for one scope set and resource set: its record, its single flight, its
 * failure cooldown and its background refresh. A provider has one entry per scope set its callers ask for.
 */
export class TokenEntry {
  readonly #ctx: EntryContext;
  /** This entry's endpoint: the provider's, with this entry's scope and resource (and store key). */
  readonly #endpoint: () => Endpoint | Promise<Endpoint>;
  /** The endpoint once known, for the synchronous store deletes of `invalidate`. */
  #known: Endpoint | undefined;
  readonly scope: readonly string[];
  #record: TokenRecord | undefined;
  #stored: string | undefined;
  #pending: Promise<AccessToken> | undefined;
  #failure: { error: unknown; until: number } | undefined;
  #refreshBlockedUntil = 0;

  constructor(ctx: EntryContext, scope: readonly string[], endpoint: () => Endpoint | Promise<Endpoint>) {
    this.#ctx = ctx;
    this.scope = scope;
    this.#endpoint = endpoint;
  }

  /** The cached token, if there is one. */
  get token(): AccessToken | undefined {
    return this.#record?.token;
  }

  /** Whether a token request of this entry is under way. */
  get busy(): boolean {
    return this.#pending !== undefined;
  }

  /** The cached token if it is still usable; only reads. */
  peek(): AccessToken | undefined {
    const record = this.#record;
    return record && this.#ctx.options.now() < record.staleAt ? record.token : undefined;
  }

  /** Starts one background refresh if the cached token is past its refresh point (see the provider's `refreshIfDue`). */
  refreshIfDue(): void {
    const record = this.#record;
    if (!record || this.#pending !== undefined) return;
    const now = this.#ctx.options.now();
    if (now >= record.refreshAt && now < record.staleAt && now >= this.#refreshBlockedUntil)
      this.#startFlight(true, record.token.accessToken);
  }

  /** The flight to wait for: the one under way, a new one, or the failure of the last within its cooldown. */
  flight(forceRefresh: boolean): Promise<AccessToken> {
    if (this.#pending) return this.#pending;
    const failure = this.#failure;
    if (failure && this.#ctx.options.now() < failure.until) return Promise.reject(failure.error);
    return this.#startFlight(false, forceRefresh ? this.#record?.token.accessToken : undefined);
  }

  /** Drops the cached token, here and in the store, if it is still `accessToken`. */
  drop(accessToken: string): boolean {
    if (this.#record?.token.accessToken !== accessToken) return false;
    const stored = this.#stored;
    this.#record = undefined;
    this.#stored = undefined;
    if (stored !== undefined && this.#known) this.#ctx.shared?.delete(this.#known.key, stored);
    return true;
  }

  #startFlight(background: boolean, replacing: string | undefined): Promise<AccessToken> {
    const flight = this.#acquire(background, replacing).then(
      ({ record, stored, storing }) => {
        this.#record = record;
        this.#stored = stored;
        this.#failure = undefined;
        storing?.then((value) => this.#onStored(record, value));
        return record.token;
      },
      (error: unknown) => {
        const { now, failureCooldownMs } = this.#ctx.options;
        const at = now();
        this.#failure = { error, until: at + failureCooldownMs };
        if (background) this.#refreshBlockedUntil = at + Math.max(failureCooldownMs, 1);
        const phase = error instanceof DiscoveryError ? 'discovery' : background ? 'refresh' : 'token';
        this.#ctx.emitError({ error: error instanceof Error ? error : new Error(String(error)), phase });
        throw error;
      },
    );
    this.#pending = flight;
    const clear = (): void => {
      if (this.#pending === flight) this.#pending = undefined;
    };
    flight.then(clear, clear);
    return flight;
  }

  async #acquire(background: boolean, replacing: string | undefined): Promise<Acquired> {
    const endpoint = (this.#known = await this.#endpoint());
    const shared = this.#ctx.shared;
    if (!shared?.usable) return this.#grant(endpoint, background, false);
    return shared.acquire(
      endpoint.key,
      (notified) => this.#fromStore(endpoint, replacing, notified),
      (store) => this.#grant(endpoint, background, store),
    );
  }

  /** A token just fetched reached the store (`value`), or could not. */
  #onStored(record: TokenRecord, value: string | undefined): void {
    if (value === undefined) return;
    if (this.#record === record) this.#stored = value;
    else if (this.#ctx.rejected.includes(record.token.accessToken) && this.#known) {
      // Rejected by the API while it was being stored: take it back out for the fleet.
      this.#ctx.shared?.delete(this.#known.key, value);
    }
  }

  /** Runs the grant; the token goes to waiters at once and, with `store`, to the store alongside (see {@link Acquired.storing}). */
  async #grant(endpoint: Endpoint, background: boolean, store: boolean): Promise<Acquired> {
    const ctx = this.#ctx;
    const result = await requestToken(ctx.http, endpoint.grant);
    ctx.grantMs.push(result.durationMs);
    if (ctx.grantMs.length > 8) ctx.grantMs.shift();
    const o = ctx.options;
    const expiresAt = result.token.expiresAt ?? result.sentAt + o.defaultExpiresInMs;
    const dpopJwk = ctx.dpop?.fetched(result.token);
    const stored: StoredToken = { token: result.token, sentAt: result.sentAt, endsAt: expiresAt, dpopJwk };
    const record = this.#toRecord(stored);
    this.#emitToken(record, 'grant', result.durationMs, result.attempts, background);
    const ttlMs = Math.floor(expiresAt - o.now());
    if (!store || !ctx.shared || ttlMs <= 0) return { record, stored: undefined };
    const value = encodeToken(stored, endpoint.aesKey, endpoint.key);
    const storing = ctx.shared.set(endpoint.key, value, ttlMs).then((done) => (done ? value : undefined));
    return { record, stored: undefined, storing };
  }

  /**
   * The store's token, unless it is the one being replaced, one the API rejected, or stale: the value the
   * store's change notification carried (`notified`) if it is such a token, else the store's.
   */
  async #fromStore(
    endpoint: Endpoint,
    replacing: string | undefined,
    notified?: string,
  ): Promise<Acquired | undefined> {
    const taken = notified === undefined ? undefined : this.#usable(endpoint, replacing, notified);
    if (taken) return taken;
    const value = await this.#ctx.shared?.get(endpoint.key);
    return value === undefined ? undefined : this.#usable(endpoint, replacing, value);
  }

  /** The token in a store value, emitted as taken from the store, if it is one to use. */
  #usable(endpoint: Endpoint, replacing: string | undefined, value: string): Acquired | undefined {
    const ctx = this.#ctx;
    const stored = decodeToken(value, endpoint.aesKey, endpoint.key);
    if (!stored) return undefined;
    const access = stored.token.accessToken;
    if (access === replacing || ctx.rejected.includes(access)) return undefined;
    if (ctx.dpop && !ctx.dpop.stored(stored)) return undefined;
    const record = this.#toRecord(stored);
    if (ctx.options.now() >= record.staleAt) return undefined;
    this.#emitToken(record, 'store', 0, 0, false);
    return { record, stored: value };
  }

  /** Cache times (see {@link tokenTimes}). */
  #toRecord(stored: StoredToken): TokenRecord {
    return recordOf(stored, Math.max(0, ...this.#ctx.grantMs), this.#ctx.options);
  }

  #emitToken(
    record: TokenRecord,
    source: 'grant' | 'store',
    durationMs: number,
    attempts: number,
    background: boolean,
  ): void {
    this.#ctx.emitToken({ ...tokenEventOf(record, this.scope), source, durationMs, attempts, background });
  }
}
