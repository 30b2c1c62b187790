import { Buffer } from 'node:buffer';
import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import type { Agent, AgentOptions } from 'node:https';
import { ConfigurationError } from '../errors.js';

/** The client certificate of mutual TLS (RFC 8705), PEM. */
export interface ClientTlsOptions {
  /** The client certificate, PEM (a chain may follow it: leaf first). */
  cert: string;
  /** Its private key, PEM (PKCS#8, or PKCS#1/SEC1). */
  key: string;
  /** The key's passphrase, when the PEM is encrypted. */
  passphrase?: string | undefined;
}

/** A client certificate the library presents: to the token endpoint, and to the API origins `attachAuth` allows. */
export interface ClientCertificate {
  /** base64url SHA-256 of the certificate's DER: the `x5t#S256` a bound token carries (RFC 8705 §3.1). */
  readonly thumbprint: string;
  /** Material to derive the store's encryption key from (the private key's PEM). */
  readonly material: Buffer;
  /**
   * The agent that presents the certificate, made from `base` (an `https.Agent` whose settings, such
   * as `ca`, are kept) or from the defaults when `base` is undefined. One agent per base, reused.
   */
  agentFor(base: unknown): Agent;
  /** Whether `agent` is one of this certificate's agents. */
  owns(agent: unknown): boolean;
  /** The agent a certificate agent was made from (`undefined`: the defaults), to fall back to where it must not go. */
  baseOf(agent: unknown): unknown;
  /** A new agent with `options` (such as a private CA) that presents the certificate: for the token endpoint. */
  agentWith(options: AgentOptions): Agent;
}

/** The key under which a provider hands its client certificate to `attachAuth`. @internal */
export const CLIENT_CERTIFICATE: unique symbol = Symbol('axios-client-credentials.client-certificate');

/**
 * The agent of every request to the authorization server: the client certificate and the private CA
 * (`ca`) over the settings of the token client's own agent (`base`); `undefined` when neither is configured.
 */
export function authorizationServerAgent(
  certificate: ClientCertificate | undefined,
  ca: string | undefined,
  base: unknown,
): Agent | undefined {
  if (!certificate && ca === undefined) return undefined;
  const options: AgentOptions = { ...((base as { options?: AgentOptions } | undefined)?.options ?? {}) };
  if (ca !== undefined) options.ca = ca;
  return certificate ? certificate.agentWith(options) : new (httpsModule().Agent)({ keepAlive: true, ...options });
}

type HttpsModule = typeof import('node:https');

/** node:https, loaded only when a certificate or CA is configured, so the library still loads where it is missing. */
export function httpsModule(): HttpsModule {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const https = proc?.getBuiltinModule?.('node:https') as HttpsModule | undefined;
  if (!https?.Agent) {
    throw new ConfigurationError(
      'tls and ca need node:https (Node.js 20.16 or newer, Bun, Deno); this runtime does not have it.',
    );
  }
  return https;
}

/** A PEM text, or a list of them, as a string (none of it is quoted in an error). */
function pemText(value: unknown, name: string): string {
  const text = Array.isArray(value) ? value.join('\n') : Buffer.isBuffer(value) ? value.toString('utf8') : value;
  if (typeof text !== 'string' || !text.includes('-----BEGIN ')) {
    throw new ConfigurationError(`${name} must be PEM text ("-----BEGIN …").`);
  }
  return text;
}

/** Validates the CA option: one or more PEM certificates. */
export function checkCa(ca: unknown): string {
  const text = pemText(ca, 'ca');
  try {
    new X509Certificate(text);
  } catch {
    throw new ConfigurationError(
      'ca is not a PEM certificate: pass the PEM of the CA that issued the server certificate.',
    );
  }
  return text;
}

/**
 * Validates `tls` at construction: a certificate, a private key that opens (with `passphrase` when
 * encrypted), and the certificate's public key matching it. No error quotes the key.
 */
export function importClientCertificate(tls: unknown): ClientCertificate {
  if (typeof tls !== 'object' || tls === null) {
    throw new ConfigurationError('tls must be { cert, key }: the client certificate and its private key, PEM.');
  }
  const { cert: certInput, key: keyInput, passphrase } = tls as Partial<ClientTlsOptions>;
  if (passphrase !== undefined && typeof passphrase !== 'string') {
    throw new ConfigurationError('tls.passphrase must be a string.');
  }
  const cert = pemText(certInput, 'tls.cert');
  const keyPem = pemText(keyInput, 'tls.key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new ConfigurationError('tls.cert is not a PEM certificate ("-----BEGIN CERTIFICATE-----").');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? { key: keyPem } : { key: keyPem, passphrase });
  } catch {
    throw new ConfigurationError(
      "tls.key is not a private key that opens: pass the PEM of the certificate's private key (and tls.passphrase when it is encrypted).",
    );
  }
  if (!x509.checkPrivateKey(key)) {
    throw new ConfigurationError(
      'tls.key does not match tls.cert: the certificate was issued for another key. Pass the key the certificate was made for.',
    );
  }
  const thumbprint = createHash('sha256').update(x509.raw).digest('base64url');
  const https = httpsModule();
  const credentials: AgentOptions =
    passphrase === undefined ? { cert, key: keyPem } : { cert, key: keyPem, passphrase };
  return certificateAgents(https, credentials, thumbprint, Buffer.from(keyPem, 'utf8'));
}

function certificateAgents(
  https: HttpsModule,
  credentials: AgentOptions,
  thumbprint: string,
  material: Buffer,
): ClientCertificate {
  const agents = new WeakMap<object, Agent>();
  const bases = new WeakMap<object, unknown>();
  let plain: Agent | undefined;
  const make = (options: AgentOptions, base: unknown): Agent => {
    const agent = new https.Agent({ keepAlive: true, ...options, ...credentials });
    bases.set(agent, base);
    return agent;
  };
  const certificate: ClientCertificate = {
    thumbprint,
    material,
    agentFor(base) {
      if (typeof base !== 'object' || base === null) return (plain ??= make({}, undefined));
      if (bases.has(base)) return base as Agent;
      let agent = agents.get(base);
      if (!agent) {
        agent = make({ ...((base as { options?: AgentOptions }).options ?? {}) }, base);
        agents.set(base, agent);
      }
      return agent;
    },
    owns: (agent) => typeof agent === 'object' && agent !== null && bases.has(agent),
    baseOf: (agent) => (typeof agent === 'object' && agent !== null ? bases.get(agent) : undefined),
    agentWith: (options) => make(options, undefined),
  };
  return Object.freeze(certificate);
}
