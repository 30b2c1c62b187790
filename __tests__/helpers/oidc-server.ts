/**
 * A real authorization server for the client authentication tests (private_key_jwt, client_secret_jwt,
 * tls_client_auth, self_signed_tls_client_auth, RFC 8705 certificate-bound tokens, RFC 9449 DPoP, FAPI 2.0): oidc-provider
 * over https on 127.0.0.1, its certificate from a test CA ({@link makeCa}), asking every client for a
 * certificate so tls_client_auth and certificate binding can read it.
 *
 * jest cannot load oidc-provider (nor jose): both are ESM-only, and jest's module system loads ESM only
 * under `--experimental-vm-modules`. So {@link startOidcServer} runs the server in a child process
 * (`node --import tsx` on this very file, which then takes the `--acc-harness=oidc-server` branch at its
 * end) and talks to it over the IPC channel: that is why reading the counters
 * ({@link OidcServer.snapshot}) and injecting failures are asynchronous. The child exits when
 * {@link OidcServer.close} is called, or when the jest worker that started it goes away.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { importOidcProvider, memoryAdapter } from '../../demo/oidc-support.js';
import { decodeDpopProof, type DecodedDpopProof, type Jwk } from './client-keys.js';
import { makeCa, type TestCa } from './tls.js';

const ROOT = join(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

/** The client authentication methods oidc-provider implements (RFC 6749, OIDC Core §9, RFC 8705). */
export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'
  | 'none';

/**
 * A client's registration metadata (RFC 7591 names), passed to oidc-provider as is. Each client gets
 * `grant_types: ['client_credentials']`, `response_types: []`, `redirect_uris: []`, every scope of
 * {@link OidcServerOptions.scopes} and, with {@link OidcServerOptions.certificateBoundAccessTokens},
 * `tls_client_certificate_bound_access_tokens: true`, unless it says otherwise.
 */
export interface ClientMetadata {
  client_id: string;
  /** @default 'client_secret_basic' (oidc-provider's default) */
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  /** client_secret_basic, client_secret_post, client_secret_jwt (the HMAC key). */
  client_secret?: string;
  /** private_key_jwt (public keys) and self_signed_tls_client_auth (keys with `x5c`: the certificate). */
  jwks?: { keys: Jwk[] };
  /** Pins the client assertion's `alg`; otherwise any of {@link OidcServerOptions.clientAuthSigningAlgValues}. */
  token_endpoint_auth_signing_alg?: string;
  /** tls_client_auth: the certificate's subject DN, RFC 4514 (`CN=client,O=Example`); compared RDN by RDN, in any order. */
  tls_client_auth_subject_dn?: string;
  /** tls_client_auth: a dNSName the certificate's subjectAltName must contain. */
  tls_client_auth_san_dns?: string;
  tls_client_auth_san_ip?: string;
  tls_client_auth_san_uri?: string;
  tls_client_auth_san_email?: string;
  /** RFC 8705 §3: bind this client's access tokens to its certificate (needs `certificateBoundAccessTokens`). */
  tls_client_certificate_bound_access_tokens?: boolean;
  /**
   * RFC 9449 §5.2: this client's token requests must carry a DPoP proof; oidc-provider answers one without
   * `400 invalid_grant` ("DPoP proof JWT not provided"). Recognised only while DPoP is enabled (it is by
   * default). @default {@link OidcDpopOptions.boundAccessTokens}
   */
  dpop_bound_access_tokens?: boolean;
  /** Space-separated. @default every scope of {@link OidcServerOptions.scopes} */
  scope?: string;
  [metadata: string]: unknown;
}

/** The DPoP settings of {@link OidcServerOptions.dpop}. */
export interface OidcDpopOptions {
  /**
   * `true`: nonce mode (RFC 9449 §8). `features.dPoP.nonceSecret` (32 random bytes) and `requireNonce: () =>
   * true`: a proof without a valid nonce is answered `400 use_dpop_nonce` with a `DPoP-Nonce` header.
   * `'offered'`: the secret without `requireNonce` (oidc-provider's default is not to require one): proofs
   * without a nonce are accepted and answered with a `DPoP-Nonce` header anyway, successes too.
   * oidc-provider's nonces are HKDF of the secret and the 60-second time step: the one it hands out is the
   * next step's, and any of the 5 steps around now is accepted; they cannot be rotated on demand.
   * @default false
   */
  nonce?: boolean | 'offered';
  /** Registers every client (unless it says otherwise) with `dpop_bound_access_tokens: true`. @default false */
  boundAccessTokens?: boolean;
  /**
   * `enabledJWA.dPoPSigningAlgValues`, advertised as `dpop_signing_alg_values_supported`.
   * @default oidc-provider's: ['ES256', 'Ed25519', 'EdDSA']
   */
  signingAlgValues?: string[];
}

