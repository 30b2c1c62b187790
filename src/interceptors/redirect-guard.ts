import type { InternalAxiosRequestConfig } from 'axios';

/** A `beforeRedirect` hook as follow-redirects calls it (axios's http adapter). */
type Redirect = (options: Record<string, unknown>, ...rest: unknown[]) => void;
export type BeforeRedirect = NonNullable<InternalAxiosRequestConfig['beforeRedirect']>;

/** What the guard asks of the origin policy. */
export interface RedirectPolicy {
  allowsUrl(url: string): boolean;
}

const ORIGINAL = Symbol('axios-client-credentials.original');
const AUTHORIZATION = /^authorization$/i;

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
 * releases), then calls the request's own `beforeRedirect`.
 *
 * One guard function per original hook is made and reused, so wrapping costs
 * nothing per request; wrapping a guard again wraps its original instead.
 */
export class RedirectGuard {
  readonly #policy: RedirectPolicy;
  readonly #guards = new WeakMap<object, Redirect>();
  readonly #plain: Redirect;

  constructor(policy: RedirectPolicy) {
    this.#policy = policy;
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
      const headers = redirect.headers as Record<string, unknown> | undefined;
      if (headers && !this.#policy.allowsUrl(redirectUrl(redirect))) {
        for (const name of Object.keys(headers)) if (AUTHORIZATION.test(name)) delete headers[name];
      }
      original?.(redirect, ...rest);
    };
    (guard as unknown as Record<symbol, unknown>)[ORIGINAL] = original;
    return guard;
  }
}
