/**
 * How a process waiting for another process's token learns that it was stored: a subscriber connection of
 * the store's own (Redis pub/sub), opened on the first wait and closed once no wait has needed it for a
 * while, with polling whenever it is not there (not open yet, failed, denied, or a client that cannot make
 * one). Never worse than polling, never an error. A message that carries the stored value hands it to the
 * waiters it wakes.
 */
import { unref } from '../../util/timers.js';
import { UNLOCKED } from './redis-scripts.js';

/** What a subscriber connection reports. */
export interface SubscriptionEvents {
  /** A message arrived on `channel`: the value just stored, or the marker {@link UNLOCKED}. */
  message(channel: string, message: string): void;
  /** The connection failed or closed: messages may be lost from now on. */
  lost(): void;
}

/** A connection in subscriber mode, of the store's own. */
export interface Subscription {
  /** Resolves once Redis has confirmed the subscription to `channel`; rejects when it cannot. */
  subscribe(channel: string): Promise<void>;
  /** Closes the connection. Never throws; reports nothing afterwards. */
  close(): void;
}

/** Opens a subscriber connection. May throw: the store then polls. */
export type OpenSubscription = (events: SubscriptionEvents) => Subscription;

/** After the subscriber failed (or could not be made), waits poll this long before it is tried again. */
const RETRY_AFTER_FAILURE_MS = 1000;

interface KeyState {
  readonly channel: string;
  /** The counter's number when the key last may have changed: a message, or a moment after which messages could be missed. */
  changedSeq: number;
  /** The counter's number when the earliest read of the key not yet followed by a wait started. */
  readSeq: number | undefined;
  /** When the lock that the last `lock` found held expires (ms since epoch), if it was. */
  lockUntil: number | undefined;
  /** The value the last change stored, when its message carried one and no read came since. */
  value: string | undefined;
  subscription: 'none' | 'pending' | 'active';
  readonly waiters: Set<(value?: string) => void>;
}

/** Options of {@link ChangeNotifier}. */
export interface ChangeNotifierOptions {
  open: OpenSubscription | undefined;
  /** The channel a change of `key` is published on. */
  channelOf(key: string): string;
  pollIntervalMs: number;
  /** Close the subscriber once no wait has needed it for this long. */
  idleMs: number;
}

/**
 * Wakes waiters on a key when a change is published for it (handing them the value stored, when the message is one).
 *
 * The race between "the lock was busy" and "the waiter is listening" is closed by counting: every message
 * (and every moment from which messages could be missed: a subscription confirmed, the connection lost or
 * closed) takes the next number of one counter, and the key remembers the last one. A read of the key
 * (`get`, which the provider always does before trying the lock) notes the counter when it starts, and a
 * wait that follows ends at once if the key changed since. A token stored after that read, even before the
 * wait began or while the subscription was still being made, is never slept through. The earliest read not
 * yet followed by a wait is the one kept, so that two providers sharing a store cannot hide a change from
 * each other; a wait with no read before it ends at once (the provider reads again, then waits for real).
 */
