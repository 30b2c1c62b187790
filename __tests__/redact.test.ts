/**
 * Issue 9, hole 3: redaction. `credentialForms` lists every representation of a client's credentials the library
 * knows; `scrub` withholds each of them from server text (replaced in place, or the whole text withheld when the
 * secret still shows once percent- or base64-decoded), before it cuts the text; `displayUrl` drops what may carry keys.
 * Unit tables first, then fast-check properties: no form survives wherever it is embedded, and scrub never throws.
 */
import fc from 'fast-check';
import {
  MIN_SUBSTRING_LENGTH,
  REDACTED,
  credentialForms,
  displayUrl,
  hideProperty,
  scrub,
} from '../src/util/redact.js';

// Expected forms are computed here, independently of src/util/redact.ts.
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const unpadded = (text: string) => text.replace(/=+$/, '');
const padded = (text: string) => text + '='.repeat((4 - (text.length % 4)) % 4);
/** Percent-encoding, or nothing for a text that has none (a lone surrogate). */
const percent = (text: string) => {
  try {
    return encodeURIComponent(text);
  } catch {
    return '';
  }
};
const formEncode = (text: string) => new URLSearchParams({ v: text }).toString().slice(2);
const jsonEscaped = (text: string) => JSON.stringify(text).slice(1, -1);
const asciiJson = (text: string, upper = false) =>
  jsonEscaped(text).replace(/[^\x20-\x7e]/g, (c) => {
    const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
    return `\\u${upper ? hex.toUpperCase() : hex}`;
  });

/** Every representation the issue names, by name, for one client. */
function namedForms(clientId: string, clientSecret: string): [string, string][] {
  const rawPair = `${clientId}:${clientSecret}`;
  const formPair = `${formEncode(clientId)}:${formEncode(clientSecret)}`;
  return [
    ['the raw secret', clientSecret],
    ['the form-encoded secret', formEncode(clientSecret)],
    ['the percent-encoded secret', percent(clientSecret)],
    ['the raw id:secret', rawPair],
    ['the form-encoded id:secret', formPair],
    ['base64 of the raw id:secret', b64(rawPair)],
    ['base64 of the raw id:secret without padding', unpadded(b64(rawPair))],
    ['base64url of the raw id:secret', b64url(rawPair)],
    ['base64url of the raw id:secret with padding', padded(b64url(rawPair))],
    ['base64 of the form-encoded id:secret', b64(formPair)],
    ['base64 of the form-encoded id:secret without padding', unpadded(b64(formPair))],
    ['base64url of the form-encoded id:secret', b64url(formPair)],
    ['base64url of the form-encoded id:secret with padding', padded(b64url(formPair))],
    ['base64 of the secret alone', b64(clientSecret)],
    ['base64 of the secret alone without padding', unpadded(b64(clientSecret))],
    ['base64url of the secret alone', b64url(clientSecret)],
    ['base64url of the secret alone with padding', padded(b64url(clientSecret))],
    ['the JSON-escaped secret', jsonEscaped(clientSecret)],
    ['the JSON-escaped secret with lower-case \\u escapes', asciiJson(clientSecret)],
    ['the JSON-escaped secret with upper-case \\u escapes', asciiJson(clientSecret, true)],
    ['the Basic header value', `Basic ${b64(formPair)}`],
  ];
}

/** Clients whose secrets hold each character that some encoding treats specially. */
const clients: [string, string, string][] = [
  ['a plain secret', 'client', 'very-secret-value'],
  ['a secret with + / =', 'client', 'a+b/c=d=='],
  ['a secret with % and &', 'client', '100%&more'],
  ['a secret with a colon', 'id:with:colons', 'sec:ret:x'],
  ['a secret with a quote and a backslash', 'client', 'say "hi" \\ now'],
  ['a secret with spaces', 'my client', 'a secret with spaces'],
  ['a non-ASCII secret', 'clíent-ü', 'sécret-€-🔑'],
  ['a secret with control characters', 'client', 'tab\there\nnewline'],
];

const formCases = clients.flatMap(([client, clientId, clientSecret]) =>
  namedForms(clientId, clientSecret).map(([form, value]) => [form, client, clientId, clientSecret, value] as const),
);

