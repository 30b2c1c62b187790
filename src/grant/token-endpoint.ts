import type { Buffer } from 'node:buffer';
import { checkEndpointUrl, type ResolvedOptions } from '../options.js';
import { cacheKey, deriveKey } from '../provider/token-codec.js';
import { METHODS_BY_CREDENTIAL, type ClientAuthMethod } from './client-auth.js';
import { discover, discoveredAuthMethod, type ServerMetadata } from './discovery.js';
import type { GrantRequest } from './grant.js';
import type { HttpContext } from './send.js';

/** The token endpoint of a provider: the grant to send there, and its store key and encryption key. */
export interface Endpoint {
  grant: GrantRequest;
  key: string;
  aesKey: Buffer;
}

/** Where a grant is sent and how the client authenticates there. */
interface Target {
  tokenUrl: string;
  authMethod: ClientAuthMethod;
  /** The issuer identifier, when known (discovery). */
  issuer: string | undefined;
}

/**
 * Finds a provider's token endpoint: `tokenUrl` as given, or by discovery from `issuer` once
 * (single-flight; fetched again after a failure). With a client certificate, discovery's
 * `mtls_endpoint_aliases.token_endpoint` is used (RFC 8705 §5).
 */
export class EndpointResolver {
  readonly #options: ResolvedOptions;
  readonly #http: HttpContext;
  #endpoint: Endpoint | Promise<Endpoint> | undefined;

  constructor(options: ResolvedOptions, http: HttpContext) {
    this.#options = options;
    this.#http = http;
    const { auth } = options;
    if (options.tokenUrl !== undefined) {
      const authMethod = auth.authMethod ?? (METHODS_BY_CREDENTIAL[auth.credential.kind][0] as ClientAuthMethod);
      this.#endpoint = this.#make({ tokenUrl: options.tokenUrl, authMethod, issuer: undefined });
    }
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
        const endpoint = this.#make(this.#target(metadata));
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

  #target(metadata: ServerMetadata): Target {
    const { auth } = this.#options;
    const alias = auth.certificate ? metadata.mtls_endpoint_aliases?.token_endpoint : undefined;
    return {
      tokenUrl: alias ?? metadata.token_endpoint,
      authMethod: auth.authMethod ?? discoveredAuthMethod(metadata, auth.credential.kind),
      issuer: metadata.issuer,
    };
  }

  #make({ tokenUrl, authMethod, issuer }: Target): Endpoint {
    const o = this.#options;
    const audience = o.auth.assertionAudience;
    const grant: GrantRequest = {
      tokenUrl,
      clientId: o.clientId,
      credential: o.auth.credential,
      authMethod,
      assertionAudience:
        audience === 'issuer' ? (issuer ?? tokenUrl) : audience === 'token_endpoint' ? tokenUrl : audience,
      certificateThumbprint: o.auth.certificate?.thumbprint,
      dpop: o.dpop?.key,
      dpopKeyId: o.dpop ? (o.dpop.generated ? 'generated' : o.dpop.key.thumbprint) : undefined,
      scope: o.scope,
      audience: o.audience,
      resource: o.resource,
      params: o.params,
    };
    const key = cacheKey(grant);
    return { grant, key, aesKey: deriveKey(o.encryptionMaterial, key) };
  }
}