export class ChangeNotifier {
  readonly #o: ChangeNotifierOptions;
  readonly #keys = new Map<string, KeyState>();
  readonly #byChannel = new Map<string, KeyState>();
  /** The counter: see the class comment. */
  #seq = 0;
  #subscription: Subscription | undefined;
  #retryAt = 0;
  #waiting = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ChangeNotifierOptions) {
    this.#o = options;
  }

  /** A read of `key` starts: a wait that follows ends at once if the key changes from now on. */
  noteRead(key: string): void {
    const state = this.#state(key);
    state.readSeq ??= this.#seq;
    state.value = undefined; // the read sees what the store holds now
  }

  /** `lock` found the lock of `key` held for another `remainingMs`: a wait that follows ends by then. */
  noteLockHeld(key: string, remainingMs: number): void {
    this.#state(key).lockUntil = Date.now() + remainingMs;
  }

  /**
   * Resolves when `key` may have changed since it was last read, when the lock last found held expires, or
   * after `timeoutMs`; while notifications are not active for the key, after at most `pollIntervalMs`. Resolves
   * with the value stored when the change that ended the wait came with it.
   */
  wait(key: string, timeoutMs: number): Promise<string | undefined> {
    const state = this.#state(key);
    const since = state.readSeq;
    const lockUntil = state.lockUntil;
    state.readSeq = undefined;
    state.lockUntil = undefined;
    if (since === undefined) return Promise.resolve(undefined);
    if (state.changedSeq > since) return Promise.resolve(state.value);
    this.#subscribe(state);
    let ms = state.subscription === 'active' ? timeoutMs : Math.min(timeoutMs, this.#o.pollIntervalMs);
    // Redis has dropped the key by then: one ms after its expiry, the next `lock` takes it.
    if (lockUntil !== undefined) ms = Math.min(ms, Math.max(0, lockUntil - Date.now()) + 1);
    return new Promise((resolve) => {
      this.#waiting++;
      clearTimeout(this.#idleTimer);
      const done = (value?: string): void => {
        if (!state.waiters.delete(done)) return;
        clearTimeout(timer);
        if (--this.#waiting === 0) this.#closeWhenIdle();
        resolve(value);
      };
      state.waiters.add(done);
      const timer = unref(setTimeout(done, ms));
    });
  }

  #state(key: string): KeyState {
    let state = this.#keys.get(key);
    if (!state) {
      state = {
        channel: this.#o.channelOf(key),
        changedSeq: 0,
        readSeq: undefined,
        lockUntil: undefined,
        value: undefined,
        subscription: 'none',
        waiters: new Set(),
      };
      this.#keys.set(key, state);
      this.#byChannel.set(state.channel, state);
    }
    return state;
  }

  /** The key may have changed (to `value`, when known): remember it, and wake its waiters. */
  #changed(state: KeyState, value?: string): void {
    state.changedSeq = ++this.#seq;
    state.value = value;
    for (const wake of [...state.waiters]) wake(value);
  }

  /** Subscribes to the key's channel if it is not yet (opening the connection first); quietly nothing when it cannot. */
  #subscribe(state: KeyState): void {
    if (state.subscription !== 'none') return;
    const subscription = this.#connection();
    if (!subscription) return;
    state.subscription = 'pending';
    subscription.subscribe(state.channel).then(
      () => {
        if (this.#subscription !== subscription || state.subscription !== 'pending') return;
        state.subscription = 'active';
        // Whatever was stored before this moment was not announced to us: count it as a change.
        this.#changed(state);
      },
      () => this.#lost(subscription),
    );
  }

  /** The open subscriber connection, or a new one; `undefined` when there is none to be had now. */
  #connection(): Subscription | undefined {
    if (this.#subscription) return this.#subscription;
    if (!this.#o.open || Date.now() < this.#retryAt) return undefined;
    let subscription: Subscription | undefined;
    try {
      subscription = this.#o.open({
        message: (channel, message) => {
          const state = this.#byChannel.get(channel);
          if (state && this.#subscription === subscription)
            this.#changed(state, message === UNLOCKED ? undefined : message);
        },
        lost: () => this.#lost(subscription),
      });
    } catch {
      this.#retryAt = Date.now() + RETRY_AFTER_FAILURE_MS;
      return undefined;
    }
    this.#subscription = subscription;
    return subscription;
  }

  /** The connection failed: close it, poll for a while, then try a new one. */
  #lost(subscription: Subscription | undefined): void {
    if (subscription === undefined || this.#subscription !== subscription) return;
    this.#retryAt = Date.now() + RETRY_AFTER_FAILURE_MS;
    this.#close();
  }

  /** Closes the connection. Messages may be missed from now on: every key counts as changed, which also wakes every waiter to poll. */
  #close(): void {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    clearTimeout(this.#idleTimer);
    subscription?.close();
    for (const state of this.#keys.values()) {
      state.subscription = 'none';
      this.#changed(state);
    }
  }

  #closeWhenIdle(): void {
    if (!this.#subscription) return;
    this.#idleTimer = unref(
      setTimeout(() => {
        if (this.#waiting === 0) this.#close();
      }, this.#o.idleMs),
    );
  }
}
