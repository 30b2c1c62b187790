/**
 * The time limit of one Redis command of the store. Both clients queue commands while disconnected and
 * send them once Redis is back, so without one a call can hang for as long as an outage lasts.
 */

/**
 * Rejects when `operation` has not settled after `timeoutMs`; never keeps the event loop alive.
 * A result that arrives after the deadline goes to `onLateResult` (the caller has been told "failed").
 */
export function withTimeout<T>(
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