describe('displayUrl shows origin and path only', () => {
  test.each([
    ['no URL', undefined, '(no url)'],
    ['an empty URL', '', '(no url)'],
    ['a plain URL', 'https://auth.example.com/oauth/v2/token', 'https://auth.example.com/oauth/v2/token'],
    ['a URL with user info', 'https://user:pa55@auth.example.com/token', 'https://auth.example.com/token'],
    ['a URL with a query', 'https://auth.example.com/token?api_key=k3y', 'https://auth.example.com/token'],
    ['a URL with a fragment', 'https://auth.example.com/token#access_token=t', 'https://auth.example.com/token'],
    ['a URL with a port', 'http://127.0.0.1:8080/a/b', 'http://127.0.0.1:8080/a/b'],
    ['a URL with a default port', 'https://auth.example.com:443/t', 'https://auth.example.com/t'],
    ['an origin without a path', 'https://auth.example.com', 'https://auth.example.com/'],
    ['an IPv6 URL', 'http://[::1]:3000/token?x=1', 'http://[::1]:3000/token'],
    ['a relative URL with a query', '/token?client_secret=s3cr3t', '/token'],
    ['a relative URL with a fragment', 'token#frag', 'token'],
    ['a relative URL whose query spans lines', '/token?a=1\nclient_secret=s3cr3t', '/token'],
  ])('%s', (_name, url, shown) => {
    expect(displayUrl(url)).toBe(shown);
  });
});

describe('credentialForms lists every representation of the credentials', () => {
  test.each(formCases)('includes %s for %s', (_form, _client, clientId, clientSecret, value) => {
    expect(credentialForms(clientId, clientSecret)).toContain(value);
  });

  test.each(clients)('lists %s longest first, without duplicates or empty forms', (_client, clientId, clientSecret) => {
    const forms = credentialForms(clientId, clientSecret);
    expect(new Set(forms).size).toBe(forms.length);
    expect(forms).not.toContain('');
    expect([...forms].sort((a, b) => b.length - a.length)).toEqual(forms);
  });

  test('does not list the client id alone, which is no secret', () => {
    expect(credentialForms('client-42', 'very-secret-value')).not.toContain('client-42');
  });

  test('leaves out forms that are the same as another (a plain secret is its own form-encoding)', () => {
    const forms = credentialForms('client', 'plainsecret');
    expect(forms.filter((form) => form === 'plainsecret')).toHaveLength(1);
  });

  test.each([...clients, ['a secret with a lone surrogate', 'client', 'bad\ud800secret']])(
    'lists exactly these representations for %s, and nothing else',
    (_client, clientId, clientSecret) => {
      const named = namedForms(clientId, clientSecret).map(([, value]) => value);
      expect(new Set(credentialForms(clientId, clientSecret))).toEqual(new Set(named.filter((form) => form !== '')));
    },
  );

  test('never throws, nor lists an empty form, for a secret no percent-encoding can take (a lone surrogate)', () => {
    const forms = credentialForms('client', 'bad\ud800secret');
    expect(forms).toContain('bad\ud800secret');
    expect(forms).not.toContain('');
  });
});

describe('scrub replaces each form of the credentials in place', () => {
  test.each(formCases)('replaces %s for %s', (_form, _client, clientId, clientSecret, value) => {
    const out = scrub(`server said: ${value} (end)`, credentialForms(clientId, clientSecret));
    expect(out).toBe(`server said: ${REDACTED} (end)`);
  });

  test('replaces every occurrence, not just the first', () => {
    expect(scrub('s3cr3t-value and s3cr3t-value', ['s3cr3t-value'])).toBe(`${REDACTED} and ${REDACTED}`);
  });

  test('replaces the longer form whole when a shorter one sits inside it', () => {
    const forms = credentialForms('client', 'very-secret-value');
    expect(scrub(`Authorization: Basic ${b64('client:very-secret-value')}`, forms)).toBe(`Authorization: ${REDACTED}`);
  });

  test('replaces forms in whatever order the caller lists them', () => {
    const forms = credentialForms('client', 'very-secret-value').reverse();
    expect(scrub(`got Basic ${b64('client:very-secret-value')}`, forms)).toBe(`got ${REDACTED}`);
  });

  test('leaves text without any form unchanged', () => {
    expect(scrub('invalid_client: unknown client', credentialForms('client', 'very-secret-value'))).toBe(
      'invalid_client: unknown client',
    );
  });

  test('ignores empty forms, which would otherwise match between any two characters', () => {
    expect(scrub('text', ['', 'very-secret-value'])).toBe('text');
    expect(scrub('a text, with gaps.', [''])).toBe('a text, with gaps.');
  });
});

