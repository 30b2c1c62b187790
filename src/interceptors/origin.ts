import { ConfigurationError } from '../errors.js';

/** axios's own test for an absolute URL (`scheme://` or protocol-relative `//`). */
const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;
/** Loopback hosts: `localhost` itself, 127.0.0.0/8, ::1. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Whether a URL hostname is loopback, where plain http cannot leave the machine.
 *
 * Subdomains of `localhost` (`api.localhost`) are not: RFC 6761 §6.3 only asks
 * resolvers to keep them on loopback, and a glibc resolver without a local
 * rule forwards them to DNS, which may answer with any address.
 */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/** The origin of an absolute http(s) URL, or `undefined`. */
export function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
}

/** The part of a request config that decides where axios sends it. */
export interface UrlParts {
  baseURL?: string | undefined;
  url?: string | undefined;
  allowAbsoluteUrls?: boolean | undefined;
}

/**
 * Decides whether a request may carry the token, from the URL exactly as axios
 * builds it (`baseURL` + `url`, absolute and protocol-relative URLs,
 * `allowAbsoluteUrls`), compared by origin, never by string prefix.
 */
export class OriginPolicy {
  readonly origins: readonly string[];
  readonly #allowed: Set<string>;
  /** baseURL string → its origin (few distinct values; keeps the common case free of URL parsing). */
  readonly #baseOrigins = new Map<string, string | undefined>();

  constructor(origins: readonly string[]) {
    this.origins = origins;
    this.#allowed = new Set(origins);
  }

  /** Builds the policy for `attachAuth`: explicit origins, else the instance's `baseURL`. */
  static fromOptions(origins: unknown, baseURL: unknown, allowInsecureHttp: boolean): OriginPolicy {
    let list: string[];
    if (origins !== undefined) {
      if (!Array.isArray(origins) || origins.length === 0 || origins.some((o) => typeof o !== 'string')) {
        throw new ConfigurationError(
          'attachAuth origins must be a non-empty array of URLs, e.g. { origins: ["https://api.example.com"] }.',
        );
      }
      list = origins as string[];
    } else if (typeof baseURL === 'string' && baseURL !== '') {
      list = [baseURL];
    } else {
      throw new ConfigurationError(
        'attachAuth does not know where the token may be sent: create the instance with a baseURL (axios.create({ baseURL: "https://api.example.com" })) or pass attachAuth(api, provider, { origins: ["https://api.example.com"] }).',
      );
    }
    const normalized = list.map((entry) => {
      const origin = originOf(entry);
      if (!origin)
        throw new ConfigurationError(
          `attachAuth origin ${JSON.stringify(entry)} is not an absolute http(s) URL; write it as "https://api.example.com".`,
        );
      const host = new URL(origin).hostname;
      if (origin.startsWith('http:') && !allowInsecureHttp && !isLoopbackHost(host)) {
        throw new ConfigurationError(
          `attachAuth would send the token in clear to ${origin}; bearer tokens need TLS (RFC 6750 §5.3). Use https:, or pass allowInsecureHttp: true for a trusted private network.`,
        );
      }
      return origin;
    });
    return new OriginPolicy([...new Set(normalized)]);
  }

  /** The full URL axios will request, as axios's `buildFullPath` builds it. */
  static fullUrl(config: UrlParts): string {
    const url = config.url ?? '';
    const base = config.baseURL;
    if (base && (!ABSOLUTE_URL.test(url) || config.allowAbsoluteUrls === false)) {
      return url ? `${base.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}` : base;
    }
    return url;
  }

  /** Whether a request with this config may carry the token. */
  allows(config: UrlParts): boolean {
    const url = config.url ?? '';
    const base = config.baseURL;
    const absolute = ABSOLUTE_URL.test(url);
    // With allowAbsoluteUrls: false axios keeps an absolute url under baseURL, but some adapters of
    // older releases (fetch and xhr before 1.8.3) still send it as is: both origins must be allowed.
    if (absolute && config.allowAbsoluteUrls === false && !this.allowsUrl(url)) return false;
    if (base && (!absolute || config.allowAbsoluteUrls === false)) {
      // The URL stays under baseURL: its origin is baseURL's.
      let origin = this.#baseOrigins.get(base);
      if (origin === undefined && !this.#baseOrigins.has(base)) {
        origin = originOf(base);
        if (this.#baseOrigins.size > 64) this.#baseOrigins.clear();
        this.#baseOrigins.set(base, origin);
      }
      return origin !== undefined && this.#allowed.has(origin);
    }
    return this.allowsUrl(url);
  }

  /** Whether an absolute URL's origin is allowed (protocol-relative and relative URLs never are). */
  allowsUrl(url: string): boolean {
    const origin = originOf(url);
    return origin !== undefined && this.#allowed.has(origin);
  }
}
