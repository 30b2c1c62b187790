import { CLIENT_AUTH_METHODS, type ClientAuthMethod } from './client-auth.js';
import { DiscoveryError } from '../errors.js';
import { sendWithRetry, type HttpContext } from './grant.js';
import { displayUrl, scrub } from '../util/redact.js';
import { isJsonObject, parseJson } from '../util/json.js';

/** The fields of an authorization server's metadata this library uses. */
export interface ServerMetadata {
  issuer: string;
  token_endpoint: string;
  token_endpoint_auth_methods_supported?: string[];
  [field: string]: unknown;
}

/** Issuers compare equal when identical, ignoring one trailing slash. */
function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/$/, '') === b.replace(/\/$/, '');
}

/**
 * Discovery URLs for an issuer, in the order tried: OpenID Connect Discovery
 * (`<issuer>/.well-known/openid-configuration`), then RFC 8414
 * (`/.well-known/oauth-authorization-server` inserted before the issuer's path).
 */
export function discoveryUrls(issuer: string): string[] {
  const base = issuer.replace(/\/$/, '');
  const url = new URL(base);
  const path = url.pathname === '/' ? '' : url.pathname;
  return [`${base}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`];
}

/**
 * Fetches and checks an issuer's metadata (OpenID Connect Discovery 1.0, RFC 8414).
 * The document's `issuer` must be the configured one (RFC 8414 §3.3).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3
 */
export async function discover(
  ctx: HttpContext,
  issuer: string,
  checkUrl: (url: string, what: string) => void,
): Promise<ServerMetadata> {
  const failures: string[] = [];
  let lastStatus: number | undefined;
  for (const url of discoveryUrls(issuer)) {
    const exchange = await sendWithRetry(
      ctx,
      { url, method: 'GET', headers: { Accept: 'application/json' } },
      'discovery',
    );
    if (exchange.kind === 'network') {
      throw new DiscoveryError(
        `Discovery GET ${displayUrl(url)} failed after ${exchange.attempts} attempt(s): ${exchange.message}.`,
        { cause: exchange.cause },
      );
    }
    lastStatus = exchange.status;
    const json = parseJson(exchange.text);
    if (exchange.status < 200 || exchange.status >= 300 || !isJsonObject(json)) {
      failures.push(
        `GET ${displayUrl(url)} answered HTTP ${exchange.status}${exchange.status < 300 ? ' without a JSON object' : ''}`,
      );
      continue;
    }
    return validate(
      json,
      issuer,
      url,
      (endpoint, what) => {
        try {
          checkUrl(endpoint, what);
        } catch (error) {
          // The message quotes the document's text: keep the client's credentials out of it.
          throw error instanceof Error ? Object.assign(error, { message: scrub(error.message, ctx.secrets) }) : error;
        }
      },
      ctx.secrets,
    );
  }
  throw new DiscoveryError(
    `Could not discover the authorization server of issuer ${displayUrl(issuer)}: ${failures.join('; ')}. Check the issuer URL, or pass tokenUrl instead.`,
    { status: lastStatus },
  );
}

function validate(
  doc: Record<string, unknown>,
  issuer: string,
  url: string,
  checkUrl: (url: string, what: string) => void,
  secrets: readonly string[],
): ServerMetadata {
  if (typeof doc.issuer !== 'string' || !sameIssuer(doc.issuer, issuer)) {
    throw new DiscoveryError(
      `Discovery document at ${displayUrl(url)} names issuer ${JSON.stringify(scrub(String(doc.issuer), secrets, 200))}, not the configured ${JSON.stringify(issuer)}; it is not used (RFC 8414 §3.3).`,
    );
  }
  if (typeof doc.token_endpoint !== 'string') {
    throw new DiscoveryError(`Discovery document at ${displayUrl(url)} has no token_endpoint.`);
  }
  checkDiscoveredUrl(doc.token_endpoint, 'token_endpoint', issuer, url, checkUrl);
  const methods = doc.token_endpoint_auth_methods_supported;
  if (methods !== undefined && !(Array.isArray(methods) && methods.every((m) => typeof m === 'string'))) {
    throw new DiscoveryError(
      `Discovery document at ${displayUrl(url)} has a token_endpoint_auth_methods_supported that is not a list of strings.`,
    );
  }
  return doc as ServerMetadata;
}

/**
 * Checks an endpoint a discovery document names: usable as configured, and never a
 * downgrade: an `https:` issuer leads only to `https:` endpoints, loopback or not,
 * whatever `allowInsecureHttp` says (the client's credentials would otherwise leave in clear).
 */
function checkDiscoveredUrl(
  endpoint: string,
  field: string,
  issuer: string,
  url: string,
  checkUrl: (url: string, what: string) => void,
): void {
  try {
    checkUrl(endpoint, `the discovered ${field}`);
  } catch (error) {
    throw new DiscoveryError(
      `Discovery document at ${displayUrl(url)} has an unusable ${field}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (new URL(issuer).protocol === 'https:' && new URL(endpoint).protocol !== 'https:') {
    throw new DiscoveryError(
      `Discovery document at ${displayUrl(url)} names a plain-http ${field} for the https issuer ${displayUrl(issuer)}; it is not used, so the client's credentials never leave in clear.`,
    );
  }
}

/**
 * The client authentication method to use when none is configured:
 * `client_secret_basic` if the server lists it (or lists nothing: RFC 8414's
 * default), else `client_secret_post`.
 */
export function pickAuthMethod(metadata: ServerMetadata): ClientAuthMethod {
  const supported = metadata.token_endpoint_auth_methods_supported;
  if (!supported || supported.includes('client_secret_basic')) return 'client_secret_basic';
  if (supported.includes('client_secret_post')) return 'client_secret_post';
  throw new DiscoveryError(
    `The authorization server ${displayUrl(metadata.issuer)} supports none of ${CLIENT_AUTH_METHODS.join(', ')} (it lists ${supported.join(', ') || 'nothing'}); this library authenticates with a client secret.`,
  );
}
