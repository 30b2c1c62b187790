/**
 * The token response parser (RFC 6749 §5.1, §5.2; RFC 6750 §2.1): unit tables over `parseTokenResponse` and
 * `errorFromBody`, then fast-check properties (it throws nothing but TokenEndpointError, and a token it accepts
 * can never break a header).
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { TokenEndpointError } from '../src/errors.js';
import { credentialForms } from '../src/util/redact.js';
import {
  MAX_LIFETIME_SECONDS,
  errorFromBody,
  parseTokenResponse,
  type ParseContext,
} from '../src/grant/token-response.js';

const SENT_AT = 1_700_000_000_000;
const ctx: ParseContext = { status: 200, sentAt: SENT_AT, requestedScope: ['a', 'b'] };
const parse = (body: unknown, context: Partial<ParseContext> = {}) => parseTokenResponse(body, { ...ctx, ...context });

/** The error `parse` throws, or a failure when it throws none. */
function refusal(body: unknown, context: Partial<ParseContext> = {}): TokenEndpointError {
  try {
    parse(body, context);
  } catch (error) {
    expect(error).toBeInstanceOf(TokenEndpointError);
    return error as TokenEndpointError;
  }
  throw new Error(`accepted ${JSON.stringify(body)}`);
}

/** An unsigned JWT with these claims (only `exp` is read). */
function jwt(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'at+jwt' })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe('access_token must be RFC 6750 §2.1 b64token syntax', () => {
  test.each([
    ['letters and digits', 'abcXYZ0189'],
    ['every punctuation b64token allows', 'a-b.c_d~e+f/g'],
    ['one trailing =', 'abc='],
    ['several trailing =', 'abc==='],
    ['a JWT', jwt({ sub: 'x' })],
    ['a single character', 'a'],
    ['a long token', 'A'.repeat(8192)],
  ])('accepts %s', (_name, token) => {
    expect(parse({ access_token: token }).token.accessToken).toBe(token);
  });

  test.each([
    ['a bare LF', 'abc\ndef'],
    ['a bare CR', 'abc\rdef'],
    ['CRLF and a header', 'abc\r\nX-Evil: 1'],
    ['a trailing LF', 'abc\n'],
    ['a leading LF', '\nabc'],
    ['a space', 'abc def'],
    ['a leading space', ' abc'],
    ['a trailing space', 'abc '],
    ['a tab', 'abc\tdef'],
    ['NUL', 'abc\0def'],
    ['a vertical tab', 'abc\vdef'],
    ['DEL', 'abc\x7fdef'],
    ['a non-ASCII letter', 'tökén'],
    ['a non-breaking space', 'abc\u00a0def'],
    ['a line separator', 'abc\u2028def'],
    ['an emoji', 'abc🔑'],
    ['= in the middle', 'ab=cd'],
    ['only =', '=='],
    ['a leading =', '=abc'],
    ['a double quote', 'abc"def'],
    ['a comma', 'abc,def'],
    ['a semicolon', 'abc;def'],
    ['a backslash', 'abc\\def'],
    ['a colon', 'abc:def'],
    ['an empty string', ''],
  ])('refuses a token with %s', (_name, token) => {
    expect(refusal({ access_token: token })).toMatchObject({ error: 'invalid_token_response', status: 200 });
  });

  test.each([
    ['missing', {}],
    ['a number', { access_token: 42 }],
    ['null', { access_token: null }],
    ['an array', { access_token: ['abc'] }],
    ['an object', { access_token: { value: 'abc' } }],
  ])('refuses an access_token that is %s', (_name, body) => {
    expect(refusal(body)).toMatchObject({ error: 'invalid_token_response' });
  });

  test.each<[string, unknown, string]>([
    ['a missing token', {}, 'Token endpoint response has no access_token string.'],
    [
      'an empty token, reported as missing',
      { access_token: '' },
      'Token endpoint response has no access_token string.',
    ],
    [
      'a token with a line break',
      { access_token: 'abc\ndef' },
      'Token endpoint returned an access_token that is not valid token syntax (RFC 6750 §2.1: no spaces, CR, LF or other separators).',
    ],
  ])('says what is wrong with %s', (_name, body, message) => {
    expect(refusal(body).message).toBe(message);
  });

  test('never shows the refused token in the message', () => {
    expect(refusal({ access_token: 'leak-me\nplease' }).message).not.toContain('leak-me');
  });
});

