import axios from 'axios';
import type { AxiosAdapter, AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { RequestAuthOptions } from './axios-config.js';
import { AuthenticationError, PermissionError } from '../errors.js';
import { REPORT, type ApiEventReporter } from '../events.js';
import { OriginPolicy } from './origin.js';
import { displayUrl } from '../util/redact.js';
import { RedirectGuard } from './redirect-guard.js';
import type { AccessToken } from '../grant/token-response.js';
import type { TokenSelection } from '../provider/token-provider.js';
import { parseChallenges } from './www-authenticate.js';
import { callAdapter, httpAdapter, resolveAdapter, type AdapterSpec } from './adapter.js';
import { presentCertificate } from './certificate-agent.js';
import { CLIENT_CERTIFICATE, type ClientCertificate } from '../grant/client-tls.js';
import { AuthorizationHeader } from './authorization-header.js';
import { isOneShotBody, isSpecFormData, pinBoundary, type HeaderBag } from './request-body.js';
import { issueReplayTicket, takeReplayTicket, type Replays } from './replay-ticket.js';
import { addProof, answerHeaders, targetOf } from './dpop-proof.js';
import type { ProofTarget } from '../grant/dpop.js';
import { takeTokenBack, withHeader } from './sent-headers.js';
import { DPOP, type DpopBinding } from '../provider/dpop-binding.js';
import { spendWait, waitForToken, type TokenSource } from './token-wait.js';
import { challengeFacts, decideUnauthorized, tokenChallenge, unauthorizedMessage } from './unauthorized.js';

/** What the interceptors ask of a provider. */
export interface AttachableProvider extends TokenSource, ApiEventReporter {
  peekToken(selection?: TokenSelection): AccessToken | undefined;
  refreshIfDue(selection?: TokenSelection): void;
  invalidate(token: AccessToken): boolean;
  readonly [CLIENT_CERTIFICATE]?: ClientCertificate | undefined;
  readonly [DPOP]?: DpopBinding | undefined;
}

/** One send with our token: what it is sent with, and the replays the request already had (of a 401, of a DPoP nonce). */
interface Send {
  token: AccessToken;
  replays: Replays;
  /** The adapter axios would call, and the header key the token goes under. */
  adapter: AxiosAdapter;
  key: string;
  /** Whether the adapter is one of axios's that take no https agent (fetch, xhr). */
  agentless: boolean;
  /** When the request began to wait for a token, if it did: the wait is taken from its `timeout`. */
  waitedSince: number | undefined;
  /** Where a DPoP token's proof is for (set once per send, for a DPoP token). */
  target?: ProofTarget | undefined;
}

/** Marks the adapter wrappers of an interceptor, so a config that already went through it is not wrapped twice. */
const OWNER = Symbol('axios-client-credentials.owner');

/**
 * The interceptors of one `attachAuth`. A request meets its methods in this order:
 * {@link onRequest} (request interceptor) → {@link dispatch} (at the adapter) → `#sendWithToken` →
 * {@link onError} (response interceptor) → `#onUnauthorized` (replay once) or `#onForbidden`.
 */
export class AuthInterceptor {
  readonly #api: AxiosInstance;
  readonly #provider: AttachableProvider;
  readonly #policy: OriginPolicy;
  readonly #redirects: RedirectGuard;
  readonly #header: AuthorizationHeader;
  /**
   * The one source of truth for "this request carried our token": the config object axios handed the
   * adapter, mapped to the send. A copy of that config (`{ ...config }`, axios's config merge, a resend
   * of `error.config`) is another object, so it can never pass for a request that carried the token.
   */
  readonly #sends = new WeakMap<object, Send>();
  readonly #wrappers = new Map<unknown, AxiosAdapter>();
  #detached = false;

  constructor(api: AxiosInstance, provider: AttachableProvider, policy: OriginPolicy) {
    this.#api = api;
    this.#provider = provider;
    this.#policy = policy;
    this.#redirects = new RedirectGuard(policy, provider[CLIENT_CERTIFICATE]);
    this.#header = new AuthorizationHeader(api.defaults);
  }

  /** Requests already under way finish as they started; new ones go untouched. */
  detach(): void {
    this.#detached = true;
  }

  /** Request interceptor: routes the request through {@link dispatch}, which runs after every other interceptor. */
  onRequest(config: InternalAxiosRequestConfig): InternalAxiosRequestConfig {
    const adapter = config.adapter as unknown as Record<symbol, unknown> | undefined;
    if (config.clientCredentials?.skip || adapter?.[OWNER] === this) return config;
    config.adapter = this.#wrapperFor(config.adapter ?? this.#api.defaults.adapter ?? axios.defaults.adapter);
    return config;
  }

  /** At the adapter, with the final URL: sends with the token when the request may carry it, else as it is. */
  dispatch(config: InternalAxiosRequestConfig, spec: AdapterSpec): Promise<AxiosResponse> {
    const adapter = resolveAdapter(spec, config);
    const replays = takeReplayTicket(config);
    if (this.#detached || config.clientCredentials?.skip || !this.#policy.allows(config)) return adapter(config);
    const key = this.#header.keyFor(config);
    if (key === undefined) return adapter(config); // the request's own Authorization header is left alone
    if (isSpecFormData(config.data) && adapter === httpAdapter()) pinBoundary(config.headers as unknown as HeaderBag);
    // axios's own adapters other than http (fetch, xhr) take no https agent: no client certificate.
    const agentless = typeof spec !== 'function' && adapter !== httpAdapter();
    const selection = selectionOf(config);
    let cached: AccessToken | undefined;
    try {
      cached = this.#provider.peekToken(selection);
    } catch (error) {
      return Promise.reject(error); // an invalid per-request scope or resource: nothing is sent
    }
    if (cached) {
      this.#provider.refreshIfDue(selection);
      return this.#sendWhenReady(config, newSend(cached, replays, adapter, key, agentless, undefined));
    }
    const waitedSince = Date.now();
    return waitForToken(this.#provider, config, selection).then((token) =>
      this.#sendWhenReady(config, newSend(token, replays, adapter, key, agentless, waitedSince)),
    );
  }

  /** Response interceptor: a 401 or 403 to a request that carried our token; anything else passes through. */
  onError(error: unknown): Promise<AxiosResponse> {
    const config = (error as AxiosError | undefined)?.config;
    const send = config ? this.#sends.get(config) : undefined;
    if (!send || !config || !axios.isAxiosError(error)) throw error;
    const status = error.response?.status;
    if (status !== 401 && status !== 403) throw error;
    // A 401 or 403 from a redirect target the token was withheld from says nothing about the token.
    if (!this.#answeredByAllowedOrigin(error)) throw error;
    return status === 401 ? this.#onUnauthorized(error, config, send) : this.#onForbidden(error, config, send);
  }

  /** {@link #sendWithToken}, once a DPoP token's target origin has answered a first request (and so named its nonce). */
  #sendWhenReady(config: InternalAxiosRequestConfig, send: Send): Promise<AxiosResponse> {
    if (send.token.tokenType === 'DPoP') send.target = targetOf(config);
    const gate = send.target && this.#provider[DPOP]?.nonces.gate(send.target.origin);
    if (!gate) return this.#sendWithToken(config, send);
    send.waitedSince ??= Date.now();
    return gate.then(() => this.#sendWithToken(config, send));
  }

  /**
   * Sets the token (and, with a certificate-bound token, the agent that presents the certificate), sends,
   * and takes both back off the config as soon as the adapter settles.
   */
  #sendWithToken(config: InternalAxiosRequestConfig, send: Send): Promise<AxiosResponse> {
    const { adapter, key, agentless } = send;
    const timeout = spendWait(config, send.waitedSince);
    if (typeof timeout === 'object') return Promise.reject(timeout);
    const certificate = this.#provider[CLIENT_CERTIFICATE];
    let ownAgent: unknown;
    try {
      if (certificate) ownAgent = presentCertificate(config, agentless, certificate, this.#api.defaults.httpsAgent);
    } catch (error) {
      return Promise.reject(error);
    }
    const sentAgent: unknown = config.httpsAgent;
    const own = config.headers;
    const sent = withHeader(own, key, this.#header.valueFor(send.token));
    const dpop = this.#provider[DPOP];
    const { target } = send;
    try {
      if (target) addProof(sent, dpop, send.token, config, target);
    } catch (error) {
      return Promise.reject(error);
    }
    config.headers = sent;
    this.#sends.set(config, send);
    config.beforeRedirect = this.#redirects.wrap(config.beforeRedirect);
    const settle = (result: unknown): void => {
      if (target) dpop?.nonces.update(target.origin, answerHeaders(result));
      takeTokenBack(config, own, sent, timeout, result);
      if (certificate && config.httpsAgent === sentAgent) config.httpsAgent = ownAgent;
    };
    return callAdapter(adapter, config).then(
      (response) => {
        settle(response);
        return response;
      },
      (error: unknown) => {
        settle(error);
        throw error;
      },
    );
  }

  #onUnauthorized(error: AxiosError, config: InternalAxiosRequestConfig, send: Send): Promise<AxiosResponse> {
    const settings: RequestAuthOptions = config.clientCredentials ?? {};
    const challenges = parseChallenges(error.response?.headers?.['www-authenticate']);
    const challenge = tokenChallenge(challenges, send.token.tokenType);
    const decision = decideUnauthorized({
      ...challengeFacts(challenges, send.token.tokenType, error.response?.headers),
      wasReplay: send.replays.unauthorized,
      wasNonceReplay: send.replays.nonce,
      replay: settings.replay,
      oneShotBody: isOneShotBody(config.data),
    });
    if (decision.dropToken) this.#provider.invalidate(send.token);
    if (!decision.replay) {
      const schemes = challenges.map((c) => c.scheme);
      throw new AuthenticationError(
        unauthorizedMessage(decision.reason, describe(config), schemes),
        error,
        decision.reason,
        challenge,
      );
    }
    this.#provider[REPORT]('replay', { method: methodOf(config), url: urlOf(config), status: 401 });
    return this.#api.request({
      ...config,
      // The body is already transformed; transforming it again could change it.
      transformRequest: [],
      clientCredentials: {
        ...settings,
        isReplay: true,
        replayTicket: issueReplayTicket(replaysAfter(send, decision.nonce)),
      },
    } as InternalAxiosRequestConfig);
  }

  #onForbidden(error: AxiosError, config: InternalAxiosRequestConfig, send: Send): never {
    const challenges = parseChallenges(error.response?.headers?.['www-authenticate']);
    const challenge = tokenChallenge(challenges, send.token.tokenType);
    const requiredScope = challenge?.scope ?? [];
    this.#provider[REPORT]('denied', { method: methodOf(config), url: urlOf(config), requiredScope });
    const lacking = requiredScope.length > 0 ? `: the token lacks scope ${requiredScope.join(' ')}` : '';
    throw new PermissionError(`The API refused ${describe(config)} (403 Forbidden)${lacking}.`, error, challenge);
  }

  /** Whether the answer came from an allowed origin: after redirects, the final URL's (http adapter, via follow-redirects). */
  #answeredByAllowedOrigin(error: AxiosError): boolean {
    const finalUrl = (error.request as { res?: { responseUrl?: unknown } } | undefined)?.res?.responseUrl;
    return typeof finalUrl !== 'string' || this.#policy.allowsUrl(finalUrl);
  }

  /** One wrapper adapter per adapter spec, made once: no closure per request. */
  #wrapperFor(spec: AdapterSpec): AxiosAdapter {
    let wrapper = this.#wrappers.get(spec);
    if (!wrapper) {
      wrapper = (config) => this.dispatch(config, spec);
      (wrapper as unknown as Record<symbol, unknown>)[OWNER] = this;
      if (this.#wrappers.size > 32) this.#wrappers.clear();
      this.#wrappers.set(spec, wrapper);
    }
    return wrapper;
  }
}