/** What {@link startOidcServer} starts. */
export interface OidcServerOptions {
  /** The registered clients. */
  clients: ClientMetadata[];
  /** Every scope the server knows (and, unless a client says otherwise, grants). */
  scopes: string[];
  /**
   * The resource indicator (RFC 8707) every token is issued for when a request names none; it becomes
   * the JWT access tokens' `aud`. A request naming another resource gets `invalid_target`.
   * @default 'https://api.test/'
   */
  audience?: string;
  /** @default 600 */
  accessTokenTtlSeconds?: number;
  /**
   * Turns on oidc-provider's FAPI profile (`features.fapi: { enabled: true, profile: '2.0' }`). At the
   * token endpoint that changes one thing: a client assertion's `aud` must be the issuer identifier,
   * exactly (a string, not the token endpoint URL, not an array). oidc-provider does not make FAPI 2.0
   * demand sender-constrained tokens for the client credentials grant.
   */
  fapi?: '2.0';
  /**
   * RFC 8705 §3: `features.mTLS.certificateBoundAccessTokens`, discovery's
   * `tls_client_certificate_bound_access_tokens: true`, and every client (unless it says otherwise)
   * registered with `tls_client_certificate_bound_access_tokens: true`: its token requests must then
   * present a certificate (or get `invalid_grant`), and its JWT access tokens carry `cnf: { 'x5t#S256' }`.
   */
  certificateBoundAccessTokens?: boolean;
  /**
   * Turns on `features.mTLS` (tls_client_auth and self_signed_tls_client_auth) without certificate-bound
   * tokens. It is on anyway with `certificateBoundAccessTokens` or when a client uses one of those methods.
   */
  mtls?: boolean;
  /**
   * RFC 8705 §5 `mtls_endpoint_aliases`. oidc-provider has no alias host of its own: it advertises any
   * discovery member it is configured with (`discovery: { mtls_endpoint_aliases }`) and serves the same
   * routes on any host. So when mTLS is on, a second https listener serves the same provider at another
   * port; it demands a client certificate (the main listener asks for one but lets a request without one
   * through), and discovery advertises `mtls_endpoint_aliases.token_endpoint` on it.
   *
   * `rejectUnauthorized` (default true): the alias's TLS accepts only certificates from the test CA, so
   * a connection without one, or with a self-signed one, fails in the handshake. With `false` it accepts
   * any certificate (self_signed_tls_client_auth through the alias) and answers a request that presented
   * none with `401 invalid_client`.
   *
   * @default true when mTLS is on; `false` for no alias
   */
  mtlsEndpointAlias?: boolean | { rejectUnauthorized?: boolean };
  /**
   * `enabledJWA.clientAuthSigningAlgValues`: the client assertion algorithms accepted, advertised as
   * `token_endpoint_auth_signing_alg_values_supported`.
   * @default ['ES256', 'ES384', 'PS256', 'PS384', 'RS256', 'RS384', 'EdDSA', 'Ed25519', 'HS256', 'HS384', 'HS512']
   */
  clientAuthSigningAlgValues?: string[];
  /**
   * `clientAuthMethods`, advertised as `token_endpoint_auth_methods_supported`.
   * @default client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt, and with mTLS
   * tls_client_auth and self_signed_tls_client_auth
   */
  clientAuthMethods?: TokenEndpointAuthMethod[];
  /** The CA that issues the server's certificate and whose client certificates tls_client_auth trusts. @default a new {@link makeCa} */
  ca?: TestCa;
  /**
   * RFC 9449 DPoP (`features.dPoP`). oidc-provider 9 has it **on by default**, so without this option a
   * token request with a `DPoP` proof already gets a DPoP-bound token; `false` turns it off (a server that
   * ignores the header and issues a bearer token), `true` or an object turns it on with the settings given.
   * A token request with a valid proof gets `token_type: 'DPoP'` and a JWT access token with
   * `cnf: { jkt }` (the RFC 7638 thumbprint of the proof's `jwk`); oidc-provider checks the proof's `typ`,
   * signature, `htm`, `htu` (the token endpoint, query and fragment ignored), `iat` (±300 s when it has no
   * nonce, not checked when it has one), and refuses a `jti` it has seen for the client
   * (`400 invalid_grant`, "DPoP proof JWT Replay detected"). A bad proof is `400 invalid_dpop_proof`.
   * Works with `fapi: '2.0'` (nothing in oidc-provider's FAPI 2.0 profile concerns DPoP at the token
   * endpoint: a client assertion's `aud` must still be the issuer).
   * @default oidc-provider's (enabled, no nonces)
   */
  dpop?: boolean | OidcDpopOptions;
}

