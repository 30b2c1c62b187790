import { randomUUID } from 'node:crypto';
import { ConfigurationError } from '../../errors.js';
import type { TokenStore } from '../token-store.js';
import { adapterFor, type RedisClientLike } from './redis-clients.js';
import { withTimeout } from './redis-deadline.js';
import { ChangeNotifier } from './redis-notifier.js';
import {
  COMPARE_AND_DELETE,
  COMPARE_AND_EXPIRE,
  SET_AND_PUBLISH,
  TAKE_LOCK,
  UNLOCK_AND_PUBLISH,
} from './redis-scripts.js';

export type { IoredisClientLike, NodeRedisClientLike, RedisClientLike } from './redis-clients.js';

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * Prefix of every key the store writes. Give each application (or
   * environment) sharing one Redis its own prefix.
   * @default "acc:"
   */
  prefix?: string;
  /**
   * How often a process waiting for another process's token reads Redis, in
   * ms, while it cannot be notified: until the store's subscriber connection
   * is subscribed, and whenever it cannot be (see {@link redisStore}).
   * @default 10
   */
  pollIntervalMs?: number;
  /**
   * How long the store keeps its subscriber connection open after the last
   * wait that needed it, in ms. Waits are short and rare (a cold start, a
   * refresh another process makes), so the connection exists only around
   * them and is opened again by the next one.
   * @default 5000
   */
  subscriberIdleMs?: number;
  /**
   * Upper bound on any one store call, in ms, after which the call rejects.
   *
   * Both clients queue commands while disconnected and send them once Redis
   * is back (node-redis's offline queue, ioredis's `enableOfflineQueue`), so
   * a call can otherwise hang for as long as the outage lasts. When a `lock`
   * or `set` given up on this way reaches Redis late, the store takes it back
   * at once (compare-and-delete), so an outage leaves behind neither an
   * orphaned lock nor a shared token its provider does not know it shared
   * (and so could not invalidate on a 401). Keep this below the provider's
   * `storeTimeoutMs` (250 ms by default) so the store, which can clean up,
   * gives up first.
   *
   * The deadline is checked after the process has read its sockets once
   * more, so a process that was busy (or not scheduled) past it does not
   * mistake an answer already received for a slow Redis.
   * @default 200
   */
  commandTimeoutMs?: number;
}

/** The Redis keys holding one logical key's token and lock. */
export interface RedisStoreKeys {
  /** Holds the provider's encrypted token, with the token's time to live. */
  token: string;
  /** Holds the random id of the process fetching a token, while it fetches. */
  lock: string;
}

/**
 * The Redis keys used for `key`: `${prefix}{${key}}:token` and
 * `${prefix}{${key}}:lock`. The `{…}` hash tag puts both in the same Redis
 * Cluster hash slot.
 *
 * @example
 * ```ts
 * redisKeys('5f3a…', 'acc:'); // { token: 'acc:{5f3a…}:token', lock: 'acc:{5f3a…}:lock' }
 * ```
 */
export function redisKeys(key: string, prefix = DEFAULT_PREFIX): RedisStoreKeys {
  const tag = hashTag(key);
  return { token: `${prefix}${tag}:token`, lock: `${prefix}${tag}:lock` };
}

/** The `{…}` hash tag of `key`. An empty tag `{}` would not count as one: Redis would hash the whole name. */
function hashTag(key: string): string {
  return key === '' ? '{\u0000}' : `{${key}}`;
}

/** The pub/sub channel announcing that `key`'s token was stored or its lock released: `${prefix}{${key}}:changed`. */
function changeChannel(key: string, prefix: string): string {
  return `${prefix}${hashTag(key)}:changed`;
}

const DEFAULT_PREFIX = 'acc:';
const DEFAULT_POLL_INTERVAL_MS = 10;
const DEFAULT_COMMAND_TIMEOUT_MS = 200;
const DEFAULT_SUBSCRIBER_IDLE_MS = 5000;

/** Whether `error` is Redis's answer to a command on a key holding another type (`WRONGTYPE …`), from either client. */
function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}

