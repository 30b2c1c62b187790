import type { RetryPolicy } from '../grant/retry.js';
import type { AccessToken, TokenRecord } from '../grant/token-response.js';

/** When the provider stops using a token, and when it starts one background refresh of it. */
export interface TokenTimes {
  /** After this (ms) the token is no longer sent: expiry minus the leeway. */
  staleAt: number;
  /** After this (ms) the next use starts one background refresh. */
  refreshAt: number;
}

export interface RefreshSettings {
  /** `expiryLeewaySeconds` in ms: the most a token's last stretch is left unused. */
  expiryLeewayMs: number;
  /** A fixed fraction of the usable lifetime, `false` for no background refresh, `undefined` for the default. */
  refreshRatio: number | false | undefined;
  /** How far ahead of `staleAt` the token endpoint needs a refresh to start (see {@link refreshLeadMs}). */
  leadMs: number;
}

/** A refresh cycle is given at least this long before the stale point… */
const MIN_LEAD_MS = 1000;
/** …and never earlier than this fraction of the usable lifetime before it (a 2 s token: at 0.8 s, as `refreshRatio: 0.8`). */
const MAX_LEAD_FRACTION = 0.2;

/**
 * How long before the stale point a refresh must start for its token to arrive in time: one answer
 * from the token endpoint for every attempt the retry policy allows (at its slowest lately) and the
 * back-off between them, at least 1 s; then the failure cooldown, so that a refresh cycle that fails
 * still gets one more before the token goes stale. With the defaults and a 20 ms endpoint:
 * 4 × 20 ms + (0.2 + 0.4 + 0.8 s) + 1 s ≈ 2.5 s.
 */
export function refreshLeadMs(slowestGrantMs: number, retry: RetryPolicy, failureCooldownMs: number): number {
  let backoff = 0;
  for (let attempt = 1; attempt <= retry.retries; attempt++)
    backoff += Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.max((retry.retries + 1) * slowestGrantMs + backoff, MIN_LEAD_MS) + failureCooldownMs;
}

/**
 * When a token whose request was sent at `sentAt` and expiring at `expiresAt` goes stale, and when its refresh
 * starts: by default ahead of the stale point by what the token endpoint needs (`leadMs`), at most
 * 20 % of the usable lifetime, so steady traffic costs about one grant per token
 * lifetime (1.01 for a one-hour token) and never waits; with a `refreshRatio`, at that fraction of
 * the usable lifetime.
 */
export function tokenTimes(sentAt: number, expiresAt: number, settings: RefreshSettings): TokenTimes {
  const lifetime = Math.max(0, expiresAt - sentAt);
  // The leeway covers the API request's transit and the resource server's clock; never more than half the lifetime.
  const staleAt = expiresAt - Math.min(settings.expiryLeewayMs, lifetime / 2);
  const usable = Math.max(0, staleAt - sentAt);
  const { refreshRatio } = settings;
  if (refreshRatio === false) return { staleAt, refreshAt: Infinity };
  if (refreshRatio !== undefined) return { staleAt, refreshAt: sentAt + refreshRatio * usable };
  const lead = Math.min(settings.leadMs, usable * MAX_LEAD_FRACTION);
  return { staleAt, refreshAt: staleAt - lead };
}

/** The cache record of a token: when it goes stale and when its refresh starts, given the slowest grant lately. */
export function recordOf(
  stored: { token: AccessToken; sentAt: number; endsAt: number },
  slowestGrantMs: number,
  o: {
    retry: RetryPolicy;
    failureCooldownMs: number;
    expiryLeewayMs: number;
    refreshRatio: number | false | undefined;
  },
): TokenRecord {
  const leadMs = refreshLeadMs(slowestGrantMs, o.retry, o.failureCooldownMs);
  const times = tokenTimes(stored.sentAt, stored.endsAt, {
    expiryLeewayMs: o.expiryLeewayMs,
    refreshRatio: o.refreshRatio,
    leadMs,
  });
  return { token: stored.token, sentAt: stored.sentAt, ...times };
}
