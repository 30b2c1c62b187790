// redisStore's waitForChange (issue 10, item 8): a process waiting for another process's token is woken by a
// message published with the token (the value itself) or the lock's release (a marker), received on a subscriber connection of the
// store's own; it falls back to polling whenever that connection is not there, and it never keeps a finished
// process alive. Real redis-servers (one single, one cluster), both clients.
import Redis, { Cluster } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { redisStore, type RedisClientLike, type RedisStoreOptions } from '../src/provider/stores/redis.js';
import type { TokenStore } from '../src/provider/token-store.js';
import { ConfigurationError } from '../src/errors.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';
import { runScript } from './helpers/run-script.js';

jest.setTimeout(60_000);

/** Every wait here is given this long: a wait that ends sooner was ended by something else than its timeout. */
const WAIT_MS = 15_000;
/**
 * Waiting stores poll this rarely, so a wait that ends sooner was not ended by polling. Their subscribers close
 * by themselves once idle (5 s by default), so the suite ends with none open (a cluster client's cannot be
 * unref'd); no test here pauses that long between two steps.
 */
const NEVER_POLL = { pollIntervalMs: 60_000 } satisfies RedisStoreOptions;

const ignore = () => {};

interface ClientKind {
  name: string;
  cluster: boolean;
  connect(server: RedisServer, options?: { username?: string }): Promise<RedisClientLike>;
}

let single: RedisServer;
let cluster: RedisServer;
const closers: (() => Promise<unknown>)[] = [];

const clientKinds: ClientKind[] = [
  {
    name: 'ioredis',
    cluster: false,
    connect: async (server, { username } = {}) => {
      const client = new Redis({ ...server.ioredisOptions, ...(username ? { username, password: 'any' } : {}) });
      client.on('error', ignore);
      await new Promise((resolve) => client.once('ready', resolve));
      closers.push(async () => client.disconnect());
      return client;
    },
  },
  {
    name: 'node-redis',
    cluster: false,
    connect: async (server, { username } = {}) => {
      const client = createClient({ ...server.nodeRedisOptions, ...(username ? { username, password: 'any' } : {}) });
      client.on('error', ignore);
      await client.connect();
      closers.push(() => client.disconnect());
      return client;
    },
  },
  {
    name: 'ioredis Cluster',
    cluster: true,
    connect: async (server) => {
      const client = new Cluster([{ host: '127.0.0.1', port: server.port! }]);
      client.on('error', ignore);
      await new Promise((resolve) => client.once('ready', resolve));
      closers.push(async () => client.disconnect());
      return client;
    },
  },
  {
    name: 'node-redis cluster',
    cluster: true,
    connect: async (server) => {
      const client = createCluster({ rootNodes: [{ socket: { host: '127.0.0.1', port: server.port! } }] });
      client.on('error', ignore);
      await client.connect();
      closers.push(() => client.disconnect());
      return client;
    },
  },
];
const ioredisKind = clientKinds[0]!;
const singleKinds = clientKinds.filter((kind) => !kind.cluster);

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);

beforeAll(async () => {
  [single, cluster] = await Promise.all([startRedisServer(), startRedisServer({ cluster: true })]);
  process.on('unhandledRejection', onUnhandled);
});

afterEach(() => {
  // No error of a subscriber connection surfaces as an unhandled rejection.
  expect(unhandled).toEqual([]);
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await Promise.all(closers.map((close) => close().catch(ignore)));
  // Every store's subscriber closes by itself once idle.
  const pubsubClients = async (server: RedisServer) =>
    (await server.command('CLIENT', 'LIST', 'TYPE', 'pubsub')).split('\n').filter((line) => line.includes('id='))
      .length;
  const closed = await Promise.all(
    [single, cluster].map((server) => !server || eventually(async () => (await pubsubClients(server)) === 0)),
  );
  expect(closed).toEqual([true, true]);
  await Promise.all([single?.close(), cluster?.close()]);
});

let counter = 0;
/** A logical key no other test uses. */
const freshKey = () => `notify-${++counter}`;
/** The channel a store with the default prefix announces changes of `key` on. */
const channelOf = (key: string) => `acc:{${key}}:changed`;

/**
 * Resolves to true once `check` holds, checking every few ms (the signal is Redis's own state), or to false
 * after 20 s: a connection that is never closed fails the test instead of keeping the suite alive.
 */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  const giveUpAt = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > giveUpAt) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/** How many connections are subscribed to `channel`, as Redis sees it. */
