// redisStore against a Redis whose keys hold something a provider never wrote there: a token key of another
// type (a LIST, a HASH, …) or a string that is no token, and a lock key without a time to live, with one far
// longer than the lock TTL, or of another type. Each must cost the fleet nothing more than a clean Redis would:
// no store failure, one token request, and the key repaired by the next write.
import Redis from 'ioredis';
import { createClient } from 'redis';
import { ClientCredentialsProvider } from '../src/index.js';
import type { ErrorEvent } from '../src/index.js';
import { redisKeys, redisStore, type RedisClientLike, type RedisStoreKeys } from '../src/provider/stores/redis.js';
import type { TokenStore } from '../src/provider/token-store.js';
import { startAuthServer, type AuthServer } from './helpers/oauth.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

const ignore = () => {};

let server: RedisServer;
/** A plain client for planting and inspecting keys behind the stores' backs. */
let admin: Redis;
const closers: (() => Promise<void>)[] = [];

const clientKinds: { name: string; connect(): Promise<RedisClientLike> }[] = [
  {
    name: 'ioredis',
    connect: async () => {
      const client = new Redis(server.ioredisOptions);
      client.on('error', ignore);
      await new Promise((resolve) => client.once('ready', resolve));
      closers.push(async () => void client.disconnect());
      return client;
    },
  },
  {
    name: 'node-redis',
    connect: async () => {
      const client = createClient(server.nodeRedisOptions);
      client.on('error', ignore);
      await client.connect();
      closers.push(async () => void (await client.disconnect()));
      return client;
    },
  },
];
const [ioredisKind, nodeRedisKind] = clientKinds as [(typeof clientKinds)[0], (typeof clientKinds)[0]];

beforeAll(async () => {
  server = await startRedisServer();
  admin = new Redis(server.ioredisOptions);
  admin.on('error', ignore);
});

afterAll(async () => {
  admin?.disconnect();
  await Promise.all(closers.map((close) => close()));
  await server?.close();
});

let counter = 0;
/** A logical key (and a prefix) no other test uses. */
const freshKey = () => `hostile-${++counter}`;

/** Writes something other than a provider's value into a key. */
type Plant = (name: string) => Promise<unknown>;

/** Keys of another type than the string a store writes. */
const otherTypes: [string, Plant][] = [
  ['a LIST', (name) => admin.rpush(name, 'a', 'b')],
  ['a HASH', (name) => admin.hset(name, 'field', 'value')],
  ['a SET', (name) => admin.sadd(name, 'member')],
  ['a ZSET', (name) => admin.zadd(name, 1, 'member')],
  ['a STREAM', (name) => admin.xadd(name, '*', 'field', 'value')],
];

describe.each(clientKinds)('redisStore with $name and a token key of another type', (kind) => {
  let store: TokenStore;

  beforeAll(async () => {
    store = redisStore(await kind.connect());
  });

  it.each(otherTypes)('reads %s in the token key as no token, and the next set replaces it', async (_type, plant) => {
    const key = freshKey();
    await plant(redisKeys(key).token);
    await expect(store.get(key)).resolves.toBeUndefined();
    await store.set(key, 'sealed-token', 60_000);
    await expect(store.get(key)).resolves.toBe('sealed-token');
    expect(await admin.type(redisKeys(key).token)).toBe('string');
  });

  it('answers compare-and-delete of a token key of another type with false, and leaves the key alone', async () => {
    const key = freshKey();
    await admin.rpush(redisKeys(key).token, 'a');
    await expect(store.delete(key, 'a')).resolves.toBe(false);
    expect(await admin.type(redisKeys(key).token)).toBe('list');
  });

  it('answers extendLock of a lock key of another type with false, and leaves the key alone', async () => {
    const key = freshKey();
    await admin.rpush(redisKeys(key).lock, 'a');
    await expect(store.extendLock!(key, 'a', 60_000)).resolves.toBe(false);
    expect(await admin.pttl(redisKeys(key).lock)).toBe(-1);
  });

  it('unlocks a lock key of another type as a lock held by someone else: without failing, leaving it alone', async () => {
    const key = freshKey();
    await admin.hset(redisKeys(key).lock, 'a', 'b');
    await expect(store.unlock!(key, 'a')).resolves.toBeUndefined();
    expect(await admin.type(redisKeys(key).lock)).toBe('hash');
  });
});

