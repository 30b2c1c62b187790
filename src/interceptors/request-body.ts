import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';

/** The few AxiosHeaders methods used here. */
export interface HeaderBag {
  get(name: string): unknown;
  set(name: string, value: string): unknown;
}

/** A request body that the first send consumed: a Node stream (also `form-data`), a web stream, an async iterable. */
export function isOneShotBody(data: unknown): boolean {
  if (typeof data !== 'object' || data === null || Buffer.isBuffer(data)) return false;
  const body = data as { pipe?: unknown; [Symbol.asyncIterator]?: unknown };
  if (typeof body.pipe === 'function' || typeof body[Symbol.asyncIterator] === 'function') return true;
  return typeof ReadableStream !== 'undefined' && data instanceof ReadableStream;
}

/** A spec-compliant (native) FormData body. */
export function isSpecFormData(data: unknown): boolean {
  return typeof FormData !== 'undefined' && data instanceof FormData;
}

/**
 * Fixes the multipart boundary of a native FormData body before the first send: axios's http adapter
 * reuses a boundary found in Content-Type, so a replay is byte-identical instead of getting a new
 * random boundary.
 */
export function pinBoundary(headers: HeaderBag): void {
  const type = headers.get('Content-Type');
  if (typeof type === 'string' && /boundary=/i.test(type)) return;
  headers.set(
    'Content-Type',
    `multipart/form-data; boundary=axios-client-credentials-${randomBytes(12).toString('hex')}`,
  );
}