/** Redis wants a whole number of milliseconds, at least 1. */
function toPx(ttlMs: number): number {
  if (!Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be a finite number, got ${ttlMs}`);
  return Math.max(1, Math.ceil(ttlMs));
}

const ignore = () => {};

/**
 * A {@link TokenStore} on Redis, so that every process using the same client
 * credentials shares one token: one token request per token lifetime for the
 * whole fleet.
 *
 * - `get` (one GET) and `set` (SET … PX and a PUBLISH, in one Lua script)
 *   hold the provider's encrypted token under `${prefix}{${key}}:token`.
 *   Anything else found there counts as no token: a key of another type (a
 *   LIST, a HASH) reads as absent instead of failing with WRONGTYPE, a string
 *   that is not a token sealed with this provider's key is ignored by the
 *   provider, and the next token stored replaces either.
 * - `delete` is a compare-and-delete in one Lua script, so a 401 only
 *   invalidates the shared token if it is still the one that failed.
 * - `lock` and `unlock` (compare-and-delete) of `${prefix}{${key}}:lock`
 *   give cross-process single-flight; a holder that dies releases by expiry.
 *   `lock` sets a random id with `PX ttl` in one Lua script, and honours a
 *   lock found there only while it is a string whose time to live is no
 *   longer than the `ttl` asked for (holders only ever set or extend it to
 *   that). A lock key without a time to live, with a longer one, or of
 *   another type would otherwise stall every process: it is broken, and
 *   replaced atomically by the caller's lock. Processes sharing a key should
 *   therefore use the same lock TTL (the provider's `lockTtlMs`): one with a
 *   shorter TTL breaks the locks of one with a longer TTL, costing an extra
 *   token request, never a stall.
 * - The compare-and-… scripts (`delete`, `extendLock`, `unlock`) answer
 *   "not the same value" for a key of another type rather than an error.
 * - `waitForChange`: a process waiting for another's token is woken by a
 *   change marker (`set` or `unlock`, never a value) that `set` and `unlock`
 *   publish on `${prefix}{${key}}:changed`, received on a connection of the
 *   store's own (`client.duplicate()`), opened by the first wait, unref'd
 *   where the client allows it (not a cluster), and closed once no wait has
 *   needed it for `subscriberIdleMs`. A wait ends by the time the lock it
 *   found held expires. Until that connection is subscribed, and whenever it
 *   cannot be (no `duplicate`, an ACL that denies SUBSCRIBE or the channel,
 *   a connection error: tried again after a second), waiting is polling
 *   every `pollIntervalMs`, as without it; its errors are never thrown nor
 *   emitted. Classic PUBLISH reaches every node of a Redis Cluster, so this
 *   works the same there. A user whose ACL denies PUBLISH still stores and
 *   unlocks (the publish is allowed to fail); waiting processes then poll.
 *
 * Both keys of one logical key carry the same hash tag, so on Redis Cluster
 * they live in one hash slot.
 *
 * The client is used as given and never connected, quit or configured by the
 * store: connect a node-redis client yourself (`await client.connect()`);
 * until it is open every store call rejects and the provider fetches tokens
 * on its own. ioredis connects by itself. Listen to the client's `error`
 * event as you would anyway. Neither `ioredis` nor `redis` is imported at
 * run time.
 *
 * @param client An ioredis `Redis` or `Cluster`, or a node-redis 4+ client or cluster.
 * @param options See {@link RedisStoreOptions}.
 * @throws TypeError when `client` is neither an ioredis nor a node-redis client.
 * @see https://redis.io/docs/latest/develop/use/patterns/distributed-locks/ (single-instance lock)
 * @see https://redis.io/docs/latest/develop/interact/pubsub/ (pub/sub, and on Redis Cluster)
 *
 * @example ioredis
 * ```ts
 * import Redis from 'ioredis';
 * import { ClientCredentialsProvider } from 'axios-client-credentials';
 * import { redisStore } from 'axios-client-credentials/redis';
 *
 * const provider = new ClientCredentialsProvider({
 *   tokenUrl: 'https://auth.example.com/oauth/token',
 *   clientId: process.env.CLIENT_ID!,
 *   clientSecret: process.env.CLIENT_SECRET!,
 *   store: redisStore(new Redis(process.env.REDIS_URL!), { prefix: 'billing:' }),
 * });
 * ```
 *
 * @example node-redis
 * ```ts
 * import { createClient } from 'redis';
 * import { redisStore } from 'axios-client-credentials/redis';
 *
 * const client = createClient({ url: process.env.REDIS_URL });
 * client.on('error', (error) => log.warn(error));
 * await client.connect();
 * const store = redisStore(client);
 * ```
 */
export function redisStore(client: RedisClientLike, options: RedisStoreOptions = {}): TokenStore {
  const adapter = adapterFor(client);
  if (!adapter) {
    throw new ConfigurationError(
      'redisStore needs an ioredis client (new Redis(url) or a Cluster) or a node-redis 4+ client (createClient({ url })) as its first argument.',
    );
  }
  const { prefix, pollIntervalMs, commandTimeoutMs, subscriberIdleMs } = resolveOptions(options);
  const keys = (key: string) => redisKeys(key, prefix);
  const channel = (key: string) => changeChannel(key, prefix);
  const bounded = <T>(what: string, operation: () => Promise<T>) => withTimeout(operation, commandTimeoutMs, what);
  const notifier = new ChangeNotifier({
    open: adapter.openSubscription,
    channelOf: channel,
    pollIntervalMs,
    idleMs: subscriberIdleMs,
  });
  const unlock = (key: string, lockId: string) =>
    adapter.evalScript(UNLOCK_AND_PUBLISH, keys(key).lock, lockId, channel(key), 'unlock');

  return {
    pollIntervalMs,

    get: (key) => {
      notifier.noteRead(key);
      return bounded('GET', async () => {
        try {
          return (await adapter.get(keys(key).token)) ?? undefined;
        } catch (error) {
          // Something other than a token (a LIST, a HASH) sits in the key: no token, and the next set replaces it.
          // Asking GET and reading its error keeps a read at one command; a TYPE first would double every read.
          if (isWrongType(error)) return undefined;
          throw error;
        }
      });
    },

    set: (key, value, ttlMs) =>
      withTimeout(
        async () => {
          await adapter.evalScript(SET_AND_PUBLISH, keys(key).token, value, String(toPx(ttlMs)), channel(key), 'set');
          return value;
        },
        commandTimeoutMs,
        'SET',
        // Sent late, after the caller was told it failed: the provider does not know this value is
        // shared, so could not take it back on a 401. Take it back now, unless it was replaced since.
        (late) => void adapter.evalScript(COMPARE_AND_DELETE, keys(key).token, late).catch(ignore),
      ).then(() => undefined),

    delete: (key, value) =>
      bounded(
        'compare-and-delete',
        async () => (await adapter.evalScript(COMPARE_AND_DELETE, keys(key).token, value)) === 1,
      ),

    lock: (key, ttlMs) =>
      withTimeout(
        async () => {
          const id = randomUUID();
          const taken = await adapter.evalScript(TAKE_LOCK, keys(key).lock, id, String(toPx(ttlMs)));
          if (taken === 1) return id;
          if (typeof taken === 'number') notifier.noteLockHeld(key, -taken);
          return undefined;
        },
        commandTimeoutMs,
        'lock',
        // The client queued the SET while Redis was unreachable and sent it once back: nobody holds
        // this lock any more, so release it now rather than make every process wait out its TTL.
        (id) => {
          if (id !== undefined) unlock(key, id).catch(ignore);
        },
      ),

    extendLock: (key, lockId, ttlMs) =>
      bounded(
        'extend lock',
        async () => (await adapter.evalScript(COMPARE_AND_EXPIRE, keys(key).lock, lockId, String(toPx(ttlMs)))) === 1,
      ),

    unlock: (key, lockId) =>
      bounded('unlock', async () => {
        await unlock(key, lockId);
      }),

    waitForChange: (key, timeoutMs) => notifier.wait(key, timeoutMs),
  };
}

/** `options` with defaults, checked. */
function resolveOptions(options: RedisStoreOptions): Required<RedisStoreOptions> {
  if (typeof options !== 'object' || options === null)
    throw new ConfigurationError('redisStore options must be an object, e.g. { prefix: "acc:" }, or left out.');
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string') throw new ConfigurationError('redisStore prefix must be a string, e.g. "acc:".');
  const positive = (value: unknown, name: string, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new ConfigurationError(
        `redisStore ${name} must be a positive number of milliseconds (got ${String(value)}).`,
      );
    return value;
  };
  return {
    prefix,
    pollIntervalMs: positive(options.pollIntervalMs, 'pollIntervalMs', DEFAULT_POLL_INTERVAL_MS),
    commandTimeoutMs: positive(options.commandTimeoutMs, 'commandTimeoutMs', DEFAULT_COMMAND_TIMEOUT_MS),
    subscriberIdleMs: positive(options.subscriberIdleMs, 'subscriberIdleMs', DEFAULT_SUBSCRIBER_IDLE_MS),
  };
}
