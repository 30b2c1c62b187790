import { randomBytes } from 'node:crypto';
import axios, { AxiosError, CanceledError } from 'axios';
import type { AxiosAdapter, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { RequestAuthOptions } from './axios-config.js';
import { AuthenticationError, ConfigurationError, PermissionError } from './errors.js';
import { OriginPolicy } from './origin.js';
import { displayUrl, hideProperty } from './redact.js';
import { RedirectGuard } from './redirect-guard.js';
import type { ClientCredentialsProvider } from './token-provider.js';
import type { AccessToken } from './token-response.js';
import { challengeSchemes, parseBearerChallenge } from './www-authenticate.js';

/** Options of {@link attachAuth}. */
export interface AttachAuthOptions {
  /**
   * Origins the token may be sent to, e.g. `['https://api.example.com']`.
   * @default the origin of the instance's `baseURL`
   */
  origins?: readonly string[] | undefined;
  /** Allow sending the token to a plain `http:` origin that is not loopback (RFC 6750 §5.3 requires TLS). @default false */
  allowInsecureHttp?: boolean | undefined;
}

/** What {@link attachAuth} returns. */
export interface AuthHandle {
  /** The origins the token is sent to. */
  readonly origins: readonly string[];
  /** Removes both interceptors; requests already under way finish as they started. */
  detach(): void;
}

type AdapterSpec = InternalAxiosRequestConfig['adapter'];
/** The few AxiosHeaders methods used here. */
interface HeaderBag {
  get(name: string): unknown;
  set(name: string, value: string): unknown;
  delete(name: string): unknown;
}

const OWNER = Symbol('axios-client-credentials.owner');
const AUTHORIZATION = /^authorization$/i;

/** A request body that the first send consumed: a Node stream (also `form-data`), a web stream, an async iterable. */
function isOneShotBody(data: unknown): boolean {
  if (typeof data !== 'object' || data === null || Buffer.isBuffer(data)) return false;
  const body = data as { pipe?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof body.pipe === 'function' || typeof body[Symbol.asyncIterator] === 'function' || (typeof ReadableStream !== 'undefined' && data instanceof ReadableStream);
}

/** Adapter names resolved to axios's http adapter; other names can depend on the config (fetch), so they are resolved each time. */
const resolvedToHttp = new Map<unknown, AxiosAdapter>();

/** The adapter axios would call for `spec`: a function as is, names and lists through `axios.getAdapter`. */
function resolveAdapter(spec: AdapterSpec, config: InternalAxiosRequestConfig): AxiosAdapter {
  if (typeof spec === 'function') return spec;
  const cached = resolvedToHttp.get(spec);
  if (cached) return cached;
  const adapter = (axios.getAdapter as (spec: AdapterSpec, config?: unknown) => AxiosAdapter)(spec, config);
  if (adapter === httpAdapter() && resolvedToHttp.size < 16) resolvedToHttp.set(spec, adapter);
  return adapter;
}

/** The key under which `headers` holds an Authorization header, in whatever case. */
function authorizationKey(headers: object): string | undefined {
  for (const key of Object.keys(headers)) {
    if (key.length === 13 && key.toLowerCase() === 'authorization') return key;
  }
  return undefined;
}

/** A spec-compliant (native) FormData body. */
function isSpecFormData(data: unknown): boolean {
  return typeof FormData !== 'undefined' && data instanceof FormData;
}

let http: AxiosAdapter | undefined;
function httpAdapter(): AxiosAdapter | undefined {
  try {
    return (http ??= (axios.getAdapter as (spec: string) => AxiosAdapter)('http'));
  } catch {
    return undefined;
  }
}

/**
 * Fixes the multipart boundary of a native FormData body before the first
 * send: axios's http adapter reuses a boundary found in Content-Type, so a
 * replay is byte-identical instead of getting a new random boundary.
 */
function pinBoundary(headers: HeaderBag): void {
  const type = headers.get('Content-Type');
  if (typeof type === 'string' && /boundary=/i.test(type)) return;
  headers.set('Content-Type', `multipart/form-data; boundary=axios-client-credentials-${randomBytes(12).toString('hex')}`);
}

/**
 * Makes `request` non-enumerable when it can show the token: a ClientRequest's
 * `_header` holds the Authorization line, a fetch Request its headers.
 */
function hideRequest(target: object | undefined): void {
  const request = (target as { request?: unknown } | undefined)?.request;
  if (typeof request !== 'object' || request === null) return;
  if (!('_header' in request || 'headers' in request || 'getHeader' in request)) return;
  if (Object.prototype.propertyIsEnumerable.call(target, 'request')) hideProperty(target as object, 'request', request);
}

/** The error axios raises when a request's `timeout` runs out, here while it waited for a token. */
function timeoutError(config: InternalAxiosRequestConfig, timeout: number): AxiosError {
  const code = config.transitional?.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED;
  return new AxiosError(`timeout of ${timeout}ms exceeded while waiting for an access token`, code, config);
}

/** What one send with our token was: the token, and whether it was this library's replay of a 401. */
interface Send {
  token: AccessToken;
  replay: boolean;
}

/**
 * A replay's proof of origin: an object only this module makes, good for one send. axios's config
 * merge passes it through by reference (it is not a plain object), so the replay's final config
 * carries it; any later copy carries one already used, and is a new request, not a replay.
 */
class ReplayTicket {}
const liveTickets = new WeakSet<ReplayTicket>();

function issueReplayTicket(): ReplayTicket {
  const ticket = new ReplayTicket();
  liveTickets.add(ticket);
  return ticket;
}

/** Whether this send is the replay its ticket was issued for; the ticket is used up either way. */
function takeReplayTicket(config: InternalAxiosRequestConfig): boolean {
  const ticket = config.clientCredentials?.replayTicket;
  return ticket instanceof ReplayTicket && liveTickets.delete(ticket);
}

function methodOf(config: InternalAxiosRequestConfig): string {
  return (config.method ?? 'get').toUpperCase();
}

/**
 * Adds `Authorization: <token_type> <access_token>` from `provider` to the
 * requests of `api` bound for an allowed origin, replays a 401 once with a
 * fresh token, and turns a 403 into a {@link PermissionError}.
 *
 * The token is set at the very last step, just before axios's adapter sends
 * the request, so every request interceptor, whenever it was registered, has
 * already run and the final URL is the one checked.
 *
 * @example
 * const api = axios.create({ baseURL: 'https://api.example.com/banking' });
 * const handle = attachAuth(api, tokens);
 * // later: handle.detach();
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export function attachAuth(api: AxiosInstance, provider: ClientCredentialsProvider, options: AttachAuthOptions = {}): AuthHandle {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('attachAuth options must be an object, e.g. { origins: ["https://api.example.com"] }, or left out.');
  }
  if (!api || typeof api.request !== 'function' || !api.interceptors) {
    throw new ConfigurationError('attachAuth needs an axios instance as its first argument, e.g. attachAuth(axios.create({ baseURL }), provider).');
  }
  if (!provider || typeof provider.getToken !== 'function' || typeof provider.peekToken !== 'function' || typeof provider.invalidate !== 'function') {
    throw new ConfigurationError('attachAuth needs a ClientCredentialsProvider as its second argument.');
  }
  const policy = OriginPolicy.fromOptions(options.origins, api.defaults.baseURL, options.allowInsecureHttp === true);
  /** Header values this handle set lately, to tell them from a caller's own Authorization header. */
  const ours = new Set<string>();
  const state = { detached: false };
  /**
   * The one source of truth for "this request carried our token": the config object axios handed the
   * adapter, mapped to the send. A copy of that config (`{ ...config }`, axios's config merge, a resend
   * of `error.config`) is another object, so it can never pass for a request that carried the token.
   */
  const sends = new WeakMap<object, Send>();
  const wrappers = new Map<unknown, AxiosAdapter>();

  let lastToken: AccessToken | undefined;
  let lastHeader = '';
  const headerFor = (token: AccessToken): string => {
    if (token === lastToken) return lastHeader;
    const value = `${token.tokenType} ${token.accessToken}`;
    lastToken = token;
    lastHeader = value;
    if (!ours.has(value)) {
      ours.add(value);
      if (ours.size > 8) ours.delete(ours.values().next().value as string);
    }
    return value;
  };

  const redirects = new RedirectGuard(policy);

  const waitForToken = (config: InternalAxiosRequestConfig): Promise<AccessToken> => {
    const controller = new AbortController();
    const cleanups: (() => void)[] = [];
    const fail = new Promise<never>((_, reject) => {
      const signal = config.signal as (AbortSignal & { onabort?: unknown }) | undefined;
      const onAbort = (): void => reject(new CanceledError(undefined, undefined, config));
      if (signal) {
        if (signal.aborted) onAbort();
        else if (typeof signal.addEventListener === 'function') {
          signal.addEventListener('abort', onAbort);
          cleanups.push(() => signal.removeEventListener?.('abort', onAbort));
        }
      }
      const cancelToken = config.cancelToken;
      if (cancelToken) {
        const onCancel = (cancel: unknown): void => reject(cancel);
        cancelToken.subscribe(onCancel);
        cleanups.push(() => cancelToken.unsubscribe(onCancel));
      }
      const timeout = config.timeout;
      if (typeof timeout === 'number' && timeout > 0) {
        const timer = setTimeout(() => reject(timeoutError(config, timeout)), timeout);
        cleanups.push(() => clearTimeout(timer));
      }
    });
    fail.catch(() => controller.abort());
    return Promise.race([provider.getToken({ signal: controller.signal }), fail]).finally(() => {
      for (const cleanup of cleanups) cleanup();
    });
  };

  /** Removes our token from what the caller gets back, so no log shows it. */
  const scrub = (config: InternalAxiosRequestConfig, key: string, value: string, holder: object): void => {
    const headers = config.headers as unknown as Record<string, unknown> | undefined;
    if (headers && headers[key] === value) delete headers[key];
    hideRequest(holder);
    hideRequest((holder as { response?: object }).response);
  };

  /** Sets the token on the request, sends it, and takes the token back off once the adapter settles. */
  const authorize = (config: InternalAxiosRequestConfig, adapter: AxiosAdapter, key: string, token: AccessToken, replay: boolean, waitedSince: number | undefined): Promise<AxiosResponse> => {
    const timeout = config.timeout;
    if (waitedSince !== undefined && typeof timeout === 'number' && timeout > 0) {
      // axios's timeout is the budget of the whole call: the HTTP exchange gets what the token wait left.
      const left = timeout - (Date.now() - waitedSince);
      if (left < 1) return Promise.reject(timeoutError(config, timeout));
      config.timeout = Math.ceil(left);
    }
    const value = headerFor(token);
    (config.headers as unknown as Record<string, unknown>)[key] = value;
    sends.set(config, { token, replay });
    config.beforeRedirect = redirects.wrap(config.beforeRedirect);
    // The token leaves the config as soon as the request is sent, so no interceptor, retry or log sees it, in whatever order they were added.
    let sending: Promise<AxiosResponse>;
    try {
      sending = adapter(config);
    } catch (error) {
      sending = Promise.reject(error); // an adapter that throws at once must not leave the token behind either
    }
    return sending.then(
      (response) => {
        if (timeout !== undefined) config.timeout = timeout;
        scrub(config, key, value, response);
        return response;
      },
      (error: unknown) => {
        if (timeout !== undefined) config.timeout = timeout;
        if (typeof error === 'object' && error !== null) scrub(config, key, value, error);
        throw error;
      },
    );
  };

  const send = (config: InternalAxiosRequestConfig, spec: AdapterSpec): Promise<AxiosResponse> => {
    const adapter = resolveAdapter(spec, config);
    const replay = takeReplayTicket(config);
    if (state.detached || config.clientCredentials?.skip || !policy.allows(config)) return adapter(config);
    const headers = config.headers as unknown as Record<string, unknown>;
    let key = authorizationKey(headers);
    if (key === undefined) key = 'Authorization';
    else {
      const existing = headers[key];
      if (existing !== undefined && existing !== null && existing !== false && !ours.has(String(existing)) && !isInstanceDefault(existing, config)) {
        return adapter(config); // the request's own Authorization header is left alone
      }
    }
    if (isSpecFormData(config.data) && adapter === httpAdapter()) pinBoundary(config.headers as unknown as HeaderBag);
    const cached = provider.peekToken();
    if (cached) return authorize(config, adapter, key, cached, replay, undefined);
    const waitedSince = Date.now();
    const header = key;
    return waitForToken(config).then((token) => authorize(config, adapter, header, token, replay, waitedSince));
  };

  /** Whether an Authorization value came from the instance's default headers (replaced by ours) rather than from the request. */
  const isInstanceDefault = (value: unknown, config: InternalAxiosRequestConfig): boolean => {
    const defaults = api.defaults.headers as unknown as Record<string, unknown>;
    const method = (config.method ?? 'get').toLowerCase();
    for (const group of [defaults, defaults.common, defaults[method]]) {
      if (typeof group !== 'object' || group === null) continue;
      for (const [name, candidate] of Object.entries(group)) {
        if (AUTHORIZATION.test(name) && candidate === value) return true;
      }
    }
    return false;
  };

  const wrapperFor = (spec: AdapterSpec): AxiosAdapter => {
    let wrapper = wrappers.get(spec);
    if (!wrapper) {
      wrapper = (config) => send(config, spec);
      (wrapper as unknown as Record<symbol, unknown>)[OWNER] = state;
      if (wrappers.size > 32) wrappers.clear();
      wrappers.set(spec, wrapper);
    }
    return wrapper;
  };

  const requestId = api.interceptors.request.use(
    (config) => {
      const adapter = config.adapter as unknown as Record<symbol, unknown> | undefined;
      if (config.clientCredentials?.skip || (adapter && adapter[OWNER] === state)) return config;
      config.adapter = wrapperFor(config.adapter ?? api.defaults.adapter ?? axios.defaults.adapter);
      return config;
    },
    undefined,
    { synchronous: true },
  );

  const onUnauthorized = (error: AxiosError, config: InternalAxiosRequestConfig, { token, replay: wasReplay }: Send): Promise<AxiosResponse> => {
    const settings: RequestAuthOptions = config.clientCredentials ?? {};
    const where = `${methodOf(config)} ${displayUrl(OriginPolicy.fullUrl(config))}`;
    const header = error.response?.headers?.['www-authenticate'] as string | undefined;
    const challenge = parseBearerChallenge(header);
    const schemes = challengeSchemes(header);
    if (schemes.length > 0 && !challenge) {
      throw new AuthenticationError(`The API rejected ${where} with 401 asking for ${schemes.join(', ')} authentication, not a Bearer token; the token was kept and the request not replayed.`, error, 'other-scheme');
    }
    provider.invalidate(token);
    if (wasReplay) {
      throw new AuthenticationError(`The API rejected ${where} with 401 again after one replay with a fresh token; the client may not be allowed to use this API.`, error, 'rejected-after-replay', challenge);
    }
    if (settings.replay === false) {
      throw new AuthenticationError(`The API rejected ${where} with 401; the token was dropped, and replay is off for this request.`, error, 'replay-disabled', challenge);
    }
    if (isOneShotBody(config.data)) {
      throw new AuthenticationError(`The API rejected ${where} with 401, and its body is a one-shot stream that the first send consumed, so it cannot be replayed; send a Buffer, string or FormData to allow the replay. The token was dropped; a new request gets a fresh one.`, error, 'body-not-replayable', challenge);
    }
    provider.emit('replay', { method: methodOf(config), url: displayUrl(OriginPolicy.fullUrl(config)), status: 401 });
    const replay = {
      ...config,
      // The body is already transformed; transforming it again could change it.
      transformRequest: [],
      clientCredentials: { ...settings, isReplay: true, replayTicket: issueReplayTicket() },
    } as InternalAxiosRequestConfig;
    return api.request(replay);
  };

  /** Whether the answer came from an allowed origin: after redirects, the final URL's (http adapter, via follow-redirects). */
  const answeredByAllowedOrigin = (error: AxiosError): boolean => {
    const finalUrl = (error.request as { res?: { responseUrl?: unknown } } | undefined)?.res?.responseUrl;
    return typeof finalUrl !== 'string' || policy.allowsUrl(finalUrl);
  };

  const responseId = api.interceptors.response.use(undefined, (error: unknown) => {
    const config = (error as AxiosError | undefined)?.config;
    const send = config ? sends.get(config) : undefined;
    if (!send || !config || !axios.isAxiosError(error)) throw error;
    const status = error.response?.status;
    // A 401 or 403 from a redirect target the token was withheld from says nothing about the token.
    if ((status === 401 || status === 403) && !answeredByAllowedOrigin(error)) throw error;
    if (status === 401) return onUnauthorized(error, config, send);
    if (status === 403) {
      const challenge = parseBearerChallenge(error.response?.headers?.['www-authenticate'] as string | undefined);
      const url = displayUrl(OriginPolicy.fullUrl(config));
      const requiredScope = challenge?.scope ?? [];
      provider.emit('denied', { method: methodOf(config), url, requiredScope });
      const lacking = requiredScope.length > 0 ? `: the token lacks scope ${requiredScope.join(' ')}` : '';
      throw new PermissionError(`The API refused ${methodOf(config)} ${url} (403 Forbidden)${lacking}.`, error, challenge);
    }
    throw error;
  });

  return {
    origins: policy.origins,
    detach() {
      state.detached = true;
      api.interceptors.request.eject(requestId);
      api.interceptors.response.eject(responseId);
    },
  };
}
