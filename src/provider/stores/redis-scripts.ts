/**
 * The Lua scripts of the Redis token store. Each runs in one round trip and touches only the keys it is
 * given, all of one logical key (one hash tag, so one Redis Cluster slot).
 *
 * In the compare-and-… scripts, `redis.pcall('GET', …)` answers a key of another type (a LIST, a HASH) with
 * an error table instead of raising WRONGTYPE: it equals no string, so the script answers 0 and the key is
 * left alone.
 *
 * The scripts that publish do it with `redis.pcall('PUBLISH', …)`: a user whose ACL denies the channel (Redis
 * 7 gives new users no channel by default) still stores and unlocks, and waiting processes poll instead. The
 * channel comes in ARGV, never built from a key name, so a client that prefixes key names (ioredis
 * `keyPrefix`) publishes on the channel the store subscribes to. The message is the value just stored (the
 * provider's encrypted token, authenticated for its key: unreadable without the provider's key, whoever
 * subscribes), so a waiting process takes it without another round trip, or the marker `unlock`.
 */

/** Deletes KEYS[1] only if it holds ARGV[1]; returns 1 when it deleted, else 0 (also for a key of another type). */
export const COMPARE_AND_DELETE = `if redis.pcall('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** Sets KEYS[1]'s time to live to ARGV[2] ms only if it holds ARGV[1]; returns 1 when it did, else 0 (also for a key of another type). */
export const COMPARE_AND_EXPIRE = `if redis.pcall('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Takes the lock KEYS[1] for id ARGV[1] for ARGV[2] ms; returns 1 when it did. When a live lock holds it,
 * returns that lock's remaining time to live in ms, negated (≤ 0): a waiting process need not wait longer.
 *
 * A lock is live only while it is a string whose time to live is no longer than the one asked for: every
 * holder sets (`PX`) and extends (`PEXPIRE`) it to at most that, so anything else (no time to live, a longer
 * one, another type) was written by something other than a holder and would never expire in time. It is
 * broken: replaced in the same script, so two processes cannot both take it. PTTL answers -2 for a missing
 * key and -1 for one without a time to live; SET replaces a key of any type.
 */
export const TAKE_LOCK = `local pttl = redis.call('PTTL', KEYS[1])
if pttl >= 0 and pttl <= tonumber(ARGV[2]) and redis.call('TYPE', KEYS[1]).ok == 'string' then return -pttl end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/**
 * `SET KEYS[1] ARGV[1] PX ARGV[2]`, then publishes the value ARGV[1] on channel ARGV[3]: processes waiting
 * for the token get it without polling and without a GET. SET replaces a key of any type.
 */
export const SET_AND_PUBLISH = `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.pcall('PUBLISH', ARGV[3], ARGV[1])
return 1`;

/**
 * Deletes the lock KEYS[1] only if it holds ARGV[1] and, when it did, publishes ARGV[3] on channel ARGV[2]:
 * processes waiting on a holder that gave up without a token take the lock at once instead of at its
 * expiry. Returns 1 when it deleted, else 0 (also for a key of another type).
 */
export const UNLOCK_AND_PUBLISH = `if redis.pcall('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.pcall('PUBLISH', ARGV[2], ARGV[3])
return 1`;

/** What UNLOCK_AND_PUBLISH publishes: the lock is free (every other message is a stored value). */
export const UNLOCKED = 'unlock';

/** A time to live as the scripts' `PX` / `PEXPIRE` argument wants it: a whole number of milliseconds, at least 1. */
export function toPx(ttlMs: number): number {
  if (!Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be a finite number, got ${ttlMs}`);
  return Math.max(1, Math.ceil(ttlMs));
}
