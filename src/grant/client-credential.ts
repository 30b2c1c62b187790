import type { Buffer } from 'node:buffer';
import { ConfigurationError } from '../errors.js';
import { credentialForms } from '../util/redact.js';
import {
  CLIENT_AUTH_METHODS,
  METHODS_BY_CREDENTIAL,
  type ClientAssertionSigner,
  type ClientAuthMethod,
  type ClientCredential,
} from './client-auth.js';
import { checkCa, importClientCertificate, type ClientCertificate } from './client-tls.js';
import { importPrivateKey, type PrivateKeyInput } from './signing-key.js';

/** Where a client assertion is addressed (its `aud`). */
export type AssertionAudience = 'issuer' | 'token_endpoint' | (string & {});

/** The client authentication options, as the user gives them. */
export interface ClientAuthOptions {
  clientId: string;
  clientSecret?: string | undefined;
  privateKey?: PrivateKeyInput | undefined;
  clientAssertion?: ClientAssertionSigner | undefined;
  tls?: unknown;
  ca?: unknown;
  authMethod?: ClientAuthMethod | undefined;
  assertionAudience?: AssertionAudience | undefined;
  issuer?: string | undefined;
}

/** Client authentication, checked and ready to use. */
export interface ResolvedClientAuth {
  credential: ClientCredential;
  /** The method asked for; `undefined` lets discovery choose (else the credential's default). */
  authMethod: ClientAuthMethod | undefined;
  certificate: ClientCertificate | undefined;
  /** PEM of a private CA for the token endpoint and discovery. */
  ca: string | undefined;
  assertionAudience: AssertionAudience;
  /** Every form of the credential's secrets a server might echo: withheld from every text shown. */
  secrets: readonly string[];
  /** What the store's encryption key derives from when `encryptionKey` is not given; `undefined` if unreadable. */
  keyMaterial: string | Buffer | undefined;
}

const HOW_TO_AUTHENTICATE =
  'pass exactly one of clientSecret, privateKey (private_key_jwt) or clientAssertion (a signer you own), and/or tls: { cert, key } for mutual TLS';

/** The credential given (at most one of secret, key, signer), or the certificate alone. */
function credentialOf(options: ClientAuthOptions, certificate: ClientCertificate | undefined): ClientCredential {
  const given = (['clientSecret', 'privateKey', 'clientAssertion'] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) {
    throw new ConfigurationError(`${given.join(' and ')} are both given: ${HOW_TO_AUTHENTICATE}.`);
  }
  if (options.clientSecret !== undefined) {
    if (typeof options.clientSecret !== 'string' || options.clientSecret.trim() === '') {
      throw new ConfigurationError(
        'clientSecret is not a non-empty string: pass the client secret, e.g. clientSecret: process.env.CLIENT_SECRET.',
      );
    }
    return { kind: 'secret', secret: options.clientSecret };
  }
  if (options.privateKey !== undefined) return { kind: 'key', key: importPrivateKey(options.privateKey) };
  if (options.clientAssertion !== undefined) {
    if (typeof options.clientAssertion !== 'function') {
      throw new ConfigurationError(
        'clientAssertion must be a function ({ clientId, audience, signal }) => signed JWT (or a promise of one).',
      );
    }
    return { kind: 'signer', sign: options.clientAssertion };
  }
  if (certificate) return { kind: 'certificate' };
  throw new ConfigurationError(`The client credentials are missing: ${HOW_TO_AUTHENTICATE}.`);
}

