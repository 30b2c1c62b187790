import Redis, { Cluster } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { redisKeys, redisStore, type RedisClientLike, type RedisStoreOptions } from '../src/provider/stores/redis.js';
import type { TokenStore } from '../src/provider/token-store.js';
import { ConfigurationError } from '../src/errors.js';
import { busyFor, commandOnTheWire } from './helpers/event-loop.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

interface Connected {
  client: RedisClientLike;
  /** Resolves when the client is connected and ready for commands again (after a server restart). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface ClientKind {
  name: string;
  cluster: boolean;
  connect(server: RedisServer): Promise<Connected>;
}

const ignore = () => {};

const clientKinds: ClientKind[] = [
  {
    name: 'ioredis',
    cluster: false,
    connect: async (server) => {
      const client = new Redis({ ...server.ioredisOptions, retryStrategy: () => 20 });
      client.on('error', ignore);
      await new Promise((resolve) => client.once('ready', resolve));
      return {
        client,
        ready: () =>
          client.status === 'ready'
            ? Promise.resolve()
            : new Promise((resolve) => client.once('ready', () => resolve())),
        close: async () => void client.disconnect(),
      };
    },
  },
  {
    name: 'node-redis',
    cluster: false,
    connect: async (server) => {
      const client = createClient({
        ...server.nodeRedisOptions,
        socket: { ...server.nodeRedisOptions.socket, reconnectStrategy: () => 20 },
      });
      client.on('error', ignore);
      await client.connect();
      return {
        client,
        ready: () =>
          client.isReady ? Promise.resolve() : new Promise((resolve) => client.once('ready', () => resolve())),
        close: async () => void (await client.disconnect()),
      };
    },
  },
  {
    name: 'ioredis Cluster',
    cluster: true,
    connect: async (server) => {
      const client = new Cluster([{ host: '127.0.0.1', port: server.port! }]);
      client.on('error', ignore);
      await new Promise((resolve) => client.once('ready', resolve));
      return { client, ready: () => Promise.resolve(), close: async () => void client.disconnect() };
    },
  },
  {
    name: 'node-redis cluster',
    cluster: true,
    connect: async (server) => {
      const client = createCluster({ rootNodes: [{ socket: { host: '127.0.0.1', port: server.port! } }] });
      client.on('error', ignore);
      await client.connect();
      return { client, ready: () => Promise.resolve(), close: async () => void (await client.disconnect()) };
    },
  },
];

/** CRC16/XMODEM of a key's hash tag (or whole name) mod 16384: Redis Cluster's HASH_SLOT. */
function hashSlot(keyName: string): number {
  let hashed = keyName;
  const open = keyName.indexOf('{');
  if (open >= 0) {
    const close = keyName.indexOf('}', open + 1);
    if (close > open + 1) hashed = keyName.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** Resolves with the elapsed ms once `check` holds, checking every few ms (the signal here is Redis's own expiry). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 2));
}

let single: RedisServer;
let cluster: RedisServer;
const open: Connected[] = [];
let counter = 0;
/** A logical key no other test uses. */
const freshKey = () => `test-key-${++counter}`;

beforeAll(async () => {
  [single, cluster] = await Promise.all([startRedisServer(), startRedisServer({ cluster: true })]);
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await Promise.all([single?.close(), cluster?.close()]);
});

async function connect(kind: ClientKind, server?: RedisServer): Promise<Connected> {
  const connected = await kind.connect(server ?? (kind.cluster ? cluster : single));
  open.push(connected);
  return connected;
}

describe.each(clientKinds)('redisStore with $name', (kind) => {
  let store: TokenStore;
  let server: RedisServer;

  beforeAll(async () => {
    server = kind.cluster ? cluster : single;
    store = redisStore((await connect(kind)).client);
  });

  it('reads back a stored value', async () => {
    const key = freshKey();
    await store.set(key, 'sealed-token', 60_000);
    await expect(store.get(key)).resolves.toBe('sealed-token');
  });

  it('resolves to undefined for a key that was never stored', async () => {
    await expect(store.get(freshKey())).resolves.toBeUndefined();
  });

  it('replaces a stored value on set', async () => {
    const key = freshKey();
    await store.set(key, 'first', 60_000);
    await store.set(key, 'second', 60_000);
    await expect(store.get(key)).resolves.toBe('second');
  });

  it('stores the value with a millisecond time to live', async () => {
    const key = freshKey();
    await store.set(key, 'v', 5_000);
    const pttl = Number((await server.command('PTTL', redisKeys(key).token)).slice(1));
    expect(pttl).toBeGreaterThan(4_000);
    expect(pttl).toBeLessThanOrEqual(5_000);
  });

  it('forgets a value once its time to live has passed, not before', async () => {
    const key = freshKey();
    const before = Date.now();
    await store.set(key, 'short-lived', 80);
    await expect(store.get(key)).resolves.toBe('short-lived');
    await until(async () => (await store.get(key)) === undefined);
    expect(Date.now() - before).toBeGreaterThanOrEqual(79);
  });

  it('accepts a fractional time to live by rounding it up', async () => {
    const key = freshKey();
    await store.set(key, 'v', 1_000.4);
    await expect(store.get(key)).resolves.toBe('v');
  });

  it('compare-and-delete deletes a value that still matches and says so', async () => {
    const key = freshKey();
    await store.set(key, 'failed-token', 60_000);
    await expect(store.delete(key, 'failed-token')).resolves.toBe(true);
    await expect(store.get(key)).resolves.toBeUndefined();
  });

  it('compare-and-delete leaves a newer value in place and says so', async () => {
    const key = freshKey();
    await store.set(key, 'newer-token', 60_000);
    await expect(store.delete(key, 'failed-token')).resolves.toBe(false);
    await expect(store.get(key)).resolves.toBe('newer-token');
  });

  it('compare-and-delete of a missing key resolves to false', async () => {
    await expect(store.delete(freshKey(), 'anything')).resolves.toBe(false);
  });

  it('compare-and-delete still works after the server forgot its scripts', async () => {
    const key = freshKey();
    await store.set(key, 'v', 60_000);
    await expect(store.delete(key, 'other')).resolves.toBe(false); // loads the script
    expect(await server.command('SCRIPT', 'FLUSH')).toBe('+OK\r\n');
    await expect(store.delete(key, 'v')).resolves.toBe(true);
  });

  it('gives the lock to one caller at a time', async () => {
    const key = freshKey();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.lock!(key, 60_000)));
    const ids = results.filter((id): id is string => id !== undefined);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('hands out a different lock id each time', async () => {
    const [a, b] = [freshKey(), freshKey()];
    const ids = await Promise.all([store.lock!(a, 60_000), store.lock!(b, 60_000)]);
    expect(ids[0]).toBeDefined();
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('releases a lock by expiry when its holder never unlocks', async () => {
    const key = freshKey();
    const before = Date.now();
    await expect(store.lock!(key, 80)).resolves.toBeDefined();
    await expect(store.lock!(key, 80)).resolves.toBeUndefined();
    let next: string | undefined;
    await until(async () => (next = await store.lock!(key, 60_000)) !== undefined);
    expect(Date.now() - before).toBeGreaterThanOrEqual(79);
    expect(next).toBeDefined();
  });

  it('extends a lock for its holder only', async () => {
    const key = freshKey();
    const id = await store.lock!(key, 100);
    await expect(store.extendLock!(key, 'not-the-holder', 60_000)).resolves.toBe(false);
    await expect(store.extendLock!(key, id!, 60_000)).resolves.toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    await expect(store.lock!(key, 60_000)).resolves.toBeUndefined();
    await store.unlock!(key, id!);
    await expect(store.extendLock!(key, id!, 60_000)).resolves.toBe(false);
  });

  it('releases a lock on unlock by its holder', async () => {
    const key = freshKey();
    const id = await store.lock!(key, 60_000);
    await store.unlock!(key, id!);
    await expect(store.lock!(key, 60_000)).resolves.toBeDefined();
  });

  it('keeps a lock when someone else unlocks with another id', async () => {
    const key = freshKey();
    const id = await store.lock!(key, 60_000);
    await store.unlock!(key, 'not-the-holder');
    await expect(store.lock!(key, 60_000)).resolves.toBeUndefined();
    await store.unlock!(key, id!);
  });

  it('keeps the lock apart from the token under the same logical key', async () => {
    const key = freshKey();
    await store.set(key, 'token', 60_000);
    const id = await store.lock!(key, 60_000);
    expect(id).toBeDefined();
    await expect(store.get(key)).resolves.toBe('token');
    await expect(store.delete(key, id!)).resolves.toBe(false);
  });

  it('writes under the default prefix with a hash tag', async () => {
    const key = freshKey();
    await store.set(key, 'v', 60_000);
    expect(await server.command('EXISTS', `acc:{${key}}:token`)).toBe(':1\r\n');
  });

  it('writes under the given prefix and does not see other prefixes', async () => {
    const key = freshKey();
    const other = redisStore((await connect(kind)).client, { prefix: 'billing:' });
    await other.set(key, 'billing-token', 60_000);
    expect(await server.command('GET', `billing:{${key}}:token`)).toBe('$13\r\nbilling-token\r\n');
    await expect(store.get(key)).resolves.toBeUndefined();
  });

  it('does not mistake a busy process for a slow Redis', async () => {
    const key = freshKey();
    await store.set(key, 'v', 60_000);
    const pending = store.get(key);
    await commandOnTheWire();
    busyFor(300); // past the 200 ms command timeout, while Redis's answer waits in the socket
    await expect(pending).resolves.toBe('v');
  });

  it('advertises its poll interval', () => {
    expect(store.pollIntervalMs).toBe(10);
    expect(redisStore((kind.cluster ? open.at(-1) : open.at(-1))!.client, { pollIntervalMs: 25 }).pollIntervalMs).toBe(
      25,
    );
  });
});

describe('redisStore keys', () => {
  it.each(['5f3a9c', 'https://auth.example.com|client|scope', ''])(
    'puts the token and lock of logical key %p in one hash slot',
    async (key) => {
      const { token, lock } = redisKeys(key, 'acc:');
      expect(hashSlot(token)).toBe(hashSlot(lock));
      const slotOf = async (name: string) => Number((await cluster.command('CLUSTER', 'KEYSLOT', name)).slice(1));
      expect(await slotOf(token)).toBe(hashSlot(token));
      expect(await slotOf(lock)).toBe(await slotOf(token));
    },
  );

  it('names keys with the prefix, a hash tag around the logical key, and a role', () => {
    expect(redisKeys('abc', 'app:')).toEqual({ token: 'app:{abc}:token', lock: 'app:{abc}:lock' });
  });
});

describe('redisStore with either client', () => {
  it('reads through node-redis what ioredis wrote, and the other way round', async () => {
    const [viaIoredis, viaNodeRedis] = [
      redisStore((await connect(clientKinds[0]!)).client),
      redisStore((await connect(clientKinds[1]!)).client),
    ];
    const [a, b] = [freshKey(), freshKey()];
    await viaIoredis.set(a, 'from-ioredis', 60_000);
    await viaNodeRedis.set(b, 'from-node-redis', 60_000);
    await expect(viaNodeRedis.get(a)).resolves.toBe('from-ioredis');
    await expect(viaIoredis.get(b)).resolves.toBe('from-node-redis');
  });

  it('shares one lock between the two clients', async () => {
    const [viaIoredis, viaNodeRedis] = [
      redisStore((await connect(clientKinds[0]!)).client),
      redisStore((await connect(clientKinds[1]!)).client),
    ];
    const key = freshKey();
    const id = await viaIoredis.lock!(key, 60_000);
    await expect(viaNodeRedis.lock!(key, 60_000)).resolves.toBeUndefined();
    await viaNodeRedis.unlock!(key, id!);
    await expect(viaNodeRedis.lock!(key, 60_000)).resolves.toBeDefined();
  });

  it.each([
    ['an empty object', {}],
    ['null', null],
    ['undefined', undefined],
  ])('throws a ConfigurationError for %s instead of a Redis client', (_name, client) => {
    expect(() => redisStore(client as unknown as RedisClientLike)).toThrow(ConfigurationError);
  });

  it.each([
    ['null options', null],
    ['a non-string prefix', { prefix: 5 }],
    ['a negative poll interval', { pollIntervalMs: -5 }],
    ['a non-numeric command timeout', { commandTimeoutMs: 'x' }],
  ])('throws a ConfigurationError for %s', (_name, options) => {
    const client = new Redis({ lazyConnect: true });
    expect(() => redisStore(client, options as unknown as RedisStoreOptions)).toThrow(ConfigurationError);
    client.disconnect();
  });

  it('rejects, rather than connecting, while a node-redis client is not connected', async () => {
    const client = createClient({ socket: { path: single.path! } });
    const store = redisStore(client);
    await expect(store.get('k')).rejects.toThrow(/closed/i);
    await expect(store.lock!('k', 1_000)).rejects.toThrow(/closed/i);
    expect(client.isOpen).toBe(false);
  });
});

describe.each(clientKinds.filter((kind) => !kind.cluster))('redisStore with $name while Redis is down', (kind) => {
  let server: RedisServer;
  let connected: Connected;
  let store: TokenStore;
  const options: RedisStoreOptions = { commandTimeoutMs: 200 };

  beforeAll(async () => {
    server = await startRedisServer();
    connected = await kind.connect(server);
    store = redisStore(connected.client, options);
  });

  afterAll(async () => {
    await connected?.close();
    await server?.close();
  });

  it('rejects every call within its command timeout while Redis is down', async () => {
    const key = freshKey();
    await store.set(key, 'before', 60_000);
    await server.stop({ kill: true });
    for (const call of [
      () => store.get(key),
      () => store.set(key, 'during', 60_000),
      () => store.delete(key, 'before'),
      () => store.lock!(key, 60_000),
      () => store.unlock!(key, 'id'),
    ]) {
      const started = Date.now();
      await expect(call()).rejects.toThrow(); // our timeout, or the client's own give-up
      expect(Date.now() - started).toBeLessThan(1_000);
    }
    await server.start();
    await connected.ready();
  });

  it('works again once Redis is back, with no lock left over from a lock call it gave up on', async () => {
    const key = freshKey();
    await server.stop({ kill: true });
    await expect(store.lock!(key, 60_000)).rejects.toThrow(); // queued by the client, sent once Redis is back
    await server.start();
    await connected.ready();
    await store.set(key, 'after', 60_000);
    await expect(store.get(key)).resolves.toBe('after');
    await expect(store.lock!(key, 60_000)).resolves.toBeDefined();
  });

  it('takes back a value whose set it gave up on, once Redis is back', async () => {
    const key = freshKey();
    await server.stop({ kill: true });
    await expect(store.set(key, 'late', 60_000)).rejects.toThrow(); // queued by the client, sent once Redis is back
    await server.start();
    await connected.ready();
    await store.set(freshKey(), 'v', 60_000); // a round trip after the replayed SET and its clean-up
    await expect(store.get(key)).resolves.toBeUndefined();
  });
});
