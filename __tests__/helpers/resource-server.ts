/**
 * A real resource server for the sender-constrained token tests: https on 127.0.0.1 with a certificate from
 * the test CA, asking every client for a certificate; it verifies each request's `Authorization: Bearer`
 * JWT access token with jose against the authorization server's JWKS and, when the token is bound to a
 * certificate (`cnf['x5t#S256']`, RFC 8705 §3), compares the binding with the certificate presented on this
 * TLS connection. With {@link ResourceServerOptions.dpop} it also takes `Authorization: DPoP` (RFC 9449 §7)
 * and verifies every proof with jose (see {@link ResourceDpopOptions}), and can demand nonces (§9).
 *
 * Like {@link startOidcServer}, it runs in a child process (jose is ESM-only and jest cannot load it):
 * its records are read asynchronously, with {@link ResourceServer.records}.
 *
 * @module
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { decodeDpopProof, type DecodedDpopProof, type Jwk } from './client-keys.js';
import {
  closeServer,
  listenOnLoopback,
  peerCertificate,
  serveHarnessRole,
  spawnHarnessProcess,
  x5tS256,
  type HarnessRunning,
} from './oidc-server.js';
import type { TestCa } from './tls.js';

/** SHA-256 of a certificate's DER, base64url (RFC 8705 `x5t#S256`), from its PEM. */
export function certificateThumbprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('base64url');
}

/** What {@link startResourceServer} starts. */
export interface ResourceServerOptions {
  /** Issues the server's certificate (clients trust `ca.cert`); the server's TLS accepts client certificates from it, and any other (it checks only the binding). */
  ca: TestCa;
  /** The access tokens' `iss`, checked. */
  issuer: string;
  /** The authorization server's public keys (`OidcServer.jwks`). */
  jwks: { keys: Jwk[] };
  /** The access tokens' `aud`, checked when given (`OidcServer.audience`). */
  audience?: string;
  /** Refuses (401) any request that presented no client certificate, even with an unbound token. @default false */
  requireCertificate?: boolean;
  /** RFC 9449: accept `Authorization: DPoP <token>` with a `DPoP` proof, verified as {@link ResourceDpopOptions} says. @default false */
  dpop?: boolean | ResourceDpopOptions;
  /**
   * With `dpop`: every 401 carries a second challenge for the other scheme, so a test can check that a
   * client parses several: after a `DPoP` challenge a bare `Bearer realm="<origin>"`, after a `Bearer`
   * one a bare `DPoP algs="…"`. `'first'` puts that second challenge first. @default false
   */
  alsoBearerChallenge?: boolean | 'first';
}

/**
 * How the resource server checks DPoP (RFC 9449 §4.3, §7.1). Every proof must have `typ: dpop+jwt`, an
 * `alg` of {@link algs}, a public `jwk` header (no private members) whose key verifies the signature
 * (jose's `EmbeddedJWK`), `htm` = the request's method, `htu` = `https://` + the `Host` header + the path,
 * without query (compared as strings, exactly), `iat` within {@link iatWindowSeconds} of now, a `jti`
 * never seen before (a replay cache), `ath` = base64url(SHA-256(access token)); the token must be a
 * DPoP-bound one whose `cnf.jkt` is the proof key's RFC 7638 thumbprint (jose's `calculateJwkThumbprint`).
 * A DPoP-bound token sent with the Bearer scheme is refused; an unbound one still works with Bearer.
 */
