/**
 * The Redis token store, for processes that share one token through Redis:
 * `import { redisStore } from 'axios-client-credentials/redis'`. It works with
 * the ioredis or node-redis client you give it, and imports neither.
 *
 * @module axios-client-credentials/redis
 */
import { ConfigurationError } from '../../errors.js';
import type { TokenStore } from '../token-store.js';
import { adapterFor, type RedisClientLike } from './redis-clients.js';
import { withTimeout } from './redis-deadline.js';
import { redisLockMethods } from './redis-lock.js';
import { ChangeNotifier } from './redis-notifier.js';
import { DEFAULT_PREFIX, resolveOptions, type RedisStoreOptions } from './redis-options.js';
import { COMPARE_AND_DELETE, SET_AND_PUBLISH, toPx } from './redis-scripts.js';

export type { IoredisClientLike, NodeRedisClientLike, RedisClientLike } from './redis-clients.js';
export type { RedisStoreOptions } from './redis-options.js';

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

/** Whether `error` is Redis's answer to a command on a key holding another type (`WRONGTYPE …`), from either client. */
function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
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
 *   message that `set` (the value stored, which the wait resolves with) and
 *   `unlock` (a marker) publish on `${prefix}{${key}}:changed`, received on a connection of the
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
 * @throws ConfigurationError when `client` is neither an ioredis nor a node-redis client, or an option is invalid.
 * @see https://redis.io/docs/latest/develop/use/patterns/distributed-locks/ (single-instance lock)
 * @see https://redis.io/docs/latest/develop/interact/pubsub/ (pub/sub, and on Redis Cluster)
 *
 * @example ioredis
 * ```ts
 * import { Redis } from 'ioredis';
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
          await adapter.evalScript(SET_AND_PUBLISH, keys(key).token, value, String(toPx(ttlMs)), channel(key));
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

    ...redisLockMethods({ adapter, lockKey: (key) => keys(key).lock, channel, notifier, commandTimeoutMs }),

    waitForChange: (key, timeoutMs) => notifier.wait(key, timeoutMs),
  };
}
