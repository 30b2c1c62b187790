import axios from 'axios';
import { ConfigurationError, DiscoveryError } from '../errors.js';
import { ProviderEventSource, tokenEventOf } from '../events.js';
import { requestToken } from '../grant/grant.js';
import type { HttpContext } from '../grant/send.js';
import { resolveOptions, type ClientCredentialsOptions, type ResolvedOptions } from '../options.js';
import { CLIENT_CERTIFICATE, authorizationServerAgent, type ClientCertificate } from '../grant/client-tls.js';
import { recordOf } from './refresh-policy.js';
import { StoreCoordinator, type Acquired } from './store-coordinator.js';
import { DPOP, DpopBinding } from './dpop-binding.js';
import { DpopNonces } from '../grant/dpop.js';
import { decodeToken, encodeToken, type StoredToken } from './token-codec.js';
import { EndpointResolver, type Endpoint } from '../grant/token-endpoint.js';
import type { AccessToken, TokenRecord } from '../grant/token-response.js';
import { abortable, abortReason } from '../util/abort.js';
import { Waiters } from '../util/timers.js';

/** Options of {@link ClientCredentialsProvider.getToken}. */
export interface GetTokenOptions {
  /** Fetch a new token even if a cached one is still valid (joins a request already under way). @default false */
  forceRefresh?: boolean | undefined;
  /** Stops waiting (for this caller only) when aborted; the token request goes on for others. */
  signal?: AbortSignal | undefined;
}

