/**
 * Issue 9, test strength: unit tables of the retry policy (src/grant/retry.ts) with no HTTP and no timer:
 * option resolution and its errors, `Retry-After` parsing (RFC 9110 §10.2.3: delay-seconds or an
 * HTTP-date, nothing else), and the delay before each retry (full jitter under an exponential
 * ceiling, or `Retry-After` capped). The loopback behaviour is in retry.test.ts.
 */
import fc from 'fast-check';
import { ConfigurationError } from '../src/errors.js';
import {
  DEFAULT_RETRY,
  parseRetryAfter,
  resolveRetry,
  retryDelay,
  type RetryOptions,
  type RetryPolicy,
} from '../src/grant/retry.js';

describe('resolveRetry', () => {
  test('has the defaults: 3 retries, 200 ms base, 5 s cap, Retry-After capped at 10 s, 429/500/502/503/504', () => {
    expect(resolveRetry(undefined)).toEqual({
      retries: 3,
      baseDelayMs: 200,
      maxDelayMs: 5000,
      maxRetryAfterMs: 10_000,
      statuses: [429, 500, 502, 503, 504],
    });
    expect(DEFAULT_RETRY).toEqual(resolveRetry(undefined));
    expect(Object.isFrozen(DEFAULT_RETRY)).toBe(true);
    expect(Object.isFrozen(DEFAULT_RETRY.statuses)).toBe(true);
  });

  test('turns retries off with false, keeping the rest of the defaults', () => {
    expect(resolveRetry(false)).toEqual({ ...DEFAULT_RETRY, retries: 0 });
  });

  test('takes each option given, and the default for each one left out or undefined', () => {
    expect(resolveRetry({ retries: 5 })).toEqual({ ...DEFAULT_RETRY, retries: 5 });
    expect(resolveRetry({ baseDelayMs: 10, maxDelayMs: 100, maxRetryAfterMs: 0, statuses: [503] })).toEqual({
      retries: 3,
      baseDelayMs: 10,
      maxDelayMs: 100,
      maxRetryAfterMs: 0,
      statuses: [503],
    });
    expect(
      resolveRetry({ retries: undefined, baseDelayMs: undefined, statuses: undefined } as unknown as RetryOptions),
    ).toEqual(DEFAULT_RETRY);
    expect(resolveRetry({ retries: 0 }).retries).toBe(0);
    expect(resolveRetry({})).toEqual(DEFAULT_RETRY);
  });

  test('returns a policy of its own, never the shared defaults', () => {
    const policy = resolveRetry({});
    expect(policy).not.toBe(DEFAULT_RETRY);
    expect(Object.isFrozen(policy)).toBe(false);
  });

  test.each<[string, unknown]>([
    ['a number', 3],
    ['a string', 'yes'],
    ['true', true],
    ['null', null],
    ['an array', [3]],
  ])('refuses %s instead of an options object', (_, option) => {
    const resolve = () => resolveRetry(option as RetryOptions);
    expect(resolve).toThrow(ConfigurationError);
    expect(resolve).toThrow(
      'retry must be an object such as { retries: 3, baseDelayMs: 200 }, or false to turn retries off.',
    );
  });

  test.each<[keyof RetryOptions, unknown, string]>([
    ['retries', -1, '-1'],
    ['retries', Number.NaN, 'NaN'],
    ['retries', Number.POSITIVE_INFINITY, 'Infinity'],
    ['retries', '3', '3'],
    ['baseDelayMs', -0.5, '-0.5'],
    ['baseDelayMs', null, 'null'],
    ['maxDelayMs', Number.NEGATIVE_INFINITY, '-Infinity'],
    ['maxRetryAfterMs', -1, '-1'],
  ])('refuses retry.%s = %p, naming it', (key, value, shown) => {
    const resolve = () => resolveRetry({ [key]: value } as RetryOptions);
    expect(resolve).toThrow(ConfigurationError);
    expect(resolve).toThrow(
      `retry.${key} must be a non-negative number (got ${shown}); pass retry: false to turn retries off.`,
    );
  });

  test.each<[string, unknown]>([
    ['a status that is not a whole number', [503, 50.3]],
    ['a status as text', ['503']],
    ['a single status instead of a list', 503],
  ])('refuses retry.statuses with %s', (_, statuses) => {
    const resolve = () => resolveRetry({ statuses } as RetryOptions);
    expect(resolve).toThrow(ConfigurationError);
    expect(resolve).toThrow('retry.statuses must be an array of HTTP status codes, e.g. [429, 500, 502, 503, 504].');
  });

  test('accepts zero everywhere and an empty status list', () => {
    expect(resolveRetry({ retries: 0, baseDelayMs: 0, maxDelayMs: 0, maxRetryAfterMs: 0, statuses: [] })).toEqual({
      retries: 0,
      baseDelayMs: 0,
      maxDelayMs: 0,
      maxRetryAfterMs: 0,
      statuses: [],
    });
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT');

  test.each<[string, string, number]>([
    ['delay-seconds', '7', 7000],
    ['zero seconds', '0', 0],
    ['delay-seconds with leading zeros', '007', 7000],
    ['delay-seconds with surrounding spaces', ' 3 ', 3000],
    ['a large delay', '86400', 86_400_000],
    ['an IMF-fixdate 20 s ahead', 'Sun, 06 Nov 1994 08:49:57 GMT', 20_000],
    ['an IMF-fixdate in lower case', 'sun, 06 nov 1994 08:49:57 gmt', 20_000],
    ['an IMF-fixdate with surrounding spaces', '  Sun, 06 Nov 1994 08:49:57 GMT ', 20_000],
    ['an obsolete RFC 850 date', 'Sunday, 06-Nov-94 08:49:57 GMT', 20_000],
    ['an obsolete asctime date (one-digit day)', 'Sun Nov  6 08:49:57 1994', 20_000],
    ['an obsolete asctime date (two-digit day)', 'Sun Nov 16 08:49:37 1994', 10 * 86_400_000],
    ['an obsolete asctime date in lower case', 'sun nov  6 08:49:57 1994', 20_000],
    ['a date in the past', 'Sun, 06 Nov 1994 08:49:00 GMT', 0],
    ['a date now', 'Sun, 06 Nov 1994 08:49:37 GMT', 0],
    ['a date a second ahead', 'Sun, 06 Nov 1994 08:49:38 GMT', 1000],
  ])('reads %s', (_, value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  test.each<[string, unknown]>([
    ['a negative number', '-1'],
    ['a fraction', '1.5'],
    ['a number with a sign', '+5'],
    ['a number in exponent form', '1e3'],
    ['a hexadecimal number', '0x10'],
    ['a number and text', '12abc'],
    ['text and a number', 'x 1'],
    ['a word', 'soon'],
    ['nothing', ''],
    ['spaces', '   '],
    ['an IMF-fixdate in another zone', 'Sun, 06 Nov 1994 08:49:57 PST'],
    ['an IMF-fixdate without its zone', 'Sun, 06 Nov 1994 08:49:57'],
    ['an IMF-fixdate without its weekday', '06 Nov 1994 08:49:57 GMT'],
    ['an IMF-fixdate with a long weekday', 'Sunday, 06 Nov 1994 08:49:57 GMT'],
    ['an IMF-fixdate with a two-digit year', 'Sun, 06 Nov 94 08:49:57 GMT'],
    ['an IMF-fixdate with a one-digit day', 'Sun, 6 Nov 1994 08:49:57 GMT'],
    ['an IMF-fixdate with an unknown month', 'Sun, 06 Foo 1994 08:49:57 GMT'],
    ['an IMF-fixdate with a short time', 'Sun, 06 Nov 1994 08:49 GMT'],
    ['an IMF-fixdate followed by text', 'Sun, 06 Nov 1994 08:49:57 GMT later'],
    ['an IMF-fixdate after text', 'at Sun, 06 Nov 1994 08:49:57 GMT'],
    ['an RFC 850 date with a short weekday', 'Sun, 06-Nov-94 08:49:57 GMT'],
    ['an RFC 850 date with a four-digit year', 'Sunday, 06-Nov-1994 08:49:57 GMT'],
    ['an asctime date with a zone', 'Sun Nov  6 08:49:57 1994 GMT'],
    ['an asctime date with a two-digit year', 'Sun Nov  6 08:49:57 94'],
    ['an asctime date followed by text', 'Sun Nov  6 08:49:57 1994 x'],
    ['an asctime date after text', 'x Sun Nov  6 08:49:57 1994'],
    ['an ISO 8601 date', '1994-11-06T08:49:57Z'],
    ['an invalid day in a well-formed date', 'Sun, 99 Nov 1994 08:49:57 GMT'],
    ['a number, not a string', 5],
    ['undefined', undefined],
    ['null', null],
    ['a list', ['5']],
  ])('ignores %s', (_, value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  test('reads any whole number of seconds as that many thousand ms', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), (seconds) => parseRetryAfter(String(seconds), now) === seconds * 1000),
    );
  });

  test('never gives a negative delay for a date', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
        (date) => {
          const delay = parseRetryAfter(date.toUTCString(), now);
          return delay === Math.max(0, Math.floor(date.getTime() / 1000) * 1000 - now);
        },
      ),
    );
  });
});

