import { authenticate, jwtForms, type ClientAuthMethod, type ClientCredential } from './client-auth.js';
import { TokenEndpointError } from '../errors.js';
import { displayUrl, scrub } from '../util/redact.js';
import { proofTarget, type DpopKey } from './dpop.js';
import { isPermanent, sendWithRetry, type AttemptRequest, type HttpContext } from './send.js';
import { errorFromBody, invalidResponse, parseTokenResponse, type AccessToken } from './token-response.js';
import { isJsonObject, parseJson } from '../util/json.js';

/** Everything that identifies a grant. */
export interface GrantRequest {
  tokenUrl: string;
  clientId: string;
  /** What the client authenticates with; never part of the cache key. */
  credential: ClientCredential;
  authMethod: ClientAuthMethod;
  /** The `aud` of a client assertion: the issuer, the token endpoint, or the user's choice. */
  assertionAudience: string;
  /** base64url SHA-256 of the client certificate (`x5t#S256`), when mutual TLS is configured. */
  certificateThumbprint?: string | undefined;
  /** The key the token is bound to with DPoP (RFC 9449): a proof with every attempt, a `DPoP` token required. */
  dpop?: DpopKey | undefined;
  /** What identifies the DPoP key in the cache key: its thumbprint, or `generated` (the key travels with the token). */
  dpopKeyId?: string | undefined;
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

/** The form body of a client credentials token request (RFC 6749 §4.4.2), before client authentication. */
export function tokenRequestBody(grant: GrantRequest): URLSearchParams {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (grant.scope.length > 0) body.set('scope', grant.scope.join(' '));
  if (grant.audience !== undefined) body.set('audience', grant.audience);
  for (const resource of grant.resource) body.append('resource', resource);
  for (const [key, value] of Object.entries(grant.params)) body.set(key, value);
  return body;
}

/** One attempt's token request: the body, authenticated afresh (a new client assertion each time). */
export async function tokenRequest(ctx: HttpContext, grant: GrantRequest): Promise<AttemptRequest> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-www-form-urlencoded',
    Accept: 'application/json',
  };
  const body = tokenRequestBody(grant);
  const attempt = {
    method: grant.authMethod,
    credential: grant.credential,
    clientId: grant.clientId,
    audience: grant.assertionAudience,
    timeoutMs: ctx.timeoutMs,
    nowSeconds: Math.floor(Date.now() / 1000),
  };
  const secrets = await authenticate(attempt, headers, body);
  if (grant.dpop) {
    const { htu, origin } = proofTarget(grant.tokenUrl);
    headers.DPoP = grant.dpop.proof({ htm: 'POST', htu, nonce: ctx.dpopNonces?.get(origin) });
    secrets.push(...jwtForms(headers.DPoP));
  }
  return { url: grant.tokenUrl, method: 'POST', headers, data: body.toString(), secrets };
}

/**
 * Runs the client credentials grant once (with retries of transient
 * failures): build, send, validate.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export async function requestToken(ctx: HttpContext, grant: GrantRequest): Promise<GrantResult> {
  const where = `POST ${displayUrl(grant.tokenUrl)}`;
  const exchange = await sendWithRetry(ctx, () => tokenRequest(ctx, grant), 'token');
  if (exchange.kind === 'network') {
    throw new TokenEndpointError(
      `Token request ${where} failed after ${exchange.attempts} attempt${exchange.attempts === 1 ? '' : 's'}: ${exchange.message}.`,
      {
        cause: exchange.cause,
        attempts: exchange.attempts,
        retryable: !isPermanent(exchange.reason),
        error: exchange.reason === 'too-large' ? 'invalid_token_response' : undefined,
      },
    );
  }
  const { status, text, attempts } = exchange;
  const secrets = [...ctx.secrets, ...exchange.secrets];
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
      tokenType: grant.dpop ? 'DPoP' : 'Bearer',
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