/** Checks that `authMethod` is one the given credential can do. */
function checkMethod(method: unknown, credential: ClientCredential, certificate: ClientCertificate | undefined): void {
  if (method === undefined) return;
  if (!CLIENT_AUTH_METHODS.includes(method as ClientAuthMethod)) {
    throw new ConfigurationError(
      `authMethod ${JSON.stringify(method)} is not supported: use ${CLIENT_AUTH_METHODS.map((m) => `'${m}'`).join(', ')}.`,
    );
  }
  const tlsMethod = method === 'tls_client_auth' || method === 'self_signed_tls_client_auth';
  if (tlsMethod && !certificate) {
    throw new ConfigurationError(`authMethod '${String(method)}' needs tls: { cert, key }, the client certificate.`);
  }
  if (tlsMethod && credential.kind !== 'certificate') {
    throw new ConfigurationError(
      `authMethod '${String(method)}' authenticates with the certificate alone: leave out the ${credential.kind === 'secret' ? 'clientSecret' : credential.kind === 'key' ? 'privateKey' : 'clientAssertion'}, or choose the method it needs.`,
    );
  }
  if (!tlsMethod && !METHODS_BY_CREDENTIAL[credential.kind].includes(method as ClientAuthMethod)) {
    const need = method === 'private_key_jwt' ? 'privateKey or clientAssertion' : 'clientSecret';
    const can = METHODS_BY_CREDENTIAL[credential.kind].join(', ');
    throw new ConfigurationError(`authMethod '${String(method)}' needs ${need}; the credential given can do ${can}.`);
  }
}

function checkAudience(value: unknown, issuer: string | undefined): AssertionAudience {
  if (value === undefined) return issuer === undefined ? 'token_endpoint' : 'issuer';
  if (value === 'issuer' && issuer === undefined) {
    throw new ConfigurationError(
      "assertionAudience 'issuer' needs the issuer option (the token endpoint alone does not say who the issuer is): pass issuer, or an explicit audience string.",
    );
  }
  if (typeof value !== 'string' || value === '') {
    throw new ConfigurationError(
      "assertionAudience must be 'issuer', 'token_endpoint' or the exact audience string the server expects.",
    );
  }
  return value;
}

/** The forms of the credential's secrets a server might echo back. */
function secretsOf(options: ClientAuthOptions, credential: ClientCredential): string[] {
  return [...credentialSecrets(options, credential), ...tlsSecrets(options.tls)];
}

/** The `tls` key's PEM lines and its passphrase. */
function tlsSecrets(tls: unknown): string[] {
  const { key, passphrase } = (tls ?? {}) as { key?: unknown; passphrase?: unknown };
  const forms = typeof key === 'string' ? pemBodies(key) : [];
  if (typeof passphrase === 'string' && passphrase.length >= 4) forms.push(passphrase);
  return forms;
}

function credentialSecrets(options: ClientAuthOptions, credential: ClientCredential): string[] {
  if (credential.kind === 'secret') return credentialForms(options.clientId, credential.secret);
  const key = options.privateKey;
  const raw = typeof key === 'object' && key !== null && 'key' in key ? key.key : key;
  if (typeof raw === 'string') return pemBodies(raw);
  const d = (raw as { d?: unknown } | undefined)?.d;
  return typeof d === 'string' && d.length >= 8 ? [d] : [];
}

/** The base64 lines of a PEM text (what an echo of it would show). */
function pemBodies(pem: string): string[] {
  return pem
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length >= 16 && !line.startsWith('-----'));
}

/**
 * Validates the client authentication options at construction: exactly one of a secret, a private
 * key or a signer (or a certificate alone), an `authMethod` that credential can do, a certificate
 * whose key matches. Every error says how to fix it, and quotes no key, secret or certificate.
 */
export function resolveClientAuth(options: ClientAuthOptions): ResolvedClientAuth {
  const certificate = options.tls === undefined ? undefined : importClientCertificate(options.tls);
  const ca = options.ca === undefined ? undefined : checkCa(options.ca);
  const credential = credentialOf(options, certificate);
  checkMethod(options.authMethod, credential, certificate);
  const keyMaterial =
    (credential.kind === 'secret'
      ? credential.secret
      : credential.kind === 'key'
        ? credential.key.material
        : undefined) ?? certificate?.material;
  return {
    credential,
    authMethod: options.authMethod,
    certificate,
    ca,
    assertionAudience: checkAudience(options.assertionAudience, options.issuer),
    secrets: secretsOf(options, credential),
    keyMaterial,
  };
}