async function subscribers(server: RedisServer, channel: string): Promise<number> {
  const reply = await server.command('PUBSUB', 'NUMSUB', channel);
  return Number(/:(\d+)\r\n$/.exec(reply)![1]);
}

/**
 * Makes `store`'s subscriber listen for `key`: a read, then a first wait, which opens the connection and
 * ends once it is subscribed (its poll interval being a minute).
 */
async function subscribe(store: TokenStore, server: RedisServer, key: string): Promise<void> {
  await store.get(key);
  const started = Date.now();
  await store.waitForChange!(key, WAIT_MS);
  expect(Date.now() - started).toBeLessThan(WAIT_MS);
  expect(await subscribers(server, channelOf(key))).toBeGreaterThanOrEqual(1);
}

/**
 * {@link subscribe}, counting the subscribers while a second wait keeps the connection needed: with a short
 * `subscriberIdleMs` the connection may close, as it should, before a count made after the last wait ends
 * reaches Redis. A change message then ends the second wait.
 */
async function subscribeWhileWaiting(store: TokenStore, server: RedisServer, key: string): Promise<void> {
  await store.get(key);
  const started = Date.now();
  await store.waitForChange!(key, WAIT_MS); // ends once subscribed
  expect(Date.now() - started).toBeLessThan(WAIT_MS);
  await store.get(key);
  const waiting = store.waitForChange!(key, WAIT_MS);
  expect(await subscribers(server, channelOf(key))).toBeGreaterThanOrEqual(1);
  await server.command('PUBLISH', channelOf(key), 'set');
  await waiting;
}

/** Waits as the provider does after finding the lock held; resolves to how long it took. */
async function timedWait(store: TokenStore, key: string, timeoutMs = WAIT_MS): Promise<number> {
  const started = Date.now();
  await store.waitForChange!(key, timeoutMs);
  return Date.now() - started;
}

