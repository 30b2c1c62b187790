import { AxiosError, CanceledError } from 'axios';
import type { InternalAxiosRequestConfig } from 'axios';
import type { AccessToken } from '../grant/token-response.js';
import type { TokenSelection } from '../provider/token-provider.js';
import { unref } from '../util/timers.js';

/** What the wait asks of the provider. */
export interface TokenSource {
  getToken(options: TokenSelection & { signal: AbortSignal }): Promise<AccessToken>;
}

/** The error axios raises when a request's `timeout` runs out, here while it waited for a token. */
export function timeoutError(config: InternalAxiosRequestConfig, timeout: number): AxiosError {
  const code = config.transitional?.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED;
  return new AxiosError(`timeout of ${timeout}ms exceeded while waiting for an access token`, code, config);
}

/**
 * Waits for a token for one request, for no longer than the request itself would wait: its `timeout`,
 * its `signal` and its `cancelToken` end the wait with the error axios would raise. The token request
 * goes on for the other callers.
 */
export function waitForToken(
  provider: TokenSource,
  config: InternalAxiosRequestConfig,
  selection?: TokenSelection,
): Promise<AccessToken> {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  const ended = new Promise<never>((_, reject) => {
    const signal = config.signal as AbortSignal | undefined;
    const onAbort = (): void => reject(new CanceledError(undefined, undefined, config));
    if (signal?.aborted) onAbort();
    else if (typeof signal?.addEventListener === 'function') {
      signal.addEventListener('abort', onAbort);
      cleanups.push(() => signal.removeEventListener?.('abort', onAbort));
    }
    const cancelToken = config.cancelToken;
    if (cancelToken) {
      const onCancel = (cancel: unknown): void => reject(cancel);
      cancelToken.subscribe(onCancel);
      cleanups.push(() => cancelToken.unsubscribe(onCancel));
    }
    const timeout = config.timeout;
    if (typeof timeout === 'number' && timeout > 0) {
      const timer = unref(setTimeout(() => reject(timeoutError(config, timeout)), timeout));
      cleanups.push(() => clearTimeout(timer));
    }
  });
  ended.catch(() => controller.abort());
  return Promise.race([provider.getToken({ ...selection, signal: controller.signal }), ended]).finally(() => {
    for (const cleanup of cleanups) cleanup();
  });
}

/**
 * axios's `timeout` is the budget of the whole call: after a wait for a token, the HTTP exchange gets
 * only what is left. Returns the timeout to restore afterwards, or a timeout error when none is left.
 */
export function spendWait(
  config: InternalAxiosRequestConfig,
  waitedSince: number | undefined,
): AxiosError | number | undefined {
  const timeout = config.timeout;
  if (waitedSince === undefined || typeof timeout !== 'number' || timeout <= 0) return timeout;
  const left = timeout - (Date.now() - waitedSince);
  if (left < 1) return timeoutError(config, timeout);
  config.timeout = Math.ceil(left);
  return timeout;
}