describe.each(clientKinds)('redisStore with $name and a broken lock', (kind) => {
  // Long enough that no lock planted here expires during a test, however slow the machine.
  const LOCK_TTL_MS = 60_000;
  let store: TokenStore;

  beforeAll(async () => {
    store = redisStore(await kind.connect());
  });

  /** Locks found in the lock key that no holder could have left: a holder sets and extends it to at most the lock TTL. */
  const brokenLocks: [string, Plant][] = [
    ['a string with no time to live', (name) => admin.set(name, 'stale-id')],
    ['a string living far longer than the lock TTL', (name) => admin.set(name, 'stale-id', 'PX', 100 * LOCK_TTL_MS)],
    ['a string living twice the lock TTL', (name) => admin.set(name, 'stale-id', 'PX', 2 * LOCK_TTL_MS)],
    ['a LIST', (name) => admin.rpush(name, 'stale-id')],
    [
      'a HASH with a time to live shorter than the lock TTL',
      (name) =>
        admin
          .multi()
          .hset(name, 'a', 'b')
          .pexpire(name, LOCK_TTL_MS / 2)
          .exec(),
    ],
  ];

  it.each(brokenLocks)(
    'takes a lock key holding %s at once, with its own id and the lock TTL',
    async (_what, plant) => {
      const key = freshKey();
      const { lock } = redisKeys(key);
      await plant(lock);
      const id = await store.lock!(key, LOCK_TTL_MS);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await admin.get(lock)).toBe(id);
      const pttl = await admin.pttl(lock);
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(LOCK_TTL_MS);
    },
  );

  it.each([
    ['the lock TTL', LOCK_TTL_MS],
    ['less than the lock TTL', LOCK_TTL_MS / 4],
  ])('honours a lock held by another id for %s', async (_what, pxMs) => {
    const key = freshKey();
    const { lock } = redisKeys(key);
    await admin.set(lock, 'other-holder', 'PX', pxMs);
    await expect(store.lock!(key, LOCK_TTL_MS)).resolves.toBeUndefined();
    expect(await admin.get(lock)).toBe('other-holder');
  });

  it('honours a lock its holder extended', async () => {
    const key = freshKey();
    const id = await store.lock!(key, LOCK_TTL_MS);
    await expect(store.extendLock!(key, id!, LOCK_TTL_MS)).resolves.toBe(true);
    await expect(store.lock!(key, LOCK_TTL_MS)).resolves.toBeUndefined();
    expect(await admin.get(redisKeys(key).lock)).toBe(id);
  });

  it('gives a broken lock to one caller only', async () => {
    const key = freshKey();
    await admin.set(redisKeys(key).lock, 'stale-id');
    const ids = await Promise.all(Array.from({ length: 20 }, () => store.lock!(key, LOCK_TTL_MS)));
    expect(ids.filter((id) => id !== undefined)).toHaveLength(1);
  });
});

// A provider fleet in one process: two providers on one Redis, one through an ioredis client and one through a
// node-redis client, against a loopback token endpoint.

const credentials = { clientId: 'hostile-client', clientSecret: 'a-client-secret-for-hostile-redis' };

interface Fleet {
  auth: AuthServer;
  /** The prefix both stores write under: every key of this fleet starts with it. */
  prefix: string;
  stores: [TokenStore, TokenStore];
  /** A new provider on store `i` (a new provider has nothing cached: it reads the store). */
  provider(i: 0 | 1): ClientCredentialsProvider;
  /** `store` error events emitted by every provider made so far. */
  storeErrors: ErrorEvent[];
}

async function fleet(options: { timeoutMs?: number; retry?: false } = {}): Promise<Fleet> {
  const auth = await startAuthServer();
  const prefix = `${freshKey()}:`;
  const stores: [TokenStore, TokenStore] = [
    redisStore(await ioredisKind.connect(), { prefix }),
    redisStore(await nodeRedisKind.connect(), { prefix }),
  ];
  const storeErrors: ErrorEvent[] = [];
  return {
    auth,
    prefix,
    stores,
    storeErrors,
    provider: (i) => {
      const provider = new ClientCredentialsProvider({
        tokenUrl: auth.tokenUrl,
        ...credentials,
        store: stores[i],
        ...options,
      });
      provider.on('error', (event) => {
        if (event.phase === 'store') storeErrors.push(event);
      });
      return provider;
    },
  };
}

/** Resolves once `check` holds, checking every few ms. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 2));
}

/**
 * The Redis keys of the fleet's logical key, learnt from a first provider that fetched and shared a token.
 * Resolves once that provider has stored its token and released its lock.
 */
async function sharedKeys(f: Fleet): Promise<RedisStoreKeys> {
  await f.provider(0).getToken();
  let names: string[] = [];
  await until(async () => (names = await admin.keys(`${f.prefix}*:token`)).length > 0);
  expect(names).toHaveLength(1);
  const token = names[0]!;
  const lock = token.replace(/:token$/, ':lock');
  await until(async () => (await admin.exists(lock)) === 0);
  return { token, lock };
}

