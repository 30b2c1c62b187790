/**
 * Issue 9, test strength: a token the API rejected is never used again. `provider.invalidate(token)`
 * drops it here and takes it out of the shared store (compare-and-delete), so a second provider on
 * the same store does not take it; the provider remembers it, so it never takes it back from a store
 * that still holds it; and a store write that lands after the rejection is taken back out.
 */
import { ClientCredentialsProvider, memoryStore } from '../src/index.js';
import type { TokenStore } from '../src/index.js';
import { startAuthServer } from './helpers/oauth.js';

const credentials = { clientId: 'id', clientSecret: 'a-client-secret' };

/** A memory store that records the calls made to it, with optional overrides. */
function observedStore(overrides: Partial<TokenStore> = {}) {
  const inner = memoryStore();
  const calls: string[] = [];
  const values = new Set<string>();
  const store: TokenStore = {
    get: (key) => (calls.push('get'), inner.get(key)),
    set: (key, value, ttlMs) => (calls.push('set'), values.add(value), inner.set(key, value, ttlMs)),
    delete: (key, value) => (calls.push('delete'), inner.delete(key, value)),
    ...overrides,
  };
  return { store, inner, calls, values };
}

/** Resolves once `check` is true, looking again after each turn of the event loop, or after 50 turns (what follows then fails). */
async function until(check: () => boolean): Promise<void> {
  for (let turn = 0; turn < 50 && !check(); turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('invalidate', () => {
  test('takes the rejected token out of the store: a second provider on the store fetches a new one', async () => {
    const auth = await startAuthServer();
    const { store, calls } = observedStore();
    const a = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    const rejected = await a.getToken();
    await until(() => calls.includes('set'));
    await new Promise((resolve) => setImmediate(resolve)); // the provider learns its token is in the store
    expect(a.invalidate(rejected)).toBe(true);
    await until(() => calls.includes('delete'));
    const b = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    expect((await b.getToken()).accessToken).toBe('tok-2');
    expect(auth.tokenRequests).toHaveLength(2);
  });

  test('by access token string takes it out of the store as well', async () => {
    const auth = await startAuthServer();
    const { store, calls } = observedStore();
    const a = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    await a.getToken();
    await until(() => calls.includes('set'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(a.invalidate('tok-1')).toBe(true);
    const b = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    expect((await b.getToken()).accessToken).toBe('tok-2');
  });

  test('never takes the rejected token back from a store that still holds it', async () => {
    const auth = await startAuthServer();
    // A store whose compare-and-delete never matches (another process wrote the same token again, or the delete was lost).
    const { store, calls } = observedStore({ delete: async () => false });
    const a = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    const rejected = await a.getToken();
    await until(() => calls.includes('set'));
    expect(a.invalidate(rejected)).toBe(true);
    expect((await a.getToken()).accessToken).toBe('tok-2');
    expect(auth.tokenRequests).toHaveLength(2);
  });

  test('takes out a token whose store write lands after the API rejected it', async () => {
    const auth = await startAuthServer();
    let land!: () => void;
    const { store, inner, calls, values } = observedStore();
    const slow: TokenStore = {
      ...store,
      set: (key, value, ttlMs) =>
        new Promise<void>((resolve) => {
          calls.push('set');
          values.add(value);
          land = () => void inner.set(key, value, ttlMs).then(resolve);
        }),
    };
    const a = new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      ...credentials,
      store: slow,
      storeTimeoutMs: 5000,
    });
    const rejected = await a.getToken(); // reaches the caller before the store write finishes
    expect(a.invalidate(rejected)).toBe(true);
    expect(calls).not.toContain('delete'); // nothing to take out yet
    land();
    await until(() => calls.includes('delete'));
    const b = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    expect((await b.getToken()).accessToken).toBe('tok-2');
  });

  test('of an older token keeps the cached one, here and in the store', async () => {
    const auth = await startAuthServer();
    const { store, calls } = observedStore();
    const a = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    const first = await a.getToken();
    const second = await a.getToken({ forceRefresh: true });
    await until(() => calls.filter((c) => c === 'set').length === 2);
    expect(a.invalidate(first)).toBe(false);
    expect(calls).not.toContain('delete');
    expect(await a.getToken()).toBe(second);
    const b = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    expect((await b.getToken()).accessToken).toBe(second.accessToken);
    expect(auth.tokenRequests).toHaveLength(2);
  });
});
