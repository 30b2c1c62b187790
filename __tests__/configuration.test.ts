import axios from 'axios';
import { ClientCredentialsProvider, ConfigurationError, attachAuth, hasScope } from '../src/index.js';
import type { ClientCredentialsOptions } from '../src/index.js';

const base: ClientCredentialsOptions = {
  tokenUrl: 'https://auth.example.com/token',
  clientId: 'id',
  clientSecret: 'a-secret-value',
};

const bad: [string, Partial<Record<keyof ClientCredentialsOptions, unknown>>, RegExp][] = [
  ['a missing clientId', { clientId: undefined }, /clientId is missing/],
  ['an empty clientSecret', { clientSecret: '' }, /clientSecret/],
  ['no token URL or issuer', { tokenUrl: undefined }, /tokenUrl.*issuer/],
  ['both tokenUrl and issuer', { issuer: 'https://auth.example.com' }, /either tokenUrl or issuer/],
  ['a relative token URL', { tokenUrl: '/token' }, /absolute URL/],
  ['plain http to a remote host', { tokenUrl: 'http://auth.example.com/token' }, /allowInsecureHttp/],
  ['a token URL with a fragment', { tokenUrl: 'https://auth.example.com/token#x' }, /fragment/],
  ['an unknown authMethod', { authMethod: 'client_secret_magic' }, /client_secret_basic/],
  ['an authMethod the secret cannot do', { authMethod: 'private_key_jwt' }, /needs privateKey or clientAssertion/],
  ['params overriding grant_type', { params: { grant_type: 'password' } }, /params.grant_type is reserved/],
  ['params overriding client_id', { params: { client_id: 'x' } }, /params.client_id is reserved/],
  ['params overriding client_secret', { params: { client_secret: 'x' } }, /params.client_secret is reserved/],
  ['a scope with a quote', { scope: 'a"b' }, /RFC 6749 §3.3/],
  ['a negative leeway', { expiryLeewaySeconds: -1 }, /expiryLeewaySeconds/],
  ['a retry option that is not a number', { retry: { retries: 'three' } }, /retry.retries/],
  ['a store that is not a store', { store: {} }, /TokenStore/],
  ['an httpClient that is not axios', { httpClient: {} }, /axios instance/],
  ['a retry option that is a string', { retry: 'fast' }, /retry must be an object/],
  ['params given as a Map', { params: new Map([['organization', 'x']]) }, /params must be an object/],
  [
    'a store whose lock is not a function',
    { store: { get: async () => undefined, set: async () => undefined, delete: async () => false, lock: true } },
    /store.lock must be a function/,
  ],
  ['an absurd defaultExpiresInSeconds', { defaultExpiresInSeconds: 1e15 }, /defaultExpiresInSeconds/],
];

describe('configuration errors', () => {
  test.each(bad)(
    'rejects %s at construction with a ConfigurationError that says how to fix it',
    (_name, override, message) => {
      const create = () => new ClientCredentialsProvider({ ...base, ...override } as ClientCredentialsOptions);
      expect(create).toThrow(ConfigurationError);
      expect(create).toThrow(message);
      try {
        create();
      } catch (error) {
        expect(error).toMatchObject({ name: 'ConfigurationError', code: 'ERR_CONFIGURATION' });
        expect(String((error as Error).message)).not.toContain('a-secret-value');
      }
    },
  );

  test.each(['http://localhost:8080/token', 'http://127.0.0.1:8080/token', 'http://[::1]:8080/token'])(
    'allows plain http for the loopback host of %s',
    (tokenUrl) => {
      expect(() => new ClientCredentialsProvider({ ...base, tokenUrl })).not.toThrow();
    },
  );

  test('allows plain http to a remote host with allowInsecureHttp', () => {
    expect(
      () => new ClientCredentialsProvider({ ...base, tokenUrl: 'http://auth.internal/token', allowInsecureHttp: true }),
    ).not.toThrow();
  });

  test('attachAuth without baseURL or origins throws a ConfigurationError naming both fixes', () => {
    const provider = new ClientCredentialsProvider(base);
    expect(() => attachAuth(axios.create(), provider)).toThrow(ConfigurationError);
    expect(() => attachAuth(axios.create(), provider)).toThrow(/baseURL.*origins/s);
  });

  test('attachAuth rejects an origin that is not a URL, and plain http to a remote API', () => {
    const provider = new ClientCredentialsProvider(base);
    expect(() => attachAuth(axios.create(), provider, { origins: ['api.example.com'] })).toThrow(ConfigurationError);
    expect(() => attachAuth(axios.create({ baseURL: 'http://api.example.com' }), provider)).toThrow(/TLS/);
  });

  test('attachAuth rejects options that are not an object', () => {
    const provider = new ClientCredentialsProvider(base);
    expect(() => attachAuth(axios.create({ baseURL: 'https://api.example.com' }), provider, null as never)).toThrow(
      ConfigurationError,
    );
  });

  test('attachAuth rejects what is not an axios instance or a provider', () => {
    const provider = new ClientCredentialsProvider(base);
    expect(() => attachAuth({} as never, provider)).toThrow(ConfigurationError);
    expect(() => attachAuth(axios.create({ baseURL: 'https://api.example.com' }), {} as never)).toThrow(
      ConfigurationError,
    );
  });
});

test('does not treat *.localhost names as loopback for plain http: the system resolver may send them to DNS', () => {
  expect(() => new ClientCredentialsProvider({ ...base, tokenUrl: 'http://auth.localhost:8080/token' })).toThrow(
    ConfigurationError,
  );
  expect(() =>
    attachAuth(axios.create({ baseURL: 'http://api.localhost:8080' }), new ClientCredentialsProvider(base)),
  ).toThrow(ConfigurationError);
  expect(() => new ClientCredentialsProvider({ ...base, tokenUrl: 'http://localhost:8080/token' })).not.toThrow();
  expect(
    () =>
      new ClientCredentialsProvider({ ...base, tokenUrl: 'http://auth.localhost:8080/token', allowInsecureHttp: true }),
  ).not.toThrow();
  expect(() => new ClientCredentialsProvider({ ...base, tokenUrl: 'http://localhost.evil.com/token' })).toThrow(
    ConfigurationError,
  );
});

describe('bad inputs to methods are typed errors, not TypeErrors', () => {
  const provider = () => new ClientCredentialsProvider(base);

  test('getToken with a signal that is not an AbortSignal', async () => {
    await expect(provider().getToken({ signal: {} as AbortSignal })).rejects.toBeInstanceOf(ConfigurationError);
  });

  test('on with an unknown event or a listener that is not a function', () => {
    expect(() => provider().on('tokens' as 'token', () => undefined)).toThrow(ConfigurationError);
    expect(() => provider().on('token', 'x' as never)).toThrow(ConfigurationError);
    expect(() => provider().once('token', 'x' as never)).toThrow(ConfigurationError);
  });

  test('hasScope without a token or without a scope', () => {
    expect(() => hasScope(undefined as never, 'a')).toThrow(ConfigurationError);
    expect(() => hasScope({ scope: ['a'] }, undefined as never)).toThrow(ConfigurationError);
    expect(hasScope({ scope: ['a', 'b'] }, 'b a')).toBe(true);
    expect(hasScope({ scope: ['a'] }, ['a', 'c'])).toBe(false);
  });

  test('invalidate without a token', () => {
    expect(() => provider().invalidate(undefined as never)).toThrow(ConfigurationError);
  });
});
