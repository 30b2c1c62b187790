/**
 * Issue 9, hole 2: the `WWW-Authenticate` parser. One linear pass over at most the first 16 KiB of the header
 * (RFC 9110 §11.6.1 challenges), parsed once per response and read with `bearerChallenge` / `findChallenge`.
 * Unit tables for the syntax, then fast-check properties: any input parses without throwing, well-formed challenge
 * lists round-trip, and the scanner's step count stays within a constant times the length parsed (speed itself is
 * measured by the benchmark, bench/figures/www-authenticate.mjs, never asserted here).
 */
import fc from 'fast-check';
import {
  type AuthChallenge,
  bearerChallenge,
  challengeSchemes,
  findChallenge,
  MAX_CHALLENGES,
  MAX_HEADER_LENGTH,
  MAX_PARAMS,
  parseBearerChallenge,
  parseChallenges,
  scanChallenges,
} from '../src/interceptors/www-authenticate.js';

type Expected = { scheme: string; params?: Record<string, string>; token68?: string };

/** A parsed challenge as a plain object, for `toEqual` against the tables. */
function plain(challenge: AuthChallenge): Expected {
  const out: Expected = { scheme: challenge.scheme, params: Object.fromEntries(Object.entries(challenge.params)) };
  if (challenge.token68 !== undefined) out.token68 = challenge.token68;
  return out;
}

const parsed = (header: unknown): Expected[] => parseChallenges(header).map(plain);
const expected = (list: Expected[]): Expected[] => list.map((c) => ({ ...c, params: c.params ?? {} }));