/** One token request, as the server saw it. */
export interface TokenRequestRecord {
  /** Which listener received it: the issuer's, or the mTLS endpoint alias. */
  listener: 'main' | 'alias';
  /** Who answered: oidc-provider, {@link OidcServer.failNextTokenRequests}, or the alias refusing a request without a certificate. */
  answeredBy: 'oidc-provider' | 'injected-failure' | 'alias-certificate-check';
  /** Whether the TLS connection presented a client certificate. */
  clientCertificate: boolean;
  /** SHA-256 of the client certificate's DER, base64url (RFC 8705 `x5t#S256`). */
  certificateThumbprint?: string;
  /** Whether that certificate chains to the test CA. */
  certificateAuthorized: boolean;
  /** An `Authorization: Basic` header was sent. */
  basicAuthorization: boolean;
  /** The form's fields (first value of each). */
  grantType?: string;
  clientId?: string;
  scope?: string;
  /** `resource` (RFC 8707), every value. */
  resource?: string[];
  clientAssertionType?: string;
  /** The client assertion, decoded, not verified; `malformed` when it is no JWT. */
  clientAssertion?: { header: Record<string, unknown>; claims: Record<string, unknown> } | { malformed: true };
  /** Whether a `DPoP` header came. */
  dpopProof: boolean;
  /** The DPoP proof, decoded, not verified (`jkt` is the thumbprint of its header `jwk`). */
  dpop?: DecodedDpopProof | { malformed: true };
  /** The `DPoP-Nonce` header answered, if any (a nonce challenge, or a fresh nonce on a success). */
  dpopNonceAnswered?: string;
  /** 200: the `token_type` answered (`DPoP` or `Bearer`), and the JWT access token's `cnf.jkt`. */
  tokenType?: string;
  accessTokenJkt?: string;
  /** The HTTP status answered. */
  status: number;
  /** The OAuth error answered (`error`, `error_description`), and oidc-provider's reason (`error_detail`, never sent). */
  error?: string;
  errorDescription?: string;
  errorDetail?: string;
}

/** What the server counted. */
export interface OidcServerCounters {
  /** GET /.well-known/openid-configuration */
  discoveryRequests: number;
  /** GET /jwks */
  jwksRequests: number;
  /** POST /token on either listener, whatever the outcome. */
  tokenRequests: number;
  /** POST /token on the mTLS endpoint alias. */
  aliasTokenRequests: number;
  /** Token requests answered 200 with an access token. */
  tokensIssued: number;
  /** Token requests oidc-provider answered with an error (not those of `failNextTokenRequests`). */
  tokenErrors: number;
  /** Token requests answered by {@link OidcServer.failNextTokenRequests}. */
  tokenFailuresInjected: number;
  /** TLS handshakes that failed (on the alias: no certificate, or one the CA did not issue). */
  tlsClientErrors: number;
  /** Token requests that carried a `DPoP` header. */
  dpopProofs: number;
  /** Token requests answered `use_dpop_nonce` (with a `DPoP-Nonce` header). */
  dpopNonceChallenges: number;
  /** Token requests answered 200 with `token_type: 'DPoP'`. */
  dpopTokensIssued: number;
}

/** Everything the server recorded, as of the call. */
export interface OidcServerSnapshot {
  counters: OidcServerCounters;
  /** Every token request, oldest first. */
  tokenRequests: TokenRequestRecord[];
  /** The `jti` of every client assertion received (decoded without verification), in order, repeats kept. */
  assertionJtis: string[];
  /** The `jti` of every DPoP proof received at the token endpoint (decoded without verification), in order, repeats kept. */
  dpopJtis: string[];
  /** `error: detail` of every error oidc-provider answered a token request with, in order. */
  tokenErrorMessages: string[];
  /** oidc-provider's `server_error` events (messages). */
  serverErrors: string[];
}

