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

/**
 * Keeps the process open while anyone waits for a promise it hands out, and only then: the timers
 * behind the promise (a retry back-off, a store bound) are unref'd, so a promise nobody waits for, such
 * as a background refresh, lets a finished script exit.
 */
export class Waiters {
  #count = 0;
  #holdOpen: ReturnType<typeof setInterval> | undefined;

  /** `promise`, holding the process open until it settles. */
  wait<T>(promise: Promise<T>): Promise<T> {
    if (this.#count++ === 0) this.#holdOpen = setInterval(() => {}, 2 ** 30);
    const done = (): void => {
      if (--this.#count === 0) clearInterval(this.#holdOpen);
    };
    promise.then(done, done);
    return promise;
  }
}
