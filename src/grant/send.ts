import { Buffer } from 'node:buffer';
import type { AxiosInstance, AxiosRequestConfig, AxiosResponse } from 'axios';
import { scrub } from '../util/redact.js';
import { isJsonObject, parseJson } from '../util/json.js';
import { headerOf, originOf, type DpopNonces } from './dpop.js';
import { parseRetryAfter, retryDelay, type RetryPolicy } from './retry.js';
import { sleep } from '../util/timers.js';

/** Largest token or discovery response body read, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** What a retry event says. */
export interface RetryInfo {
  /** The retry about to be made (1 for the first retry). */
  attempt: number;
  /** How long the provider waits before it, in ms. */
  delayMs: number;
  /** Why: `HTTP 503`, `ECONNREFUSED`, `timeout`, … */
  reason: string;
  /** `token` or `discovery`. */
  request: 'token' | 'discovery';
}

/** Everything one HTTP exchange with the authorization server needs. */
export interface HttpContext {
  httpClient: AxiosInstance;
  timeoutMs: number;
  retry: RetryPolicy;
  now: () => number;
  /** Every form of the client's credentials (`credentialForms`): withheld from every text the server sent. */
  secrets: readonly string[];
  onRetry?: ((info: RetryInfo) => void) | undefined;
  /** The https agent of every request to the authorization server: the client certificate, a private CA. */
  httpsAgent?: unknown;
  /** The authorization server's DPoP nonces, updated from every answer, when DPoP is on. */
  dpopNonces?: DpopNonces | undefined;
}

/** Whether an answer is a DPoP nonce challenge (RFC 9449 §8) that brought a nonce; every answer updates the nonce. */
function isNonceChallenge(
  ctx: HttpContext,
  url: string,
  answer: { status: number; headers: unknown; text: string },
): boolean {
  const nonces = ctx.dpopNonces;
  if (!nonces) return false;
  nonces.update(originOf(url), answer.headers);
  if (answer.status !== 400 || headerOf(answer.headers, 'dpop-nonce') === undefined) return false;
  const body = parseJson(answer.text);
  return isJsonObject(body) && body.error === 'use_dpop_nonce';
}

/** One attempt's request, made afresh for each attempt, with the texts it carries that no error may show. */
export type AttemptRequest = AxiosRequestConfig & { url: string; secrets?: readonly string[] };

export type Exchange =
  | {
      kind: 'answer';
      status: number;
      headers: AxiosResponse['headers'];
      text: string;
      sentAt: number;
      attempts: number;
      startedAt: number;
      /** The secrets of the attempt that got this answer (its client assertion). */
      secrets: readonly string[];
    }
  | { kind: 'network'; reason: string; message: string; cause: Error; attempts: number };

/**
 * Sends one request to the authorization server, retrying transient failures
 * (network errors, timeouts, retryable statuses) with backoff. `request` makes
 * each attempt's request (a token request signs a fresh client assertion for
 * each). Returns the last answer, whatever its status, or the last network failure.
 */
export async function sendWithRetry(
  ctx: HttpContext,
  request: AttemptRequest | (() => Promise<AttemptRequest>),
  kind: RetryInfo['request'],
): Promise<Exchange> {
  const startedAt = ctx.now();
  let nonceRetried = false;
  for (let attempt = 1; ; attempt++) {
    const { secrets = [], ...config } = typeof request === 'function' ? await request() : request;
    const sentAt = ctx.now();
    const timeout = AbortSignal.timeout(ctx.timeoutMs);
    let outcome: Exchange;
    try {
      const response = await ctx.httpClient.request<string>({
        ...config,
        // Nothing inherited from axios's global defaults or the client's own may steer the credentials elsewhere:
        // no baseURL, absolute URLs as given, no foreign Authorization header, never our own interceptor.
        baseURL: '',
        allowAbsoluteUrls: true,
        headers: { Authorization: false, ...config.headers },
        clientCredentials: { skip: true },
        timeout: ctx.timeoutMs,
        signal: timeout,
        responseType: 'text',
        transformResponse: [(data: unknown) => data],
        validateStatus: () => true,
        maxRedirects: 0,
        maxContentLength: MAX_BODY_BYTES,
        ...(ctx.httpsAgent === undefined ? {} : { httpsAgent: ctx.httpsAgent }),
      });
      const text = bodyText(response.data);
      if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new Error('maxContentLength exceeded');
      outcome = {
        kind: 'answer',
        status: response.status,
        headers: response.headers,
        text,
        sentAt,
        attempts: attempt,
        startedAt,
        secrets,
      };
    } catch (error) {
      outcome = networkFailure(error, timeout.aborted, ctx, attempt, secrets);
      if (outcome.kind === 'network' && outcome.reason === 'too-large') return outcome;
    }
    if (outcome.kind === 'answer' && isNonceChallenge(ctx, config.url, outcome) && !nonceRetried) {
      // RFC 9449 §8: the server wants its nonce in the proof. Sent again at once with it, once per attempt,
      // not counted as a failure (a 400 is otherwise never retried).
      nonceRetried = true;
      attempt--;
      continue;
    }
    nonceRetried = false;
    const retryable =
      outcome.kind === 'network' ? !isPermanent(outcome.reason) : ctx.retry.statuses.includes(outcome.status);
    if (!retryable || attempt > ctx.retry.retries) return outcome;
    const retryAfter =
      outcome.kind === 'answer' ? parseRetryAfter(headerValue(outcome.headers, 'retry-after'), Date.now()) : undefined;
    const delayMs = retryDelay(ctx.retry, attempt, retryAfter);
    const reason = outcome.kind === 'answer' ? `HTTP ${outcome.status}` : outcome.reason;
    ctx.onRetry?.({ attempt, delayMs, reason, request: kind });
    await sleep(delayMs);
  }
}

/**
 * TLS failures that no retry can fix: the server's certificate is not trusted, not for this name, or
 * not valid now (a missing `ca`, a wrong host), and an answer too large to read.
 */
const PERMANENT = new Set([
  'too-large',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Whether a network failure is one no retry can fix. */
export function isPermanent(reason: string): boolean {
  return PERMANENT.has(reason);
}

/** The body as text, whatever the adapter produced (a string, bytes, or already-parsed JSON from a custom adapter). */
function bodyText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data === undefined || data === null) return '';
  if (Buffer.isBuffer(data) || data instanceof ArrayBuffer) return Buffer.from(data as Buffer).toString('utf8');
  return JSON.stringify(data);
}

function headerValue(headers: AxiosResponse['headers'], name: string): unknown {
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  return typeof h.get === 'function' ? h.get(name) : h[name];
}

/** A failed exchange without an answer, described without anything the request carried. */
function networkFailure(
  error: unknown,
  timedOut: boolean,
  ctx: HttpContext,
  attempts: number,
  secrets: readonly string[],
): Exchange {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const rawMessage = typeof e?.message === 'string' ? e.message : String(error);
  if (/maxContentLength/i.test(rawMessage)) {
    return {
      kind: 'network',
      reason: 'too-large',
      message: `the answer is larger than ${MAX_BODY_BYTES} bytes`,
      cause: new Error('response too large'),
      attempts,
    };
  }
  const reason = timedOut || code === 'ECONNABORTED' || code === 'ETIMEDOUT' ? 'timeout' : (code ?? 'network error');
  const message = timedOut ? `no answer within ${ctx.timeoutMs} ms` : scrub(rawMessage, [...ctx.secrets, ...secrets]);
  const cause = Object.assign(new Error(message), code ? { code } : {});
  return { kind: 'network', reason, message, cause, attempts };
}