/** A running server; see {@link startOidcServer}. */
export interface OidcServer {
  /** `https://127.0.0.1:PORT` */
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  /** The token endpoint on the mTLS alias listener, when there is one. */
  readonly mtlsTokenEndpoint?: string;
  /** The access tokens' `aud`. */
  readonly audience: string;
  /** The CA: it issued the server's certificate (trust it) and issues client certificates tls_client_auth accepts. */
  readonly ca: TestCa;
  /** The public keys the access tokens are signed with (ES256). */
  readonly jwks: { keys: Jwk[] };
  /** The counters and records, read from the server process. */
  snapshot(): Promise<OidcServerSnapshot>;
  /** The next `count` token requests are answered `status` (default 503, `temporarily_unavailable`) before oidc-provider sees them. */
  failNextTokenRequests(count: number, status?: number, options?: { retryAfterSeconds?: number }): Promise<void>;
  /** What the server process wrote to stderr (the last 64 KiB), for a failing test's message. */
  stderr(): string;
  /** Stops both listeners and the process. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// The child process and its IPC channel (shared with resource-server.ts)
// ---------------------------------------------------------------------------------------------------

interface RpcRequest {
  id: number;
  method: string;
  params?: unknown;
}

interface RpcReply {
  id: number;
  result?: unknown;
  error?: string;
}

/** @internal A harness server running in a child process; see {@link spawnHarnessProcess}. */
export interface HarnessProcess {
  call<T>(method: string, params?: unknown): Promise<T>;
  stderr(): string;
  /** Asks the process to close its servers and exit; resolves once it has (it is killed after 5 s). */
  stop(): Promise<void>;
}

/**
 * @internal Runs `file` with tsx in a child process with `--acc-harness=<role>` (the file serves that role
 * with {@link serveHarnessRole}), and sends it `start(params)`. The process is unreferenced (it never keeps
 * jest open) except while a call is pending.
 */
export async function spawnHarnessProcess<T>(
  file: string,
  role: string,
  params: unknown,
): Promise<{ process: HarnessProcess; started: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, `--acc-harness=${role}`], {
    cwd: ROOT,
    env: process.env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-65_536);
  });
  (child.stderr as Socket | null)?.unref();
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let gone: Error | undefined;
  const hold = () => {
    if (pending.size === 1) child.channel?.ref();
  };
  const release = () => {
    if (pending.size === 0) child.channel?.unref();
  };
  const fail = (error: Error) => {
    gone ??= error;
    for (const { reject } of pending.values()) reject(gone);
    pending.clear();
  };
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      fail(new Error(`the ${role} harness process exited (${String(code ?? signal)})${stderr ? `:\n${stderr}` : ''}`));
      resolve();
    });
    // A process that could not be spawned never exits.
    child.once('error', (error) => {
      fail(error);
      if (child.pid === undefined) resolve();
    });
  });
  child.on('message', (message: RpcReply) => {
    const call = pending.get(message.id);
    if (!call) return;
    pending.delete(message.id);
    release();
    if (message.error !== undefined) call.reject(new Error(`${role}: ${message.error}`));
    else call.resolve(message.result);
  });
  child.unref();
  child.channel?.unref();

  const call = <R>(method: string, callParams?: unknown): Promise<R> => {
    if (gone) return Promise.reject(gone);
    const id = nextId++;
    return new Promise<R>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      hold();
      child.send({ id, method, params: callParams } satisfies RpcRequest, (error) => {
        if (error && pending.delete(id)) {
          release();
          reject(error);
        }
      });
    });
  };
  let stopping: Promise<void> | undefined;
  const harness: HarnessProcess = {
    call,
    stderr: () => stderr,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.ref();
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await call('close').catch(() => undefined);
        await exited;
        clearTimeout(timer);
      })()),
  };
  try {
    const started = await call<T>('start', params);
    return { process: harness, started };
  } catch (error) {
    await harness.stop();
    throw error;
  }
}

/** @internal The servers a child process runs for its parent: their methods answer RPCs. */
export interface HarnessRunning {
  /** Sent back to the parent as `start`'s result. */
  started: unknown;
  /** The RPC methods the parent can call. */
  methods: Record<string, (params: never) => unknown>;
  close(): Promise<void>;
}

/** @internal What a child process serves: `start` builds its servers from the parent's params. */
export type HarnessRole = (params: never) => Promise<HarnessRunning>;