describe('the body must be a JSON object', () => {
  test('says so in the message', () => {
    expect(refusal('access_token=abc').message).toBe('Token endpoint answered without a JSON object.');
  });

  test.each([
    ['null', null],
    ['undefined', undefined],
    ['a string', 'access_token=abc'],
    ['a number', 42],
    ['an array', [{ access_token: 'abc' }]],
    ['a boolean', true],
  ])('refuses %s', (_name, body) => {
    expect(refusal(body, { status: 201 })).toMatchObject({ error: 'invalid_token_response', status: 201 });
  });
});

describe('token_type (RFC 6749 §7.1)', () => {
  test.each([
    ['Bearer', 'Bearer'],
    ['bearer', 'bearer'],
    ['BEARER', 'BEARER'],
    ['bEaReR', 'bEaReR'],
    ['absent', undefined],
    ['null', null],
  ])('takes %s as Bearer', (_name, tokenType) => {
    expect(parse({ access_token: 'abc', token_type: tokenType }).token.tokenType).toBe('Bearer');
  });

  test.each([
    ['MAC', 'MAC', '"MAC"'],
    ['DPoP', 'DPoP', '"DPoP"'],
    ['Bearer with a trailing space', 'Bearer ', '"Bearer "'],
    ['an empty string', '', '""'],
    ['a number', 1, '1'],
    ['an object', { type: 'Bearer' }, 'an object'],
    ['an array', ['Bearer'], 'an array'],
    ['a boolean', true, 'a boolean'],
    ['a string of 40 characters', 'x'.repeat(40), `"${'x'.repeat(40)}"`],
    ['a string of 41 characters', 'x'.repeat(41), 'a string of 41 characters'],
  ])('refuses %s as unsupported_token_type, shown as %s', (_name, tokenType, shown) => {
    const error = refusal({ access_token: 'abc', token_type: tokenType });
    expect(error).toMatchObject({ error: 'unsupported_token_type', status: 200 });
    expect(error.message).toContain(`token_type ${shown},`);
  });

  test('says a token type other than Bearer is not understood, and that DPoP needs the dpop option', () => {
    const { message } = refusal({ access_token: 'abc', token_type: 'MAC' });
    expect(message).toBe(
      'Token endpoint returned token_type "MAC", which this client does not understand; only Bearer tokens are sent (RFC 6749 §7.1), and DPoP tokens with the dpop option.',
    );
  });

  test('shows a null token_type as null when a DPoP token was asked for', () => {
    const { message } = refusal({ access_token: 'abc', token_type: null }, { tokenType: 'DPoP' });
    expect(message).toMatch(/^Token endpoint returned token_type null, not DPoP: the server ignored the DPoP proof/);
  });

  test.each([['DPoP'], ['dpop'], ['DPOP']])(
    'takes %s as DPoP when a DPoP token was asked for (RFC 9449 §5)',
    (type) => {
      expect(parse({ access_token: 'abc', token_type: type }, { tokenType: 'DPoP' }).token.tokenType).toBe('DPoP');
    },
  );

  test.each([['Bearer'], ['bearer'], [undefined], ['MAC']])(
    'refuses %s when a DPoP token was asked for: the server ignored the proof',
    (type) => {
      const error = refusal({ access_token: 'abc', token_type: type }, { tokenType: 'DPoP' });
      expect(error).toMatchObject({ error: 'unsupported_token_type' });
      expect(error.message).toMatch(/not DPoP/);
    },
  );
});