/**
 * Runs the OAuth 2.0 client credentials grant and keeps the token: cached
 * until shortly before expiry, refreshed in the background ahead of it, one
 * token request however many callers wait (single-flight), optionally shared
 * across processes through a {@link TokenStore}.
 *
 * One provider may serve many axios instances (see {@link attachAuth}).
 *
 * @example
 * const tokens = new ClientCredentialsProvider({
 *   tokenUrl: 'https://auth.example.com/oauth/v2/token',
 *   clientId: process.env.CLIENT_ID!,
 *   clientSecret: process.env.CLIENT_SECRET!,
 *   scope: ['banking/read', 'banking/write'],
 * });
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export class ClientCredentialsProvider extends ProviderEventSource {
  readonly #options: ResolvedOptions;
  readonly #http: HttpContext;
  readonly #endpoint: EndpointResolver;
  #record: TokenRecord | undefined;
  #stored: string | undefined;
  #pending: Promise<AccessToken> | undefined;
  #failure: { error: unknown; until: number } | undefined;
  #refreshBlockedUntil = 0;
  /** Tokens the API rejected lately: never taken back from the store. */
  readonly #rejected: string[] = [];
  /** The shared store, behind its bounds and its cross-process lock (see {@link StoreCoordinator}). */
  readonly #shared: StoreCoordinator | undefined;
  readonly #dpop: DpopBinding | undefined;
  /** How long the last few grants took (ms): how far ahead a refresh must start. */
  readonly #grantMs: number[] = [];
  /** Callers waiting for a token now: they hold the process open, a background refresh does not. */
  readonly #waiters = new Waiters();

  constructor(options: ClientCredentialsOptions) {
    super();
    this.#options = resolveOptions(options);
    const o = this.#options;
    const httpClient = o.httpClient ?? axios.create();
    this.#http = {
      httpClient,
      timeoutMs: o.timeoutMs,
      retry: o.retry,
      now: o.now,
      secrets: o.auth.secrets,
      onRetry: (info) => this.emit('retry', info),
      httpsAgent: authorizationServerAgent(o.auth.certificate, o.auth.ca, httpClient.defaults.httpsAgent),
      dpopNonces: o.dpop && new DpopNonces(),
    };
    this.#endpoint = new EndpointResolver(o, this.#http);
    this.#dpop = o.dpop && new DpopBinding(o.dpop);
    if (o.store) {
      const { retries, maxDelayMs, maxRetryAfterMs } = o.retry;
      this.#shared = new StoreCoordinator(o.store, {
        storeTimeoutMs: o.storeTimeoutMs,
        lockTtlMs: o.lockTtlMs,
        longestCycleMs: (retries + 1) * o.timeoutMs + retries * Math.max(maxDelayMs, maxRetryAfterMs),
        now: o.now,
        secrets: this.#http.secrets,
        onError: (error) => this.emit('error', { phase: 'store', error }),
      });
    }
  }

  /** The DPoP keys of this provider's tokens and the API nonces, when DPoP is on. @internal */
  get [DPOP](): DpopBinding | undefined {
    return this.#dpop;
  }

  /** The client certificate `attachAuth` presents to allowed origins (mutual TLS). @internal */
  get [CLIENT_CERTIFICATE](): ClientCertificate | undefined {
    return this.#options.auth.certificate;
  }

  /** Scopes this provider asks for. */
  get requestedScope(): readonly string[] {
    return this.#options.scope;
  }

  /**
   * Scopes granted with the cached token, or `undefined` when none is cached.
   * May be a subset of {@link requestedScope} (Applixure grants a subset); see also `hasScope` and the `token` event's `missingScope`.
   */
  get grantedScope(): readonly string[] | undefined {
    return this.#record?.token.scope;
  }

  /**
   * The cached token if it is still usable, without waiting; `undefined`
   * otherwise. Only reads: it never starts a request, nor touches the store.
   */
  peekToken(): AccessToken | undefined {
    const record = this.#record;
    return record && this.#options.now() < record.staleAt ? record.token : undefined;
  }

  /**
   * Starts one background refresh of the cached token if it is past its
   * refresh point and none is under way (nor failed within
   * `failureCooldownMs`). `getToken` and `attachAuth` call it with every use
   * of the cached token; callers of {@link peekToken} may too.
   */
  refreshIfDue(): void {
    const record = this.#record;
    if (!record || this.#pending !== undefined) return;
    const now = this.#options.now();
    if (now >= record.refreshAt && now < record.staleAt && now >= this.#refreshBlockedUntil)
      this.#startFlight(true, record.token.accessToken);
  }

  /**
   * Resolves to a valid access token: the cached one, or a new one from the
   * token endpoint (or the store). Concurrent calls share one token request.
   * A failed request cycle rejects every waiter with the same
   * {@link TokenEndpointError} and is remembered for `failureCooldownMs`.
   */
  getToken(options: GetTokenOptions = {}): Promise<AccessToken> {
    if (typeof options !== 'object' || options === null) {
      return Promise.reject(new ConfigurationError('getToken takes an options object: { forceRefresh?, signal? }.'));
    }
    const { forceRefresh = false, signal } = options;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(
        new ConfigurationError(
          'getToken signal must be an AbortSignal, e.g. AbortSignal.timeout(5000) or controller.signal.',
        ),
      );
    }
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!forceRefresh) {
      const cached = this.peekToken();
      if (cached) {
        this.refreshIfDue();
        return Promise.resolve(cached);
      }
    }
    let flight = this.#pending;
    if (!flight) {
      const failure = this.#failure;
      if (failure && this.#options.now() < failure.until) return Promise.reject(failure.error);
      flight = this.#startFlight(false, forceRefresh ? this.#record?.token.accessToken : undefined);
    }
    return this.#waiters.wait(signal ? abortable(flight, signal) : flight);
  }

  /**
   * Drops the cached token, here and in the store, **only if it is still
   * `token`**, so that a late 401 for an older token never throws away a
   * newer one. Pass the token (or access token string) the API rejected;
   * it is never taken back from the store. Returns whether the cached token
   * was dropped.
   */
  invalidate(token: AccessToken | string): boolean {
    const accessToken = typeof token === 'string' ? token : token?.accessToken;
    if (typeof accessToken !== 'string')
      throw new ConfigurationError('invalidate takes the AccessToken (or access token string) the API rejected.');
    if (!this.#rejected.includes(accessToken)) {
      this.#rejected.push(accessToken);
      if (this.#rejected.length > 16) this.#rejected.shift();
    }
    if (this.#record?.token.accessToken !== accessToken) return false;
    const stored = this.#stored;
    this.#record = undefined;
    this.#stored = undefined;
    const endpoint = this.#endpoint.known;
    if (stored !== undefined && endpoint) this.#shared?.delete(endpoint.key, stored);
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
        const now = this.#options.now();
        this.#failure = { error, until: now + this.#options.failureCooldownMs };
        if (background) this.#refreshBlockedUntil = now + Math.max(this.#options.failureCooldownMs, 1);
        const phase = error instanceof DiscoveryError ? 'discovery' : background ? 'refresh' : 'token';
        this.emit('error', { error: error instanceof Error ? error : new Error(String(error)), phase });
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
    const endpoint = await this.#endpoint.resolve();
    const shared = this.#shared;
    if (!shared?.usable) return this.#grant(endpoint, background, false);
    return shared.acquire(
      endpoint.key,
      () => this.#fromStore(endpoint, replacing),
      (store) => this.#grant(endpoint, background, store),
    );
  }

  /** A token just fetched reached the store (`value`), or could not. */
  #onStored(record: TokenRecord, value: string | undefined): void {
    if (value === undefined) return;
    if (this.#record === record) this.#stored = value;
    else if (this.#rejected.includes(record.token.accessToken)) {
      // Rejected by the API while it was being stored: take it back out for the fleet.
      const endpoint = this.#endpoint.known;
      if (endpoint) this.#shared?.delete(endpoint.key, value);
    }
  }

  /** Runs the grant; the token goes to waiters at once and, with `store`, to the store alongside (see {@link Acquired.storing}). */
  async #grant(endpoint: Endpoint, background: boolean, store: boolean): Promise<Acquired> {
    const result = await requestToken(this.#http, endpoint.grant);
    this.#grantMs.push(result.durationMs);
    if (this.#grantMs.length > 8) this.#grantMs.shift();
    const o = this.#options;
    const expiresAt = result.token.expiresAt ?? result.sentAt + o.defaultExpiresInMs;
    const dpopJwk = this.#dpop?.fetched(result.token);
    const stored: StoredToken = { token: result.token, sentAt: result.sentAt, endsAt: expiresAt, dpopJwk };
    const record = this.#toRecord(stored);
    this.#emitToken(record, 'grant', result.durationMs, result.attempts, background);
    const ttlMs = Math.floor(expiresAt - o.now());
    const shared = this.#shared;
    if (!store || !shared || ttlMs <= 0) return { record, stored: undefined };
    const value = encodeToken(stored, endpoint.aesKey, endpoint.key);
    const storing = shared.set(endpoint.key, value, ttlMs).then((done) => (done ? value : undefined));
    return { record, stored: undefined, storing };
  }

  /** The store's token, unless it is the one being replaced, one the API rejected, or stale. */
  async #fromStore(endpoint: Endpoint, replacing: string | undefined): Promise<Acquired | undefined> {
    const value = await this.#shared?.get(endpoint.key);
    if (value === undefined) return undefined;
    const stored = decodeToken(value, endpoint.aesKey, endpoint.key);
    if (!stored) return undefined;
    const access = stored.token.accessToken;
    if (access === replacing || this.#rejected.includes(access)) return undefined;
    if (this.#dpop && !this.#dpop.stored(stored)) return undefined;
    const record = this.#toRecord(stored);
    if (this.#options.now() >= record.staleAt) return undefined;
    this.#emitToken(record, 'store', 0, 0, false);
    return { record, stored: value };
  }

  /** Cache times (see {@link tokenTimes}). */
  #toRecord(stored: StoredToken): TokenRecord {
    return recordOf(stored, Math.max(0, ...this.#grantMs), this.#options);
  }

  #emitToken(
    record: TokenRecord,
    source: 'grant' | 'store',
    durationMs: number,
    attempts: number,
    background: boolean,
  ): void {
    const requestedScope = this.#options.scope;
    this.emit('token', { ...tokenEventOf(record, requestedScope), source, durationMs, attempts, background });
  }
}
