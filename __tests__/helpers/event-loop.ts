/**
 * Lets a command just issued reach the socket: queued ticks and microtasks first, then the
 * immediates (node-redis corks the socket and writes in a setImmediate), with no I/O phase between
 * the write and the caller's next step.
 */
export async function commandOnTheWire(): Promise<void> {
  for (let turn = 0; turn < 10; turn++) await new Promise<void>((resolve) => process.nextTick(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Keeps the event loop busy (no I/O, no timers) for `ms`, as a CPU-bound moment does. */
export function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}
