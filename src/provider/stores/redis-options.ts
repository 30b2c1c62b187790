/** The options of the Redis token store, their defaults, and the checks `redisStore` makes of them. */
import { ConfigurationError } from '../../errors.js';

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

export const DEFAULT_PREFIX = 'acc:';
const DEFAULT_POLL_INTERVAL_MS = 10;
const DEFAULT_COMMAND_TIMEOUT_MS = 200;
const DEFAULT_SUBSCRIBER_IDLE_MS = 5000;

/** `options` with defaults, checked. */
export function resolveOptions(options: RedisStoreOptions): Required<RedisStoreOptions> {
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
