import axios from 'axios';
import { ClientCredentialsProvider, attachAuth, memoryStore } from '../src/index.js';
import type { ErrorEvent, TokenStore } from '../src/index.js';
import { json } from './helpers/http.js';
import { startApiServer, startAuthServer } from './helpers/oauth.js';

/** An in-process store with a lock, as a shared store behaves, with hooks to slow it down or break it. */
function lockingStore(extra: Partial<TokenStore> = {}): TokenStore & { calls: string[] } {
  const inner = memoryStore();
  const locks = new Map<string, { id: string; until: number }>();
  const calls: string[] = [];
  let next = 0;
  return {
    calls,
    get: (key) => (calls.push('get'), inner.get(key)),
    set: (key, value, ttl) => (calls.push('set'), inner.set(key, value, ttl)),
    delete: (key, value) => (calls.push('delete'), inner.delete(key, value)),
    lock: async (key, ttl) => {
      calls.push('lock');
      const held = locks.get(key);
      if (held && held.until > Date.now()) return undefined;
      const id = `lock-${++next}`;
      locks.set(key, { id, until: Date.now() + ttl });
      return id;
    },
    extendLock: async (key, id, ttl) => {
      calls.push('extendLock');
      const held = locks.get(key);
      if (held?.id !== id) return false;
      held.until = Date.now() + ttl;
      return true;
    },
    unlock: async (key, id) => {
      calls.push('unlock');
      if (locks.get(key)?.id === id) locks.delete(key);
    },
    ...extra,
  };
}

const credentials = { clientId: 'id', clientSecret: 'a-client-secret' };

