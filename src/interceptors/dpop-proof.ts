import type { InternalAxiosRequestConfig } from 'axios';
import { ConfigurationError } from '../errors.js';
import { accessTokenHash, htuOf } from '../grant/dpop.js';
import type { AccessToken } from '../grant/token-response.js';
import type { DpopBinding } from '../provider/dpop-binding.js';
import { OriginPolicy } from './origin.js';

/** `ath` of each token, made once per token: the proof's only per-token work. */
const hashes = new WeakMap<AccessToken, string>();

/**
 * The `DPoP` proof of one send of `config` with `token` (RFC 9449 §7): `htm` the method, `htu` the URL
 * axios sends to without query and fragment, `ath` the token's hash, and the API origin's latest nonce.
 * `undefined` for a token that is not bound to one of the provider's keys.
 */
export function proofFor(
  binding: DpopBinding,
  token: AccessToken,
  config: InternalAxiosRequestConfig,
): string | undefined {
  const key = binding.keyFor(token);
  if (!key) return undefined;
  const htu = htuOf(OriginPolicy.fullUrl(config));
  let ath = hashes.get(token);
  if (ath === undefined) hashes.set(token, (ath = accessTokenHash(token.accessToken)));
  return key.proof({ htm: (config.method ?? 'get').toUpperCase(), htu, nonce: binding.nonces.get(htu), ath });
}

/**
 * Adds the `DPoP` proof of this send to `headers` (the copy the request is sent with, so the proof leaves
 * `config.headers` with the token). Returns the `htu`, whose origin's nonce the answer updates. A DPoP token
 * without its key is never sent as if it were a bearer token.
 */
export function addProof(
  headers: object,
  binding: DpopBinding | undefined,
  token: AccessToken,
  config: InternalAxiosRequestConfig,
): string {
  const proof = binding && proofFor(binding, token, config);
  if (proof === undefined) {
    throw new ConfigurationError('A DPoP-bound token reached attachAuth without its key: it is not sent.');
  }
  (headers as Record<string, unknown>).DPoP = proof;
  return htuOf(OriginPolicy.fullUrl(config));
}

/** The headers of what an adapter settled with: a response, or an error's response. */
export function answerHeaders(result: unknown): unknown {
  const r = result as { headers?: unknown; response?: { headers?: unknown } } | undefined;
  return r?.response?.headers ?? r?.headers;
}
