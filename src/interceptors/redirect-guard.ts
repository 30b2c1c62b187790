import type { InternalAxiosRequestConfig } from 'axios';
import type { ClientCertificate } from '../grant/client-tls.js';

/** A `beforeRedirect` hook as follow-redirects calls it (axios's http adapter). */
type Redirect = (options: Record<string, unknown>, ...rest: unknown[]) => void;
export type BeforeRedirect = NonNullable<InternalAxiosRequestConfig['beforeRedirect']>;

/** What the guard asks of the origin policy. */
export interface RedirectPolicy {
  allowsUrl(url: string): boolean;
}

const ORIGINAL = Symbol('axios-client-credentials.original');
/** The headers that carry the token (and, with DPoP, its proof). */
const TOKEN_HEADERS = /^(authorization|dpop)$/i;

/** The URL a follow-redirects redirect goes to. */
function redirectUrl(redirect: Record<string, unknown>): string {
  if (typeof redirect.href === 'string') return redirect.href;
  const port = redirect.port ? `:${String(redirect.port)}` : '';
  return `${String(redirect.protocol)}//${String(redirect.hostname)}${port}`;
}

/**
 * Strips the Authorization header from a redirect to an origin the token may
 * not go to, whatever follow-redirects would keep (it keeps the header on a
 * redirect to a subdomain, or to another port of the same host on old
 * releases), and puts back the agent the client certificate was added to, so
 * that origin is not offered the certificate either; then calls the
 * request's own `beforeRedirect`.
 *
 * One guard function per original hook is made and reused, so wrapping costs
 * nothing per request; wrapping a guard again wraps its original instead.
 */
export class RedirectGuard {
  readonly #policy: RedirectPolicy;
  readonly #guards = new WeakMap<object, Redirect>();
  readonly #plain: Redirect;
  readonly #certificate: ClientCertificate | undefined;

  constructor(policy: RedirectPolicy, certificate?: ClientCertificate) {
    this.#policy = policy;
    this.#certificate = certificate;
    this.#plain = this.#make(undefined);
  }

  /** The `beforeRedirect` to send a request with, in place of `hook` (the request's own, or none). */
  wrap(hook: unknown): BeforeRedirect {
    const original =
      typeof hook === 'function' ? ((hook as unknown as Record<symbol, unknown>)[ORIGINAL] ?? hook) : undefined;
    if (typeof original !== 'function') return this.#plain as unknown as BeforeRedirect;
    let guard = this.#guards.get(original);
    if (!guard) this.#guards.set(original, (guard = this.#make(original as Redirect)));
    return guard as unknown as BeforeRedirect;
  }

  #make(original: Redirect | undefined): Redirect {
    const guard: Redirect = (redirect, ...rest) => {
      if (!this.#policy.allowsUrl(redirectUrl(redirect))) {
        const headers = redirect.headers as Record<string, unknown> | undefined;
        for (const name of Object.keys(headers ?? {})) if (TOKEN_HEADERS.test(name)) delete headers?.[name];
        if (this.#certificate) withdrawCertificate(redirect, this.#certificate);
      }
      original?.(redirect, ...rest);
    };
    (guard as unknown as Record<symbol, unknown>)[ORIGINAL] = original;
    return guard;
  }
}

/** Puts back the agents follow-redirects would use for the next hop where they present the certificate. */
function withdrawCertificate(redirect: Record<string, unknown>, certificate: ClientCertificate): void {
  const agents = redirect.agents as Record<string, unknown> | undefined;
  if (agents && certificate.owns(agents.https))
    redirect.agents = { ...agents, https: certificate.baseOf(agents.https) };
  if (certificate.owns(redirect.agent)) redirect.agent = certificate.baseOf(redirect.agent);
}
