import type { AuthenticationFailure } from '../errors.js';
import { headerOf } from '../grant/dpop.js';
import { bearerChallenge, findChallenge, type AuthChallenge, type BearerChallenge } from './www-authenticate.js';

/** What a 401 answer to a request that carried our token tells, and what that request was. */
export interface UnauthorizedFacts {
  /** The auth-schemes the answer's `WWW-Authenticate` challenges with (empty when it has none). */
  schemes: readonly string[];
  /** Whether one of them is this library's own scheme (Bearer; for a DPoP token, DPoP or Bearer). */
  challengesOurScheme: boolean;
  /** Whether the request was already this library's replay of a 401. */
  wasReplay: boolean;
  /** Whether the answer is a DPoP nonce challenge (`DPoP error="use_dpop_nonce"` with a `DPoP-Nonce`, RFC 9449 §9). */
  nonceChallenge?: boolean | undefined;
  /** Whether the request was already a replay with a new DPoP nonce. */
  wasNonceReplay?: boolean | undefined;
  /** The request's `clientCredentials.replay` setting. */
  replay: boolean | undefined;
  /** Whether its body was a one-shot stream that the first send consumed. */
  oneShotBody: boolean;
}

/** Replay the request with a fresh token, or fail; `dropToken` says whether the token was the problem. */
export type UnauthorizedDecision =
  | { replay: true; dropToken: boolean; nonce: boolean }
  | { replay: false; dropToken: boolean; reason: AuthenticationFailure };

/**
 * The 401 decision (RFC 6750 §3.1): a challenge for another scheme only is not about our token (kept,
 * nothing replayed); otherwise the token is dropped and the request replayed once, unless it was a
 * replay already, replay is off for it, or its body cannot be sent twice.
 */
export function decideUnauthorized(facts: UnauthorizedFacts): UnauthorizedDecision {
  if (facts.schemes.length > 0 && !facts.challengesOurScheme)
    return { replay: false, dropToken: false, reason: 'other-scheme' };
  if (facts.nonceChallenge) return decideNonce(facts);
  if (facts.wasReplay) return { replay: false, dropToken: true, reason: 'rejected-after-replay' };
  if (facts.replay === false) return { replay: false, dropToken: true, reason: 'replay-disabled' };
  if (facts.oneShotBody) return { replay: false, dropToken: true, reason: 'body-not-replayable' };
  return { replay: true, dropToken: true, nonce: false };
}

/**
 * A DPoP nonce challenge says nothing against the token: it is kept (no grant) and the request replayed once
 * with the new nonce, apart from the one replay of a 401 (a request may meet both).
 */
function decideNonce(facts: UnauthorizedFacts): UnauthorizedDecision {
  if (facts.wasNonceReplay) return { replay: false, dropToken: false, reason: 'dpop-nonce-rejected' };
  if (facts.replay === false) return { replay: false, dropToken: false, reason: 'replay-disabled' };
  if (facts.oneShotBody) return { replay: false, dropToken: false, reason: 'body-not-replayable' };
  return { replay: true, dropToken: false, nonce: true };
}

/** The message of the AuthenticationError for `reason`, for the request `where` (`GET https://…/path`). */
export function unauthorizedMessage(reason: AuthenticationFailure, where: string, schemes: readonly string[]): string {
  switch (reason) {
    case 'other-scheme':
      return `The API rejected ${where} with 401 asking for ${shown(schemes)} authentication, not a Bearer token; the token was kept and the request not replayed.`;
    case 'rejected-after-replay':
      return `The API rejected ${where} with 401 again after one replay with a fresh token; the client may not be allowed to use this API.`;
    case 'replay-disabled':
      return `The API rejected ${where} with 401; the token was dropped, and replay is off for this request.`;
    case 'dpop-nonce-rejected':
      return `The API rejected ${where} with 401 asking for a new DPoP nonce again, after one replay with the nonce it sent; the token was kept.`;
    case 'body-not-replayable':
      return `The API rejected ${where} with 401, and its body is a one-shot stream that the first send consumed, so it cannot be replayed; send a Buffer, string or FormData to allow the replay. The token was dropped; a new request gets a fresh one.`;
  }
}

/** The schemes a server named, as a message shows them: the first four, each at most 40 characters. */
function shown(schemes: readonly string[]): string {
  const listed = schemes.slice(0, 4).map((scheme) => (scheme.length > 40 ? `${scheme.slice(0, 40)}…` : scheme));
  return schemes.length > 4 ? `${listed.join(', ')} and ${schemes.length - 4} more` : listed.join(', ');
}

/**
 * What the challenges of a 401 say to a request that carried a token of `tokenType`: which schemes, whether one
 * is ours (Bearer; for a DPoP token, DPoP or Bearer), and whether it is a DPoP nonce challenge.
 */
export function challengeFacts(
  challenges: readonly AuthChallenge[],
  tokenType: string,
  headers: unknown,
): Pick<UnauthorizedFacts, 'schemes' | 'challengesOurScheme' | 'nonceChallenge'> {
  const bearer = findChallenge(challenges, 'Bearer');
  const dpop = tokenType === 'DPoP' ? findChallenge(challenges, 'DPoP') : undefined;
  return {
    schemes: challenges.map((c) => c.scheme),
    challengesOurScheme: bearer !== undefined || dpop !== undefined,
    nonceChallenge: dpop?.params.error === 'use_dpop_nonce' && typeof headerOf(headers, 'dpop-nonce') === 'string',
  };
}

/**
 * The challenge about the token, with the RFC 6750 attributes (`error`, `scope`, …): for a DPoP token the
 * `DPoP` challenge, which carries them the same way (RFC 9449 §7.1), else the `Bearer` one.
 */
export function tokenChallenge(challenges: readonly AuthChallenge[], tokenType: string): BearerChallenge | undefined {
  const dpop = tokenType === 'DPoP' ? findChallenge(challenges, 'DPoP') : undefined;
  if (!dpop) return bearerChallenge(challenges);
  const attributes = bearerChallenge([{ ...dpop, scheme: 'Bearer' }]);
  return attributes && { ...attributes, scheme: 'DPoP' };
}