describe('a shared store', () => {
  test("two providers sharing a store make one token request, and the second takes the first one's token", async () => {
    const auth = await startAuthServer();
    const store = lockingStore();
    const a = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    const b = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    const [ta, tb] = await Promise.all([a.getToken(), b.getToken()]);
    expect(ta.accessToken).toBe(tb.accessToken);
    expect(auth.tokenRequests).toHaveLength(1);
  });

  test('the lock holder keeps its lock alive through a token request longer than the lock TTL', async () => {
    const auth = await startAuthServer();
    auth.next((_req, res) => void setTimeout(() => json(res, 200, { access_token: 'slow', expires_in: 60 }), 700));
    const store = lockingStore();
    const a = new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      ...credentials,
      store,
      lockTtlMs: 200,
      timeoutMs: 5000,
    });
    const b = new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      ...credentials,
      store,
      lockTtlMs: 200,
      timeoutMs: 5000,
    });
    const first = a.getToken();
    while (!store.calls.includes('lock')) await new Promise((r) => setTimeout(r, 5));
    const second = b.getToken();
    expect((await first).accessToken).toBe('slow');
    expect((await second).accessToken).toBe('slow');
    expect(auth.tokenRequests).toHaveLength(1);
    expect(store.calls).toContain('extendLock');
  });

  test('waitForChange is bounded by its own time limit, not by storeTimeoutMs', async () => {
    const auth = await startAuthServer();
    auth.next((_req, res) => void setTimeout(() => json(res, 200, { access_token: 'slow', expires_in: 60 }), 600));
    const waiters: (() => void)[] = [];
    const base = lockingStore();
    const store = lockingStore({
      get: base.get,
      set: async (key, value, ttl) => {
        await base.set(key, value, ttl);
        waiters.splice(0).forEach((wake) => wake());
      },
      lock: base.lock!,
      unlock: base.unlock!,
      extendLock: base.extendLock!,
      waitForChange: (_key, timeoutMs) =>
        new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, timeoutMs);
        }),
    });
    const errors: ErrorEvent[] = [];
    const a = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    const b = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store, storeTimeoutMs: 100 });
    b.on('error', (e) => errors.push(e));
    const first = a.getToken();
    while (!base.calls.includes('lock')) await new Promise((r) => setTimeout(r, 5));
    expect((await b.getToken()).accessToken).toBe('slow');
    await first;
    expect(auth.tokenRequests).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  /** A locking store whose waitForChange resolves with the value `set` stores (or, with `forge`, a value of its own). */
  function notifyingStore(forge?: string) {
    const waiters: ((value: string) => void)[] = [];
    const base = lockingStore();
    const store = lockingStore({
      get: base.get,
      set: async (key, value, ttl) => {
        await base.set(key, value, ttl);
        waiters.splice(0).forEach((wake) => wake(forge ?? value));
      },
      lock: base.lock!,
      unlock: base.unlock!,
      extendLock: base.extendLock!,
      waitForChange: () => new Promise<string>((resolve) => waiters.push(resolve)),
    });
    return { store, calls: base.calls };
  }

  test.each([
    ['takes the value the notification carried, without reading the store again', undefined, 1],
    ['reads the store when the notification carried something else than a token of its own', 'forged-value', 2],
  ])('a provider woken by a change %s', async (_what, forge, gets) => {
    const auth = await startAuthServer();
    auth.next((_req, res) => void setTimeout(() => json(res, 200, { access_token: 'shared', expires_in: 60 }), 200));
    const { store, calls } = notifyingStore(forge);
    const a = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    const b = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, ...credentials, store });
    const first = a.getToken();
    while (!calls.includes('lock')) await new Promise((r) => setTimeout(r, 5));
    const getsBefore = calls.filter((c) => c === 'get').length;
    expect((await b.getToken()).accessToken).toBe('shared');
    await first;
    expect(auth.tokenRequests).toHaveLength(1);
    // b: one read before the lock, then (only when the value was not usable) one after the wake.
    expect(calls.filter((c) => c === 'get').length - getsBefore).toBe(gets);
  });

  /**
   * A store whose every call hangs, recording the calls. The provider skips a failed store for a
   * second of wall-clock time (`Date.now`), so each test stops that clock: how slowly a loaded
   * machine gets from the failure to the next token request must not decide whether the store is
   * asked again.
   */
  function hangingStore(): TokenStore & { calls: string[] } {
    const calls: string[] = [];
    const never = (name: string) => () => (calls.push(name), new Promise<never>(() => undefined));
    return {
      calls,
      get: never('get'),
      set: never('set'),
      delete: never('delete'),
      lock: never('lock'),
      unlock: never('unlock'),
    };
  }

  async function revokedWhileStoreHangs() {
    const auth = await startAuthServer();
    const api = await startApiServer(auth);
    const store = hangingStore();
    const errors: ErrorEvent[] = [];
    const provider = new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      ...credentials,
      store,
      storeTimeoutMs: 250,
    });
    provider.on('error', (e) => errors.push(e));
    const client = axios.create({ baseURL: api.url });
    attachAuth(client, provider);
    return { auth, api, store, errors, client };
  }

  test('a store that never answers costs one storeTimeoutMs, then is skipped: no request fails because of it', async () => {
    let wallClock = Date.now();
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => wallClock);
    try {
      const { auth, api, store, errors, client } = await revokedWhileStoreHangs();
      expect((await client.get('/a')).status).toBe(200);
      expect(store.calls).toEqual(['get']); // the one call that timed out
      api.revoke();
      wallClock += 999;
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => client.get('/b')));
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(store.calls).toEqual(['get']); // the new token was fetched without waiting for the store
      expect(errors.filter((e) => e.phase === 'store')).toHaveLength(1);
      expect(auth.tokenRequests).toHaveLength(2);
    } finally {
      clock.mockRestore();
    }
  });

  test('a store that failed is asked again a second later, and its outage is still reported once', async () => {
    let wallClock = Date.now();
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => wallClock);
    try {
      const { auth, api, store, errors, client } = await revokedWhileStoreHangs();
      expect((await client.get('/a')).status).toBe(200);
      api.revoke();
      wallClock += 1000;
      expect((await client.get('/b')).status).toBe(200);
      expect(store.calls).toEqual(['get', 'get']);
      expect(errors.filter((e) => e.phase === 'store')).toHaveLength(1);
      expect(auth.tokenRequests).toHaveLength(2);
    } finally {
      clock.mockRestore();
    }
  });

  test('the token reaches waiters before the store write finishes', async () => {
    const auth = await startAuthServer();
    let finishSet!: () => void;
    const inner = memoryStore();
    const store: TokenStore = {
      ...inner,
      get: (k) => inner.get(k),
      delete: (k, v) => inner.delete(k, v),
      set: (k, v, t) => new Promise<void>((r) => (finishSet = () => void inner.set(k, v, t).then(r))),
    };
    const provider = new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      ...credentials,
      store,
      storeTimeoutMs: 5000,
    });
    expect((await provider.getToken()).accessToken).toBe('tok-1');
    finishSet();
  });
});
