import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { TokenEndpointError } from '../errors.js';
import { unref } from '../util/timers.js';
import { secretSigningKey, signJwt, type SigningKey } from './signing-key.js';

/**
 * How the client authenticates to the token endpoint.
 * - `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1). The default for a secret.
 * - `client_secret_post`: `client_id` and `client_secret` in the form body.
 * - `client_secret_jwt`: a JWT signed with HMAC-SHA256 over the secret (RFC 7523 §2.2); the secret never travels.
 * - `private_key_jwt`: a JWT signed with the client's private key (RFC 7523 §2.2), or by a signer you own.
 * - `tls_client_auth`: a CA-issued client certificate on the TLS connection (RFC 8705 §2.1).
 * - `self_signed_tls_client_auth`: a self-signed client certificate registered with the server (RFC 8705 §2.2).
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-2.2
 * @see https://www.rfc-editor.org/rfc/rfc8705#section-2
 */
export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth';

/**
 * A signer you own (a KMS, an HSM, Vault): returns a signed client assertion (a compact JWT with `iss` and
 * `sub` = the client id, `aud` = `audience`, a unique `jti`, `iat` and a short `exp`). Called once per
 * token request attempt; bounded by the provider's `timeoutMs` (`signal` aborts then).
 */
export type ClientAssertionSigner = (request: {
  clientId: string;
  audience: string;
  signal: AbortSignal;
}) => string | Promise<string>;

/** How the client proves who it is, as configured (the certificate of `tls` travels on the connection). */
export type ClientCredential =
  | { kind: 'secret'; secret: string }
  | { kind: 'key'; key: SigningKey }
  | { kind: 'signer'; sign: ClientAssertionSigner }
  | { kind: 'certificate' };

/** The methods each kind of credential can do, strongest (or, for a secret, the default) first. */
export const METHODS_BY_CREDENTIAL: Readonly<Record<ClientCredential['kind'], readonly ClientAuthMethod[]>> = {
  secret: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt'],
  key: ['private_key_jwt'],
  signer: ['private_key_jwt'],
  certificate: ['tls_client_auth', 'self_signed_tls_client_auth'],
};

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  ...new Set(Object.values(METHODS_BY_CREDENTIAL).flat()),
];

/** `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2). */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Lifetime of an assertion the library signs: FAPI 2.0 and most banks want no more than 60 s. */
const ASSERTION_LIFETIME_SECONDS = 60;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The method to use with a credential when the server lists `supported` (discovery's
 * `token_endpoint_auth_methods_supported`): the first of the credential's methods the server lists, in
 * the order of {@link METHODS_BY_CREDENTIAL}; its first method when the server lists none; `undefined`
 * when the server lists methods and none fits.
 */
export function pickAuthMethod(
  kind: ClientCredential['kind'],
  supported: readonly string[] | undefined,
): ClientAuthMethod | undefined {
  const methods = METHODS_BY_CREDENTIAL[kind];
  if (!supported) return methods[0];
  return methods.find((method) => supported.includes(method));
}

/** `application/x-www-form-urlencoded` encoding of one value (RFC 6749 Appendix B). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * The `Authorization: Basic` value for a client: id and secret are each
 * form-urlencoded, then joined with `:` and base64-encoded, so ids and secrets
 * containing `:`, `%`, `+`, spaces or non-ASCII reach a compliant server intact.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export function basicCredentials(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, 'utf8').toString('base64')}`;
}

/** What one token request attempt authenticates with. */
export interface AuthAttempt {
  method: ClientAuthMethod;
  credential: ClientCredential;
  clientId: string;
  /** The `aud` of a client assertion. */
  audience: string;
  /** Bound on a signer you own. */
  timeoutMs: number;
  /** Seconds since the epoch (the assertion's `iat`). */
  nowSeconds: number;
}

/**
 * Adds client authentication to one token request attempt's headers and body. Returns the texts the
 * attempt carries that no error may show (the assertion). A JWT method makes a fresh assertion each
 * time: a `jti` is never reused, retries included.
 */