describe('retryDelay', () => {
  // Built in beforeEach, not when the file loads, so that mutation testing counts what it runs for each test.
  let policy: RetryPolicy;
  beforeEach(() => {
    policy = resolveRetry({ baseDelayMs: 200, maxDelayMs: 5000, maxRetryAfterMs: 10_000 });
  });
  const top = (): number => 0.999999;

  test('draws each backoff delay from zero up to min(cap, base × 2^(attempt−1)) (full jitter)', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => retryDelay(policy, attempt, undefined, top))).toEqual([
      199, 399, 799, 1599, 3199, 4999, 4999,
    ]);
    expect([1, 2, 3, 7].map((attempt) => retryDelay(policy, attempt, undefined, () => 0))).toEqual([0, 0, 0, 0]);
    expect([1, 2, 3, 7].map((attempt) => retryDelay(policy, attempt, undefined, () => 0.5))).toEqual([
      100, 200, 400, 2500,
    ]);
  });

  test('draws from Math.random when given no source', () => {
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.25);
    try {
      expect(retryDelay(policy, 3, undefined)).toBe(200);
      expect(random).toHaveBeenCalledTimes(1);
    } finally {
      random.mockRestore();
    }
  });

  test('waits what Retry-After asks, up to maxRetryAfterMs, without drawing', () => {
    const random = jest.fn(() => 0.5);
    expect(retryDelay(policy, 1, 1500, random)).toBe(1500);
    expect(retryDelay(policy, 5, 0, random)).toBe(0);
    expect(retryDelay(policy, 1, 10_000, random)).toBe(10_000);
    expect(retryDelay(policy, 1, 3_600_000, random)).toBe(10_000);
    expect(retryDelay(resolveRetry({ maxRetryAfterMs: 50 }), 1, 120_000, random)).toBe(50);
    expect(random).not.toHaveBeenCalled();
  });

  test('never exceeds the cap, nor goes below zero, whatever the attempt and the draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.nat({ max: 10_000 }),
        fc.nat({ max: 60_000 }),
        (attempt, draw, base, cap) => {
          const delay = retryDelay(
            resolveRetry({ baseDelayMs: base, maxDelayMs: cap }),
            attempt,
            undefined,
            () => draw,
          );
          return Number.isInteger(delay) && delay >= 0 && delay <= Math.min(cap, base * 2 ** (attempt - 1));
        },
      ),
    );
  });
});