/** @internal In the child process: serves `role` to the parent over IPC until `close`, or until the parent goes away. */
export function serveHarnessRole(role: HarnessRole): void {
  let running: HarnessRunning | undefined;
  let closing: Promise<void> | undefined;
  const shutdown = () => (closing ??= (running ? running.close() : Promise.resolve()).catch(() => undefined));
  const reply = (message: RpcReply) => {
    if (process.connected) process.send?.(message);
  };
  process.on('message', (message: RpcRequest) => {
    void (async () => {
      try {
        if (message.method === 'start') {
          running = await role(message.params as never);
          reply({ id: message.id, result: running.started });
        } else if (message.method === 'close') {
          await shutdown();
          reply({ id: message.id, result: null });
          process.disconnect();
          // Anything the servers leave behind must not keep the process; this timer fires only if something does.
          setTimeout(() => process.exit(0), 1_000).unref();
        } else {
          const method = running?.methods[message.method];
          if (!method) throw new Error(`unknown method ${message.method}`);
          reply({ id: message.id, result: (await method(message.params as never)) ?? null });
        }
      } catch (error) {
        reply({ id: message.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      }
    })();
  });
  process.once('disconnect', () => {
    void shutdown().finally(() => setTimeout(() => process.exit(0), 1_000).unref());
  });
}

// ---------------------------------------------------------------------------------------------------
// Shared TLS helpers
// ---------------------------------------------------------------------------------------------------

/** The client certificate presented on `socket`'s TLS connection, if any. */
export function peerCertificate(socket: Socket): X509Certificate | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const peer = socket.getPeerCertificate();
  return peer?.raw ? new X509Certificate(peer.raw) : undefined;
}

/** SHA-256 of a certificate's DER, base64url: RFC 8705's `x5t#S256`. */
export function x5tS256(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('base64url');
}

/** Starts `server` on 127.0.0.1 with a free port and resolves that port. */
export function listenOnLoopback(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Closes `server` and every connection it holds. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

// ---------------------------------------------------------------------------------------------------
// startOidcServer (the jest side)
// ---------------------------------------------------------------------------------------------------

const DEFAULT_ALGS = [
  'ES256',
  'ES384',
  'PS256',
  'PS384',
  'RS256',
  'RS384',
  'EdDSA',
  'Ed25519',
  'HS256',
  'HS384',
  'HS512',
];
const TLS_METHODS = new Set<string>(['tls_client_auth', 'self_signed_tls_client_auth']);

/** What the child process is started with: {@link OidcServerOptions} resolved, and the TLS material. */
interface OidcServerInit {
  clients: ClientMetadata[];
  scopes: string[];
  audience: string;
  accessTokenTtlSeconds: number;
  fapi: '2.0' | undefined;
  certificateBoundAccessTokens: boolean;
  mtls: boolean;
  alias: false | { rejectUnauthorized: boolean };
  clientAuthSigningAlgValues: string[];
  clientAuthMethods: string[];
  tls: { ca: string; cert: string; key: string };
  /** `undefined`: oidc-provider's default (enabled, no nonces). */
  dpop: { enabled: boolean; nonce: false | 'required' | 'offered'; signingAlgValues: string[] | undefined } | undefined;
}

interface OidcServerStarted {
  issuer: string;
  mtlsTokenEndpoint: string | undefined;
  jwks: { keys: Jwk[] };
}

/**
 * Starts oidc-provider (client credentials grant only, JWT access tokens) over https on 127.0.0.1, in a
 * child process. Trust `server.ca.cert` to reach it; get client certificates for tls_client_auth from
 * `server.ca.issue(name, { client: true })`. Close it with {@link OidcServer.close} (in `afterAll`).
 */
export async function startOidcServer(options: OidcServerOptions): Promise<OidcServer> {
  const ca = options.ca ?? makeCa('oidc-server test CA');
  const certificateBoundAccessTokens = options.certificateBoundAccessTokens ?? false;
  const mtls =
    certificateBoundAccessTokens ||
    options.mtls === true ||
    options.mtlsEndpointAlias === true ||
    typeof options.mtlsEndpointAlias === 'object' ||
    options.clients.some((c) => TLS_METHODS.has(c.token_endpoint_auth_method ?? ''));
  const aliasOption = options.mtlsEndpointAlias ?? true;
  const scope = options.scopes.join(' ');
  const dpop = resolveDpop(options.dpop);
  const dpopBound = typeof options.dpop === 'object' && options.dpop.boundAccessTokens === true;
  const init: OidcServerInit = {
    clients: options.clients.map((client) => ({
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope,
      ...(certificateBoundAccessTokens ? { tls_client_certificate_bound_access_tokens: true } : {}),
      ...(dpopBound ? { dpop_bound_access_tokens: true } : {}),
      ...client,
    })),
    scopes: options.scopes,
    audience: options.audience ?? 'https://api.test/',
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 600,
    fapi: options.fapi,
    certificateBoundAccessTokens,
    mtls,
    alias:
      mtls && aliasOption !== false
        ? { rejectUnauthorized: aliasOption === true ? true : (aliasOption.rejectUnauthorized ?? true) }
        : false,
    clientAuthSigningAlgValues: options.clientAuthSigningAlgValues ?? DEFAULT_ALGS,
    clientAuthMethods: options.clientAuthMethods ?? [
      'client_secret_basic',
      'client_secret_post',
      'client_secret_jwt',
      'private_key_jwt',
      ...(mtls ? [...TLS_METHODS] : []),
    ],
    tls: { ca: ca.cert, ...ca.issue('localhost', { names: ['localhost', '127.0.0.1'] }) },
    dpop,
  };
  const { process: child, started } = await spawnHarnessProcess<OidcServerStarted>(__filename, 'oidc-server', init);
  return {
    issuer: started.issuer,
    discoveryUrl: `${started.issuer}/.well-known/openid-configuration`,
    tokenEndpoint: `${started.issuer}/token`,
    jwksUri: `${started.issuer}/jwks`,
    ...(started.mtlsTokenEndpoint ? { mtlsTokenEndpoint: started.mtlsTokenEndpoint } : {}),
    audience: init.audience,
    ca,
    jwks: started.jwks,
    snapshot: () => child.call<OidcServerSnapshot>('snapshot'),
    failNextTokenRequests: async (count, status = 503, failOptions = {}) => {
      await child.call('failNextTokenRequests', { count, status, ...failOptions });
    },
    stderr: () => child.stderr(),
    close: () => child.stop(),
  };
}

function resolveDpop(option: OidcServerOptions['dpop']): OidcServerInit['dpop'] {
  if (option === undefined) return undefined;
  if (typeof option === 'boolean') return { enabled: option, nonce: false, signingAlgValues: undefined };
  const nonce = option.nonce === 'offered' ? 'offered' : option.nonce === true ? 'required' : false;
  return { enabled: true, nonce, signingAlgValues: option.signingAlgValues };
}

// ---------------------------------------------------------------------------------------------------
// The server (the child process side)
// ---------------------------------------------------------------------------------------------------

/** Splits a DN into canonical `TYPE=value` RDNs, sorted: RFC 4514 (`CN=a,O=b`) and Node's (`O=b\nCN=a`) alike. */
function canonicalDn(dn: string): string {
  return dn
    .split(/\n|,(?=\s*[A-Za-z][\w.-]*\s*=)/)
    .map((rdn) => rdn.trim())
    .filter(Boolean)
    .map((rdn) => {
      const i = rdn.indexOf('=');
      return `${rdn.slice(0, i).trim().toUpperCase()}=${rdn.slice(i + 1).trim()}`;
    })
    .sort()
    .join(',');
}

function subjectAltNames(certificate: X509Certificate, kind: string): string[] {
  return (certificate.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith(`${kind}:`))
    .map((entry) => entry.slice(kind.length + 1).replace(/^"(.*)"$/, '$1'));
}

function decodeJwt(
  token: string,
): { header: Record<string, unknown>; claims: Record<string, unknown> } | { malformed: true } {
  try {
    const [header, claims] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown);
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null)
      return { malformed: true };
    return { header: header as Record<string, unknown>, claims: claims as Record<string, unknown> };
  } catch {
    return { malformed: true };
  }
}