/** What a lock key holds: `none`, `a lock id` (a provider's random id), or what else is there. */
async function lockState(name: string): Promise<string> {
  // One MULTI, so a lock released between the two reads cannot be seen half-way.
  const [[, type], [, value]] = (await admin.multi().type(name).get(name).exec()) as [
    [unknown, string],
    [unknown, string | null],
  ];
  if (type !== 'string') return type;
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value!) ? 'a lock id' : value!;
}

describe('providers on ioredis and node-redis sharing a Redis whose token key holds something else', () => {
  const ROUNDS = 3;

  it.each([
    ['a LIST', (name: string) => admin.rpush(name, 'a', 'b')],
    ['a HASH', (name: string) => admin.hset(name, 'field', 'value')],
    ['a string that is no token', (name: string) => admin.set(name, 'not-a-sealed-token')],
  ])(
    'still share one token when it holds %s, with no store error, and leave a token in the key',
    async (_what, plant) => {
      const f = await fleet();
      const { token } = await sharedKeys(f);
      await admin.del(token);
      await plant(token);
      const grantsBefore = f.auth.tokenRequests.length;

      for (let round = 0; round < ROUNDS; round++) {
        const [a, b] = await Promise.all([f.provider(0).getToken(), f.provider(1).getToken()]);
        expect(a.accessToken).toBe(b.accessToken);
      }

      expect(f.auth.tokenRequests.length - grantsBefore).toBe(1); // as in a clean Redis: one grant for every round
      expect(f.storeErrors).toEqual([]);
      expect(await admin.type(token)).toBe('string');
      expect(await admin.pttl(token)).toBeGreaterThan(0);
    },
  );

  it('invalidates a token without a store error when the token key holds a LIST', async () => {
    const f = await fleet();
    const { token: tokenKey } = await sharedKeys(f);
    const provider = f.provider(1);
    const token = await provider.getToken();
    await admin.del(tokenKey);
    await admin.rpush(tokenKey, 'a');
    const store = f.stores[1];
    const deleteOf = store.delete.bind(store);
    const deleted = new Promise<unknown>((resolve) => {
      store.delete = (key, value) => {
        const result = deleteOf(key, value);
        resolve(result.catch((error: unknown) => error));
        return result;
      };
    });
    expect(provider.invalidate(token)).toBe(true);
    expect(await deleted).toBe(false);
    await new Promise(setImmediate); // the provider has handled the answer
    expect(f.storeErrors).toEqual([]);
    expect(await admin.type(tokenKey)).toBe('list');
  });
});

describe('providers on ioredis and node-redis sharing a Redis whose lock key is broken', () => {
  it.each([
    ['a string with no time to live', (name: string) => admin.set(name, 'stale-id')],
    ['a string living an hour', (name: string) => admin.set(name, 'stale-id', 'PX', 3_600_000)],
    ['a LIST', (name: string) => admin.rpush(name, 'stale-id')],
  ])('take a lock key holding %s on their first try and share one token', async (_what, plant) => {
    // A shorter request timeout and no retries only shorten how long a provider would wait on a lock it honours
    // (the longest token request cycle plus the lock TTL), so that without the fix this test fails within the test
    // timeout; with it, nobody waits.
    const f = await fleet({ timeoutMs: 5_000, retry: false });
    const { token, lock } = await sharedKeys(f);
    await admin.del(token);
    await plant(lock);
    const grantsBefore = f.auth.tokenRequests.length;
    // Each store serves one provider here: record each provider's first try at the lock.
    const firstTries: Promise<string | undefined>[] = [];
    for (const store of f.stores) {
      const lockOf = store.lock!.bind(store);
      let tried = false;
      store.lock = (key, ttlMs) => {
        const result = lockOf(key, ttlMs);
        if (!tried) firstTries.push(result);
        tried = true;
        return result;
      };
    }

    const [a, b] = await Promise.all([f.provider(0).getToken(), f.provider(1).getToken()]);

    expect(a.accessToken).toBe(b.accessToken);
    expect(f.auth.tokenRequests.length - grantsBefore).toBe(1);
    // A first try took the broken lock (the two tries reach Redis in either order): nobody waited on it.
    expect((await Promise.all(firstTries)).filter((id) => id !== undefined)).not.toHaveLength(0);
    expect(['none', 'a lock id']).toContain(await lockState(lock)); // held or released by the provider that took it
    expect(f.storeErrors).toEqual([]);
  });
});
