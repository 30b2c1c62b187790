import { randomUUID } from 'node:crypto';
import { ConfigurationError } from '../errors.js';
import type { TokenStore } from '../token-store.js';

/**
 * The few methods of an `ioredis` client the store uses. `new Redis(...)` and
 * `new Redis.Cluster(...)` (ioredis 5+) both fit.
 *
 * Declared structurally rather than imported from `ioredis`, so that this
 * package's type declarations resolve whether or not `ioredis` is installed.
 */
export interface IoredisClientLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ttlMs: number): Promise<unknown>;
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
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { PX: number }): Promise<string | null>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** A Redis client {@link redisStore} accepts: ioredis (`Redis`, `Cluster`) or node-redis 4+ (`createClient`, `createCluster`). */
export type RedisClientLike = IoredisClientLike | NodeRedisClientLike;

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
   * ms. The provider polls `get` at this interval while another process holds
   * the lock, so a waiting process sees a stored token within one interval
   * plus one round trip.
   * @default 10
   */
  pollIntervalMs?: number;
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
  // An empty hash tag `{}` would not count as a tag: Redis would hash the whole
  // key name and the two keys could land in different slots.
  const tag = key === '' ? '{\u0000}' : `{${key}}`;
  return { token: `${prefix}${tag}:token`, lock: `${prefix}${tag}:lock` };
}

const DEFAULT_PREFIX = 'acc:';
const DEFAULT_POLL_INTERVAL_MS = 10;
const DEFAULT_COMMAND_TIMEOUT_MS = 200;

// In the compare-and-… scripts, `redis.pcall('GET', …)` answers a key of another type (a LIST, a HASH) with an
// error table instead of raising WRONGTYPE: it equals no string, so the script answers 0 and the key is left alone.