export interface ResourceDpopOptions {
  /**
   * Every proof must carry the server's current nonce: one that does not is answered 401
   * `WWW-Authenticate: DPoP error="use_dpop_nonce"` with a `DPoP-Nonce` header. Every response, successes
   * too, carries the current nonce in `DPoP-Nonce`. Only the current nonce is accepted. @default false
   */
  requireNonce?: boolean;
  /**
   * Rotates the nonce every N requests (any request, answered or refused): the Nth request since the last
   * rotation is checked against the old nonce and its response already carries the new one, so a client
   * that takes the nonce from every response is not challenged, and one still holding the old nonce is.
   * {@link ResourceServer.rotateNonce} rotates it silently, at once. @default never
   */
  nonceRotateEvery?: number;
  /** The accepted `alg`s, advertised as `algs="…"`. @default ['ES256', 'PS256', 'EdDSA'] */
  algs?: string[];
  /** @default 60 */
  iatWindowSeconds?: number;
}

/** How the resource server answered a request. */
export type ResourceOutcome =
  /** 200: a valid token, bound to this connection's certificate or not bound. */
  | 'ok'
  /** 401: no `Authorization: Bearer`. */
  | 'no_token'
  /** 401: the JWT failed verification (signature, `iss`, `aud`, `exp`, `typ`). */
  | 'invalid_token'
  /** 401: `requireCertificate` and no certificate. */
  | 'certificate_required'
  /** 401: a bound token and no certificate on this connection. */
  | 'certificate_missing'
  /** 401: a bound token and another certificate on this connection. */
  | 'certificate_mismatch'
  /** 401 `DPoP error="invalid_dpop_proof"`: the proof failed a check ({@link DpopProofCheck.failure}), replays included. */
  | 'invalid_dpop_proof'
  /** 401 `DPoP error="use_dpop_nonce"` with `DPoP-Nonce`: `requireNonce` and the proof lacks the current nonce. */
  | 'use_dpop_nonce'
  /** 401 `DPoP error="invalid_token"`: a DPoP-bound token (`cnf.jkt`) sent with the Bearer scheme. */
  | 'dpop_bound_token_as_bearer'
  /** 401 `DPoP error="invalid_token"`: the DPoP scheme with a token that is not DPoP-bound. */
  | 'dpop_token_not_bound'
  /** 401 `DPoP error="invalid_token"`: the token's `cnf.jkt` is not the proof key's thumbprint. */
  | 'dpop_key_mismatch';

/** Which check a DPoP proof failed. */
export type DpopProofFailure =
  | 'missing'
  | 'multiple'
  | 'malformed'
  | 'typ'
  | 'alg'
  | 'jwk'
  | 'signature'
  | 'htm'
  | 'htu'
  | 'iat'
  | 'jti'
  | 'ath'
  | 'nonce'
  | 'replay';

/** What the resource server made of a request's DPoP proof. */
export interface DpopProofCheck {
  /** How many `DPoP` headers came (exactly one is valid). */
  proofs: number;
  /** The proof, decoded before verification. */
  decoded?: DecodedDpopProof | { malformed: true };
  /** The proof passed every check, the binding to the token's `cnf.jkt` included. */
  verified: boolean;
  /** The first check it failed, and why. */
  failure?: DpopProofFailure;
  detail?: string;
  /** jose's RFC 7638 thumbprint of the proof key, once the signature verified. */
  jkt?: string;
  jti?: string;
  /** The nonce the proof carried. */
  nonce?: string;
  /** The `htu` the server compared with. */
  expectedHtu: string;
  /** The nonce the server expected (`requireNonce`). */
  expectedNonce?: string;
}

/** One request, as the resource server saw it. */
export interface ResourceRequestRecord {
  method: string;
  /** The path and query. */
  path: string;
  /** Whether the TLS connection presented a client certificate, and its SHA-256 thumbprint (base64url). */
  clientCertificate: boolean;
  certificateThumbprint?: string;
  /** Whether an `Authorization` header was sent. */
  authorization: boolean;
  /** The token's `cnf['x5t#S256']`, when it verified and is bound. */
  boundThumbprint?: string;
  /** The token's `client_id` and `jti`, when it verified. */
  clientId?: string;
  tokenJti?: string;
  outcome: ResourceOutcome;
  status: number;
  /** Why verification failed (jose's message), for `invalid_token`. */
  detail?: string;
  /** The Authorization scheme, when it was one the server takes. */
  scheme?: 'Bearer' | 'DPoP';
  /** The DPoP proof's check, for the DPoP scheme. */
  dpop?: DpopProofCheck;
  /** The token's `cnf.jkt`, when it verified and is DPoP-bound. */
  tokenJkt?: string;
  /** The `DPoP-Nonce` answered, and the `WWW-Authenticate` of a 401. */
  nonceAnswered?: string;
  wwwAuthenticate?: string;
}