describe.each(clientKinds)('redisStore with $name: a waiting process', (kind) => {
  let server: RedisServer;
  /** The process that waits, and the one that holds the lock and stores the token: two connections. */
  let waiter: TokenStore;
  let holder: TokenStore;

  beforeAll(async () => {
    server = kind.cluster ? cluster : single;
    waiter = redisStore(await kind.connect(server), NEVER_POLL);
    holder = redisStore(await kind.connect(server));
  });

  it('is woken by the token stored through another connection, not by its poll interval nor its timeout', async () => {
    const key = freshKey();
    await subscribe(waiter, server, key);
    const lockId = await holder.lock!(key, 60_000);
    expect(lockId).toBeDefined();
    await expect(waiter.get(key)).resolves.toBeUndefined();
    await expect(waiter.lock!(key, 60_000)).resolves.toBeUndefined();
    let woken = false;
    const waited = timedWait(waiter, key).finally(() => (woken = true));
    await holder.get(freshKey()); // a round trip: nothing has woken the waiter yet
    expect(woken).toBe(false);

    await holder.set(key, 'sealed-token', 60_000);

    expect(await waited).toBeLessThan(WAIT_MS);
    await expect(waiter.get(key)).resolves.toBe('sealed-token');
    await holder.unlock!(key, lockId!);
  });

  it('is handed the value stored with the message that wakes it, and no value by a release', async () => {
    const key = freshKey();
    await subscribe(waiter, server, key);
    const lockId = await holder.lock!(key, 60_000);
    await waiter.get(key);
    const released = waiter.waitForChange!(key, WAIT_MS);
    await holder.unlock!(key, lockId!);
    await expect(released).resolves.toBeUndefined();

    await waiter.get(key);
    const stored = waiter.waitForChange!(key, WAIT_MS);
    await holder.set(key, 'sealed-token', 60_000);
    await expect(stored).resolves.toBe('sealed-token');
  });

  it('is handed the value stored between its read and its wait, announced before the wait began', async () => {
    const key = freshKey();
    await subscribe(waiter, server, key);
    const observer = await observe(server, channelOf(key));
    await waiter.get(key);
    await holder.set(key, 'sealed-token', 60_000);
    await observer.message; // announced; the waiter's subscriber read it in the same turn
    await new Promise((resolve) => setImmediate(resolve));
    await expect(waiter.waitForChange!(key, WAIT_MS)).resolves.toBe('sealed-token');
  });

  it('is woken when the lock holder releases the lock without a token, and takes the lock', async () => {
    const key = freshKey();
    await subscribe(waiter, server, key);
    const lockId = await holder.lock!(key, 60_000);
    await expect(waiter.get(key)).resolves.toBeUndefined();
    await expect(waiter.lock!(key, 60_000)).resolves.toBeUndefined();
    const waited = timedWait(waiter, key);

    await holder.unlock!(key, lockId!);

    expect(await waited).toBeLessThan(WAIT_MS);
    await expect(waiter.lock!(key, 60_000)).resolves.toBeDefined();
  });

  it('stops waiting once the lock it found held expires, with no message', async () => {
    const key = freshKey();
    await subscribe(waiter, server, key);
    await expect(holder.lock!(key, 300)).resolves.toBeDefined(); // a holder that dies: nobody unlocks
    await expect(waiter.get(key)).resolves.toBeUndefined();
    await expect(waiter.lock!(key, 300)).resolves.toBeUndefined();

    // As the provider does: wait, read, try the lock, wait again. A wait may end early (the store's contract
    // allows it: its subscriber was re-subscribed, for one), never late: the waiter takes over by the time
    // the dead holder's lock expires, not after the 15 s the wait was given.
    const started = Date.now();
    let lockId: string | undefined;
    do {
      await waiter.waitForChange!(key, WAIT_MS);
      await waiter.get(key);
      lockId = await waiter.lock!(key, 300);
    } while (lockId === undefined && Date.now() - started < WAIT_MS);
    expect(lockId).toBeDefined(); // expired: the waiter takes over
    expect(Date.now() - started).toBeLessThan(WAIT_MS);
  });

  it('does not sleep through a token stored between its read and its wait, announced before the wait began', async () => {
    const key = freshKey();
    await subscribe(waiter, server, key);
    const observer = await observe(server, channelOf(key));
    const lockId = await holder.lock!(key, 60_000);
    await expect(waiter.get(key)).resolves.toBeUndefined(); // the provider's read before it tries the lock

    await holder.set(key, 'sealed-token', 60_000);
    await observer.message; // announced; the waiter's subscriber read it in the same turn
    await new Promise((resolve) => setImmediate(resolve));
    await expect(waiter.lock!(key, 60_000)).resolves.toBeUndefined(); // the holder has not unlocked yet

    expect(await timedWait(waiter, key)).toBeLessThan(WAIT_MS);
    await expect(waiter.get(key)).resolves.toBe('sealed-token');
    await holder.unlock!(key, lockId!);
  });

  it('does not sleep through a token stored while its subscriber connection was still being opened', async () => {
    const key = freshKey();
    const fresh = redisStore(await kind.connect(server), NEVER_POLL);
    const lockId = await holder.lock!(key, 60_000);
    await expect(fresh.get(key)).resolves.toBeUndefined();
    await holder.set(key, 'sealed-token', 60_000); // nobody of this store listens yet
    await expect(fresh.lock!(key, 60_000)).resolves.toBeUndefined();

    expect(await timedWait(fresh, key)).toBeLessThan(WAIT_MS); // ends once subscribed: what came before was not announced

    await expect(fresh.get(key)).resolves.toBe('sealed-token');
    await holder.unlock!(key, lockId!);
  });
});

/** A subscriber of the test's own on `channel` of `server` (a cluster node takes SUBSCRIBE too), for one message. */
async function observe(server: RedisServer, channel: string): Promise<{ message: Promise<string> }> {
  const client = new Redis(server.ioredisOptions);
  client.on('error', ignore);
  closers.push(async () => client.disconnect());
  await client.subscribe(channel);
  const message = new Promise<string>((resolve) =>
    client.once('message', (_channel: string, text: string) => {
      client.disconnect();
      resolve(text);
    }),
  );
  return { message };
}

describe('redisStore subscriberIdleMs', () => {
  it.each([0, -1, Number.NaN, '100'])('must be a positive number of milliseconds, not %p', async (subscriberIdleMs) => {
    const client = await ioredisKind.connect(single);
    expect(() => redisStore(client, { subscriberIdleMs } as unknown as RedisStoreOptions)).toThrow(ConfigurationError);
  });
});

