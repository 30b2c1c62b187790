import { METHODS_BY_CREDENTIAL, pickAuthMethod, type ClientAuthMethod, type ClientCredential } from './client-auth.js';
import { DiscoveryError } from '../errors.js';
import { sendWithRetry, type HttpContext } from './send.js';
import { displayUrl, scrub } from '../util/redact.js';
import { isJsonObject, parseJson } from '../util/json.js';

/** The fields of an authorization server's metadata this library uses. */
export interface ServerMetadata {
  issuer: string;
  token_endpoint: string;
  token_endpoint_auth_methods_supported?: string[];
  /** RFC 8705 §5: endpoints a client using mutual TLS calls instead. */
  mtls_endpoint_aliases?: { token_endpoint?: string; [field: string]: unknown };
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
  const aliases = doc.mtls_endpoint_aliases;
  if (aliases !== undefined && !isJsonObject(aliases)) {
    throw new DiscoveryError(
      `Discovery document at ${displayUrl(url)} has an mtls_endpoint_aliases that is not an object.`,
    );
  }
  const alias = aliases?.token_endpoint;
  if (alias !== undefined) {
    if (typeof alias !== 'string') {
      throw new DiscoveryError(
        `Discovery document at ${displayUrl(url)} has an mtls_endpoint_aliases.token_endpoint that is not a string.`,
      );
    }
    checkDiscoveredUrl(alias, 'mtls_endpoint_aliases.token_endpoint', issuer, url, checkUrl);
  }
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
 * The client authentication method to use when none is configured: the first method the credential
 * can do that the server lists (see {@link pickAuthMethod}); with no list, RFC 8414's default for a
 * secret (`client_secret_basic`) or the credential's own method.
 */
export function discoveredAuthMethod(metadata: ServerMetadata, kind: ClientCredential['kind']): ClientAuthMethod {
  const supported = metadata.token_endpoint_auth_methods_supported;
  const method = pickAuthMethod(kind, supported);
  if (method) return method;
  throw new DiscoveryError(
    `The authorization server ${displayUrl(metadata.issuer)} supports none of ${METHODS_BY_CREDENTIAL[kind].join(', ')}, the methods the given credential can do (it lists ${supported?.join(', ') || 'nothing'}). Pass the credential its registration uses (clientSecret, privateKey, clientAssertion or tls), or set authMethod.`,
  );
}
