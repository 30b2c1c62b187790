import { AxiosError } from 'axios';
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { BearerChallenge } from './interceptors/www-authenticate.js';
import { hideProperty } from './util/redact.js';

/** Stable `code` values of this library's errors. */
export type ClientCredentialsErrorCode =
  'ERR_CONFIGURATION' | 'ERR_TOKEN_ENDPOINT' | 'ERR_DISCOVERY' | 'ERR_AUTHENTICATION' | 'ERR_PERMISSION' | 'ERR_STORE';

/**
 * Brands every instance with its class chain under a global symbol, so that
 * `instanceof` also holds across the ESM and CJS copies of this package.
 */
const BRAND = Symbol.for('axios-client-credentials.error');

function brand(error: object, kind: string): void {
  const existing = (error as { [BRAND]?: string[] })[BRAND];
  if (existing) existing.push(kind);
  else hideProperty(error, BRAND, [kind]);
}

function isBranded(value: unknown, kind: string): boolean {
  return (
    typeof value === 'object' && value !== null && ((value as { [BRAND]?: string[] })[BRAND]?.includes(kind) ?? false)
  );
}

/** Base class of the errors this library raises about its own work (configuration, token endpoint, discovery). */
export class ClientCredentialsError extends Error {
  /** A stable identifier for the kind of failure. */
  readonly code: ClientCredentialsErrorCode;

  constructor(message: string, code: ClientCredentialsErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClientCredentialsError';
    this.code = code;
    brand(this, 'ClientCredentialsError');
  }

  /** `instanceof` that also holds across the ESM and CJS copies of this package (a branded instance). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || isBranded(value, this.name);
  }
}

/** An option is missing or wrong. Thrown synchronously, at construction; the message says how to fix it. */
export class ConfigurationError extends ClientCredentialsError {
  constructor(message: string) {
    super(message, 'ERR_CONFIGURATION');
    this.name = 'ConfigurationError';
    brand(this, 'ConfigurationError');
  }
}

/** Fields of a token endpoint failure, after RFC 6749 §5.2. */
export interface TokenEndpointErrorDetails {
  /** HTTP status of the last answer, if one came. */
  status?: number | undefined;
  /** RFC 6749 §5.2 `error`, e.g. `invalid_client`; or a library value such as `invalid_token_response`. */
  error?: string | undefined;
  /** RFC 6749 §5.2 `error_description`. */
  errorDescription?: string | undefined;
  /** RFC 6749 §5.2 `error_uri`. */
  errorUri?: string | undefined;
  /** How many token requests the failed cycle sent. */
  attempts?: number | undefined;
  /** Whether the failure is transient (network, timeout, 429, 5xx) and was retried. */
  retryable?: boolean | undefined;
  /** The underlying failure (a network error, the TLS layer's error), scrubbed of secrets. */
  cause?: unknown;
}

/**
 * The token endpoint could not give a usable token: network failure, timeout,
 * an error answer, or a 2xx answer that is not a valid token response.
 * When this happens while an API request waits, that API request is not sent.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class TokenEndpointError extends ClientCredentialsError {
  /** HTTP status of the last answer, or `undefined` when none came (network failure, timeout). */
  readonly status: number | undefined;
  /** RFC 6749 §5.2 `error` (e.g. `invalid_client`), or `invalid_token_response` for an unusable 2xx answer. */
  readonly error: string | undefined;
  /** RFC 6749 §5.2 `error_description`, scrubbed of every form of the client's credentials. */
  readonly errorDescription: string | undefined;
  /** RFC 6749 §5.2 `error_uri`, scrubbed likewise. */
  readonly errorUri: string | undefined;
  /** How many token requests the failed cycle sent (retries included). */
  readonly attempts: number;
  /** Whether the failure was transient (network, timeout, 429, 5xx): a later call may succeed. */
  readonly retryable: boolean;

