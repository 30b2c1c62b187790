import type { InternalAxiosRequestConfig } from 'axios';
import { ConfigurationError } from '../errors.js';
import { accessTokenHash, proofTarget, type ProofTarget } from '../grant/dpop.js';
import type { AccessToken } from '../grant/token-response.js';
import type { DpopBinding } from '../provider/dpop-binding.js';
import { OriginPolicy } from './origin.js';

/** `ath` of each token, made once per token: the proof's only per-token work. */
const hashes = new WeakMap<AccessToken, string>();

/** Where the DPoP proof of a send of `config` is for: the URL axios sends to, parsed once. */
export function targetOf(config: InternalAxiosRequestConfig): ProofTarget {
  return proofTarget(OriginPolicy.fullUrl(config));
}

/**
 * Adds the `DPoP` proof of one send with `token` to `headers` (the copy the request is sent with, so the proof
 * leaves `config.headers` with the token), RFC 9449 §7: `htm` the method, `htu` the target without query and
 * fragment, `ath` the token's hash, and the target origin's latest nonce. A DPoP token without its key is never
 * sent as if it were a bearer token.
 */
export function addProof(
  headers: object,
  binding: DpopBinding | undefined,
  token: AccessToken,
  config: InternalAxiosRequestConfig,
  target: ProofTarget,
): void {
  const key = binding?.keyFor(token);
  if (!binding || !key) {
    throw new ConfigurationError('A DPoP-bound token reached attachAuth without its key: it is not sent.');
  }
  let ath = hashes.get(token);
  if (ath === undefined) hashes.set(token, (ath = accessTokenHash(token.accessToken)));
  const htm = (config.method ?? 'get').toUpperCase();
  (headers as Record<string, unknown>).DPoP = key.proof({
    htm,
    htu: target.htu,
    nonce: binding.nonces.get(target.origin),
    ath,
  });
}

/** The headers of what an adapter settled with: a response, or an error's response. */
export function answerHeaders(result: unknown): unknown {
  const r = result as { headers?: unknown; response?: { headers?: unknown } } | undefined;
  return r?.response?.headers ?? r?.headers;
}