/** `features.dPoP`: nonces come from a 32-byte secret; `requireNonce` makes them mandatory. */
function dpopFeature(dpop: NonNullable<OidcServerInit['dpop']>): Record<string, unknown> {
  if (!dpop.nonce) return { enabled: dpop.enabled };
  const required = dpop.nonce === 'required';
  return { enabled: dpop.enabled, nonceSecret: randomBytes(32), requireNonce: () => required };
}

/** Fills a token request's record from oidc-provider's answer: DPoP-Nonce, token_type, cnf.jkt. */
function recordTokenAnswer(record: TokenRequestRecord, ctx: KoaContext, counters: OidcServerCounters): void {
  const nonce = ctx.response.get('DPoP-Nonce');
  if (nonce) record.dpopNonceAnswered = nonce;
  const answer = (ctx.body ?? {}) as { error?: string; token_type?: string; access_token?: string };
  if (answer.error === 'use_dpop_nonce') counters.dpopNonceChallenges++;
  if (ctx.status !== 200) return;
  if (typeof answer.token_type === 'string') record.tokenType = answer.token_type;
  if (answer.token_type === 'DPoP') counters.dpopTokensIssued++;
  if (typeof answer.access_token === 'string') {
    const decoded = decodeJwt(answer.access_token);
    const cnf = 'claims' in decoded ? (decoded.claims['cnf'] as { jkt?: unknown } | undefined) : undefined;
    if (typeof cnf?.jkt === 'string') record.accessTokenJkt = cnf.jkt;
  }
}

/** The Koa context, as far as this file reads it. */
interface KoaContext {
  req: IncomingMessage;
  socket: Socket;
  status: number;
  body: unknown;
  response: { get(field: string): string };
  oidc?: { route?: string; body?: Record<string, string | string[] | undefined> };
}