describe('parseChallenges reads RFC 9110 challenges', () => {
  test.each<[string, string, Expected[]]>([
    ['a scheme alone', 'Bearer', [{ scheme: 'Bearer' }]],
    [
      'a scheme with quoted-string params',
      'Bearer realm="api", error="invalid_token"',
      [{ scheme: 'Bearer', params: { realm: 'api', error: 'invalid_token' } }],
    ],
    [
      'a param whose value is a token',
      'Bearer realm=api, error=invalid_token',
      [{ scheme: 'Bearer', params: { realm: 'api', error: 'invalid_token' } }],
    ],
    [
      'the scheme as sent and param names lower-cased',
      'BEARER REALM="api", Error=x',
      [{ scheme: 'BEARER', params: { realm: 'api', error: 'x' } }],
    ],
    [
      'escaped quotes and backslashes in a quoted-string',
      'Bearer error_description="say \\"hi\\", then \\\\ go"',
      [{ scheme: 'Bearer', params: { error_description: 'say "hi", then \\ go' } }],
    ],
    [
      'commas and equals signs inside a quoted-string',
      'Bearer realm="a, b=c", scope="x y"',
      [{ scheme: 'Bearer', params: { realm: 'a, b=c', scope: 'x y' } }],
    ],
    [
      'a quoted-string that names another param',
      'Scheme foo="realm=nottherealm", realm="basic"',
      [{ scheme: 'Scheme', params: { foo: 'realm=nottherealm', realm: 'basic' } }],
    ],
    [
      'any character inside a quoted-string',
      'Bearer error_description="héllo ☃\t; (x) \\é"',
      [{ scheme: 'Bearer', params: { error_description: 'héllo ☃\t; (x) é' } }],
    ],
    [
      'a quoted-pair that escapes a space or a tab (RFC 9110 §5.6.4)',
      'Bearer error_description="a\\ b\\\tc"',
      [{ scheme: 'Bearer', params: { error_description: 'a b\tc' } }],
    ],
    [
      'a percent-escape left as it is',
      'Bearer realm="foo%20bar"',
      [{ scheme: 'Bearer', params: { realm: 'foo%20bar' } }],
    ],
    [
      'single quotes as part of a token value',
      "Bearer realm='foo'",
      [{ scheme: 'Bearer', params: { realm: "'foo'" } }],
    ],
    [
      'an empty quoted-string value',
      'Bearer realm="", error=x',
      [{ scheme: 'Bearer', params: { realm: '', error: 'x' } }],
    ],
    [
      'the first value of a param sent twice',
      'Bearer error="a", ERROR="b", error=c',
      [{ scheme: 'Bearer', params: { error: 'a' } }],
    ],
    [
      'a Bearer and a Basic challenge',
      'Bearer error="invalid_token", Basic realm="simple"',
      [
        { scheme: 'Bearer', params: { error: 'invalid_token' } },
        { scheme: 'Basic', params: { realm: 'simple' } },
      ],
    ],
    [
      'a Bearer and a DPoP challenge',
      'Bearer realm="api", DPoP error="use_dpop_nonce", algs="ES256 PS256"',
      [
        { scheme: 'Bearer', params: { realm: 'api' } },
        { scheme: 'DPoP', params: { error: 'use_dpop_nonce', algs: 'ES256 PS256' } },
      ],
    ],
    [
      'three challenges with a quoted title',
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple", Bearer',
      [
        { scheme: 'Newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
        { scheme: 'Basic', params: { realm: 'simple' } },
        { scheme: 'Bearer' },
      ],
    ],
    ['a token68 with padding', 'Basic abc==', [{ scheme: 'Basic', token68: 'abc==' }]],
    [
      'a token68 without padding',
      'Negotiate a87421000492aa874209af8bc028',
      [{ scheme: 'Negotiate', token68: 'a87421000492aa874209af8bc028' }],
    ],
    ['a token68 with every character it allows', 'NTLM aZ09-._~+/==', [{ scheme: 'NTLM', token68: 'aZ09-._~+/==' }]],
    [
      'a token68 then another challenge',
      'Negotiate abc123==, Basic realm="test"',
      [
        { scheme: 'Negotiate', token68: 'abc123==' },
        { scheme: 'Basic', params: { realm: 'test' } },
      ],
    ],
    [
      'a token68 between two challenges',
      'Bearer realm="foo", Digest blah==, Basic realm="bar"',
      [
        { scheme: 'Bearer', params: { realm: 'foo' } },
        { scheme: 'Digest', token68: 'blah==' },
        { scheme: 'Basic', params: { realm: 'bar' } },
      ],
    ],
    [
      'a param name with "=" and no value as a token68 (the grammar says so)',
      'Bearer error=',
      [{ scheme: 'Bearer', token68: 'error=' }],
    ],
    [
      'whitespace around "=" and commas, and tabs',
      'Bearer \t realm =  "x"\t,error= y ,  scope = "a b" ',
      [{ scheme: 'Bearer', params: { realm: 'x', error: 'y', scope: 'a b' } }],
    ],
    [
      'leading, trailing and empty list elements',
      ' , ,Bearer realm="x",, ,error=y , ,Basic,',
      [{ scheme: 'Bearer', params: { realm: 'x', error: 'y' } }, { scheme: 'Basic' }],
    ],
    [
      'a param after "scheme," as the scheme\'s own',
      'Scheme, realm="foo"',
      [{ scheme: 'Scheme', params: { realm: 'foo' } }],
    ],
    [
      '__proto__ and constructor as plain param names',
      'Bearer __proto__="x", constructor=y, toString=z',
      [
        {
          scheme: 'Bearer',
          params: Object.fromEntries([
            ['__proto__', 'x'],
            ['constructor', 'y'],
            ['tostring', 'z'],
          ]),
        },
      ],
    ],
  ])('%s', (_what, header, list) => {
    expect(parsed(header)).toEqual(expected(list));
  });
});

describe('parseChallenges skips what is malformed and reads on', () => {
  test.each<[string, string, Expected[]]>([
    ['an empty header', '', []],
    ['whitespace and commas only', ' ,\t, ', []],
    [
      'a param with no value, between two good ones',
      'Bearer realm="x", error=, scope=a',
      [{ scheme: 'Bearer', params: { realm: 'x', scope: 'a' } }],
    ],
    [
      'a param with "=" but no value right after the scheme (a token68) and the params after it',
      'Bearer error=, realm="x"',
      [{ scheme: 'Bearer', token68: 'error=' }],
    ],
    [
      'params after a token68',
      'Negotiate abc123==, realm="ignored", Basic',
      [{ scheme: 'Negotiate', token68: 'abc123==' }, { scheme: 'Basic' }],
    ],
    ['a param before any scheme', 'realm="x", Bearer', [{ scheme: 'Bearer' }]],
    [
      'an auth-param without a name',
      'Bearer realm=x, =y, error=z',
      [{ scheme: 'Bearer', params: { realm: 'x', error: 'z' } }],
    ],
    [
      'garbage whose quoted-string holds a comma and what looks like a param',
      'Bearer realm=a "b, c=d, e", error=x',
      [{ scheme: 'Bearer', params: { error: 'x' } }],
    ],
    [
      'an unterminated quoted-string, to the end of the header',
      'Bearer error="x", realm="unclosed, Basic',
      [{ scheme: 'Bearer', params: { error: 'x' } }],
    ],
    ['a quoted-string ending in a lone backslash', 'Bearer error="bad\\escape\\"', [{ scheme: 'Bearer' }]],
    [
      'garbage after a value, up to the next comma',
      'Bearer realm="a" junk, error=x',
      [{ scheme: 'Bearer', params: { error: 'x' } }],
    ],
    [
      'garbage with a quoted comma in it',
      'Bearer realm=a "b, c" d, error=x',
      [{ scheme: 'Bearer', params: { error: 'x' } }],
    ],
    ['a second challenge with no comma before it', 'Bearer realm="a" Basic realm="b"', [{ scheme: 'Bearer' }]],
    ['bare tokens after a scheme, which are no challenges', 'x x x x, Basic', [{ scheme: 'x' }, { scheme: 'Basic' }]],
    ['a token68 with trailing garbage', 'Negotiate abc== ???, Basic', [{ scheme: 'Negotiate' }, { scheme: 'Basic' }]],
    ['a scheme glued to a quote', 'Bearer"x", Basic', [{ scheme: 'Basic' }]],
    ['a scheme glued to a control character', 'Bearer\x01, Basic', [{ scheme: 'Basic' }]],
    ['a param name glued to a quote', 'Bearer error"invalid_token"', [{ scheme: 'Bearer' }]],
    ['a quoted-string where a scheme belongs', '"quoted", Bearer', [{ scheme: 'Bearer' }]],
    ['characters that are no token', '???, ===, \\\\, ;;', []],
    [
      'a non-ASCII character in a scheme or a param name',
      'Bäsic realm=x, Bearer réalm="x", error=y',
      [{ scheme: 'Bearer', params: { error: 'y' } }],
    ],
    [
      'a value that is no token or quoted-string',
      'Bearer realm=/x/, error=y',
      [{ scheme: 'Bearer', params: { error: 'y' } }],
    ],
  ])('%s', (_what, header, list) => {
    expect(parsed(header)).toEqual(expected(list));
  });
});

describe('parseChallenges takes any input', () => {
  test('reads several header values given as an array as one list', () => {
    expect(parsed(['Basic realm="a"', 'Bearer error="invalid_token"'])).toEqual(
      expected([
        { scheme: 'Basic', params: { realm: 'a' } },
        { scheme: 'Bearer', params: { error: 'invalid_token' } },
      ]),
    );
  });

  test('ignores array entries that are not strings', () => {
    expect(parsed([42, 'Basic', null, { scheme: 'x' }, 'Bearer realm=x'])).toEqual(
      expected([{ scheme: 'Basic' }, { scheme: 'Bearer', params: { realm: 'x' } }]),
    );
  });

  /** An array whose one value sits at index MAX_HEADER_LENGTH: no more entries than that are read. */
  function beyondTheEntries(): unknown[] {
    const values: unknown[] = [];
    values[MAX_HEADER_LENGTH] = 'Bearer';
    return values;
  }
  const revoked = Proxy.revocable([], {});
  revoked.revoke();
  test.each<[string, unknown]>([
    ['undefined', undefined],
    ['null', null],
    ['a number', 401],
    ['a boolean', true],
    ['a symbol', Symbol('Bearer')],
    ['a function', () => 'Bearer'],
    ['a plain object', { toString: () => 'Bearer' }],
    ['an array-like object that is no array', { length: 1, 0: 'Bearer' }],
    ['a String object', new String('Bearer')],
    ['a sparse array whose only value lies past the first MAX_HEADER_LENGTH entries', beyondTheEntries()],
    [
      'an object whose toString throws',
      {
        toString: () => {
          throw new Error('no');
        },
      },
    ],
    ['a revoked proxy', revoked.proxy],
    [
      'an array with a throwing getter',
      Object.defineProperty(['Bearer'], 0, {
        get: () => {
          throw new Error('no');
        },
      }),
    ],
    ['a sparse array of huge length', new Array(2 ** 32 - 1)],
  ])('returns no challenge, without throwing, for %s', (_what, header) => {
    expect(parseChallenges(header)).toEqual([]);
  });

  test('gives params no prototype, so a name the server did not send reads undefined', () => {
    const [challenge] = parseChallenges('Bearer realm="x"');
    expect(Object.getPrototypeOf(challenge?.params)).toBeNull();
    expect(challenge?.params.constructor).toBeUndefined();
    expect(challenge?.params.toString).toBeUndefined();
    expect(challenge?.params.hasOwnProperty).toBeUndefined();
  });

  test('keeps a __proto__ param as a plain key without changing the prototype', () => {
    const [challenge] = parseChallenges('Bearer __proto__="x", realm=y');
    expect(Object.getPrototypeOf(challenge?.params)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(challenge?.params, '__proto__')?.value).toBe('x');
    expect(challenge?.params.realm).toBe('y');
  });
});

describe('parseChallenges parses a bounded amount', () => {
  const padding = (n: number) => `Basic realm="${'p'.repeat(n)}"`;

  test(`does not see a challenge that starts after the first ${MAX_HEADER_LENGTH} characters`, () => {
    const header = `${padding(MAX_HEADER_LENGTH)}, Bearer error="invalid_token"`;
    expect(challengeSchemes(header)).toEqual(['Basic']);
  });

  test('drops a quoted value that the cut reaches instead of reporting it cut short', () => {
    const header = `Bearer scope="${'s'.repeat(MAX_HEADER_LENGTH)}", error=x`;
    expect(parsed(header)).toEqual(expected([{ scheme: 'Bearer' }]));
  });

  /** `lead`, padded inside a quoted realm so that `lead` ends `into` characters before the cut. */
  const endingBeforeCut = (lead: string, into: number) =>
    `Basic realm="${'p'.repeat(MAX_HEADER_LENGTH - into - lead.length - 'Basic realm="", '.length)}", ${lead}`;

  test.each([1, 5, 10])('drops a token68 that the cut reaches %i characters into it, and keeps its scheme', (into) => {
    const header = `${endingBeforeCut('Negotiate ', into)}abcdefghij, Bearer`;
    expect(header.indexOf('abcdefghij')).toBe(MAX_HEADER_LENGTH - into);
    expect(parsed(header).slice(1)).toEqual(expected([{ scheme: 'Negotiate' }]));
    expect(parsed(header.slice(MAX_HEADER_LENGTH - into - 'Negotiate '.length)).slice(0, 1)).toEqual(
      expected([{ scheme: 'Negotiate', token68: 'abcdefghij' }]),
    );
  });

  test('reads a header of exactly MAX_HEADER_LENGTH characters to its end, as a whole header', () => {
    const header = `${padding(MAX_HEADER_LENGTH - 'Basic realm="", Bearer'.length)}, Bearer`;
    expect(header).toHaveLength(MAX_HEADER_LENGTH);
    expect(challengeSchemes(header)).toEqual(['Basic', 'Bearer']);
  });

  test.each([1, 3, 5])('drops a scheme that the cut reaches %i characters into it', (into) => {
    const header = `${endingBeforeCut('', into)}Bearer, Basic`;
    expect(header.indexOf('Bearer')).toBe(MAX_HEADER_LENGTH - into);
    expect(challengeSchemes(header)).toEqual(['Basic']);
  });

  test.each([1, 3])('drops a param name that the cut reaches %i characters into it', (into) => {
    const header = `${endingBeforeCut('Bearer realm=x, ', into)}error=y, Basic`;
    expect(header.indexOf('error=y')).toBe(MAX_HEADER_LENGTH - into);
    expect(parsed(header).slice(1)).toEqual(expected([{ scheme: 'Bearer', params: { realm: 'x' } }]));
  });

  test('drops a token68 whose trailing whitespace the cut reaches, and keeps its scheme', () => {
    const header = `${endingBeforeCut('Negotiate abc', 3)}   x, Bearer`;
    expect(header.indexOf('x, Bearer')).toBe(MAX_HEADER_LENGTH);
    expect(parsed(header).slice(1)).toEqual(expected([{ scheme: 'Negotiate' }]));
  });

  test('cuts several values given as an array exactly where it cuts them joined by ", "', () => {
    const first = `${padding(MAX_HEADER_LENGTH - 'Basic realm="", Bearer'.length)}, Bearer`;
    expect(first).toHaveLength(MAX_HEADER_LENGTH);
    expect(parsed([first, 'DPoP'])).toEqual(parsed(`${first}, DPoP`));
    expect(challengeSchemes([first, 'DPoP'])).toEqual(['Basic']);
  });

  test.each([1, 5, 13])('drops a token value that the cut reaches %i characters into it', (into) => {
    const header = `${endingBeforeCut('Bearer realm=x, error=', into)}invalid_token, Basic`;
    expect(header.indexOf('invalid_token')).toBe(MAX_HEADER_LENGTH - into);
    expect(parsed(header).slice(1)).toEqual(expected([{ scheme: 'Bearer', params: { realm: 'x' } }]));
  });

  test(`keeps the first ${MAX_CHALLENGES} challenges`, () => {
    const header = Array.from({ length: MAX_CHALLENGES + 5 }, (_, i) => `S${i} n=${i}`).join(', ');
    expect(challengeSchemes(header)).toEqual(Array.from({ length: MAX_CHALLENGES }, (_, i) => `S${i}`));
  });

  test(`keeps the first ${MAX_PARAMS} params of a challenge and still reads the next challenge`, () => {
    const params = Array.from({ length: MAX_PARAMS + 5 }, (_, i) => `p${i}=${i}`).join(', ');
    const [first, second] = parseChallenges(`Digest ${params}, Bearer error=x`);
    expect(Object.keys(first?.params ?? {})).toEqual(Array.from({ length: MAX_PARAMS }, (_, i) => `p${i}`));
    expect(second?.params.error).toBe('x');
  });
});

describe('findChallenge and bearerChallenge read a parsed header', () => {
  // Parsed in beforeEach, not when the file loads, so that mutation testing counts what it runs for each test.
  let challenges: AuthChallenge[];
  beforeEach(() => {
    challenges = parseChallenges(
      'Basic realm="b", dpop algs="ES256", error="use_dpop_nonce", bearer realm="a", Bearer realm="second"',
    );
  });

  test('finds a challenge by scheme, case-insensitively', () => {
    expect(findChallenge(challenges, 'DPoP')?.params).toEqual({ algs: 'ES256', error: 'use_dpop_nonce' });
  });

  test('finds the first of two challenges with the same scheme', () => {
    expect(findChallenge(challenges, 'BEARER')?.params.realm).toBe('a');
  });

  test('finds nothing for a scheme the server did not send', () => {
    expect(findChallenge(challenges, 'Negotiate')).toBeUndefined();
    expect(findChallenge([], 'Bearer')).toBeUndefined();
  });

  test('converts the first Bearer challenge to camelCase, with the scope split on whitespace', () => {
    const header =
      'Basic, bearer realm="api", error="insufficient_scope", error_description="needs \\"write\\"", error_uri="https://e.test/e", scope=" read  write\tadmin "';
    expect(bearerChallenge(parseChallenges(header))).toEqual({
      scheme: 'Bearer',
      realm: 'api',
      error: 'insufficient_scope',
      errorDescription: 'needs "write"',
      errorUri: 'https://e.test/e',
      scope: ['read', 'write', 'admin'],
    });
  });

  test('gives a Bearer challenge without params as the scheme alone, with no attribute set to undefined', () => {
    expect(bearerChallenge(parseChallenges('Bearer'))).toStrictEqual({ scheme: 'Bearer' });
    expect(bearerChallenge(parseChallenges('Bearer abc=='))).toStrictEqual({ scheme: 'Bearer' });
    expect(Object.keys(bearerChallenge(parseChallenges('Bearer scope="a"')) ?? {})).toEqual(['scheme', 'scope']);
  });

  test('gives undefined when no challenge is Bearer', () => {
    expect(bearerChallenge(parseChallenges('Basic realm="x", DPoP algs="ES256"'))).toBeUndefined();
    expect(bearerChallenge([])).toBeUndefined();
  });

  test('parseBearerChallenge and challengeSchemes read the header the same way', () => {
    const header = ['API-Key realm="bank"', 'Bearer error="invalid_token"'];
    expect(parseBearerChallenge(header)).toEqual(bearerChallenge(parseChallenges(header)));
    expect(parseBearerChallenge(header)).toEqual({ scheme: 'Bearer', error: 'invalid_token' });
    expect(challengeSchemes(header)).toEqual(['API-Key', 'Bearer']);
    expect(parseBearerChallenge(undefined)).toBeUndefined();
    expect(challengeSchemes(null)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Properties

const TCHARS = [..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"];
const TOKEN68_CHARS = [...'0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-._~+/'];
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 12 });

/** Pieces that stress every branch of the scanner when repeated and mixed. */
const ADVERSARIAL = [
  'x ',
  'a=',
  'a="',
  'a="\\',
  '\\',
  ',',
  '=',
  ' ',
  '\t',
  '"',
  'Bearer ',
  'realm=',
  'abc==',
  'a=b',
  ', ',
  '==',
  '"\\"',
  'x'.repeat(200),
];
const adversarial = fc.array(fc.constantFrom(...ADVERSARIAL), { maxLength: 300 }).map((parts) => parts.join(''));

/** Whatever was parsed has the documented shape. */
function wellShaped(challenges: AuthChallenge[]): boolean {
  return (
    challenges.length <= MAX_CHALLENGES &&
    challenges.every(
      (c) =>
        /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(c.scheme) &&
        Object.getPrototypeOf(c.params) === null &&
        Object.keys(c.params).length <= MAX_PARAMS &&
        Object.entries(c.params).every(([name, value]) => name === name.toLowerCase() && typeof value === 'string') &&
        (c.token68 === undefined || (/^[A-Za-z0-9\-._~+/]+=*$/.test(c.token68) && Object.keys(c.params).length === 0)),
    )
  );
}

describe('parseChallenges properties', () => {
  test('never throws on any value, and gives only well-shaped challenges', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBoxedValues: true, withMap: true, withSet: true, withSparseArray: true }),
        (value) => wellShaped(parseChallenges(value)),
      ),
      { numRuns: 300 },
    );
  });

  test('never throws on random strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => wellShaped(parseChallenges(text))),
      { numRuns: 500 },
    );
  });

  test('reads an array of values exactly as the values joined by ", "', () => {
    fc.assert(
      fc.property(fc.array(adversarial, { maxLength: 4 }), (values) => {
        expect(parsed(values)).toEqual(parsed(values.join(', ')));
      }),
      { numRuns: 100 },
    );
  });

  test('never throws on mixtures of adversarial pieces, as a string or as an array of values', () => {
    fc.assert(
      fc.property(adversarial, (text) => wellShaped(parseChallenges(text))),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.array(adversarial, { maxLength: 4 }), (values) => wellShaped(parseChallenges(values))),
      { numRuns: 100 },
    );
  });

  type Value = { value: string; wire: string };
  const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;
  const value: fc.Arbitrary<Value> = fc.oneof(
    token.map((v) => ({ value: v, wire: v })),
    token.map((v) => ({ value: v, wire: quote(v) })),
    fc.string({ unit: 'binary', maxLength: 20 }).map((v) => ({ value: v, wire: quote(v) })),
    fc.constantFrom('"', '\\', ',', '=', ', x="y"', '\\"').map((v) => ({ value: v, wire: quote(v) })),
  );
  const token68 = fc
    .tuple(
      fc.string({ unit: fc.constantFrom(...TOKEN68_CHARS), minLength: 1, maxLength: 40 }),
      fc.integer({ min: 0, max: 2 }),
    )
    .map(([body, pad]) => body + '='.repeat(pad));
  const body = fc.oneof(
    fc.constant({ kind: 'none' as const }),
    token68.map((t) => ({ kind: 'token68' as const, token68: t })),
    fc
      .array(fc.tuple(token, value), { minLength: 1, maxLength: 6 })
      .map((params) => ({ kind: 'params' as const, params })),
  );
  const challenge = fc.record({ scheme: token, body, space: fc.constantFrom(' ', '  ', '\t') });
  const separator = fc.constantFrom(',', ', ', ' ,', ' , ', ',,', ', , ', ',\t');
  const bws = fc.constantFrom('', ' ', '\t');

  type Generated = {
    scheme: string;
    body: { kind: 'none' } | { kind: 'token68'; token68: string } | { kind: 'params'; params: [string, Value][] };
    space: string;
  };

  const serialize = (c: Generated, sep: string, around: string): string => {
    if (c.body.kind === 'none') return c.scheme;
    if (c.body.kind === 'token68') return `${c.scheme}${c.space}${c.body.token68}`;
    return `${c.scheme}${c.space}${c.body.params.map(([name, v]) => `${name}${around}=${around}${v.wire}`).join(sep)}`;
  };
  const meaning = (c: Generated): Expected => {
    if (c.body.kind === 'none') return { scheme: c.scheme, params: {} };
    if (c.body.kind === 'token68') return { scheme: c.scheme, params: {}, token68: c.body.token68 };
    const params: Record<string, string> = Object.create(null) as Record<string, string>; // '__proto__' is a name like any other
    for (const [name, v] of c.body.params)
      if (!Object.hasOwn(params, name.toLowerCase())) params[name.toLowerCase()] = v.value;
    return { scheme: c.scheme, params };
  };
  const plainParams = (list: Expected[]) =>
    list.map((c) => ({ ...c, params: new Map(Object.entries(c.params ?? {})) }));

  test('round-trips a well-formed list of challenges: same schemes, params (first value wins) and token68s', () => {
    fc.assert(
      fc.property(
        fc.array(challenge, { minLength: 1, maxLength: 6 }),
        separator,
        bws,
        fc.constantFrom('', ' ', ', ', ' ,'),
        (challenges, sep, around, edge) => {
          const header = `${edge}${challenges.map((c) => serialize(c, sep, around)).join(sep)}${edge}`;
          // A Map compares `__proto__` and the other names as data on both sides.
          expect(plainParams(parsed(header))).toEqual(plainParams(challenges.map(meaning)));
          expect(plainParams(parsed(challenges.map((c) => serialize(c, sep, around))))).toEqual(
            plainParams(challenges.map(meaning)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  /** Steps per character parsed that the scanner may take; it takes about 3 on the worst pieces below. */
  const STEPS_PER_CHARACTER = 4;
  const stepsFor = (text: string) => {
    const stats = { steps: 0 };
    scanChallenges(text, stats);
    return stats.steps;
  };
  const bound = (text: string) => STEPS_PER_CHARACTER * Math.min(text.length, MAX_HEADER_LENGTH) + 16;

  test.each([
    'x ',
    'a=',
    'a="',
    'a="\\',
    '\\',
    ',',
    '=',
    'a=,',
    'a=b,',
    'x y,',
    'abc==x,',
    'a'.repeat(100) + ' ',
    '"\\",',
  ])('scans %j repeated, after a scheme, in steps linear in the length parsed, up to 64 KiB', (piece) => {
    for (const size of [1024, 4096, 16384, 65536]) {
      for (const text of [piece.repeat(size / piece.length), `Bearer ${piece.repeat(size / piece.length)}`]) {
        expect(stepsFor(text)).toBeLessThanOrEqual(bound(text));
      }
    }
  });

  test('counts every character of a well-formed header at least once', () => {
    const header =
      'Bearer realm="api", error="invalid_token", error_description="a \\"b\\"",, Negotiate abc==, DPoP algs=ES256 ';
    expect(stepsFor(header)).toBeGreaterThanOrEqual(header.length);
  });

  test('counts at least one step for every character parsed, whatever the header (so the bound above means something)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          adversarial,
          adversarial.map((text) => `Bearer ${text}`),
          fc.string({ unit: 'binary', maxLength: 300 }),
        ),
        (text) => stepsFor(text) >= Math.min(text.length, MAX_HEADER_LENGTH),
      ),
      { numRuns: 300 },
    );
  });

  test('scans random mixtures of adversarial pieces in steps linear in their length', () => {
    fc.assert(
      fc.property(
        adversarial,
        (text) => stepsFor(text) <= bound(text) && stepsFor(`Bearer ${text}`) <= bound(`Bearer ${text}`),
      ),
      { numRuns: 300 },
    );
  });
});

test('a token cut by the 16 KiB limit in the whitespace before its "=" is no challenge: it may have been a parameter name', () => {
  const lead = `DPoP algs="${'a'.repeat(16384 - 'DPoP algs="", Bearer   '.length)}", Bearer   `;
  expect(challengeSchemes(`${lead}="x"`)).toEqual(['DPoP']);
  expect(challengeSchemes('DPoP algs="ES256", Bearer   ="x"')).toEqual(['DPoP']);
  expect(challengeSchemes('DPoP algs="ES256", Bearer   ')).toEqual(['DPoP', 'Bearer']);
});