describe('expires_in', () => {
  test.each([
    ['a number', 120, 120],
    ['a numeric string', '120', 120],
    ['a numeric string with spaces', ' 120 ', 120],
    ['a fraction', 1.5, 1.5],
    ['a fractional string', '0.25', 0.25],
    ['the longest lifetime accepted', MAX_LIFETIME_SECONDS, MAX_LIFETIME_SECONDS],
    ['one second', 1, 1],
  ])('accepts %s as a lifetime', (_name, expiresIn, seconds) => {
    const { token, lifetimeSeconds } = parse({ access_token: 'abc', expires_in: expiresIn });
    expect(lifetimeSeconds).toBe(seconds);
    expect(token.expiresAt).toBe(SENT_AT + seconds * 1000);
  });

  test.each([
    ['absent', undefined],
    ['null', null],
    ['0', 0],
    ['"0"', '0'],
    ['"0.0"', '0.0'],
  ])('takes %s as an unknown lifetime (no expiresAt: the provider applies its default)', (_name, expiresIn) => {
    const { token, lifetimeSeconds } = parse({ access_token: 'abc', expires_in: expiresIn });
    expect(lifetimeSeconds).toBeUndefined();
    expect(token.expiresAt).toBeUndefined();
  });

  test.each([
    ['absent', undefined],
    ['0', 0],
  ])("uses a JWT's exp when expires_in is %s", (_name, expiresIn) => {
    const exp = SENT_AT / 1000 + 900;
    expect(parse({ access_token: jwt({ exp }), expires_in: expiresIn }).token.expiresAt).toBe(exp * 1000);
  });

  test('accepts a lifetime of exactly ten years (315 360 000 s) and refuses one second more', () => {
    expect(MAX_LIFETIME_SECONDS).toBe(315_360_000);
    expect(parse({ access_token: 'abc', expires_in: 315_360_000 }).lifetimeSeconds).toBe(315_360_000);
    expect(refusal({ access_token: 'abc', expires_in: 315_360_001 }).message).toBe(
      'Token endpoint returned an invalid expires_in (315360001): expected a number of seconds from 0 to 315360000.',
    );
  });

  test("uses a JWT's exp exactly ten years after the request was sent", () => {
    const exp = SENT_AT / 1000 + 315_360_000;
    expect(parse({ access_token: jwt({ exp }) }).token.expiresAt).toBe(exp * 1000);
  });

  test("prefers a positive expires_in to a JWT's exp", () => {
    expect(parse({ access_token: jwt({ exp: SENT_AT / 1000 + 900 }), expires_in: 60 }).token.expiresAt).toBe(
      SENT_AT + 60_000,
    );
  });

  test.each([
    ['more than ten years away', MAX_LIFETIME_SECONDS + 60],
    ['not a number', 'soon'],
  ])("ignores a JWT's exp %s when expires_in is 0", (_name, exp) => {
    const claims = typeof exp === 'number' ? { exp: SENT_AT / 1000 + exp } : { exp };
    expect(parse({ access_token: jwt(claims), expires_in: 0 }).token.expiresAt).toBeUndefined();
  });

  test.each([
    ['negative', -5, '-5'],
    ['a negative string', '-5', '"-5"'],
    ['NaN as a string', 'NaN', '"NaN"'],
    ['a word', 'soon', '"soon"'],
    ['an empty string', '', '""'],
    ['an exponent string', '1e3', '"1e3"'],
    ['a hex string', '0x10', '"0x10"'],
    ['a string with a unit', '60s', '"60s"'],
    ['huge', 1e12, '1000000000000'],
    ['just over ten years', MAX_LIFETIME_SECONDS + 1, String(MAX_LIFETIME_SECONDS + 1)],
    ['Infinity', Infinity, 'Infinity'],
    ['NaN', NaN, 'NaN'],
    ['a boolean', true, 'a boolean'],
    ['an array', [60], 'an array'],
    ['an object', { seconds: 60 }, 'an object'],
    ['a string of 41 characters', '1'.repeat(41), 'a string of 41 characters'],
  ])('refuses %s, shown as %s', (_name, expiresIn, shown) => {
    const error = refusal({ access_token: 'abc', expires_in: expiresIn });
    expect(error).toMatchObject({ error: 'invalid_token_response' });
    expect(error.message).toContain(`invalid expires_in (${shown})`);
  });
});

