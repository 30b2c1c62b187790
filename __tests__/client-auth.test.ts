/**
 * Issue 9, test strength: unit tables of client authentication (src/grant/client-auth.ts). RFC 6749
 * §2.3.1: for HTTP Basic the client id and secret are each form-urlencoded (Appendix B) before they
 * are joined with `:` and base64-encoded, so a `:` in an id cannot shift the split and `%`, `+`,
 * spaces and non-ASCII reach a compliant server intact. With `client_secret_post` both go in the body.
 */
import fc from 'fast-check';
import { CLIENT_AUTH_METHODS, applyClientAuth, basicCredentials } from '../src/grant/client-auth.js';

/** What a compliant server reads from a Basic header: split at the first `:`, then form-decode each part. */
function serverReads(header: string): [string, string] {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  const pair = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  const decode = (part: string): string => new URLSearchParams(`v=${part}`).get('v')!;
  return [decode(pair.slice(0, colon)), decode(pair.slice(colon + 1))];
}

describe('basicCredentials', () => {
  test.each<[string, string, string, string]>([
    ['plain characters', 'client', 'secret', 'client:secret'],
    ['a colon in the id and the secret', 'urn:client:1', 'a:b', 'urn%3Aclient%3A1:a%3Ab'],
    ['a space (as +) and a plus (as %2B)', 'my client', 'p+ss w', 'my+client:p%2Bss+w'],
    ['a percent sign', '100%', '%41', '100%25:%2541'],
    ['an ampersand, an equals sign and a slash', 'a&b=c', 'x/y', 'a%26b%3Dc:x%2Fy'],
    ['non-ASCII, as UTF-8', 'clïent', 'sécret€', 'cl%C3%AFent:s%C3%A9cret%E2%82%AC'],
    ['characters form encoding leaves alone', 'a-b_c.d*', 'e-f_g.h*', 'a-b_c.d*:e-f_g.h*'],
  ])('form-encodes %s before base64', (_, id, secret, pair) => {
    expect(basicCredentials(id, secret)).toBe(`Basic ${Buffer.from(pair, 'utf8').toString('base64')}`);
  });

  test('gives a header a compliant server reads back as the same id and secret, whatever they hold', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, unit: 'grapheme' }),
        fc.string({ minLength: 1, unit: 'grapheme' }),
        (id, secret) => {
          expect(serverReads(basicCredentials(id, secret))).toEqual([id, secret]);
        },
      ),
    );
  });
});

describe('applyClientAuth', () => {
  test('client_secret_basic sets the Basic header and leaves the body alone', () => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    applyClientAuth('client_secret_basic', 'my client', 'se:cret', headers, body);
    expect(headers).toEqual({ Accept: 'application/json', Authorization: basicCredentials('my client', 'se:cret') });
    expect(body.toString()).toBe('grant_type=client_credentials');
  });

  test('client_secret_post puts client_id and client_secret in the body and sets no header', () => {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'stale' });
    applyClientAuth('client_secret_post', 'my client', 'se:cret', headers, body);
    expect(headers).toEqual({ Accept: 'application/json' });
    expect([...body]).toEqual([
      ['grant_type', 'client_credentials'],
      ['client_id', 'my client'],
      ['client_secret', 'se:cret'],
    ]);
    expect(body.toString()).toBe('grant_type=client_credentials&client_id=my+client&client_secret=se%3Acret');
  });
});

test('CLIENT_AUTH_METHODS lists the two secret-based methods, Basic first', () => {
  expect(CLIENT_AUTH_METHODS).toEqual(['client_secret_basic', 'client_secret_post']);
});