describe('redisStore change messages', () => {
  it.each([
    ['a token is stored', 'the value stored', 'sealed-token-value'],
    ['a lock is released', 'a marker', 'unlock'],
  ])('announce that %s on ${prefix}{${key}}:changed with %s', async (what, _with, message) => {
    const store = redisStore(await ioredisKind.connect(single), { ...NEVER_POLL, prefix: 'notify:' });
    const key = freshKey();
    const observer = await observe(single, `notify:{${key}}:changed`);
    const lockId = await store.lock!(key, 60_000);
    if (what === 'a token is stored') await store.set(key, 'sealed-token-value', 60_000);
    else await store.unlock!(key, lockId!);
    expect(await observer.message).toBe(message);
  });

  it('announce nothing for a lock released by someone else than its holder', async () => {
    const store = redisStore(await ioredisKind.connect(single));
    const key = freshKey();
    const observer = await observe(single, channelOf(key));
    await store.lock!(key, 60_000);
    await store.unlock!(key, 'not-the-holder');
    await store.set(key, 'sealed-token', 60_000);
    expect(await observer.message).toBe('sealed-token'); // the first message on the channel came after the failed unlock
  });
});

/** `client` with its `duplicate` replaced (or hidden, with `undefined`); every other member bound to the client. */
function withDuplicate<T extends object>(client: T, duplicate: (() => unknown) | undefined): T {
  return new Proxy(client, {
    get(target, property) {
      if (property === 'duplicate') return duplicate;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe.each(singleKinds)('redisStore with $name falls back to polling', (kind) => {
  const POLL_MS = 50;

  /** A read, then a wait no message can end: it ends after POLL_MS (not WAIT_MS), again and again. */
  async function expectPolling(store: TokenStore): Promise<void> {
    const key = freshKey();
    for (let i = 0; i < 3; i++) {
      await store.get(key);
      expect(await timedWait(store, key)).toBeLessThan(WAIT_MS);
    }
  }

  /** And the store still shares tokens. */
  async function expectSharing(store: TokenStore): Promise<void> {
    const key = freshKey();
    await store.set(key, 'sealed-token', 60_000);
    await expect(store.get(key)).resolves.toBe('sealed-token');
  }

  it('when the client cannot make a second connection (no duplicate)', async () => {
    const store = redisStore(withDuplicate(await kind.connect(single), undefined), { pollIntervalMs: POLL_MS });
    await expectPolling(store);
    await expectSharing(store);
  });

  it('when duplicate throws', async () => {
    const duplicate = jest.fn(() => {
      throw new Error('no second connection here');
    });
    const store = redisStore(withDuplicate(await kind.connect(single), duplicate), { pollIntervalMs: POLL_MS });
    await expectPolling(store);
    expect(duplicate).toHaveBeenCalled();
    await expectSharing(store);
  });

  it('when the subscriber connection fails, without an unhandled error', async () => {
    const nowhere = '/nonexistent/redis.sock';
    const duplicate = () => {
      if (kind === ioredisKind) return new Redis({ path: nowhere, retryStrategy: () => 20 });
      return createClient({ socket: { path: nowhere, reconnectStrategy: () => 20 } });
    };
    const store = redisStore(withDuplicate(await kind.connect(single), duplicate), { pollIntervalMs: POLL_MS });
    await expectPolling(store);
    await expectSharing(store);
  });

  it('when an ACL denies the channel: waits poll, and set still stores and shares the token', async () => {
    const username = `no-channels-${kind.name}`;
    expect(await single.command('ACL', 'SETUSER', username, 'on', 'nopass', '~*', '+@all', 'resetchannels')).toBe(
      '+OK\r\n',
    );
    const store = redisStore(await kind.connect(single, { username }), { pollIntervalMs: POLL_MS });
    await expectPolling(store);
    await expectSharing(store);
    await expect(store.unlock!(freshKey(), 'id')).resolves.toBeUndefined();
  });

  it('when its subscriber connection is killed while it waits: the waiter wakes at once', async () => {
    const store = redisStore(await kind.connect(single), NEVER_POLL);
    const key = freshKey();
    await subscribe(store, single, key);
    await store.get(key);
    const waited = timedWait(store, key);
    await single.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
    expect(await waited).toBeLessThan(WAIT_MS);
  });

  it('closes a subscriber connection that was killed for good: it does not reconnect by itself', async () => {
    const store = redisStore(await kind.connect(single), NEVER_POLL);
    const key = freshKey();
    await subscribe(store, single, key);
    await single.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
    expect(await eventually(async () => (await subscribers(single, channelOf(key))) === 0)).toBe(true);
    // The client's own reconnection (node-redis retries at once) would have subscribed it again by now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await subscribers(single, channelOf(key))).toBe(0);
  });
});

describe.each(clientKinds)('redisStore with $name: the subscriber connection', (kind) => {
  it('is closed once no wait has needed it for subscriberIdleMs, and opened again by the next wait', async () => {
    const server = kind.cluster ? cluster : single;
    const store = redisStore(await kind.connect(server), { ...NEVER_POLL, subscriberIdleMs: 100 });
    const key = freshKey();
    await subscribeWhileWaiting(store, server, key);
    expect(await eventually(async () => (await subscribers(server, channelOf(key))) === 0)).toBe(true);
    await subscribeWhileWaiting(store, server, key);
  });

  it('is not opened by reads, writes or locks, only by a wait', async () => {
    const server = kind.cluster ? cluster : single;
    const store = redisStore(await kind.connect(server));
    const key = freshKey();
    const id = await store.lock!(key, 60_000);
    await store.set(key, 'v', 60_000);
    await store.get(key);
    await store.unlock!(key, id!);
    expect(await subscribers(server, channelOf(key))).toBe(0);
  });
});

describe('a script whose work is done', () => {
  const run = (kind: string, idleMs: number) =>
    runScript('__tests__/fixtures/exit-after-wait.ts', [], {
      REDIS_CLIENT: kind,
      REDIS_PATH: single.path!,
      REDIS_PORT: String(cluster.port),
      SUBSCRIBER_IDLE_MS: String(idleMs),
    });

  it.each(['ioredis', 'node-redis'])("exits with the subscriber of its %s store still open (unref'd)", async (kind) => {
    // The subscriber would stay open two minutes: exiting at all shows it does not hold the process.
    const result = await run(kind, 120_000);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('subscribed\ndone\n');
    expect(result.code).toBe(0);
  });

  it.each(['ioredis-cluster', 'node-redis-cluster'])(
    'exits on a %s once its subscriber has been idle for subscriberIdleMs',
    async (kind) => {
      const result = await run(kind, 300);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('subscribed\ndone\n');
      expect(result.code).toBe(0);
    },
  );
});

/** Calls of every Redis command since the server started, except INFO itself. */
async function commandCalls(server: RedisServer): Promise<Record<string, number>> {
  const text = await server.command('INFO', 'commandstats');
  const calls: Record<string, number> = {};
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
    if (match[1] !== 'info') calls[match[1]!] = Number(match[2]);
  return calls;
}

/** The commands Redis ran while `action` ran, by name. */
async function commandsDuring(server: RedisServer, action: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await commandCalls(server);
  await action();
  const after = await commandCalls(server);
  return Object.fromEntries(
    Object.entries(after).flatMap(([name, n]) => (n !== (before[name] ?? 0) ? [[name, n - (before[name] ?? 0)]] : [])),
  );
}

describe.each(singleKinds)('redisStore with $name: commands', (kind) => {
  let server: RedisServer;
  let store: TokenStore;
  const key = 'cost';

  beforeAll(async () => {
    // A server of its own, so that only this store's commands are counted.
    server = await startRedisServer();
    store = redisStore(await kind.connect(server), NEVER_POLL);
  });

  afterAll(async () => {
    await eventually(async () => (await subscribers(server, channelOf(key))) === 0);
    await server?.close();
  });

  it('get is one GET and nothing else, with the subscriber open', async () => {
    await subscribe(store, server, key);
    await store.set(key, 'sealed-token', 60_000);
    expect(await commandsDuring(server, () => store.get(key))).toEqual({ get: 1 });
  });

  it('set is one script that stores and publishes', async () => {
    expect(await commandsDuring(server, () => store.set(key, 'sealed-token', 60_000))).toEqual({
      eval: 1,
      set: 1,
      publish: 1,
    });
  });

  it('lock and unlock are one script each', async () => {
    let id: string | undefined;
    expect(await commandsDuring(server, async () => (id = await store.lock!(key, 60_000)))).toEqual({
      eval: 1,
      pttl: 1,
      set: 1,
    });
    expect(await commandsDuring(server, () => store.unlock!(key, id!))).toEqual({
      eval: 1,
      get: 1,
      del: 1,
      publish: 1,
    });
  });
});