/** Deletes KEYS[1] only if it holds ARGV[1]; returns 1 when it deleted, else 0 (also for a key of another type). */
const COMPARE_AND_DELETE = `if redis.pcall('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** Sets KEYS[1]'s time to live to ARGV[2] ms only if it holds ARGV[1]; returns 1 when it did, else 0 (also for a key of another type). */
const COMPARE_AND_EXPIRE = `if redis.pcall('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Takes the lock KEYS[1] for id ARGV[1] for ARGV[2] ms; returns 1 when it did, 0 when a live lock holds it.
 *
 * A lock is live only while it is a string whose time to live is no longer than the one asked for: every
 * holder sets (`PX`) and extends (`PEXPIRE`) it to at most that, so anything else (no time to live, a longer
 * one, another type) was written by something other than a holder and would never expire in time. It is
 * broken: replaced in the same script, so two processes cannot both take it. PTTL answers -2 for a missing
 * key and -1 for one without a time to live; SET replaces a key of any type.
 */
const TAKE_LOCK = `local pttl = redis.call('PTTL', KEYS[1])
if pttl >= 0 and pttl <= tonumber(ARGV[2]) and redis.call('TYPE', KEYS[1]).ok == 'string' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** Whether `error` is Redis's answer to a command on a key holding another type (`WRONGTYPE …`), from either client. */
function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}

/** The three operations the store needs, the same for both clients. */
interface RedisAdapter {
  get(key: string): Promise<string | null>;
  /** `SET key value PX ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /**
   * `EVAL script 1 key arg…`. Plain EVAL rather than EVALSHA: the scripts are a
   * few hundred bytes, and a server that restarted (or a cluster node that never
   * saw them) answers in one round trip instead of NOSCRIPT and a retry.
   */
  evalScript(script: string, key: string, ...args: string[]): Promise<unknown>;
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

function ioredisAdapter(client: IoredisClientLike): RedisAdapter {
  return {
    get: (key) => client.get(key),
    set: async (key, value, ttlMs) => {
      await client.set(key, value, 'PX', ttlMs);
    },
    evalScript: (script, key, ...args) => client.eval(script, 1, key, ...args),
  };
}

function nodeRedisAdapter(client: NodeRedisClientLike): RedisAdapter {
  return {
    get: (key) => client.get(key),
    set: async (key, value, ttlMs) => {
      await client.set(key, value, { PX: ttlMs });
    },
    evalScript: (script, key, ...args) => client.eval(script, { keys: [key], arguments: args }),
  };
}

/** Redis wants a whole number of milliseconds, at least 1. */
function toPx(ttlMs: number): number {
  if (!Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be a finite number, got ${ttlMs}`);
  return Math.max(1, Math.ceil(ttlMs));
}

/**
 * Rejects when `operation` has not settled after `timeoutMs`; never keeps the event loop alive.
 * A result that arrives after the deadline goes to `onLateResult` (the caller has been told "failed").
 */
function withTimeout<T>(
  operation: () => Promise<T>,
  timeoutMs: number,
  what: string,
  onLateResult?: (value: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let late = false;
    const timer = setTimeout(() => {
      // Timers run before I/O in each turn of the event loop. If this process was busy (or not
      // scheduled) past the deadline, the reply may already sit in the socket: give it one I/O phase
      // to be read, and only then call Redis slow. Otherwise a CPU-bound moment looks like an outage.
      setImmediate(() => {
        if (settled) return;
        late = true;
        reject(new Error(`Redis token store: ${what} did not answer within ${timeoutMs} ms`));
      }).unref();
    }, timeoutMs);
    timer.unref();
    // `operation` runs in a `then`, so even a synchronous throw becomes a rejection.
    Promise.resolve()
      .then(operation)
      .then(
        (value) => {
          settled = true;
          if (late) onLateResult?.(value);
          else resolve(value);
        },
        (error: unknown) => {
          settled = true;
          reject(error);
        },
      )
      .finally(() => clearTimeout(timer));
  });
}

const ignore = () => {};

/**
 * A {@link TokenStore} on Redis, so that every process using the same client
 * credentials shares one token: one token request per token lifetime for the
 * whole fleet.
 *
 * - `get` / `set` (`SET … PX`) hold the provider's encrypted token under
 *   `${prefix}{${key}}:token`. Anything else found there counts as no token:
 *   a key of another type (a LIST, a HASH) reads as absent instead of failing
 *   with WRONGTYPE, a string that is not a token sealed with this provider's
 *   key is ignored by the provider, and the next token stored replaces either.
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
 * - Waiting for another process's token is bounded polling of `get` every
 *   `pollIntervalMs` (10 ms by default) by the provider: no second connection,
 *   works the same on a single server and on Redis Cluster.
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
  const adapter = isNodeRedis(client)
    ? nodeRedisAdapter(client)
    : isIoredis(client)
      ? ioredisAdapter(client)
      : undefined;
  if (!adapter) {
    throw new ConfigurationError('redisStore needs an ioredis client (new Redis(url) or a Cluster) or a node-redis 4+ client (createClient({ url })) as its first argument.');
  }
  if (typeof options !== 'object' || options === null) throw new ConfigurationError('redisStore options must be an object, e.g. { prefix: "acc:" }, or left out.');
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string') throw new ConfigurationError('redisStore prefix must be a string, e.g. "acc:".');
  const positive = (value: unknown, name: string, fallback: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigurationError(`redisStore ${name} must be a positive number of milliseconds (got ${String(value)}).`);
    return value;
  };
  const pollIntervalMs = positive(options.pollIntervalMs, 'pollIntervalMs', DEFAULT_POLL_INTERVAL_MS);
  const commandTimeoutMs = positive(options.commandTimeoutMs, 'commandTimeoutMs', DEFAULT_COMMAND_TIMEOUT_MS);
  const bounded = <T>(what: string, operation: () => Promise<T>) => withTimeout(operation, commandTimeoutMs, what);

  return {
    pollIntervalMs,

    get: (key) =>
      bounded('GET', async () => {
        try {
          return (await adapter.get(redisKeys(key, prefix).token)) ?? undefined;
        } catch (error) {
          // Something other than a token (a LIST, a HASH) sits in the key: no token, and the next set replaces it.
          // Asking GET and reading its error keeps a read at one command; a TYPE first would double every read.
          if (isWrongType(error)) return undefined;
          throw error;
        }
      }),

    set: (key, value, ttlMs) =>
      withTimeout(
        async () => {
          await adapter.set(redisKeys(key, prefix).token, value, toPx(ttlMs));
          return value;
        },
        commandTimeoutMs,
        'SET',
        // Sent late, after the caller was told it failed: the provider does not know this value is
        // shared, so could not take it back on a 401. Take it back now, unless it was replaced since.
        (late) => void adapter.evalScript(COMPARE_AND_DELETE, redisKeys(key, prefix).token, late).catch(ignore),
      ).then(() => undefined),

    delete: (key, value) =>
      bounded('compare-and-delete', async () => (await adapter.evalScript(COMPARE_AND_DELETE, redisKeys(key, prefix).token, value)) === 1),

    lock: (key, ttlMs) =>
      withTimeout(
        async () => {
          const id = randomUUID();
          return (await adapter.evalScript(TAKE_LOCK, redisKeys(key, prefix).lock, id, String(toPx(ttlMs)))) === 1 ? id : undefined;
        },
        commandTimeoutMs,
        'lock',
        // The client queued the SET while Redis was unreachable and sent it once back: nobody holds
        // this lock any more, so release it now rather than make every process wait out its TTL.
        (id) => {
          if (id !== undefined) adapter.evalScript(COMPARE_AND_DELETE, redisKeys(key, prefix).lock, id).catch(ignore);
        },
      ),

    extendLock: (key, lockId, ttlMs) =>
      bounded('extend lock', async () => (await adapter.evalScript(COMPARE_AND_EXPIRE, redisKeys(key, prefix).lock, lockId, String(toPx(ttlMs)))) === 1),

    unlock: (key, lockId) =>
      bounded('unlock', async () => {
        await adapter.evalScript(COMPARE_AND_DELETE, redisKeys(key, prefix).lock, lockId);
      }),
  };
}