export async function authenticate(
  attempt: AuthAttempt,
  headers: Record<string, string>,
  body: URLSearchParams,
): Promise<string[]> {
  const { method, credential, clientId } = attempt;
  if (method === 'client_secret_basic' && credential.kind === 'secret') {
    headers.Authorization = basicCredentials(clientId, credential.secret);
    return [];
  }
  body.set('client_id', clientId);
  if (method === 'client_secret_post' && credential.kind === 'secret') {
    body.set('client_secret', credential.secret);
    return [];
  }
  if (method === 'tls_client_auth' || method === 'self_signed_tls_client_auth') return []; // the certificate is on the connection
  const assertion = await clientAssertion(attempt);
  body.set('client_assertion_type', JWT_BEARER_ASSERTION);
  body.set('client_assertion', assertion);
  return jwtForms(assertion);
}

/**
 * A signed JWT and the parts of it an echo could show on their own: the signing input and the signature
 * (a server quoting `header.payload`, or the signature alone, or the JWT with its dots encoded).
 */
export function jwtForms(jwt: string): string[] {
  const dot = jwt.lastIndexOf('.');
  return dot > 0 ? [jwt, jwt.slice(0, dot), jwt.slice(dot + 1)] : [jwt];
}

/** A client assertion for one attempt: signed here with the key or secret, or by the user's signer. */
async function clientAssertion(attempt: AuthAttempt): Promise<string> {
  const { credential, clientId, audience, nowSeconds } = attempt;
  if (credential.kind === 'signer') return fromSigner(credential.sign, attempt);
  const claims = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    jti: randomBytes(16).toString('base64url'),
    iat: nowSeconds,
    exp: nowSeconds + ASSERTION_LIFETIME_SECONDS,
  };
  if (credential.kind === 'key') return signJwt(credential.key, claims);
  if (credential.kind === 'secret') return signJwt(secretSigningKey(credential.secret), claims);
  throw new TokenEndpointError(`${attempt.method} needs a private key, a signer or a secret.`, { retryable: false });
}

/** Calls the user's signer, bounded by `timeoutMs`, and checks what it returned before it is sent. */
async function fromSigner(sign: ClientAssertionSigner, attempt: AuthAttempt): Promise<string> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = unref(
      setTimeout(() => {
        controller.abort();
        reject(signerError(`gave no assertion within ${attempt.timeoutMs} ms`, undefined));
      }, attempt.timeoutMs),
    );
  });
  let result: unknown;
  try {
    const signed = Promise.resolve().then(() =>
      sign({ clientId: attempt.clientId, audience: attempt.audience, signal: controller.signal }),
    );
    result = await Promise.race([signed, timeout]);
  } catch (error) {
    throw error instanceof TokenEndpointError ? error : signerError('failed', error);
  } finally {
    clearTimeout(timer);
  }
  const problem = assertionProblem(result, attempt.clientId);
  if (problem) throw signerError(`returned ${problem}`, undefined, false);
  return result as string;
}

/** What is wrong with a signer's result, or `undefined`: a compact JWS, asymmetric, for this client. */
export function assertionProblem(value: unknown, clientId: string): string | undefined {
  if (typeof value !== 'string' || !COMPACT_JWS.test(value)) return 'something that is not a compact JWT';
  const [header, claims] = value.split('.').map((part) => decodeJson(part));
  if (!header || !claims) return 'a JWT whose header or claims are not JSON objects';
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === 'none' || alg.startsWith('HS')) {
    return `a JWT with alg ${JSON.stringify(typeof alg === 'string' ? alg : null)}; private_key_jwt needs an asymmetric signature`;
  }
  if (claims.iss !== clientId || claims.sub !== clientId) {
    return 'a JWT whose iss and sub are not the client id (RFC 7523 §3)';
  }
  return undefined;
}

function decodeJson(part: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function signerError(what: string, cause: unknown, retryable = true): TokenEndpointError {
  return new TokenEndpointError(`The clientAssertion signer ${what}; no token request was sent.`, {
    error: 'invalid_client_assertion',
    retryable,
    ...(cause === undefined ? {} : { cause }),
  });
}
