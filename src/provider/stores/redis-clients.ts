/**
 * The two Redis clients the store accepts, told apart by shape and wrapped in one small adapter: the
 * commands the store sends, and a subscriber connection of its own for waiting processes. Neither
 * `ioredis` nor `redis` is imported, at run time or for types.
 */
import type { OpenSubscription, Subscription, SubscriptionEvents } from './redis-notifier.js';

/**
 * The few methods of an `ioredis` client the store uses. `new Redis(...)` and
 * `new Redis.Cluster(...)` (ioredis 5+) both fit.
 *
 * Declared structurally rather than imported from `ioredis`, so that this
 * package's type declarations resolve whether or not `ioredis` is installed.
 */
export interface IoredisClientLike {
  /** `GET key`: reads the shared token. */
  get(key: string): Promise<string | null>;
  /**
   * `EVAL script numkeys key… arg…`: runs one of the store's Lua scripts
   * (store, compare-and-delete, take, extend and release the lock), always
   * with one key.
   */
  eval(script: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

/**
 * The few methods of a `redis` (node-redis 4+) client the store uses.
 * `createClient(...)` and `createCluster(...)` both fit.
 *
 * Declared structurally rather than imported from `redis`, so that this
 * package's type declarations resolve whether or not `redis` is installed.
 */
export interface NodeRedisClientLike {
  /** `GET key`: reads the shared token. */
  get(key: string): Promise<string | null>;
  /**
   * `EVAL script numkeys key… arg…`: runs one of the store's Lua scripts
   * (store, compare-and-delete, take, extend and release the lock), always
   * with one key.
   */
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** A Redis client {@link redisStore} accepts: ioredis (`Redis`, `Cluster`) or node-redis 4+ (`createClient`, `createCluster`). */
export type RedisClientLike = IoredisClientLike | NodeRedisClientLike;

/** What the store needs of a client, the same for both. */
export interface RedisAdapter {
  get(key: string): Promise<string | null>;
  /**
   * `EVAL script 1 key arg…`. Plain EVAL rather than EVALSHA: the scripts are a
   * few hundred bytes, and a server that restarted (or a cluster node that never
   * saw them) answers in one round trip instead of NOSCRIPT and a retry.
   */
  evalScript(script: string, key: string, ...args: string[]): Promise<unknown>;
  /** Opens a connection of the store's own for SUBSCRIBE, or `undefined` when the client cannot make one (no `duplicate`). */
  openSubscription: OpenSubscription | undefined;
}

type Listener = (...args: never[]) => void;

/** What the store uses of an ioredis `Redis` or `Cluster` made by `duplicate()`. */
interface IoredisSubscriber {
  readonly status?: string;
  readonly stream?: { unref?(): void };
  on(event: string, listener: Listener): unknown;
  once(event: string, listener: Listener): unknown;
  connect?(): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  disconnect(): void;
}

/** What the store uses of a node-redis client or cluster made by `duplicate()`. */
interface NodeRedisSubscriber {
  on(event: string, listener: Listener): unknown;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown>;
  unref?(): void;
  /** node-redis 5+. */
  destroy?(): unknown;
  /** node-redis 4 (deprecated in 5). */
  disconnect?(): Promise<unknown>;
}

const ignore = (): void => {};

/** `client.duplicate(...overrides)` bound to `client`, if it has one. */
function duplicateOf<T>(client: object, ...overrides: unknown[]): (() => T) | undefined {
  const duplicate = (client as { duplicate?: unknown }).duplicate;
  return typeof duplicate === 'function' ? () => duplicate.call(client, ...overrides) as T : undefined;
}

function isNodeRedis(client: unknown): client is NodeRedisClientLike {
  // node-redis (client and cluster) has camelCase command methods such as `evalSha`, and no `call`.
  if (typeof client !== 'object' || client === null) return false;
  const c = client as Record<string, unknown>;
  return typeof c['evalSha'] === 'function' && typeof c['eval'] === 'function' && typeof c['call'] !== 'function';
}

function isIoredis(client: unknown): client is IoredisClientLike {
  // ioredis (Redis and Cluster) has `call` and lowercase command methods only.
  if (typeof client !== 'object' || client === null) return false;
  const c = client as Record<string, unknown>;
  return typeof c['call'] === 'function' && typeof c['evalsha'] === 'function' && typeof c['eval'] === 'function';
}

/**
 * An ioredis subscriber: `duplicate()` (same options, its own connection), its socket unref'd once
 * connected. A lazy client's copy is connected here; SUBSCRIBE waits for `ready`, so it works without
 * the offline queue too. Every `error` and `close` reports the connection lost (the first one counts);
 * after `close()`, nothing is reported.
 */
function ioredisSubscription(duplicate: () => IoredisSubscriber): OpenSubscription {
  return (events: SubscriptionEvents): Subscription => {
    const sub = duplicate();
    let closed = false;
    const lost = (): void => {
      if (!closed) events.lost();
    };
    sub.on('error', lost);
    sub.on('close', lost);
    sub.on('connect', () => sub.stream?.unref?.());
    sub.on('message', (channel: string, message: string) => {
      if (!closed) events.message(channel, message);
    });
    const ready =
      sub.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => void sub.once('ready', resolve));
    if (sub.status === 'wait') sub.connect?.().catch(ignore);
    return {
      subscribe: async (channel) => {
        await ready;
        await sub.subscribe(channel);
      },
      close: () => {
        closed = true;
        try {
          sub.disconnect();
        } catch {
          // Already closed.
        }
      },
    };
  };
}

/**
 * A node-redis subscriber: `duplicate()` (same options), unref'd where the client can be (not a cluster),
 * then `connect()`. Every `error` and `end` reports the connection lost (the first one counts); after
 * `close()`, nothing is reported.
 *
 * `close()` acts at once: node-redis decides to reconnect right after emitting `error`, so a connection
 * closed later (even a microtask later) may come back subscribed, with nobody to close it. A copy that
 * becomes ready after `close()` all the same is closed again.
 */
function nodeRedisSubscription(duplicate: () => NodeRedisSubscriber): OpenSubscription {
  return (events: SubscriptionEvents): Subscription => {
    const sub = duplicate();
    let closed = false;
    const lost = (): void => {
      if (!closed) events.lost();
    };
    const destroy = (): void => {
      try {
        Promise.resolve(sub.destroy ? sub.destroy() : sub.disconnect?.()).catch(ignore);
      } catch {
        // Already closed.
      }
    };
    sub.on('error', lost);
    sub.on('end', lost);
    sub.on('ready', () => {
      if (closed) destroy();
    });
    sub.unref?.();
    const connected = sub.connect();
    connected.catch(lost);
    const listener = (message: string, channel: string): void => {
      if (!closed) events.message(channel, message);
    };
    return {
      subscribe: async (channel) => {
        await connected;
        await sub.subscribe(channel, listener);
      },
      close: () => {
        closed = true;
        destroy();
      },
    };
  };
}

function ioredisAdapter(client: IoredisClientLike): RedisAdapter {
  const duplicate = duplicateOf<IoredisSubscriber>(client);
  return {
    get: (key) => client.get(key),
    evalScript: (script, key, ...args) => client.eval(script, 1, key, ...args),
    openSubscription: duplicate && ioredisSubscription(duplicate),
  };
}

function nodeRedisAdapter(client: NodeRedisClientLike): RedisAdapter {
  // A cluster's copy would connect to every master at once; it only needs the one it subscribes through.
  const isCluster = typeof (client as { getSlotMaster?: unknown }).getSlotMaster === 'function';
  const duplicate = duplicateOf<NodeRedisSubscriber>(client, ...(isCluster ? [{ minimizeConnections: true }] : []));
  return {
    get: (key) => client.get(key),
    evalScript: (script, key, ...args) => client.eval(script, { keys: [key], arguments: args }),
    openSubscription: duplicate && nodeRedisSubscription(duplicate),
  };
}

/** The adapter for `client`, or `undefined` when it is neither client. */
export function adapterFor(client: unknown): RedisAdapter | undefined {
  if (isNodeRedis(client)) return nodeRedisAdapter(client);
  if (isIoredis(client)) return ioredisAdapter(client);
  return undefined;
}
