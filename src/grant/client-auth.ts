import { Buffer } from 'node:buffer';
/**
 * How the client authenticates to the token endpoint.
 * - `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1). The default.
 * - `client_secret_post`: `client_id` and `client_secret` in the form body.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post'];

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

/** Adds client authentication to a token request's headers and body. */
export function applyClientAuth(
  method: ClientAuthMethod,
  clientId: string,
  clientSecret: string,
  headers: Record<string, string>,
  body: URLSearchParams,
): void {
  if (method === 'client_secret_basic') {
    headers.Authorization = basicCredentials(clientId, clientSecret);
  } else {
    body.set('client_id', clientId);
    body.set('client_secret', clientSecret);
  }
}