describe('scrub withholds the whole text when the secret shows once decoded', () => {
  const clientId = 'client';
  const clientSecret = 'p@ss/+w=rd é';
  // Listed in beforeEach, not when the file loads, so that mutation testing counts what it runs for each test.
  let forms: string[];
  beforeEach(() => {
    forms = credentialForms(clientId, clientSecret);
  });

  test.each([
    ['percent-encoded twice', encodeURIComponent(encodeURIComponent(clientSecret))],
    ['percent-encoded three times', encodeURIComponent(encodeURIComponent(encodeURIComponent(clientSecret)))],
    [
      'percent-encoded with lower-case hex',
      encodeURIComponent(clientSecret).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
    ],
    ['form-encoded twice', formEncode(formEncode(clientSecret))],
    [
      'every character percent-encoded',
      [...Buffer.from(clientSecret)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
    ],
    ['in base64 of a longer text', b64(`the client sent client_secret=${clientSecret} in the body`)],
    ['in base64url of a longer text', b64url(`{"client_secret":"${clientSecret}"}`)],
    ['in base64 glued to other letters', `token${b64(`x${clientSecret}`)}`],
    ['in base64 of the percent-encoded secret', b64(`secret=${encodeURIComponent(clientSecret)}`)],
  ])('%s', (_name, echoed) => {
    expect(scrub(`we got ${echoed} from you`, forms)).toBe(REDACTED);
  });

  test('leaves nothing of the credentials in a percent-encoded Basic header, only its escaped padding', () => {
    const basic = b64(`${formEncode(clientId)}:${formEncode(clientSecret)}`);
    expect(basic).toMatch(/=$/);
    expect(scrub(`we got ${encodeURIComponent(`Basic ${basic}`)} from you`, forms)).toBe(
      `we got Basic%20${REDACTED}%3D from you`,
    );
  });

  test('withholds the text when replacing one occurrence makes another (a secret that overlaps the marker)', () => {
    expect(scrub('D]abab', ['D]ab'])).toBe(REDACTED);
  });

  test('reads a + as a space, as form decoding does, even where the rest is not encoded', () => {
    expect(scrub('we got p@ss+word back', credentialForms(clientId, 'p@ss word'))).toBe(REDACTED);
  });

  test('stops percent-decoding after three rounds, its bound on work: an echo encoded five times is shown as sent', () => {
    const times = (n: number) => {
      let text = clientSecret;
      for (let i = 0; i < n; i++) text = encodeURIComponent(text);
      return `we got ${text} from you`;
    };
    expect(scrub(times(4), forms)).toBe(REDACTED);
    expect(scrub(times(5), forms)).toBe(times(5));
  });

  test('withholds base64 of a text holding a secret of exactly four characters', () => {
    expect(scrub(`ref ${b64('xyzabcdtail')}`, ['abcd'])).toBe(REDACTED);
  });

  test("keeps text that merely holds two characters of a four-character secret's base64 (a fragment too short to search)", () => {
    expect(scrub('Final answer', ['abcd'])).toBe('Final answer');
  });

  test('withholds base64url of a text holding a secret whose base64 has + and / in the middle', () => {
    const echoed = b64url('xyz>>>???>>>tail');
    expect(echoed).toContain('Pj4-Pz8_Pj4-');
    expect(scrub(`ref ${echoed}`, ['>>>???>>>'])).toBe(REDACTED);
  });

  test('never withholds text for the base64 of a secret too short to be searched for as a substring', () => {
    expect(scrub(`ref ${b64('ab1')} and ${b64('xyzab1')}`, ['ab1'])).toBe(`ref ${b64('ab1')} and ${b64('xyzab1')}`);
  });

  test('keeps text whose percent-encoding is broken', () => {
    expect(scrub('100% sure: %E0%A4%A', forms)).toBe('100% sure: %E0%A4%A');
  });

  test('keeps base64 that decodes to something else', () => {
    const other = b64('nothing to see here, only an ordinary message');
    expect(scrub(`ref ${other}`, forms)).toBe(`ref ${other}`);
  });
});

describe(`scrub matches a form shorter than ${MIN_SUBSTRING_LENGTH} characters only where it stands alone`, () => {
  test.each([
    ['alone', 'ab1', REDACTED],
    ['between spaces', 'invalid ab1 given', `invalid ${REDACTED} given`],
    ['after a separator', 'client_secret=ab1&x', `client_secret=${REDACTED}&x`],
    ['inside a word', 'cab1e', 'cab1e'],
    ['after a letter', 'xab1', 'xab1'],
    ['before a digit', 'ab12', 'ab12'],
    ['before a non-ASCII letter', 'ab1é', 'ab1é'],
    ['twice', 'ab1,ab1', `${REDACTED},${REDACTED}`],
  ])('%s', (_name, text, expected) => {
    expect(scrub(text, ['ab1'])).toBe(expected);
  });

  test(`replaces a form of exactly ${MIN_SUBSTRING_LENGTH} characters anywhere, even inside a word`, () => {
    expect(scrub('xab12x', ['ab12'])).toBe(`x${REDACTED}x`);
  });

  test('still replaces the longer forms built from a short secret', () => {
    const forms = credentialForms('client', 'ab1');
    expect(scrub(`got ${b64('client:ab1')} and client:ab1`, forms)).toBe(`got ${REDACTED} and ${REDACTED}`);
  });

  test('treats a short form with regular-expression characters literally', () => {
    expect(scrub('a.b and a+b and (.)', ['a+b', '(.)'])).toBe(`a.b and ${REDACTED} and ${REDACTED}`);
  });

  test('replaces a one-character secret alone, never inside words', () => {
    expect(scrub('x: banana x', ['x'])).toBe(`${REDACTED}: banana ${REDACTED}`);
  });
});

describe('scrub cuts after replacing, never before', () => {
  const secret = 'abcdef-ghijkl-mnopqr';

  test.each([
    ['starting 5 characters before the cut', 495],
    ['starting right at the cut', 500],
    ['ending right at the cut', 500 - secret.length],
    ['starting 1 character before the cut', 499],
  ])('leaves no part of a secret %s', (_name, at) => {
    const out = scrub(`${'x'.repeat(at)}${secret} and more text after it`, [secret]);
    expect(out).not.toContain(secret.slice(0, 3));
    expect(out.length).toBeLessThanOrEqual(501);
  });

  test.each([
    ['at most 500 characters by default', 'x'.repeat(600), undefined, `${'x'.repeat(500)}…`],
    ['not at all when short enough', 'x'.repeat(500), undefined, 'x'.repeat(500)],
    ['at the length asked for', 'abcdefghij', 4, 'abcd…'],
  ])('cuts %s', (_name, text, maxLength, expected) => {
    expect(scrub(text, ['very-secret-value'], maxLength)).toBe(expected);
  });
});

describe('hideProperty', () => {
  test('hides a property from Object.keys and JSON.stringify, but code may still read, overwrite and delete it', () => {
    const target: Record<string, unknown> = { shown: 1 };
    hideProperty(target, 'request', 'secret request');
    expect(Object.keys(target)).toEqual(['shown']);
    expect(JSON.stringify(target)).toBe('{"shown":1}');
    expect(target.request).toBe('secret request');
    target.request = 'replaced';
    expect(target.request).toBe('replaced');
    expect(delete target.request).toBe(true);
    expect('request' in target).toBe(false);
  });
});

describe('scrub properties', () => {
  /** Secrets long enough to be searched for as substrings, with the characters encodings care about. */
  const secretArb = fc.string({
    unit: fc.constantFrom(...[...'abcXYZ019 +/=%&:"\\é€🔑-_.~\t']),
    minLength: MIN_SUBSTRING_LENGTH,
    maxLength: 24,
  });
  const idArb = fc.string({ unit: fc.constantFrom(...[...'abc19 :+%é']), minLength: 1, maxLength: 10 });
  const textArb = fc.string({ unit: 'binary', maxLength: 60 });

  test('no credential form survives, whichever form is embedded in whatever text', () => {
    fc.assert(
      fc.property(idArb, secretArb, textArb, textArb, fc.nat(), (clientId, clientSecret, before, after, pick) => {
        const forms = credentialForms(clientId, clientSecret);
        const named = namedForms(clientId, clientSecret);
        const echoed = named[pick % named.length]![1];
        const out = scrub(`${before}${echoed}${after}`, forms);
        for (const form of forms) expect(out).not.toContain(form);
      }),
      { numRuns: 300 },
    );
  });

  test('no credential form survives when the text is long and cut', () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 440, max: 520 }), (clientSecret, at) => {
        const forms = credentialForms('client', clientSecret);
        const out = scrub(`${'y'.repeat(at)}${clientSecret}${'z'.repeat(40)}`, forms);
        expect(out).not.toContain(clientSecret.slice(0, MIN_SUBSTRING_LENGTH));
      }),
      { numRuns: 200 },
    );
  });

  test('never throws and never exceeds the length asked for (plus the ellipsis)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 400 }),
        (text, secrets, maxLength) => {
          const out = scrub(text, secrets, maxLength);
          expect(out.length).toBeLessThanOrEqual(Math.max(maxLength + 1, REDACTED.length));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('never throws on text made of UTF-16 code units (lone surrogates, broken percent-escapes)', () => {
    const unit = fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
      fc.constantFrom('%', '%E0', '%A4', '+', '='),
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 80 }), fc.string({ unit, maxLength: 8 }), (text, secret) => {
        expect(typeof scrub(text, credentialForms('client', secret || 'x'))).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
});
