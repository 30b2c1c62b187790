import { ConfigurationError } from '../errors.js';
import { isJsonObject } from '../util/json.js';

/**
 * How failed token (and discovery) requests are retried: exponential backoff
 * with full jitter, honouring `Retry-After`. Only transient failures are
 * retried: network errors, timeouts and the statuses in `statuses`; a 400 or
 * 401 (a bad secret) fails at once.
 */
export interface RetryOptions {
  /** Retries after the first attempt. @default 3 */
  retries?: number;
  /** Base of the exponential backoff, in ms. @default 200 */
  baseDelayMs?: number;
  /** Cap of one backoff delay, in ms. @default 5000 */
  maxDelayMs?: number;
  /** Cap of a delay asked for by `Retry-After`, in ms. @default 10000 */
  maxRetryAfterMs?: number;
  /** HTTP statuses retried. @default [429, 500, 502, 503, 504] */
  statuses?: readonly number[];
}

export type RetryPolicy = Required<RetryOptions>;

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  retries: 3,
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterMs: 10_000,
  statuses: Object.freeze([429, 500, 502, 503, 504]),
});

export function resolveRetry(option: RetryOptions | false | undefined): RetryPolicy {
  if (option === false) return { ...DEFAULT_RETRY, retries: 0 };
  if (option !== undefined && !isJsonObject(option)) {
    throw new ConfigurationError(
      'retry must be an object such as { retries: 3, baseDelayMs: 200 }, or false to turn retries off.',
    );
  }
  const policy = { ...DEFAULT_RETRY, ...dropUndefined(option ?? {}) };
  for (const key of ['retries', 'baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
    const value = policy[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ConfigurationError(
        `retry.${key} must be a non-negative number (got ${String(value)}); pass retry: false to turn retries off.`,
      );
    }
  }
  if (!Array.isArray(policy.statuses) || policy.statuses.some((s) => !Number.isInteger(s))) {
    throw new ConfigurationError(
      'retry.statuses must be an array of HTTP status codes, e.g. [429, 500, 502, 503, 504].',
    );
  }
  return policy;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const TIME = '\\d{2}:\\d{2}:\\d{2}';
/** RFC 9110 §5.6.7 IMF-fixdate and the obsolete RFC 850 date, both in GMT. */
const GMT_DATE = new RegExp(
  `^(?:${DAY}, \\d{2} ${MONTH} \\d{4}|${LONG_DAY}, \\d{2}-${MONTH}-\\d{2}) ${TIME} GMT$`,
  'i',
);
/** The obsolete asctime date, which carries no zone but means GMT. */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} [ \\d]\\d ${TIME} \\d{4}$`, 'i');

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 * Returns ms to wait, or `undefined` when absent or not one of those forms
 * (anything else falls back to the backoff: `Date.parse` would read `1.5` or
 * `-1` as a day in 2001, and so retry at once).
 */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // asctime has no zone: Date.parse would read it as local time.
  const date = GMT_DATE.test(text) ? Date.parse(text) : ASCTIME_DATE.test(text) ? Date.parse(`${text} GMT`) : NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Delay before retry number `attempt` (1-based): full jitter, or `Retry-After` when the server gave one. */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}