  constructor(message: string, details: TokenEndpointErrorDetails = {}) {
    super(message, 'ERR_TOKEN_ENDPOINT', details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TokenEndpointError';
    this.status = details.status;
    this.error = details.error;
    this.errorDescription = details.errorDescription;
    this.errorUri = details.errorUri;
    this.attempts = details.attempts ?? 1;
    this.retryable = details.retryable ?? false;
    brand(this, 'TokenEndpointError');
  }
}

/**
 * The issuer's discovery document could not be fetched, is not valid, or names
 * another issuer (RFC 8414 §3.3: a mismatch is never used).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3
 */
export class DiscoveryError extends ClientCredentialsError {
  /** HTTP status of the last discovery answer, if one came. */
  readonly status: number | undefined;

  constructor(message: string, details: { status?: number | undefined; cause?: unknown } = {}) {
    super(message, 'ERR_DISCOVERY', details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DiscoveryError';
    this.status = details.status;
    brand(this, 'DiscoveryError');
  }
}

/** Why an {@link AuthenticationError} was raised. */
export type AuthenticationFailure =
  /** The API answered 401 again to the replay with a fresh token. */
  | 'rejected-after-replay'
  /** The API answered 401 and replay was turned off for the request (`replay: false`). */
  | 'replay-disabled'
  /** The API answered 401 to a request whose body is a one-shot stream, which cannot be sent twice. */
  | 'body-not-replayable'
  /** The API answered 401 challenging another scheme only (e.g. `WWW-Authenticate: API-Key`): the token is not the problem, so it is kept and nothing is replayed. */
  | 'other-scheme'
  /** The API asked for a new DPoP nonce again after one replay with the nonce it sent (RFC 9449 §9); the token is kept. */
  | 'dpop-nonce-rejected';

/** Builds an AxiosError subclass instance from the error axios raised, keeping `config`, `request`, `response`. */
abstract class ApiAuthError extends AxiosError {
  /** The parsed `WWW-Authenticate: Bearer` challenge of the response, if any (RFC 6750 §3). */
  readonly challenge: BearerChallenge | undefined;

  protected constructor(
    message: string,
    code: ClientCredentialsErrorCode,
    source: AxiosError,
    challenge: BearerChallenge | undefined,
  ) {
    super(
      message,
      code,
      source.config as InternalAxiosRequestConfig | undefined,
      source.request,
      source.response as AxiosResponse | undefined,
    );
    this.challenge = challenge;
    if (source.request !== undefined) hideProperty(this, 'request', source.request);
    if (source.stack) this.stack = `${this.name}: ${message}\n${source.stack.split('\n').slice(1).join('\n')}`;
  }

  /** `instanceof` that also holds across the ESM and CJS copies of this package (a branded instance). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, value) || isBranded(value, this.name);
  }
}

/**
 * The API rejected the request as unauthenticated (401) and it could not be
 * fixed by one replay with a fresh token. Extends `AxiosError`:
 * `axios.isAxiosError(err)` is true and `err.response` is the API's answer.
 */
export class AuthenticationError extends ApiAuthError {
  /** Why the 401 could not be fixed by a replay: see {@link AuthenticationFailure}. */
  readonly reason: AuthenticationFailure;

  constructor(message: string, source: AxiosError, reason: AuthenticationFailure, challenge?: BearerChallenge) {
    super(message, 'ERR_AUTHENTICATION', source, challenge);
    this.name = 'AuthenticationError';
    this.reason = reason;
    brand(this, 'AuthenticationError');
  }
}

/**
 * The API answered 403: the token is valid but not allowed to do this.
 * Never re-granted or replayed. Extends `AxiosError`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1
 */
export class PermissionError extends ApiAuthError {
  /** Scopes the API says the request needs (`WWW-Authenticate: Bearer scope="…"`), or `[]`. */
  readonly requiredScope: string[];

  constructor(message: string, source: AxiosError, challenge?: BearerChallenge) {
    super(message, 'ERR_PERMISSION', source, challenge);
    this.name = 'PermissionError';
    this.requiredScope = challenge?.scope ?? [];
    brand(this, 'PermissionError');
  }
}
