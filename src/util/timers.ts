/**
 * Timers that never keep a process alive on their own: a script whose work is done exits, even while
 * a background refresh backs off or a store call is bounded. Whoever waits for the result holds the
 * process open (see the provider's waiters), not the timer.
 */

/** `timer.unref()` where timers have it (Node, Bun, Deno); a no-op where a timer is a number (workerd). */
export function unref<T>(timer: T): T {
  (timer as { unref?: () => void } | undefined)?.unref?.();
  return timer;
}

/** Runs `callback` after the I/O already waiting has been read (`setImmediate`, or a 0 ms timer where there is none). */
export function afterIo(callback: () => void): void {
  if (typeof setImmediate === 'function') setImmediate(callback);
  else setTimeout(callback, 0);
}

/** Resolves after `ms`; never keeps the process alive by itself. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => void unref(setTimeout(resolve, ms)));
}
