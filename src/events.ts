import diagnosticsChannel from 'node:diagnostics_channel';
import { ConfigurationError } from './errors.js';
import type { RetryInfo } from './grant/send.js';
import type { TokenRecord } from './grant/token-response.js';

/** Emitted when a token is obtained; never carries the token. */
export interface TokenEvent {
  /** `grant`: fetched from the token endpoint; `store`: taken from the shared store. */
  source: 'grant' | 'store';
  /** Expiry, ms since the epoch, if known. */
  expiresAt: number | undefined;
  /** Lifetime from the token request to expiry, in ms, if known. */
  lifetimeMs: number | undefined;
  /** Scopes granted. */
  scope: readonly string[];
  /** Scopes asked for. */
  requestedScope: readonly string[];
  /** Scopes asked for but not granted (Applixure may grant a subset). */
  missingScope: readonly string[];
  /** Time the token request took, retries included, in ms (0 from the store). */
  durationMs: number;
  /** Token requests sent for it (0 from the store). */
  attempts: number;
  /** Whether it was a background refresh ahead of expiry. */
  background: boolean;
}

/** Emitted when something failed; `error` never carries a secret or a token. */
export interface ErrorEvent {
  /** The error (a {@link TokenEndpointError}, {@link DiscoveryError} or `ERR_STORE` error), scrubbed of secrets. */
  error: Error;
  /** `token`: a token request cycle failed; `refresh`: a background refresh failed (the current token stays in use); `store`: the shared store failed (once per outage); `discovery`. */
  phase: 'token' | 'refresh' | 'store' | 'discovery';
}

/** Emitted when a 401 from the API is replayed with a fresh token. */
export interface ReplayEvent {
  /** The request's method, upper case. */
  method: string;
  /** Origin and path, without query. */
  url: string;
  /** The status that caused the replay: 401. */
  status: number;
}

/** Emitted when the API answers 403. */
export interface DeniedEvent {
  /** The request's method, upper case. */
  method: string;
  /** The request's URL without query or user info. */
  url: string;
  /** Scopes the API's `WWW-Authenticate` says the request needs, or `[]`. */
  requiredScope: readonly string[];
}

/** Emitted before a failed token or discovery request is retried. */
export type RetryEvent = RetryInfo;

/** The provider's events and their payloads. */
export interface ProviderEvents {
  /** A token was fetched (`source: 'grant'`) or taken from the store. */
  token: TokenEvent;
  /** A token request cycle, a refresh, discovery or the store failed. */
  error: ErrorEvent;
  /** A token or discovery request is about to be retried. */
  retry: RetryEvent;
  /** A request answered 401 is replayed with a fresh token. */
  replay: ReplayEvent;
  /** A request was answered 403 (turned into a PermissionError). */
  denied: DeniedEvent;
}

/** The name of a provider event: `token`, `error`, `retry`, `replay` or `denied`. */
export type ProviderEventName = keyof ProviderEvents;

/** `node:diagnostics_channel` names, one per event: `axios-client-credentials:token`, `…:error`, `…:retry`, `…:replay`, `…:denied`. */
export const CHANNELS: { readonly [K in ProviderEventName]: string } = Object.freeze({
  token: 'axios-client-credentials:token',
  error: 'axios-client-credentials:error',
  retry: 'axios-client-credentials:retry',
  replay: 'axios-client-credentials:replay',
  denied: 'axios-client-credentials:denied',
});

const channels = Object.fromEntries(
  Object.entries(CHANNELS).map(([name, channel]) => [name, diagnosticsChannel.channel(channel)]),
) as Record<ProviderEventName, diagnosticsChannel.Channel>;

/** A listener of the provider event `K`. */
export type Listener<K extends ProviderEventName> = (event: ProviderEvents[K]) => void;

/** The listener each {@link ProviderEventSource.once} wrapper calls, so that `off` finds it by the listener. */
/** The key of the one method through which the interceptors report what they did: not part of the public API. */
export const REPORT: unique symbol = Symbol('axios-client-credentials.report');

/** The narrow way the interceptors report a `replay` or a `denied` to the provider whose token they sent. */
export interface ApiEventReporter {
  [REPORT]<K extends 'replay' | 'denied'>(name: K, event: ProviderEvents[K]): void;
}

const ONCE_OF = new WeakMap<Listener<never>, Listener<never>>();

/**
 * A small typed event source. Unlike Node's EventEmitter, an `error` event
 * without listeners is simply dropped, and a throwing listener never breaks a
 * request. Every event is also published on its `node:diagnostics_channel`.
 */
export class ProviderEventSource {
  readonly #listeners = new Map<ProviderEventName, Set<Listener<never>>>();

  /** Adds a listener. */
  on<K extends ProviderEventName>(name: K, listener: Listener<K>): this {
    if (!Object.prototype.hasOwnProperty.call(CHANNELS, name))
      throw new ConfigurationError(
        `Unknown event ${JSON.stringify(name)}: use one of ${Object.keys(CHANNELS).join(', ')}.`,
      );
    if (typeof listener !== 'function')
      throw new ConfigurationError(`The listener for ${String(name)} must be a function.`);
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return this;
  }

  /** Removes a listener added with {@link on} or {@link once}. */
  off<K extends ProviderEventName>(name: K, listener: Listener<K>): this {
    const set = this.#listeners.get(name);
    if (!set) return this;
    if (!set.delete(listener as Listener<never>)) {
      for (const entry of set) {
        if (ONCE_OF.get(entry) === listener) {
          set.delete(entry);
          break;
        }
      }
    }
    return this;
  }

  /** Adds a listener called at most once; {@link off} with the same listener removes it. */
  once<K extends ProviderEventName>(name: K, listener: Listener<K>): this {
    if (typeof listener !== 'function')
      throw new ConfigurationError(`The listener for ${String(name)} must be a function.`);
    let fired = false;
    const wrapper: Listener<K> = (event) => {
      this.#listeners.get(name)?.delete(wrapper as Listener<never>);
      if (fired) return; // an emit already under way still holds the wrapper
      fired = true;
      listener(event);
    };
    ONCE_OF.set(wrapper as Listener<never>, listener as Listener<never>);
    return this.on(name, wrapper);
  }

  /** @internal Reports a `replay` or `denied` for the interceptors (see {@link ApiEventReporter}). */
  [REPORT]<K extends 'replay' | 'denied'>(name: K, event: ProviderEvents[K]): void {
    this.emit(name, event);
  }

  /** @internal */
  emit<K extends ProviderEventName>(name: K, event: ProviderEvents[K]): void {
    const set = this.#listeners.get(name);
    if (set) {
      for (const listener of [...set]) {
        try {
          (listener as Listener<K>)(event);
        } catch {
          // A listener's failure is its own; the request goes on.
        }
      }
    }
    const channel = channels[name];
    if (channel.hasSubscribers) channel.publish(event);
  }
}

/** What a token event says of the token itself: its lifetime and scopes, never the token. @internal */
export function tokenEventOf(
  record: TokenRecord,
  requestedScope: readonly string[],
): Pick<TokenEvent, 'expiresAt' | 'lifetimeMs' | 'scope' | 'requestedScope' | 'missingScope'> {
  const { token } = record;
  const granted = new Set(token.scope);
  return {
    expiresAt: token.expiresAt,
    lifetimeMs: token.expiresAt === undefined ? undefined : token.expiresAt - record.sentAt,
    scope: token.scope,
    requestedScope,
    missingScope: requestedScope.filter((s) => !granted.has(s)),
  };
}
