import axios from 'axios';
import { ConfigurationError } from '../errors.js';
import { ProviderEventSource } from '../events.js';
import type { HttpContext } from '../grant/send.js';
import { resolveOptions, type ClientCredentialsOptions, type ResolvedOptions } from '../options.js';
import { CLIENT_CERTIFICATE, authorizationServerAgent, type ClientCertificate } from '../grant/client-tls.js';
import { StoreCoordinator } from './store-coordinator.js';
import { TokenEntry, type EntryContext } from './token-entry.js';
import { DPOP, DpopBinding } from './dpop-binding.js';
import { DpopNonces } from '../grant/dpop.js';
import { cacheKey, deriveKey } from './token-codec.js';
import { DEFAULT, Selections } from './token-selection.js';
import { EndpointResolver, type Endpoint } from '../grant/token-endpoint.js';
import type { AccessToken } from '../grant/token-response.js';
import { abortable, abortReason } from '../util/abort.js';
import { Waiters } from '../util/timers.js';

/**
 * Which token: its scopes and resource indicators (RFC 8707), when they differ from the provider's own.
 * Order and repeats do not matter (`['a', 'b']` and `'b a'` are one token).
 */
export interface TokenSelection {
  /** The scopes the token is asked for with; a space-separated string or a list. @default the provider's `scope` */
  scope?: string | readonly string[] | undefined;
  /** The resource indicators it is asked for with (absolute URIs, no fragment). @default the provider's `resource` */
  resource?: string | readonly string[] | undefined;
}

/** Options of {@link ClientCredentialsProvider.getToken}. */
export interface GetTokenOptions extends TokenSelection {
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
  /** Tokens the API rejected lately: never taken back from the store. */
  readonly #rejected: string[] = [];
  /** One cache entry per scope set and resource set asked for, least recently used first. */
  readonly #entries = new Map<string, TokenEntry>();
  readonly #context: EntryContext;
  /** The key of the entry used last (the end of the LRU order), and the selection object that named it. */
  #lastKey: string | undefined;
  #last: { selection: TokenSelection; key: string } | undefined;
  /** Selections seen lately, by their raw value: checked and normalised once. */
  readonly #selections: Selections;
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
    this.#selections = new Selections(o);
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
    this.#context = {
      options: o,
      http: this.#http,
      shared: undefined,
      dpop: this.#dpop,
      grantMs: this.#grantMs,
      rejected: this.#rejected,
      emitToken: (event) => this.emit('token', event),
      emitError: (event) => this.emit('error', event),
    };
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
      this.#context = { ...this.#context, shared: this.#shared };
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
    return this.#entries.get(DEFAULT)?.token?.scope;
  }

  /**
   * The cached token (of the provider's own scopes, or of `selection`) if it is still usable, without
   * waiting; `undefined` otherwise. Only reads: it never starts a request, nor touches the store.
   * @throws ConfigurationError when `selection` holds an invalid scope or resource.
   */
  peekToken(selection?: TokenSelection): AccessToken | undefined {
    return this.#entry(selection).peek();
  }

  /**
   * Starts one background refresh of the cached token (of `selection`) if it is past its refresh point and
   * none is under way (nor failed within `failureCooldownMs`). `getToken` and `attachAuth` call it with
   * every use of the cached token; callers of {@link peekToken} may too.
   */
  refreshIfDue(selection?: TokenSelection): void {
    this.#entry(selection).refreshIfDue();
  }

  /**
   * Resolves to a valid access token: the cached one, or a new one from the token endpoint (or the store).
   * Concurrent calls share one token request. A failed request cycle rejects every waiter with the same
   * {@link TokenEndpointError} and is remembered for `failureCooldownMs`. With `scope` or `resource`, the
   * token is one asked for with exactly those (cached, refreshed and shared apart from the others).
   */
  getToken(options: GetTokenOptions = {}): Promise<AccessToken> {
    if (typeof options !== 'object' || options === null) {
      return Promise.reject(
        new ConfigurationError('getToken takes an options object: { forceRefresh?, signal?, scope?, resource? }.'),
      );
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
    let entry: TokenEntry;
    try {
      entry = this.#entry(options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!forceRefresh) {
      const cached = entry.peek();
      if (cached) {
        entry.refreshIfDue();
        return Promise.resolve(cached);
      }
    }
    const flight = entry.flight(forceRefresh);
    return this.#waiters.wait(signal ? abortable(flight, signal) : flight);
  }

  /**
   * Drops the cached token, here and in the store, **only if it is still
   * `token`**, so that a late 401 for an older token never throws away a
   * newer one. Pass the token (or access token string) the API rejected;
   * it is never taken back from the store. Only the entry (scope set) that
   * holds it is touched. Returns whether a cached token was dropped.
   */
  invalidate(token: AccessToken | string): boolean {
    const accessToken = typeof token === 'string' ? token : token?.accessToken;
    if (typeof accessToken !== 'string')
      throw new ConfigurationError('invalidate takes the AccessToken (or access token string) the API rejected.');
    if (!this.#rejected.includes(accessToken)) {
      this.#rejected.push(accessToken);
      if (this.#rejected.length > 16) this.#rejected.shift();
    }
    for (const entry of this.#entries.values()) if (entry.drop(accessToken)) return true;
    return false;
  }

  /** The entry of a selection, made on first use; the least recently used goes beyond `maxCachedTokens`. */
  #entry(selection: TokenSelection | undefined): TokenEntry {
    const o = this.#options;
    let scope = o.scope;
    let resource = o.resource;
    let key = DEFAULT;
    if (selection && (selection.scope !== undefined || selection.resource !== undefined)) {
      // The hot path (no selection) does none of this; a selection seen before is one lookup, and the same
      // selection object again (attachAuth's peekToken then refreshIfDue) none.
      const last = this.#last;
      if (last?.selection === selection && last.key === this.#lastKey) {
        const entry = this.#entries.get(last.key);
        if (entry) return entry;
      }
      ({ scope, resource, key } = this.#selections.select(selection));
      this.#last = { selection, key };
    }
    let entry = this.#entries.get(key);
    if (entry && key === this.#lastKey) return entry; // already the most recently used
    this.#lastKey = key;
    if (entry) {
      this.#entries.delete(key);
    } else {
      const own = key === DEFAULT;
      entry = new TokenEntry(
        this.#context,
        own ? o.scope : scope,
        own ? () => this.#endpoint.resolve() : this.#derived(scope, resource),
      );
      if (this.#entries.size >= o.maxCachedTokens) this.#evict();
    }
    this.#entries.set(key, entry);
    return entry;
  }

  /** Drops the least recently used entry that no token request is under way for. */
  #evict(): void {
    for (const [key, entry] of this.#entries) {
      if (!entry.busy) {
        this.#entries.delete(key);
        return;
      }
    }
  }

  /** The endpoint of a scope and resource set: the provider's grant with those, and its own store key. */
  #derived(scope: readonly string[], resource: readonly string[]): () => Endpoint | Promise<Endpoint> {
    let derived: Endpoint | undefined;
    const derive = (base: Endpoint): Endpoint => {
      if (derived?.grant.tokenUrl === base.grant.tokenUrl) return derived;
      const grant = { ...base.grant, scope, resource };
      const key = cacheKey(grant);
      return (derived = { grant, key, aesKey: deriveKey(this.#options.encryptionMaterial, key) });
    };
    return () => {
      const base = this.#endpoint.resolve();
      return base instanceof Promise ? base.then(derive) : derive(base);
    };
  }
}
