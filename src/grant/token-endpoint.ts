import { discover, pickAuthMethod } from './discovery.js';
import type { GrantRequest, HttpContext } from './grant.js';
import { checkEndpointUrl, type ResolvedOptions } from '../options.js';
import { cacheKey, deriveKey } from '../provider/token-codec.js';

/** The token endpoint of a provider: the grant to send there, and its store key and encryption key. */
export interface Endpoint {
  grant: GrantRequest;
  key: string;
  aesKey: Buffer;
}

/**
 * Finds a provider's token endpoint: `tokenUrl` as given, or by discovery from `issuer` once
 * (single-flight; fetched again after a failure).
 */
export class EndpointResolver {
  readonly #options: ResolvedOptions;
  readonly #http: HttpContext;
  #endpoint: Endpoint | Promise<Endpoint> | undefined;

  constructor(options: ResolvedOptions, http: HttpContext) {
    this.#options = options;
    this.#http = http;
    if (options.tokenUrl !== undefined)
      this.#endpoint = this.#make(options.tokenUrl, options.authMethod ?? 'client_secret_basic');
  }

  /** The endpoint if it is known already, without waiting. */
  get known(): Endpoint | undefined {
    const endpoint = this.#endpoint;
    return endpoint instanceof Promise ? undefined : endpoint;
  }

  /** The endpoint, found by discovery the first time when only the issuer is configured. */
  resolve(): Endpoint | Promise<Endpoint> {
    if (this.#endpoint) return this.#endpoint;
    const o = this.#options;
    const pending = discover(this.#http, o.issuer as string, (url, what) =>
      checkEndpointUrl(url, what, o.allowInsecureHttp),
    )
      .then((metadata) => {
        const endpoint = this.#make(metadata.token_endpoint, o.authMethod ?? pickAuthMethod(metadata));
        this.#endpoint = endpoint;
        return endpoint;
      })
      .catch((error: unknown) => {
        // Any failure, fetching or using the document, means it is fetched again next time.
        if (this.#endpoint === pending) this.#endpoint = undefined;
        throw error;
      });
    this.#endpoint = pending;
    return pending;
  }

  #make(tokenUrl: string, authMethod: GrantRequest['authMethod']): Endpoint {
    const o = this.#options;
    const grant: GrantRequest = {
      tokenUrl,
      clientId: o.clientId,
      clientSecret: o.clientSecret,
      authMethod,
      scope: o.scope,
      audience: o.audience,
      resource: o.resource,
      params: o.params,
    };
    const key = cacheKey(grant);
    return { grant, key, aesKey: deriveKey(o.encryptionKey ?? o.clientSecret, key) };
  }
}
