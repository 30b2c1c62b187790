/**
 * The lock of the Redis token store (`lock`, `extendLock`, `unlock`): cross-process single-flight on
 * `${prefix}{${key}}:lock`, each call one Lua script (see redis-scripts.ts), bounded by the store's
 * command timeout.
 */
import { randomUUID } from 'node:crypto';
import type { TokenStore } from '../token-store.js';
import type { RedisAdapter } from './redis-clients.js';
import { withTimeout } from './redis-deadline.js';
import type { ChangeNotifier } from './redis-notifier.js';
import { COMPARE_AND_EXPIRE, TAKE_LOCK, toPx, UNLOCK_AND_PUBLISH, UNLOCKED } from './redis-scripts.js';

/** What the lock methods share with the rest of the store. */
export interface RedisLockContext {
  adapter: RedisAdapter;
  /** The lock key of a logical key. */
  lockKey(key: string): string;
  /** The channel on which a logical key's changes are published. */
  channel(key: string): string;
  /** Told how long a lock found held has to live, so a wait for it ends by then. */
  notifier: Pick<ChangeNotifier, 'noteLockHeld'>;
  commandTimeoutMs: number;
}

/** The store's lock methods. */
export type RedisLockMethods = Required<Pick<TokenStore, 'lock' | 'extendLock' | 'unlock'>>;

const ignore = () => {};

/** `lock`, `extendLock` and `unlock` of the Redis token store. */
export function redisLockMethods({
  adapter,
  lockKey,
  channel,
  notifier,
  commandTimeoutMs,
}: RedisLockContext): RedisLockMethods {
  const unlock = (key: string, lockId: string) =>
    adapter.evalScript(UNLOCK_AND_PUBLISH, lockKey(key), lockId, channel(key), UNLOCKED);

  return {
    lock: (key, ttlMs) =>
      withTimeout(
        async () => {
          const id = randomUUID();
          const taken = await adapter.evalScript(TAKE_LOCK, lockKey(key), id, String(toPx(ttlMs)));
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
      withTimeout(
        async () => (await adapter.evalScript(COMPARE_AND_EXPIRE, lockKey(key), lockId, String(toPx(ttlMs)))) === 1,
        commandTimeoutMs,
        'extend lock',
      ),

    unlock: (key, lockId) =>
      withTimeout(
        async () => {
          await unlock(key, lockId);
        },
        commandTimeoutMs,
        'unlock',
      ),
  };
}
