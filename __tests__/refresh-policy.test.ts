/**
 * Issue 10, item 7: when a token goes stale and when its refresh starts. A pure policy, so a table:
 * steady traffic costs about one grant per token lifetime, and a refresh still has time to finish.
 */
import { refreshLeadMs, tokenTimes } from '../src/provider/refresh-policy.js';
import { DEFAULT_RETRY } from '../src/grant/retry.js';

const S = 1000;
const lead = (slowestMs: number) => refreshLeadMs(slowestMs, DEFAULT_RETRY, 1000);

describe('refreshLeadMs', () => {
  test.each([
    // slowest grant ms, retry policy, cooldown ms, lead ms
    [0, DEFAULT_RETRY, 1000, 1400 + 1000],
    [20, DEFAULT_RETRY, 1000, 4 * 20 + 1400 + 1000],
    [3000, DEFAULT_RETRY, 1000, 4 * 3000 + 1400 + 1000],
    [0, { ...DEFAULT_RETRY, retries: 0 }, 1000, 1000 + 1000],
    [20, { ...DEFAULT_RETRY, retries: 0 }, 0, 1000],
    [500, { ...DEFAULT_RETRY, retries: 5 }, 1000, 6 * 500 + (200 + 400 + 800 + 1600 + 3200) + 1000],
    [0, { ...DEFAULT_RETRY, retries: 3, maxDelayMs: 300 }, 1000, 1000 + 1000],
  ])('a %i ms endpoint with %o and a %i ms cooldown needs a %i ms lead', (slowest, retry, cooldown, expected) => {
    expect(refreshLeadMs(slowest, retry, cooldown)).toBe(expected);
  });
});

describe('tokenTimes', () => {
  test.each([
    // lifetime s, stale s, refresh s (default leeway 30 s, at most half; a 20 ms endpoint: lead 2.48 s, at most 20 % of the usable lifetime)
    [2, 1, 0.8],
    [60, 30, 27.52],
    [300, 270, 267.52],
    [3600, 3570, 3567.52],
    [86_400, 86_370, 86_367.52],
  ])('a %i s token is stale from %d s and refreshed from %d s', (lifetime, stale, refresh) => {
    const times = tokenTimes(0, lifetime * S, { expiryLeewayMs: 30 * S, refreshRatio: undefined, leadMs: lead(20) });
    expect(times.staleAt).toBeCloseTo(stale * S, 6);
    expect(times.refreshAt).toBeCloseTo(refresh * S, 6);
  });

  test.each([
    // lifetime s: grants per token lifetime in steady traffic, a new token every (refreshAt + 20 ms)
    [3600, 1.01],
    [86_400, 1.001],
  ])('steady traffic with %i s tokens costs at most %d grants per token lifetime', (lifetime, most) => {
    const { refreshAt } = tokenTimes(0, lifetime * S, {
      expiryLeewayMs: 30 * S,
      refreshRatio: undefined,
      leadMs: lead(20),
    });
    expect((lifetime * S) / (refreshAt + 20)).toBeLessThanOrEqual(most);
  });

  test('a fixed refreshRatio is a fraction of the usable lifetime, as before', () => {
    expect(tokenTimes(0, 100 * S, { expiryLeewayMs: 30 * S, refreshRatio: 0.8, leadMs: lead(20) })).toEqual({
      staleAt: 70 * S,
      refreshAt: 56 * S,
    });
  });

  test('refreshRatio false never refreshes in the background', () => {
    expect(tokenTimes(0, 100 * S, { expiryLeewayMs: 30 * S, refreshRatio: false, leadMs: lead(20) }).refreshAt).toBe(
      Infinity,
    );
  });

  test('counts from the issue time and keeps the refresh inside the usable lifetime, even for a slow endpoint', () => {
    const times = tokenTimes(5_000, 5_000 + 10 * S, {
      expiryLeewayMs: 30 * S,
      refreshRatio: undefined,
      leadMs: lead(60 * S),
    });
    expect(times).toEqual({ staleAt: 5_000 + 5 * S, refreshAt: 5_000 + 4 * S });
  });

  test('an expired or zero-lifetime token is stale and due at once', () => {
    expect(tokenTimes(10 * S, 10 * S, { expiryLeewayMs: 30 * S, refreshRatio: undefined, leadMs: lead(0) })).toEqual({
      staleAt: 10 * S,
      refreshAt: 10 * S,
    });
  });
});