async function runOidcServer(init: OidcServerInit): Promise<HarnessRunning> {
  const { default: Provider, errors } = await importOidcProvider();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };
  const publicJwk: Jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' };

  const counters: OidcServerCounters = {
    discoveryRequests: 0,
    jwksRequests: 0,
    tokenRequests: 0,
    aliasTokenRequests: 0,
    tokensIssued: 0,
    tokenErrors: 0,
    tokenFailuresInjected: 0,
    tlsClientErrors: 0,
    dpopProofs: 0,
    dpopNonceChallenges: 0,
    dpopTokensIssued: 0,
  };
  const tokenRequests: TokenRequestRecord[] = [];
  const dpopJtis: string[] = [];
  const assertionJtis: string[] = [];
  const tokenErrorMessages: string[] = [];
  const serverErrors: string[] = [];
  const inFlight = new WeakMap<IncomingMessage, TokenRequestRecord>();
  const failures = { count: 0, status: 503, retryAfterSeconds: undefined as number | undefined };

  const tlsOptions = { ca: [init.tls.ca], cert: init.tls.cert, key: init.tls.key, requestCert: true };
  const main = createServer({ ...tlsOptions, rejectUnauthorized: false });
  const alias = init.alias
    ? createServer({ ...tlsOptions, rejectUnauthorized: init.alias.rejectUnauthorized })
    : undefined;
  const servers = [main, ...(alias ? [alias] : [])];
  for (const server of servers) server.on('tlsClientError', () => counters.tlsClientErrors++);
  const port = await listenOnLoopback(main);
  const aliasPort = alias ? await listenOnLoopback(alias) : undefined;
  const issuer = `https://127.0.0.1:${port}`;
  const mtlsTokenEndpoint = aliasPort ? `https://127.0.0.1:${aliasPort}/token` : undefined;

  const resourceServer = {
    scope: init.scopes.join(' '),
    audience: init.audience,
    accessTokenTTL: init.accessTokenTtlSeconds,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'ES256' } },
  };
  const certificateOf = (ctx: KoaContext) => peerCertificate(ctx.socket);

  const provider = new Provider(issuer, {
    clients: init.clients,
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    clientAuthMethods: init.clientAuthMethods,
    enabledJWA: {
      clientAuthSigningAlgValues: init.clientAuthSigningAlgValues,
      ...(init.dpop?.signingAlgValues ? { dPoPSigningAlgValues: init.dpop.signingAlgValues } : {}),
    },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    adapter: memoryAdapter(),
    findAccount: async () => undefined,
    scopes: init.scopes,
    ttl: { ClientCredentials: init.accessTokenTtlSeconds },
    ...(mtlsTokenEndpoint ? { discovery: { mtls_endpoint_aliases: { token_endpoint: mtlsTokenEndpoint } } } : {}),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => init.audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (indicator !== init.audience) throw new errors.InvalidTarget('unknown resource');
          return resourceServer;
        },
      },
      ...(init.fapi ? { fapi: { enabled: true, profile: init.fapi } } : {}),
      ...(init.dpop ? { dPoP: dpopFeature(init.dpop) } : {}),
      ...(init.mtls
        ? {
            mTLS: {
              enabled: true,
              certificateBoundAccessTokens: init.certificateBoundAccessTokens,
              tlsClientAuth: true,
              selfSignedTlsClientAuth: true,
              /** The peer certificate, PEM (oidc-provider thumbprints it and binds tokens to it). */
              getCertificate: (ctx: KoaContext) => certificateOf(ctx)?.toString(),
              /** Whether the certificate chains to the test CA (the server's `ca`). */
              certificateAuthorized: (ctx: KoaContext) => (ctx.socket as TLSSocket).authorized === true,
              certificateSubjectMatches: (ctx: KoaContext, property: string, expected: string) => {
                const certificate = certificateOf(ctx);
                if (!certificate) return false;
                switch (property) {
                  case 'tls_client_auth_subject_dn':
                    return canonicalDn(certificate.subject) === canonicalDn(expected);
                  case 'tls_client_auth_san_dns':
                    return subjectAltNames(certificate, 'DNS').includes(expected);
                  case 'tls_client_auth_san_ip':
                    return subjectAltNames(certificate, 'IP Address').includes(expected);
                  case 'tls_client_auth_san_uri':
                    return subjectAltNames(certificate, 'URI').includes(expected);
                  case 'tls_client_auth_san_email':
                    return subjectAltNames(certificate, 'email').includes(expected);
                  default:
                    return false;
                }
              },
            },
          }
        : {}),
    },
  });

  const recordForm = (record: TokenRequestRecord, field: (name: string) => string[]) => {
    const first = (name: string) => field(name)[0];
    const set = <K extends 'grantType' | 'clientId' | 'scope' | 'clientAssertionType'>(
      key: K,
      value: string | undefined,
    ) => {
      if (value !== undefined) record[key] = value;
    };
    set('grantType', first('grant_type'));
    set('clientId', first('client_id'));
    set('scope', first('scope'));
    set('clientAssertionType', first('client_assertion_type'));
    if (field('resource').length) record.resource = field('resource');
    const assertion = first('client_assertion');
    if (assertion !== undefined) {
      record.clientAssertion = decodeJwt(assertion);
      const jti = 'claims' in record.clientAssertion ? record.clientAssertion.claims['jti'] : undefined;
      if (typeof jti === 'string') assertionJtis.push(jti);
    }
  };

  // Runs around every oidc-provider route: fills the token request's record once oidc-provider has parsed
  // the form and answered (before the answer is written, so a snapshot taken after it includes it).
  (provider as unknown as { use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void }).use(
    async (ctx, next) => {
      await next();
      const record = inFlight.get(ctx.req);
      if (!record) return;
      inFlight.delete(ctx.req);
      const body = ctx.oidc?.body ?? {};
      recordForm(record, (name) => {
        const value = body[name];
        return value === undefined ? [] : Array.isArray(value) ? value : [value];
      });
      record.status = ctx.status;
      recordTokenAnswer(record, ctx, counters);
      if (ctx.status === 200) {
        counters.tokensIssued++;
      } else {
        counters.tokenErrors++;
        const answer = (ctx.body ?? {}) as { error?: string; error_description?: string };
        if (answer.error !== undefined) record.error = answer.error;
        if (answer.error_description !== undefined) record.errorDescription = answer.error_description;
        tokenErrorMessages.push(
          `${record.error ?? ctx.status}: ${record.errorDetail ?? record.errorDescription ?? ''}`,
        );
      }
    },
  );
  provider.on('grant.error', (ctx, error) => {
    const record = inFlight.get((ctx as KoaContext).req);
    const detail = (error as { error_detail?: unknown }).error_detail;
    if (record && typeof detail === 'string') record.errorDetail = detail;
  });
  provider.on('server_error', (ctx, error) => {
    serverErrors.push(error instanceof Error ? error.message : String(error));
    const record = inFlight.get((ctx as KoaContext).req);
    if (record && error instanceof Error) record.errorDetail = error.message;
  });
  const handle = provider.callback();

  const readForm = (req: IncomingMessage): Promise<URLSearchParams> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
      req.on('error', () => resolve(new URLSearchParams()));
    });

  const onRequest = (listener: 'main' | 'alias') => (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') counters.discoveryRequests++;
    if (req.method === 'GET' && path === '/jwks') counters.jwksRequests++;
    const certificate = peerCertificate(req.socket);
    const refuse = listener === 'alias' && !certificate;
    if (req.method === 'POST' && path === '/token') {
      counters.tokenRequests++;
      if (listener === 'alias') counters.aliasTokenRequests++;
      const record: TokenRequestRecord = {
        listener,
        answeredBy: 'oidc-provider',
        clientCertificate: certificate !== undefined,
        ...(certificate ? { certificateThumbprint: x5tS256(certificate) } : {}),
        certificateAuthorized: (req.socket as TLSSocket).authorized === true,
        basicAuthorization: /^basic /i.test(req.headers.authorization ?? ''),
        dpopProof: req.headers.dpop !== undefined,
        status: 0,
      };
      const proof = req.headers.dpop;
      if (proof !== undefined) {
        counters.dpopProofs++;
        record.dpop = decodeDpopProof(Array.isArray(proof) ? proof.join(', ') : proof);
        if ('jti' in record.dpop && typeof record.dpop.jti === 'string') dpopJtis.push(record.dpop.jti);
      }
      tokenRequests.push(record);
      if (refuse || failures.count > 0) {
        const injected = !refuse;
        if (injected) {
          failures.count--;
          counters.tokenFailuresInjected++;
        }
        const status = injected ? failures.status : 401;
        const answer = injected
          ? {
              error: status === 503 ? 'temporarily_unavailable' : 'server_error',
              error_description: 'failure injected by the test (failNextTokenRequests)',
            }
          : {
              error: 'invalid_client',
              error_description: 'a client certificate is required at the mTLS endpoint alias',
            };
        const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
        if (injected && failures.retryAfterSeconds !== undefined)
          headers['retry-after'] = String(failures.retryAfterSeconds);
        void readForm(req).then((form) => {
          recordForm(record, (name) => form.getAll(name));
          Object.assign(record, {
            answeredBy: injected ? 'injected-failure' : 'alias-certificate-check',
            status,
            error: answer.error,
            errorDescription: answer.error_description,
          });
          res.writeHead(status, headers).end(JSON.stringify(answer));
        });
        return;
      }
      inFlight.set(req, record);
    } else if (refuse) {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: 'invalid_client',
          error_description: 'a client certificate is required at the mTLS endpoint alias',
        }),
      );
      return;
    }
    handle(req, res);
  };
  main.on('request', onRequest('main'));
  alias?.on('request', onRequest('alias'));

  return {
    started: { issuer, mtlsTokenEndpoint, jwks: { keys: [publicJwk] } } satisfies OidcServerStarted,
    methods: {
      snapshot: (): OidcServerSnapshot => ({
        counters,
        tokenRequests,
        assertionJtis,
        dpopJtis,
        tokenErrorMessages,
        serverErrors,
      }),
      failNextTokenRequests: (params: { count: number; status: number; retryAfterSeconds?: number }) => {
        failures.count = params.count;
        failures.status = params.status;
        failures.retryAfterSeconds = params.retryAfterSeconds;
      },
    },
    close: async () => {
      await Promise.all(servers.map(closeServer));
    },
  };
}

if (process.argv.includes('--acc-harness=oidc-server')) serveHarnessRole(runOidcServer);