/** What the resource server counted. */
export interface ResourceServerCounters {
  requests: number;
  /** Requests with the DPoP scheme. */
  dpopRequests: number;
  /** Proofs that passed every check (one per 200 with the DPoP scheme). */
  proofsVerified: number;
  /** Distinct `jti`s among the proofs whose signature verified. */
  distinctJtis: number;
  /** `use_dpop_nonce` answers. */
  nonceChallenges: number;
  /** Proofs refused because their `jti` was seen before. */
  replaysRejected: number;
  /** Nonce rotations (every `nonceRotateEvery` requests, and {@link ResourceServer.rotateNonce}). */
  nonceRotations: number;
}

/** A running resource server; see {@link startResourceServer}. */
export interface ResourceServer {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly origin: string;
  /** Every request, oldest first. */
  records(): Promise<ResourceRequestRecord[]>;
  /** The counters, as of the call. */
  counters(): Promise<ResourceServerCounters>;
  /** The current DPoP nonce (`requireNonce`), else undefined. */
  nonce(): Promise<string | undefined>;
  /** Replaces the DPoP nonce now, announcing it to nobody (a client holding the old one is challenged); resolves the new one. */
  rotateNonce(): Promise<string>;
  /** What the server process wrote to stderr (the last 64 KiB). */
  stderr(): string;
  close(): Promise<void>;
}

interface ResourceServerInit {
  issuer: string;
  jwks: { keys: Jwk[] };
  audience: string | undefined;
  requireCertificate: boolean;
  tls: { ca: string; cert: string; key: string };
  dpop: { requireNonce: boolean; nonceRotateEvery: number; algs: string[]; iatWindowSeconds: number } | undefined;
  alsoBearerChallenge: false | 'after' | 'first';
}

/**
 * Starts the resource server in a child process. Every path answers the same way: 200 with
 * `{ ok: true, path, client_id, scope, cnf }` for a valid token; otherwise 401 with
 * `WWW-Authenticate: Bearer` (no token) or `Bearer error="invalid_token", error_description="…"`. With
 * `dpop`, a refusal of the DPoP scheme or of a DPoP-bound token is `DPoP error="invalid_dpop_proof"`,
 * `"use_dpop_nonce"` or `"invalid_token"`, with `error_description` and `algs="ES256 PS256 EdDSA"`, and no
 * token at all is `DPoP algs="…"`.
 */
export async function startResourceServer(options: ResourceServerOptions): Promise<ResourceServer> {
  const init: ResourceServerInit = {
    issuer: options.issuer,
    jwks: options.jwks,
    audience: options.audience,
    requireCertificate: options.requireCertificate ?? false,
    tls: { ca: options.ca.cert, ...options.ca.issue('localhost', { names: ['localhost', '127.0.0.1'] }) },
    dpop: resolveDpop(options.dpop),
    alsoBearerChallenge:
      options.alsoBearerChallenge === 'first' ? 'first' : options.alsoBearerChallenge ? 'after' : false,
  };
  const { process: child, started } = await spawnHarnessProcess<{ url: string }>(__filename, 'resource-server', init);
  return {
    url: started.url,
    origin: started.url,
    records: () => child.call<ResourceRequestRecord[]>('records'),
    counters: () => child.call<ResourceServerCounters>('counters'),
    nonce: async () => (await child.call<string | null>('nonce')) ?? undefined,
    rotateNonce: () => child.call<string>('rotateNonce'),
    stderr: () => child.stderr(),
    close: () => child.stop(),
  };
}

