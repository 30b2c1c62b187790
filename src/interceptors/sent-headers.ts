import type { InternalAxiosRequestConfig } from 'axios';
import { hideProperty } from '../util/redact.js';

/**
 * The headers to send: a copy of the request's own (of the same class, so a second copy of axios reads
 * them as its own) with our header added. The request's own headers object never holds the token, so
 * taking it back is putting that object back, not a `delete`, which would turn axios's headers object
 * into a slow dictionary-mode object for the rest of its life.
 */
export function withHeader(
  own: InternalAxiosRequestConfig['headers'],
  key: string,
  value: string,
): InternalAxiosRequestConfig['headers'] {
  const Headers = own.constructor as new (from: object) => InternalAxiosRequestConfig['headers'];
  const sent = typeof own.set === 'function' ? new Headers(own) : ({ ...own } as InternalAxiosRequestConfig['headers']);
  (sent as unknown as Record<string, unknown>)[key] = value;
  return sent;
}

/**
 * Removes our token from what the caller gets back, so no interceptor, retry or log sees it: the
 * request's own headers go back on the config, and the raw request (a ClientRequest's `_header`, a
 * fetch Request's headers) is made non-enumerable. Restores the request's own timeout.
 */
export function takeTokenBack(
  config: InternalAxiosRequestConfig,
  own: InternalAxiosRequestConfig['headers'],
  sent: InternalAxiosRequestConfig['headers'],
  timeout: number | undefined,
  result: unknown,
): void {
  if (timeout !== undefined) config.timeout = timeout;
  if (config.headers === sent) config.headers = own;
  if (typeof result !== 'object' || result === null) return;
  hideRequest(result);
  hideRequest((result as { response?: object }).response);
}

/** Makes `request` non-enumerable when it can show the token. */
function hideRequest(target: object | undefined): void {
  const request = (target as { request?: unknown } | undefined)?.request;
  if (typeof request !== 'object' || request === null) return;
  if (!('_header' in request || 'headers' in request || 'getHeader' in request)) return;
  if (Object.prototype.propertyIsEnumerable.call(target, 'request')) hideProperty(target as object, 'request', request);
}