/** A {@link Send}, always of one shape (every field set, in one order), so the hot path stays monomorphic. */
function newSend(
  token: AccessToken,
  replays: Replays,
  adapter: AxiosAdapter,
  key: string,
  agentless: boolean,
  waitedSince: number | undefined,
): Send {
  return { token, replays, adapter, key, agentless, waitedSince, target: undefined };
}

/** The replays a request has had once it is replayed again: of a 401, or with a new DPoP nonce (`nonce`). */
function replaysAfter(send: Send, nonce: boolean): Replays {
  return { unauthorized: send.replays.unauthorized || !nonce, nonce: send.replays.nonce || nonce };
}

/** The token a request asks for (`clientCredentials.scope` / `resource`), or `undefined` for the provider's own. */
function selectionOf(config: InternalAxiosRequestConfig): TokenSelection | undefined {
  const settings = config.clientCredentials;
  if (settings?.scope === undefined && settings?.resource === undefined) return undefined;
  return { scope: settings.scope, resource: settings.resource };
}

function methodOf(config: InternalAxiosRequestConfig): string {
  return (config.method ?? 'get').toUpperCase();
}

/** The request's URL as messages and events show it (no query, no user info). */
function urlOf(config: InternalAxiosRequestConfig): string {
  return displayUrl(OriginPolicy.fullUrl(config));
}

/** `GET https://api.example.com/path`. */
function describe(config: InternalAxiosRequestConfig): string {
  return `${methodOf(config)} ${urlOf(config)}`;
}
