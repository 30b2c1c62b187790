/** The 401 decision of the interceptors (RFC 6750 §3.1), as a table: a pure function of what the answer and the request were. */
import { decideUnauthorized, unauthorizedMessage, type UnauthorizedFacts } from '../src/interceptors/unauthorized.js';

const fresh: UnauthorizedFacts = {
  schemes: ['Bearer'],
  challengesOurScheme: true,
  wasReplay: false,
  replay: undefined,
  oneShotBody: false,
};

test.each<[string, Partial<UnauthorizedFacts>, ReturnType<typeof decideUnauthorized>]>([
  ['a Bearer challenge: drop the token, replay once', {}, { replay: true, dropToken: true }],
  [
    'no challenge at all: the token is the suspect',
    { schemes: [], challengesOurScheme: false },
    { replay: true, dropToken: true },
  ],
  ['replay: true as set by the user', { replay: true }, { replay: true, dropToken: true }],
  [
    'another scheme only: keep the token, no replay',
    { schemes: ['API-Key'], challengesOurScheme: false },
    { replay: false, dropToken: false, reason: 'other-scheme' },
  ],
  [
    'another scheme beside Bearer: ours is challenged',
    { schemes: ['API-Key', 'Bearer'] },
    { replay: true, dropToken: true },
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
])('%s', (_, facts, expected) => {
  expect(decideUnauthorized({ ...fresh, ...facts })).toEqual(expected);
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
