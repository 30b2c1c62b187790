/** The 401 decision of the interceptors (RFC 6750 §3.1), as a table: a pure function of what the answer and the request were. */
import {
  challengeFacts,
  decideUnauthorized,
  unauthorizedMessage,
  type UnauthorizedFacts,
} from '../src/interceptors/unauthorized.js';
import { parseChallenges } from '../src/interceptors/www-authenticate.js';

const fresh: UnauthorizedFacts = {
  schemes: ['Bearer'],
  challengesOurScheme: true,
  wasReplay: false,
  replay: undefined,
  oneShotBody: false,
};

test.each<[string, Partial<UnauthorizedFacts>, ReturnType<typeof decideUnauthorized>]>([
  ['a Bearer challenge: drop the token, replay once', {}, { replay: true, dropToken: true, nonce: false }],
  [
    'no challenge at all: the token is the suspect',
    { schemes: [], challengesOurScheme: false },
    { replay: true, dropToken: true, nonce: false },
  ],
  ['replay: true as set by the user', { replay: true }, { replay: true, dropToken: true, nonce: false }],
  [
    'another scheme only: keep the token, no replay',
    { schemes: ['API-Key'], challengesOurScheme: false },
    { replay: false, dropToken: false, reason: 'other-scheme' },
  ],
  [
    'another scheme beside Bearer: ours is challenged',
    { schemes: ['API-Key', 'Bearer'] },
    { replay: true, dropToken: true, nonce: false },
  ],
  ['already a replay', { wasReplay: true }, { replay: false, dropToken: true, reason: 'rejected-after-replay' }],
  ['replay turned off', { replay: false }, { replay: false, dropToken: true, reason: 'replay-disabled' }],
  ['a one-shot body', { oneShotBody: true }, { replay: false, dropToken: true, reason: 'body-not-replayable' }],
  [
    'a replay wins over replay: false',
    { wasReplay: true, replay: false },
    { replay: false, dropToken: true, reason: 'rejected-after-replay' },
  ],
  [
    'replay: false wins over a one-shot body',
    { replay: false, oneShotBody: true },
    { replay: false, dropToken: true, reason: 'replay-disabled' },
  ],
  [
    'another scheme wins over everything: the token was never the problem',
    { schemes: ['Basic'], challengesOurScheme: false, wasReplay: true, oneShotBody: true },
    { replay: false, dropToken: false, reason: 'other-scheme' },
  ],
  [
    'a DPoP nonce challenge: keep the token, replay once with the nonce',
    { schemes: ['DPoP'], nonceChallenge: true },
    { replay: true, dropToken: false, nonce: true },
  ],
  [
    'a DPoP nonce challenge after the 401 replay: the nonce replay is apart from it',
    { schemes: ['DPoP'], nonceChallenge: true, wasReplay: true },
    { replay: true, dropToken: false, nonce: true },
  ],
  [
    'a DPoP nonce challenge after a nonce replay: fail, keep the token',
    { schemes: ['DPoP'], nonceChallenge: true, wasNonceReplay: true },
    { replay: false, dropToken: false, reason: 'dpop-nonce-rejected' },
  ],
  [
    'an invalid_token after a nonce replay: the one 401 replay is still there',
    { schemes: ['DPoP'], wasNonceReplay: true },
    { replay: true, dropToken: true, nonce: false },
  ],
  [
    'a DPoP nonce challenge with replay: false',
    { schemes: ['DPoP'], nonceChallenge: true, replay: false },
    { replay: false, dropToken: false, reason: 'replay-disabled' },
  ],
  [
    'a DPoP nonce challenge with a one-shot body',
    { schemes: ['DPoP'], nonceChallenge: true, oneShotBody: true },
    { replay: false, dropToken: false, reason: 'body-not-replayable' },
  ],
])('%s', (_, facts, expected) => {
  expect(decideUnauthorized({ ...fresh, ...facts })).toEqual(expected);
});

describe('challengeFacts', () => {
  const parsed = (header: string) => parseChallenges(header);
  test.each<[string, string, string, Record<string, string>, object]>([
    [
      'a Bearer token, Bearer challenged',
      'Bearer error="invalid_token"',
      'Bearer',
      {},
      { challengesOurScheme: true, nonceChallenge: false },
    ],
    [
      'a Bearer token, DPoP only challenged: another scheme',
      'DPoP algs="ES256"',
      'Bearer',
      {},
      { challengesOurScheme: false, nonceChallenge: false },
    ],
    [
      'a DPoP token, DPoP challenged',
      'DPoP error="invalid_token", algs="ES256"',
      'DPoP',
      {},
      { challengesOurScheme: true, nonceChallenge: false },
    ],
    [
      'a DPoP token, DPoP and Bearer challenged',
      'DPoP error="invalid_token", Bearer realm="x"',
      'DPoP',
      {},
      { challengesOurScheme: true, nonceChallenge: false },
    ],
    [
      'a nonce challenge with its nonce',
      'Bearer realm="x", DPoP error="use_dpop_nonce", algs="ES256"',
      'DPoP',
      { 'dpop-nonce': 'n-1' },
      { challengesOurScheme: true, nonceChallenge: true },
    ],
    [
      'a nonce challenge without a nonce header',
      'DPoP error="use_dpop_nonce"',
      'DPoP',
      {},
      { challengesOurScheme: true, nonceChallenge: false },
    ],
    [
      'a Bearer token meeting a nonce challenge',
      'DPoP error="use_dpop_nonce"',
      'Bearer',
      { 'dpop-nonce': 'n-1' },
      { challengesOurScheme: false, nonceChallenge: false },
    ],
  ])('%s', (_, header, tokenType, headers, expected) => {
    expect(challengeFacts(parsed(header), tokenType, headers)).toMatchObject(expected);
  });
});

test('names at most four schemes, each cut to 40 characters, in the message', () => {
  const schemes = ['A'.repeat(100), 'B', 'C', 'D', 'E', 'F'];
  const message = unauthorizedMessage('other-scheme', 'GET https://api.example.com/x', schemes);
  expect(message).toContain(`${'A'.repeat(40)}…, B, C, D and 2 more`);
  expect(message).not.toContain('A'.repeat(41));
});

test.each(['rejected-after-replay', 'replay-disabled', 'body-not-replayable', 'other-scheme'] as const)(
  'the %s message names the request',
  (reason) => {
    expect(unauthorizedMessage(reason, 'GET https://api.example.com/x', ['API-Key'])).toContain(
      'GET https://api.example.com/x',
    );
  },
);