describe('token_type and expires_in never echo a secret', () => {
  const clientSecret = 'p@ss "wörd" \\ 42';
  // Listed in beforeEach, not when the file loads, so that mutation testing counts what it runs for each test.
  let secrets: string[];
  beforeEach(() => {
    secrets = credentialForms('client', clientSecret);
  });

  test.each([
    ['token_type', 'token_type'],
    ['expires_in', 'expires_in'],
  ])('%s holding the secret whole shows [REDACTED]', (_name, field) => {
    const message = refusal({ access_token: 'abc', [field]: clientSecret }, { secrets }).message;
    expect(message).toContain('"[REDACTED]"');
    expect(message).not.toContain('p@ss');
  });

  test.each([
    ['token_type', 'token_type', 30],
    ['token_type', 'token_type', 38],
    ['expires_in', 'expires_in', 30],
    ['expires_in', 'expires_in', 38],
  ])(
    '%s holding the secret where a cut would split it shows no part of it, even without the secrets',
    (_name, field, at) => {
      const message = refusal({ access_token: 'abc', [field]: `${'x'.repeat(at)}${clientSecret}` }).message;
      expect(message).not.toContain('p@');
      expect(message).toContain(`a string of ${at + clientSecret.length} characters`);
    },
  );
});

describe('scope (RFC 6749 §3.3, §5.1)', () => {
  test.each([
    ['space-separated', 'x y', ['x', 'y']],
    ['with extra spaces', '  x   y  ', ['x', 'y']],
    ['with tabs and newlines', 'x\ty\nz', ['x', 'y', 'z']],
    ['one scope', 'x', ['x']],
    ['empty', '', []],
    ['absent', undefined, ['a', 'b']],
    ['null', null, ['a', 'b']],
  ])('reads a scope that is %s', (_name, scope, granted) => {
    expect(parse({ access_token: 'abc', scope }).token.scope).toEqual(granted);
  });

  test.each([
    ['a number', 42],
    ['an array', ['x', 'y']],
    ['an object', { x: true }],
  ])('refuses a scope that is %s', (_name, scope) => {
    expect(refusal({ access_token: 'abc', scope })).toMatchObject({ error: 'invalid_token_response' });
  });

  test('says a scope that is not a string is refused', () => {
    expect(refusal({ access_token: 'abc', scope: 42 }).message).toBe(
      'Token endpoint returned a scope that is not a string.',
    );
  });

  test('freezes the granted scope', () => {
    expect(Object.isFrozen(parse({ access_token: 'abc', scope: 'x' }).token.scope)).toBe(true);
  });
});

describe('error bodies (RFC 6749 §5.2)', () => {
  test.each([
    [
      'a full error',
      { error: 'invalid_scope', error_description: 'no such scope', error_uri: 'https://docs.example/e' },
      { error: 'invalid_scope', errorDescription: 'no such scope', errorUri: 'https://docs.example/e' },
    ],
    [
      'an error alone',
      { error: 'invalid_client' },
      { error: 'invalid_client', errorDescription: undefined, errorUri: undefined },
    ],
    [
      'non-string fields',
      { error: 42, error_description: { text: 'x' }, error_uri: ['u'] },
      { error: undefined, errorDescription: undefined, errorUri: undefined },
    ],
    ['an error next to a token', { error: 'server_error', access_token: 'abc' }, { error: 'server_error' }],
  ])('a 2xx with %s is refused with its fields', (_name, body, fields) => {
    const error = refusal(body);
    expect(error).toMatchObject({ status: 200, code: 'ERR_TOKEN_ENDPOINT', ...fields });
  });

  test('a 2xx error body is scrubbed of the secrets before its fields are cut', () => {
    const secret = 'very-secret-value';
    const error = refusal(
      { error: 'invalid_client', error_description: `${'x'.repeat(495)}${secret}` },
      { secrets: [secret] },
    );
    expect(error.errorDescription).not.toContain('very-');
    expect(error.message).not.toContain('very-');
  });

  test('a 2xx error body is reported as an error the token endpoint answered with', () => {
    expect(refusal({ error: 'invalid_scope', error_description: 'no such scope' }).message).toBe(
      'Token endpoint answered with an error (HTTP 200, invalid_scope: no such scope).',
    );
  });

  test('names the error and description in the message', () => {
    expect(
      errorFromBody({ error: 'invalid_client', error_description: 'bad client' }, 401, 'Token request was refused')
        .message,
    ).toBe('Token request was refused (HTTP 401, invalid_client: bad client).');
  });

  test('says only the status when there is no body', () => {
    expect(errorFromBody(undefined, 503, 'Token request was refused')).toMatchObject({
      message: 'Token request was refused (HTTP 503).',
      status: 503,
      error: undefined,
    });
  });

  test('passes attempts and retryable through', () => {
    expect(
      errorFromBody({ error: 'temporarily_unavailable' }, 503, 'x', { attempts: 4, retryable: true }),
    ).toMatchObject({ attempts: 4, retryable: true });
  });

  test('cuts each field to 500 characters', () => {
    const error = errorFromBody(
      { error: 'e', error_description: 'd'.repeat(2000), error_uri: 'u'.repeat(2000) },
      400,
      'x',
    );
    expect(error.errorDescription).toBe(`${'d'.repeat(500)}…`);
    expect(error.errorUri).toBe(`${'u'.repeat(500)}…`);
  });

  test('scrubs each field of the secrets before it cuts it', () => {
    const secret = 'very-secret-value';
    const error = errorFromBody(
      {
        error: `bad ${secret}`,
        error_description: `${'x'.repeat(495)}${secret} tail`,
        error_uri: `https://e/?s=${secret}`,
      },
      400,
      'x',
      { secrets: [secret] },
    );
    const texts = [error.message, error.error, error.errorDescription, error.errorUri];
    expect(texts.filter((text) => text?.includes('very-'))).toEqual([]);
    expect(error.error).toBe('bad [REDACTED]');
  });
});

