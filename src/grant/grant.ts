import { Buffer } from 'node:buffer';
import type { AxiosInstance, AxiosRequestConfig, AxiosResponse } from 'axios';
import { applyClientAuth, type ClientAuthMethod } from './client-auth.js';
import { TokenEndpointError } from '../errors.js';
import { displayUrl, scrub } from '../util/redact.js';
import { parseRetryAfter, retryDelay, type RetryPolicy } from './retry.js';
import { sleep } from '../util/timers.js';
import { errorFromBody, invalidResponse, parseTokenResponse, type AccessToken } from './token-response.js';
import { isJsonObject, parseJson } from '../util/json.js';

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
}

export type Exchange =
  | {
      kind: 'answer';
      status: number;
      headers: AxiosResponse['headers'];
      text: string;
      sentAt: number;
      attempts: number;
      startedAt: number;
    }
  | { kind: 'network'; reason: string; message: string; cause: Error; attempts: number };

/**
 * Sends one request to the authorization server, retrying transient failures
 * (network errors, timeouts, retryable statuses) with backoff. Returns the
 * last answer, whatever its status, or the last network failure.
 */
export async function sendWithRetry(
  ctx: HttpContext,
  config: AxiosRequestConfig & { url: string },
  kind: RetryInfo['request'],
): Promise<Exchange> {
  const startedAt = ctx.now();
  for (let attempt = 1; ; attempt++) {
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
      };
    } catch (error) {
      outcome = networkFailure(error, timeout.aborted, ctx, attempt);
      if (outcome.kind === 'network' && outcome.reason === 'too-large') return outcome;
    }
    const retryable = outcome.kind === 'network' || ctx.retry.statuses.includes(outcome.status);
    if (!retryable || attempt > ctx.retry.retries) return outcome;
    const retryAfter =
      outcome.kind === 'answer' ? parseRetryAfter(headerValue(outcome.headers, 'retry-after'), Date.now()) : undefined;
    const delayMs = retryDelay(ctx.retry, attempt, retryAfter);
    const reason = outcome.kind === 'answer' ? `HTTP ${outcome.status}` : outcome.reason;
    ctx.onRetry?.({ attempt, delayMs, reason, request: kind });
    await sleep(delayMs);
  }
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
function networkFailure(error: unknown, timedOut: boolean, ctx: HttpContext, attempts: number): Exchange {
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
  const message = timedOut ? `no answer within ${ctx.timeoutMs} ms` : scrub(rawMessage, ctx.secrets);
  const cause = Object.assign(new Error(message), code ? { code } : {});
  return { kind: 'network', reason, message, cause, attempts };
}

/** Everything that identifies a grant. */
export interface GrantRequest {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  authMethod: ClientAuthMethod;
  scope: readonly string[];
  audience?: string | undefined;
  resource: readonly string[];
  params: Readonly<Record<string, string>>;
}

export interface GrantResult {
  token: AccessToken;
  /** `expires_in` in seconds, if it gave a lifetime (absent or `0`: `undefined`). */
  lifetimeSeconds: number | undefined;
  /** When the successful token request was sent (ms). */
  sentAt: number;
  /** From the first attempt to the answer, in ms. */
  durationMs: number;
  attempts: number;
}

/** The form body of a client credentials token request (RFC 6749 §4.4.2). */
export function tokenRequestBody(grant: GrantRequest, headers: Record<string, string>): URLSearchParams {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (grant.scope.length > 0) body.set('scope', grant.scope.join(' '));
  if (grant.audience !== undefined) body.set('audience', grant.audience);
  for (const resource of grant.resource) body.append('resource', resource);
  for (const [key, value] of Object.entries(grant.params)) body.set(key, value);
  applyClientAuth(grant.authMethod, grant.clientId, grant.clientSecret, headers, body);
  return body;
}

/**
 * Runs the client credentials grant once (with retries of transient
 * failures): build, send, validate.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export async function requestToken(ctx: HttpContext, grant: GrantRequest): Promise<GrantResult> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  };
  const body = tokenRequestBody(grant, headers);
  const where = `POST ${displayUrl(grant.tokenUrl)}`;
  const exchange = await sendWithRetry(
    ctx,
    { url: grant.tokenUrl, method: 'POST', headers, data: body.toString() },
    'token',
  );
  if (exchange.kind === 'network') {
    throw new TokenEndpointError(
      `Token request ${where} failed after ${exchange.attempts} attempt${exchange.attempts === 1 ? '' : 's'}: ${exchange.message}.`,
      {
        cause: exchange.cause,
        attempts: exchange.attempts,
        retryable: exchange.reason !== 'too-large',
        error: exchange.reason === 'too-large' ? 'invalid_token_response' : undefined,
      },
    );
  }
  const { status, text, attempts } = exchange;
  const { secrets } = ctx;
  const json = parseJson(text);
  const safe = (error: TokenEndpointError): TokenEndpointError =>
    sanitizeError(error, secrets, attempts, ctx.retry.statuses.includes(status));
  if (status < 200 || status >= 300) {
    throw safe(
      errorFromBody(isJsonObject(json) ? json : undefined, status, `Token request ${where} was refused`, { secrets }),
    );
  }
  try {
    if (json === undefined)
      throw invalidResponse(`Token endpoint ${where} answered HTTP ${status} with a body that is not JSON.`, status);
    const { token, lifetimeSeconds } = parseTokenResponse(json, {
      status,
      sentAt: exchange.sentAt,
      requestedScope: grant.scope,
      secrets,
    });
    return { token, lifetimeSeconds, sentAt: exchange.sentAt, durationMs: ctx.now() - exchange.startedAt, attempts };
  } catch (error) {
    throw error instanceof TokenEndpointError ? safe(error) : error;
  }
}

/** Re-creates a token endpoint error with secrets scrubbed from its texts and the cycle's attempt count. */
function sanitizeError(
  error: TokenEndpointError,
  secrets: readonly string[],
  attempts: number,
  retryable: boolean,
): TokenEndpointError {
  const clean = (text: string | undefined): string | undefined =>
    text === undefined ? undefined : scrub(text, secrets);
  return new TokenEndpointError(scrub(error.message, secrets, 1000), {
    status: error.status,
    error: clean(error.error),
    errorDescription: clean(error.errorDescription),
    errorUri: clean(error.errorUri),
    attempts,
    retryable,
  });
}