function resolveDpop(option: ResourceServerOptions['dpop']): ResourceServerInit['dpop'] {
  if (!option) return undefined;
  const settings = option === true ? {} : option;
  return {
    requireNonce: settings.requireNonce ?? false,
    nonceRotateEvery: settings.nonceRotateEvery ?? 0,
    algs: settings.algs ?? ['ES256', 'PS256', 'EdDSA'],
    iatWindowSeconds: settings.iatWindowSeconds ?? 60,
  };
}

// ---------------------------------------------------------------------------------------------------
// The server (the child process side)
// ---------------------------------------------------------------------------------------------------

type Jose = typeof import('jose');
type DpopSettings = NonNullable<ResourceServerInit['dpop']>;
type Payload = Record<string, unknown>;

/** The server process's state. */
interface ResourceState {
  init: ResourceServerInit;
  jose: Jose;
  keys: ReturnType<Jose['createLocalJWKSet']>;
  origin: string;
  records: ResourceRequestRecord[];
  counters: Omit<ResourceServerCounters, 'distinctJtis'>;
  /** The `jti`s of the proofs whose signature verified. */
  signedJtis: Set<string>;
  /** The replay cache: the `jti`s of the proofs accepted. */
  usedJtis: Set<string>;
  /** The current DPoP nonce, with `requireNonce`. */
  nonce: string | undefined;
  sinceRotation: number;
}

/** A 401 and its challenge. */
interface Refusal {
  outcome: ResourceOutcome;
  scheme: 'Bearer' | 'DPoP';
  error?: string;
  description?: string;
}

function rotateNonce(state: ResourceState): string {
  if (state.nonce === undefined) throw new Error('the resource server was started without dpop.requireNonce');
  state.nonce = randomBytes(16).toString('base64url');
  state.counters.nonceRotations++;
  state.sinceRotation = 0;
  return state.nonce;
}

/** Counts a request toward `nonceRotateEvery`, just before its answer is written (which then carries the new nonce). */
function countTowardRotation(state: ResourceState): void {
  const every = state.init.dpop?.nonceRotateEvery ?? 0;
  if (state.nonce !== undefined && every > 0 && ++state.sinceRotation >= every) rotateNonce(state);
}

const quoted = (value: string): string => `"${value.replace(/["\\]/g, '')}"`;

