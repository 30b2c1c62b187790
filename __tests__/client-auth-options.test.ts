/**
 * Issue 11: client authentication options checked at construction (a ConfigurationError that says how to fix
 * it, quoting no key), and the JWS signatures of the signing keys, verified with node:crypto.
 */
import { constants, createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import {
  ClientCredentialsProvider,
  ConfigurationError,
  memoryStore,
  type ClientCredentialsOptions,
} from '../src/index.js';
import { importPrivateKey, secretSigningKey, signJwt } from '../src/grant/signing-key.js';
import { ecKey, edKey, rsaKey, selfSignedCertificate } from './helpers/client-keys.js';
import { makeCa } from './helpers/tls.js';

const ca = makeCa();
const cert = ca.issue('client', { client: true, names: ['client.test'] });
const otherCert = ca.issue('other', { client: true, names: ['other.test'] });
const es = ecKey();
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
const k256 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;

const base = { tokenUrl: 'https://auth.example.com/token', clientId: 'client' };
const create = (options: Partial<ClientCredentialsOptions>) =>
  new ClientCredentialsProvider({ ...base, ...options } as ClientCredentialsOptions);

describe('client authentication options', () => {
  test.each<[string, Partial<ClientCredentialsOptions>, RegExp]>([
    ['no credential at all', {}, /clientSecret, privateKey .* clientAssertion .* tls/],
    [
      'a secret and a key',
      { clientSecret: 's', privateKey: es.privateJwk },
      /clientSecret and privateKey are both given/,
    ],
    ['a key and a signer', { privateKey: es.privatePem, clientAssertion: () => 'x' }, /privateKey and clientAssertion/],
    ['an RSA key below 2048 bits', { privateKey: rsa1024 }, /1024-bit RSA key: use at least 2048/],
    ['a key with no JWS algorithm (secp256k1)', { privateKey: k256 }, /no JWS algorithm/],
    [
      'a JWK whose alg does not fit the key',
      { privateKey: { ...es.privateJwk, alg: 'RS256' } },
      /alg "RS256" cannot be used/,
    ],
    ['RS256 asked of an EC key', { privateKey: { key: es.privatePem, alg: 'RS256' } }, /cannot be used/],
    ['a public key', { privateKey: es.publicKey }, /is a public key/],
    ['a JWK without its private part', { privateKey: es.publicJwk }, /not a private key/],
    [
      'a PEM that is not a key',
      { privateKey: '-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----' },
      /not a private key/,
    ],
    ['a signer that is not a function', { clientAssertion: 'jwt' as never }, /clientAssertion must be a function/],
    ['a certificate whose key does not match', { tls: { cert: cert.cert, key: otherCert.key } }, /does not match/],
    ['a certificate that is not PEM', { tls: { cert: 'nope', key: cert.key } }, /tls.cert must be PEM/],
    ['tls that is not an object', { tls: 'cert.pem' as never }, /tls must be \{ cert, key \}/],
    [
      'a key that does not open',
      { tls: { cert: cert.cert, key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----' } },
      /tls.key is not a private key/,
    ],
    [
      'private_key_jwt with a secret',
      { clientSecret: 's', authMethod: 'private_key_jwt' },
      /needs privateKey or clientAssertion/,
    ],
    [
      'client_secret_jwt with a key',
      { privateKey: es.privateJwk, authMethod: 'client_secret_jwt' },
      /needs clientSecret/,
    ],
    ['tls_client_auth without a certificate', { clientSecret: 's', authMethod: 'tls_client_auth' }, /needs tls/],
    [
      'tls_client_auth with a secret beside the certificate',
      { clientSecret: 's', tls: cert, authMethod: 'tls_client_auth' },
      /certificate alone: leave out the clientSecret/,
    ],
    [
      "assertionAudience 'issuer' with a tokenUrl",
      { privateKey: es.privateJwk, assertionAudience: 'issuer' },
      /needs the issuer option/,
    ],
    [
      'a store with a signer and no encryptionKey',
      { clientAssertion: () => 'x', store: memoryStore() },
      /store needs encryptionKey/,
    ],
    [
      'a store with a KeyObject and no encryptionKey',
      { privateKey: es.privateKey, store: memoryStore() },
      /store needs encryptionKey/,
    ],
    ['a ca that is not PEM', { clientSecret: 's', ca: 'my-ca' }, /ca must be PEM/],
  ])('rejects %s', (_, options, message) => {
    let error: unknown;
    try {
      create(options);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
    // No error quotes key material.
    for (const secret of [
      es.privatePem.split('\n')[1]!,
      String(es.privateJwk.d),
      cert.key.split('\n')[1]!,
      otherCert.key.split('\n')[1]!,
    ]) {
      expect((error as Error).message).not.toContain(secret);
    }
  });

  test.each<[string, Partial<ClientCredentialsOptions>]>([
    ['a secret', { clientSecret: 's' }],
    ['a JWK', { privateKey: es.privateJwk }],
    ['a PEM', { privateKey: es.privatePem }],
    ['a KeyObject', { privateKey: es.privateKey }],
    ['a signer', { clientAssertion: () => 'x' }],
    ['a certificate alone', { tls: cert }],
    ['a certificate with a key', { tls: cert, privateKey: es.privateJwk }],
    ['a self-signed certificate', { tls: selfSignedCertificate(), authMethod: 'self_signed_tls_client_auth' }],
    [
      'a KeyObject with a store and a certificate (its key encrypts)',
      { privateKey: es.privateKey, tls: cert, store: memoryStore() },
    ],
    [
      'a signer with a store and an encryptionKey',
      { clientAssertion: () => 'x', store: memoryStore(), encryptionKey: 'k'.repeat(32) },
    ],
    ['RS256 when asked', { privateKey: { key: rsaKey().privatePem, alg: 'RS256', kid: 'k1' } }],
    ['an explicit audience', { privateKey: es.privateJwk, assertionAudience: 'https://bank.example/as' }],
  ])('accepts %s', (_, options) => {
    expect(() => create(options)).not.toThrow();
  });

  test('no key, secret or certificate key shows in inspect or JSON of a provider', () => {
    const provider = create({ tls: cert, privateKey: es.privatePem });
    const shown = `${inspect(provider, { depth: 10, showHidden: true })} ${JSON.stringify(provider)}`;
    expect(shown).not.toContain(es.privatePem.split('\n')[1]!);
    expect(shown).not.toContain(cert.key.split('\n')[1]!);
  });

  test('a KeyObject is never exported by the library', () => {
    const key = es.privateKey;
    const exportSpy = jest.spyOn(key, 'export');
    const signer = importPrivateKey(key);
    signJwt(signer, { sub: 'x' });
    expect(signer.material).toBeUndefined();
    expect(exportSpy).not.toHaveBeenCalled();
  });
});

describe('signing keys', () => {
  /** Verifies a compact JWS with node:crypto, as a server would (RFC 7518 §3). */
  function verifies(jwt: string, publicKey: KeyObject): boolean {
    const [h, c, s] = jwt.split('.') as [string, string, string];
    const { alg } = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string };
    const data = Buffer.from(`${h}.${c}`);
    const signature = Buffer.from(s, 'base64url');
    if (alg === 'EdDSA') return verify(null, data, publicKey, signature);
    const hash = `sha${alg.slice(2)}`;
    if (alg.startsWith('ES')) return verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
    if (alg.startsWith('PS'))
      return verify(
        hash,
        data,
        { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
    return verify(hash, data, publicKey, signature);
  }

  test.each([
    ['EC P-256', () => ecKey().privateKey, 'ES256'],
    ['EC P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, 'ES384'],
    ['EC P-521', () => generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey, 'ES512'],
    ['RSA', () => rsaKey().privateKey, 'PS256'],
    ['Ed25519', () => edKey().privateKey, 'EdDSA'],
  ])('a %s key signs %s by default, and the signature verifies', (_, make, alg) => {
    const privateKey = make();
    const key = importPrivateKey(privateKey);
    expect(key.alg).toBe(alg);
    const jwt = signJwt(key, { iss: 'client' });
    expect(JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString())).toEqual({ alg });
    expect(verifies(jwt, createPublicKey(privateKey))).toBe(true);
  });

  test('RS256 when asked, verified as PKCS#1 v1.5', () => {
    const { privateKey, privatePem } = rsaKey();
    const key = importPrivateKey({ key: privatePem, alg: 'RS256', kid: 'k1' });
    const jwt = signJwt(key, { iss: 'client' });
    expect(JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'RS256', kid: 'k1' });
    expect(verifies(jwt, createPublicKey(privateKey))).toBe(true);
  });

  test('HS256 over the secret for client_secret_jwt', () => {
    const jwt = signJwt(secretSigningKey('s3cret-s3cret-s3cret-s3cret-s3cret'), { iss: 'client' });
    const [h, c, s] = jwt.split('.') as [string, string, string];
    const { createHmac } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    expect(s).toBe(createHmac('sha256', 's3cret-s3cret-s3cret-s3cret-s3cret').update(`${h}.${c}`).digest('base64url'));
  });
});
