/**
 * Issues 11 and 12, secrets: a token endpoint that echoes parts of what it received (the signature of a
 * client assertion or DPoP proof alone, their signing input, the JWT with its dots encoded, the client
 * certificate's key or passphrase) has none of it shown in the error.
 */
import { inspect } from 'node:util';
import { ClientCredentialsProvider, TokenEndpointError, type ClientCredentialsOptions } from '../src/index.js';
import { jwtForms } from '../src/grant/client-auth.js';
import { ecKey } from './helpers/client-keys.js';
import { closeAll, json } from './helpers/http.js';
import { startAuthServer, type AuthServer } from './helpers/oauth.js';
import { makeCa } from './helpers/tls.js';

afterAll(closeAll);

const key = ecKey();

test('jwtForms lists a JWT, its signing input and its signature', () => {
  expect(jwtForms('aaa.bbb.ccc')).toEqual(['aaa.bbb.ccc', 'aaa.bbb', 'ccc']);
  expect(jwtForms('no-dots')).toEqual(['no-dots']);
});

/** The error of a token request whose answer echoes `echo(form, headers)` in error_description and error_uri. */
async function refusal(
  options: Partial<ClientCredentialsOptions>,
  echo: (form: URLSearchParams, dpop: string) => string,
): Promise<{ error: TokenEndpointError; shown: string; echoed: string }> {
  const auth: AuthServer = await startAuthServer();
  let echoed = '';
  auth.next((req, res) => {
    echoed = echo(new URLSearchParams(req.body.toString()), String(req.headers.dpop ?? ''));
    json(res, 400, {
      error: 'invalid_client',
      error_description: `got ${echoed}`,
      error_uri: `https://x.test/${echoed}`,
    });
  });
  const tokens = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'c1', retry: false, ...options });
  const error = (await tokens.getToken().catch((e: unknown) => e)) as TokenEndpointError;
  expect(error).toBeInstanceOf(TokenEndpointError);
  const shown = `${error.message} ${error.errorDescription ?? ''} ${error.errorUri ?? ''} ${inspect(error, { depth: 5 })} ${JSON.stringify(error)}`;
  return { error, shown, echoed };
}

const signature = (jwt: string) => jwt.slice(jwt.lastIndexOf('.') + 1);
const signingInput = (jwt: string) => jwt.slice(0, jwt.lastIndexOf('.'));

test.each<[string, (form: URLSearchParams) => string]>([
  ['the signature alone', (form) => `bad signature ${signature(form.get('client_assertion')!)}`],
  ['the signing input', (form) => `bad input ${signingInput(form.get('client_assertion')!)}`],
  ['the assertion with its dots as HTML entities', (form) => form.get('client_assertion')!.replaceAll('.', '&#46;')],
])('a client assertion echoed as %s is withheld', async (_, echo) => {
  const { shown, echoed } = await refusal({ privateKey: key.privatePem }, echo);
  expect(echoed.length).toBeGreaterThan(20);
  expect(shown).not.toContain(signature(echoed.replaceAll('&#46;', '.').replace(/^bad (signature|input) /, '')));
});

test('a DPoP proof echoed as its signature alone is withheld', async () => {
  const { shown, echoed } = await refusal(
    { clientSecret: 'secret-of-c1', dpop: true },
    (_form, dpop) => `bad proof ${signature(dpop)}`,
  );
  expect(echoed).toMatch(/^bad proof .{40,}/);
  expect(shown).not.toContain(echoed.slice('bad proof '.length));
});

test('the client certificate key and passphrase echoed are withheld', async () => {
  const ca = makeCa();
  const cert = ca.issue('client', { client: true, names: ['client.test'] });
  const keyLine = cert.key.split('\n')[1]!;
  const { shown } = await refusal({ clientSecret: 'secret-of-c1', tls: cert }, () => `key ${cert.key} line ${keyLine}`);
  expect(shown).not.toContain(keyLine);
});

test('a privateKey alg that is no algorithm name is not quoted in the error', () => {
  expect(
    () =>
      new ClientCredentialsProvider({
        tokenUrl: 'https://a.test/t',
        clientId: 'c',
        privateKey: { key: key.privatePem, alg: String(key.privateJwk.d) },
      }),
  ).toThrow(/alg \(not a JWS algorithm name\) cannot be used/);
});