/** The `WWW-Authenticate` value of a refusal: its own challenge, and with `alsoBearerChallenge` the other scheme's. */
function wwwAuthenticate(state: ResourceState, refusal: Refusal): string {
  const algs = state.init.dpop?.algs.join(' ') ?? '';
  const params = Object.entries({
    error: refusal.error,
    error_description: refusal.description,
    algs: refusal.scheme === 'DPoP' ? algs : undefined,
  })
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${quoted(value)}`)
    .join(', ');
  const primary = params ? `${refusal.scheme} ${params}` : refusal.scheme;
  if (!state.init.dpop || !state.init.alsoBearerChallenge) return primary;
  const other = refusal.scheme === 'DPoP' ? `Bearer realm=${quoted(state.origin)}` : `DPoP algs=${quoted(algs)}`;
  return state.init.alsoBearerChallenge === 'first' ? `${other}, ${primary}` : `${primary}, ${other}`;
}

function answer(
  state: ResourceState,
  res: ServerResponse,
  record: ResourceRequestRecord,
  status: number,
  body: unknown,
  refusal?: Refusal,
): void {
  record.status = status;
  record.outcome = refusal?.outcome ?? 'ok';
  countTowardRotation(state);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-store' };
  if (refusal && status === 401) headers['www-authenticate'] = record.wwwAuthenticate = wwwAuthenticate(state, refusal);
  if (state.nonce !== undefined) headers['dpop-nonce'] = record.nonceAnswered = state.nonce;
  if (refusal?.outcome === 'use_dpop_nonce') state.counters.nonceChallenges++;
  res.writeHead(status, headers).end(JSON.stringify(body));
}

/** `Authorization: Bearer <token>`, or with DPoP on `DPoP <token>` (schemes case-insensitive). */
function parseAuthorization(
  header: string | undefined,
  dpop: boolean,
): { scheme: 'Bearer' | 'DPoP'; token: string } | undefined {
  const match = /^(Bearer|DPoP) ([\w.~+/-]+=*)$/i.exec(header ?? '');
  if (!match?.[1] || !match[2]) return undefined;
  const scheme = match[1].toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
  if (scheme === 'DPoP' && !dpop) return undefined;
  return { scheme, token: match[2] };
}

/** The header checks, on the decoded proof, before its signature. */
function proofHeaderFailure(decoded: DecodedDpopProof, algs: string[]): [DpopProofFailure, string] | undefined {
  if (decoded.typ !== 'dpop+jwt') return ['typ', 'the DPoP proof typ must be dpop+jwt'];
  if (typeof decoded.alg !== 'string' || !algs.includes(decoded.alg))
    return ['alg', `the DPoP proof alg must be one of ${algs.join(' ')}`];
  if (decoded.jwkPrivate === undefined) return ['jwk', 'the DPoP proof header has no jwk'];
  if (decoded.jwkPrivate) return ['jwk', 'the DPoP proof jwk must not contain private key members'];
  return undefined;
}

/** The claim checks, once the signature verified. */
function proofClaimFailure(
  payload: Payload,
  request: { method: string; htu: string; token: string },
  settings: DpopSettings,
): [DpopProofFailure, string] | undefined {
  if (payload['htm'] !== request.method) return ['htm', `the DPoP proof htm is not ${request.method}`];
  if (payload['htu'] !== request.htu) return ['htu', `the DPoP proof htu is not ${request.htu}`];
  const iat = payload['iat'];
  if (typeof iat !== 'number' || Math.abs(Date.now() / 1000 - iat) > settings.iatWindowSeconds)
    return ['iat', `the DPoP proof iat is not within ${settings.iatWindowSeconds} s of now`];
  if (typeof payload['jti'] !== 'string' || !payload['jti']) return ['jti', 'the DPoP proof has no jti'];
  const ath = createHash('sha256').update(request.token, 'ascii').digest('base64url');
  if (payload['ath'] === undefined) return ['ath', 'the DPoP proof has no ath'];
  if (payload['ath'] !== ath) return ['ath', 'the DPoP proof ath is not the hash of the access token'];
  return undefined;
}

/** Checks the request's DPoP proof (all but the binding to the token, which needs the token verified). */
async function checkProof(state: ResourceState, req: IncomingMessage, token: string): Promise<DpopProofCheck> {
  const settings = state.init.dpop as DpopSettings;
  const values = req.headersDistinct['dpop'] ?? [];
  const path = (req.url ?? '/').split(/[?#]/)[0] ?? '/';
  const expectedNonce = state.nonce;
  const check: DpopProofCheck = {
    proofs: values.length,
    verified: false,
    expectedHtu: `https://${req.headers.host ?? state.origin.slice('https://'.length)}${path}`,
    ...(expectedNonce !== undefined ? { expectedNonce } : {}),
  };
  const fail = (failure: DpopProofFailure, detail: string) => Object.assign(check, { failure, detail });
  if (values.length === 0) return fail('missing', 'a DPoP proof is required with the DPoP scheme');
  if (values.length > 1) return fail('multiple', 'more than one DPoP header');
  const proof = values[0] as string;
  const decoded = (check.decoded = decodeDpopProof(proof));
  if ('malformed' in decoded) return fail('malformed', 'the DPoP proof is not a JWT');
  if (typeof decoded.jti === 'string') check.jti = decoded.jti;
  if (typeof decoded.nonce === 'string') check.nonce = decoded.nonce;
  const headerFailure = proofHeaderFailure(decoded, settings.algs);
  if (headerFailure) return fail(...headerFailure);
  let verified: Awaited<ReturnType<Jose['jwtVerify']>>;
  try {
    verified = await state.jose.jwtVerify(proof, state.jose.EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: settings.algs,
    });
  } catch (error) {
    return fail(
      'signature',
      `the DPoP proof does not verify: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  check.jkt = await state.jose.calculateJwkThumbprint(
    verified.protectedHeader.jwk as Parameters<Jose['calculateJwkThumbprint']>[0],
  );
  const jti = verified.payload.jti;
  if (typeof jti === 'string') state.signedJtis.add(jti);
  const claimFailure = proofClaimFailure(
    verified.payload,
    { method: req.method ?? 'GET', htu: check.expectedHtu, token },
    settings,
  );
  if (claimFailure) return fail(...claimFailure);
  if (expectedNonce !== undefined && verified.payload['nonce'] !== expectedNonce)
    return fail(
      'nonce',
      check.nonce === undefined ? 'a DPoP nonce is required' : 'the DPoP nonce is not the current one',
    );
  if (state.usedJtis.has(jti as string)) {
    state.counters.replaysRejected++;
    return fail('replay', 'the DPoP proof jti was used before');
  }
  state.usedJtis.add(jti as string);
  return check;
}

async function verifyAccessToken(state: ResourceState, token: string, record: ResourceRequestRecord) {
  try {
    const { payload } = await state.jose.jwtVerify(token, state.keys, {
      issuer: state.init.issuer,
      typ: 'at+jwt',
      ...(state.init.audience !== undefined ? { audience: state.init.audience } : {}),
    });
    return payload as Payload;
  } catch (error) {
    record.detail = error instanceof Error ? error.message : String(error);
    return undefined;
  }
}

const invalidToken = (outcome: ResourceOutcome, description: string, scheme: 'Bearer' | 'DPoP'): Refusal => ({
  outcome,
  scheme,
  error: 'invalid_token',
  description,
});

/** The token's bindings (RFC 8705 certificate, RFC 9449 key) against this request; a refusal if one fails. */
function bindingRefusal(
  state: ResourceState,
  payload: Payload,
  request: { scheme: 'Bearer' | 'DPoP'; thumbprint: string | undefined; check: DpopProofCheck | undefined },
  record: ResourceRequestRecord,
): Refusal | undefined {
  const cnf = payload['cnf'] as { 'x5t#S256'?: unknown; jkt?: unknown } | undefined;
  const jkt = typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
  if (jkt) record.tokenJkt = jkt;
  const scheme = jkt && state.init.dpop ? 'DPoP' : request.scheme;
  const bound = cnf?.['x5t#S256'];
  if (typeof bound === 'string') {
    record.boundThumbprint = bound;
    if (!request.thumbprint)
      return invalidToken(
        'certificate_missing',
        'the access token is bound to a client certificate and none was presented',
        scheme,
      );
    if (request.thumbprint !== bound)
      return invalidToken('certificate_mismatch', 'the access token is bound to another client certificate', scheme);
  }
  if (!state.init.dpop) return undefined;
  if (request.scheme === 'Bearer' && jkt)
    return invalidToken('dpop_bound_token_as_bearer', 'the access token is DPoP-bound: use the DPoP scheme', 'DPoP');
  if (request.scheme === 'DPoP' && !jkt)
    return invalidToken('dpop_token_not_bound', 'the access token is not DPoP-bound', 'DPoP');
  if (request.scheme === 'DPoP' && jkt !== request.check?.jkt)
    return invalidToken('dpop_key_mismatch', 'the DPoP proof key is not the one the access token is bound to', 'DPoP');
  return undefined;
}

async function serveRequest(state: ResourceState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  req.resume();
  const certificate = peerCertificate(req.socket);
  const thumbprint = certificate ? x5tS256(certificate) : undefined;
  const record: ResourceRequestRecord = {
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    clientCertificate: certificate !== undefined,
    ...(thumbprint ? { certificateThumbprint: thumbprint } : {}),
    authorization: req.headers.authorization !== undefined,
    outcome: 'ok',
    status: 0,
  };
  state.records.push(record);
  state.counters.requests++;
  const refuse = (refusal: Refusal) =>
    answer(state, res, record, 401, { error: refusal.error ?? refusal.outcome }, refusal);
  try {
    const auth = parseAuthorization(req.headers.authorization, state.init.dpop !== undefined);
    if (!auth) return refuse({ outcome: 'no_token', scheme: state.init.dpop ? 'DPoP' : 'Bearer' });
    record.scheme = auth.scheme;
    if (state.init.requireCertificate && !certificate)
      return refuse(invalidToken('certificate_required', 'a client certificate is required', auth.scheme));
    let check: DpopProofCheck | undefined;
    if (auth.scheme === 'DPoP') {
      state.counters.dpopRequests++;
      check = record.dpop = await checkProof(state, req, auth.token);
      if (check.failure) {
        const error = check.failure === 'nonce' ? 'use_dpop_nonce' : 'invalid_dpop_proof';
        return refuse({
          outcome: error,
          scheme: 'DPoP',
          error,
          ...(check.detail ? { description: check.detail } : {}),
        });
      }
    }
    const payload = await verifyAccessToken(state, auth.token, record);
    if (!payload) return refuse(invalidToken('invalid_token', 'the access token is invalid', auth.scheme));
    if (typeof payload['client_id'] === 'string') record.clientId = payload['client_id'];
    if (typeof payload['jti'] === 'string') record.tokenJti = payload['jti'];
    const refusal = bindingRefusal(state, payload, { scheme: auth.scheme, thumbprint, check }, record);
    if (refusal) return refuse(refusal);
    if (check) {
      check.verified = true;
      state.counters.proofsVerified++;
    }
    const body = {
      ok: true,
      path: record.path,
      client_id: payload['client_id'],
      scope: payload['scope'],
      cnf: payload['cnf'],
    };
    return answer(state, res, record, 200, body);
  } catch (error) {
    record.detail = String(error);
    return answer(state, res, record, 500, { error: 'server_error' }, { outcome: 'invalid_token', scheme: 'Bearer' });
  }
}

const runResourceServer = async (init: ResourceServerInit): Promise<HarnessRunning> => {
  const jose = await import('jose');
  const server = createServer({
    ca: [init.tls.ca],
    cert: init.tls.cert,
    key: init.tls.key,
    requestCert: true,
    rejectUnauthorized: false,
  });
  const state: ResourceState = {
    init,
    jose,
    keys: jose.createLocalJWKSet(init.jwks as Parameters<Jose['createLocalJWKSet']>[0]),
    origin: '',
    records: [],
    counters: {
      requests: 0,
      dpopRequests: 0,
      proofsVerified: 0,
      nonceChallenges: 0,
      replaysRejected: 0,
      nonceRotations: 0,
    },
    signedJtis: new Set(),
    usedJtis: new Set(),
    nonce: init.dpop?.requireNonce ? randomBytes(16).toString('base64url') : undefined,
    sinceRotation: 0,
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => void serveRequest(state, req, res));
  const port = await listenOnLoopback(server);
  state.origin = `https://127.0.0.1:${port}`;
  return {
    started: { url: state.origin },
    methods: {
      records: () => state.records,
      counters: (): ResourceServerCounters => ({ ...state.counters, distinctJtis: state.signedJtis.size }),
      nonce: () => state.nonce ?? null,
      rotateNonce: () => rotateNonce(state),
    },
    close: () => closeServer(server),
  };
};

if (process.argv.includes('--acc-harness=resource-server')) serveHarnessRole(runResourceServer);