describe('the token it returns', () => {
  test('shows no access token through JSON.stringify or util.inspect', () => {
    const { token } = parse({ access_token: 'tok-very-private', scope: 'x' });
    expect(JSON.stringify(token)).not.toContain('tok-very-private');
    expect(inspect(token, { depth: null, showHidden: false })).not.toContain('tok-very-private');
    expect(token.raw.access_token).toBe('tok-very-private');
  });

  test('shows every other field through JSON.stringify and util.inspect, the token as [REDACTED]', () => {
    const { token } = parse({ access_token: 'tok-very-private', scope: 'x y', expires_in: 60 });
    expect(JSON.parse(JSON.stringify(token))).toEqual({
      accessToken: '[REDACTED]',
      tokenType: 'Bearer',
      expiresAt: SENT_AT + 60_000,
      scope: ['x', 'y'],
    });
    expect(inspect(token, { breakLength: Infinity })).toBe(
      `AccessToken { accessToken: '[REDACTED]', tokenType: 'Bearer', expiresAt: ${SENT_AT + 60_000}, scope: [ 'x', 'y' ] }`,
    );
  });
});

describe('parser properties', () => {
  test('throws nothing but TokenEndpointError, whatever the body', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        try {
          parse(body);
        } catch (error) {
          expect(error).toBeInstanceOf(TokenEndpointError);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('throws nothing but TokenEndpointError for token-like objects with arbitrary fields', () => {
    const field = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.array(fc.string()),
    );
    fc.assert(
      fc.property(field, field, field, field, (access_token, token_type, expires_in, scope) => {
        try {
          const { token } = parse({ access_token, token_type, expires_in, scope });
          expect(token.expiresAt === undefined || Number.isFinite(token.expiresAt)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(TokenEndpointError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('never accepts a token that could break or extend a header', () => {
    const unit = fc.oneof(
      fc.constantFrom(...[...'aZ09-._~+/=']),
      fc.integer({ min: 0, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
    );
    fc.assert(
      fc.property(fc.string({ unit, minLength: 1, maxLength: 12 }), (token) => {
        let accepted = false;
        try {
          parse({ access_token: token });
          accepted = true;
        } catch (error) {
          expect(error).toMatchObject({ error: 'invalid_token_response' });
        }
        if (accepted) expect(token).toMatch(/^[\x21-\x7e]+$/);
        if (accepted) expect(token).not.toMatch(/[\s"',;:\\]/);
      }),
      { numRuns: 1000 },
    );
  });
});
