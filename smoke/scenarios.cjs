// The smoke scenarios, written once and run by every client entry (ESM or CommonJS, on every runtime). They
// receive the package as the entry imported it, so this file imports nothing; the servers of
// smoke/servers.mjs count what they saw, and each scenario checks those counts through /control/*.
'use strict';

const CREDENTIALS = { clientId: 'smoke-client', clientSecret: 'smoke-secret' };

/** Runs every scenario; resolves to [{ name, ok, detail }], never rejects. */
async function runScenarios({ acc, axios, urls, adapter }) {
  const control = async (what) => (await fetch(`${urls.main}/control/${what}`, { method: 'POST' })).json();
  const http = () => axios.create(adapter ? { adapter } : {});
  const provider = (options = {}) =>
    new acc.ClientCredentialsProvider({
      tokenUrl: `${urls.main}/token`,
      ...CREDENTIALS,
      httpClient: http(),
      ...options,
    });
  const instance = (tokens) => {
    const api = axios.create({ baseURL: urls.main, ...(adapter ? { adapter } : {}) });
    acc.attachAuth(api, tokens);
    return api;
  };
  const check = (condition, message) => {
    if (!condition) throw new Error(message);
  };

  const scenarios = {
    'cold burst: 50 concurrent requests, 1 token request': async () => {
      await control('reset');
      const api = instance(provider());
      const responses = await Promise.all(Array.from({ length: 50 }, () => api.get('/data')));
      const stats = await control('stats');
      check(
        responses.every((r) => r.status === 200),
        `statuses ${responses.map((r) => r.status)}`,
      );
      check(stats.tokenRequests === 1, `${stats.tokenRequests} token requests`);
      check(stats.api[200] === 50, `${stats.api[200]} API 200s`);
      return `50 × 200, ${stats.tokenRequests} token request`;
    },

    'revocation: 20 concurrent 401s, 1 new grant, 20 replays': async () => {
      await control('reset');
      const api = instance(provider());
      await api.get('/data');
      await control('revoke');
      const responses = await Promise.all(Array.from({ length: 20 }, () => api.get('/data')));
      const stats = await control('stats');
      check(
        responses.every((r) => r.status === 200),
        `statuses ${responses.map((r) => r.status)}`,
      );
      check(
        stats.tokenRequests === 2,
        `${stats.tokenRequests} token requests (1 expected before the revocation, 1 after)`,
      );
      check(stats.api[401] === 20, `${stats.api[401]} API 401s`);
      check(stats.api[200] === 21, `${stats.api[200]} API 200s`);
      return `20 × 401 → 1 new grant, 20 replays × 200`;
    },

    'no token to another origin': async () => {
      await control('reset');
      const api = instance(provider());
      await api.get('/data');
      const response = await api.get(`${urls.other}/elsewhere`);
      const stats = await control('stats');
      check(response.status === 200, `status ${response.status}`);
      check(
        stats.otherAuthorization.length === 1 && stats.otherAuthorization[0] === null,
        `other origin saw ${JSON.stringify(stats.otherAuthorization)}`,
      );
      return 'other origin saw no Authorization';
    },

    '403 as PermissionError': async () => {
      await control('reset');
      const api = instance(provider());
      const error = await api.post('/forbidden', { amount: 1 }).then(
        () => undefined,
        (e) => e,
      );
      const stats = await control('stats');
      check(error instanceof acc.PermissionError, `rejected with ${error && error.name}`);
      check(
        error.code === 'ERR_PERMISSION' && error.name === 'PermissionError',
        `code ${error.code}, name ${error.name}`,
      );
      check(
        JSON.stringify(error.requiredScope) === '["x/write"]',
        `requiredScope ${JSON.stringify(error.requiredScope)}`,
      );
      check(axios.isAxiosError(error) && error.response.status === 403, 'not an AxiosError with the 403 response');
      check(
        stats.api[403] === 1 && stats.tokenRequests === 1,
        `${stats.api[403]} API 403s, ${stats.tokenRequests} token requests`,
      );
      return 'PermissionError, requiredScope x/write, isAxiosError';
    },

    'memoryStore: a second provider takes the stored token': async () => {
      await control('reset');
      const store = acc.memoryStore();
      const first = await instance(provider({ store })).get('/data');
      const second = await instance(provider({ store })).get('/data');
      const stats = await control('stats');
      check(first.status === 200 && second.status === 200, `statuses ${first.status}, ${second.status}`);
      check(stats.tokenRequests === 1, `${stats.tokenRequests} token requests`);
      return '2 providers, 1 token request (encrypted in the store and decrypted)';
    },

    'custom store with lock and extendLock: a slow token request holds its lock': async () => {
      await control('reset');
      await control('delay?ms=300');
      const entries = new Map();
      const locks = new Map();
      const calls = { lock: 0, extendLock: 0, unlock: 0, set: 0 };
      let nextLock = 0;
      const store = {
        async get(key) {
          return entries.get(key);
        },
        async set(key, value) {
          calls.set++;
          entries.set(key, value);
        },
        async delete(key, value) {
          if (entries.get(key) !== value) return false;
          entries.delete(key);
          return true;
        },
        async lock(key) {
          calls.lock++;
          if (locks.has(key)) return undefined;
          const id = `lock-${++nextLock}`;
          locks.set(key, id);
          return id;
        },
        async extendLock(key, lockId) {
          calls.extendLock++;
          return locks.get(key) === lockId;
        },
        async unlock(key, lockId) {
          calls.unlock++;
          if (locks.get(key) === lockId) locks.delete(key);
        },
      };
      const tokens = provider({ store, lockTtlMs: 90 });
      const responses = await Promise.all(Array.from({ length: 5 }, () => instance(tokens).get('/data')));
      await control('delay?ms=0');
      await new Promise((resolve) => setTimeout(resolve, 20)); // unlock follows the store write
      const stats = await control('stats');
      check(
        responses.every((r) => r.status === 200),
        `statuses ${responses.map((r) => r.status)}`,
      );
      check(stats.tokenRequests === 1, `${stats.tokenRequests} token requests`);
      check(
        calls.extendLock >= 1,
        `extendLock called ${calls.extendLock} times during a 300 ms token request with a 90 ms lock`,
      );
      check(calls.unlock === 1 && locks.size === 0, `unlock called ${calls.unlock} times, ${locks.size} locks left`);
      check(calls.set === 1, `set called ${calls.set} times`);
      return `1 token request, lock extended ${calls.extendLock}×, released`;
    },
  };

  const results = [];
  for (const [name, scenario] of Object.entries(scenarios)) {
    try {
      results.push({ name, ok: true, detail: await scenario() });
    } catch (error) {
      results.push({
        name,
        ok: false,
        detail: error && error.stack ? String(error.stack).split('\n').slice(0, 4).join(' | ') : String(error),
      });
    }
  }
  return results;
}

module.exports = { runScenarios };
