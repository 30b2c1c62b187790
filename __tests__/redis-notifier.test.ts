// The Redis store's ChangeNotifier on its own, with a subscriber connection of the test's (messages delivered
// when the test says): what a wait resolves with, for each order of read, message and wait. The real
// connection is redis-store-notify.test.ts's.
import { ChangeNotifier, type SubscriptionEvents } from '../src/provider/stores/redis-notifier.js';
import { UNLOCKED } from '../src/provider/stores/redis-scripts.js';

const KEY = 'k';
const CHANNEL = 'k:changed';
/** Long enough that a wait that ends was ended by a message, not by its timeout. */
const LONG_MS = 60_000;

/** A notifier whose subscriber confirms every subscription at once; `publish` delivers a message. */
async function subscribedNotifier() {
  let events: SubscriptionEvents | undefined;
  const notifier = new ChangeNotifier({
    open: (e) => {
      events = e;
      return { subscribe: async () => {}, close: () => {} };
    },
    channelOf: (key) => `${key}:changed`,
    pollIntervalMs: LONG_MS,
    idleMs: LONG_MS,
  });
  // The first wait subscribes and ends once subscribed (what came before was not announced).
  notifier.noteRead(KEY);
  await notifier.wait(KEY, LONG_MS);
  const publish = (message: string) => events!.message(CHANNEL, message);
  return { notifier, publish };
}

describe('ChangeNotifier: what a wait resolves with', () => {
  it.each([
    ['the value a message carried, when the message ends the wait', 'sealed-token', 'sealed-token'],
    ['nothing for the marker of a released lock', UNLOCKED, undefined],
  ])('%s', async (_what, message, handed) => {
    const { notifier, publish } = await subscribedNotifier();
    notifier.noteRead(KEY);
    const waited = notifier.wait(KEY, LONG_MS);
    publish(message);
    await expect(waited).resolves.toBe(handed);
  });

  it('the value of a message between the read and the wait, at once', async () => {
    const { notifier, publish } = await subscribedNotifier();
    notifier.noteRead(KEY);
    publish('sealed-token');
    await expect(notifier.wait(KEY, LONG_MS)).resolves.toBe('sealed-token');
  });

  it('the latest value when two messages came between the read and the wait', async () => {
    const { notifier, publish } = await subscribedNotifier();
    notifier.noteRead(KEY);
    publish('first');
    publish('second');
    await expect(notifier.wait(KEY, LONG_MS)).resolves.toBe('second');
  });

  it('nothing, at once, when a read came after the message: that read saw the store itself', async () => {
    const { notifier, publish } = await subscribedNotifier();
    notifier.noteRead(KEY);
    publish('sealed-token');
    notifier.noteRead(KEY);
    await expect(notifier.wait(KEY, LONG_MS)).resolves.toBeUndefined();
  });

  it('nothing from a message of a wait already over: the next wait waits for a new one', async () => {
    const { notifier, publish } = await subscribedNotifier();
    notifier.noteRead(KEY);
    const first = notifier.wait(KEY, LONG_MS);
    publish('sealed-token');
    await expect(first).resolves.toBe('sealed-token');
    notifier.noteRead(KEY);
    const second = notifier.wait(KEY, 20);
    await expect(second).resolves.toBeUndefined(); // its timeout, no message
  });
});
