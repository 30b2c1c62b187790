/**
 * A real OAuth 2.0 authorization server for the demo: oidc-provider issuing signed JWT access
 * tokens (RFC 9068) by the client credentials grant, with OpenID discovery, on 127.0.0.1.
 *
 * A small node:http front mounts the provider under `/oidc` (as Apiture's issuer
 * `https://auth.apiture.com/oidc` is), counts what reaches it, and can make the next N token
 * requests fail (`failNextTokenRequests`), so the demo can show a token endpoint outage.
 *
 * With `fapi`, oidc-provider runs its FAPI 2.0 profile with DPoP (RFC 9449) nonces required: a token
 * request whose proof has no current nonce is answered `400 use_dpop_nonce` with a `DPoP-Nonce` header.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { KoaContext } from 'oidc-provider';
import { listen } from './listen.js';
import { importOidcProvider, memoryAdapter } from './oidc-support.js';

export interface AuthServerClient {
  clientId: string;
  /** client_secret_basic and client_secret_post. */
  clientSecret?: string;
  /** Space-separated scopes this client may ask for. */
  scope: string;
  /** @default 'client_secret_basic' */
  authMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  /** private_key_jwt: the client's public keys, which its assertions must verify with. */
  jwks?: { keys: JWK[] };
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: every token request must carry a DPoP proof. */
  dpopBoundAccessTokens?: boolean;
}

export interface AuthServerOptions {
  clients: AuthServerClient[];
  /** The API's resource indicator (RFC 8707); it becomes the tokens' `aud`. Used when a token request names none. */
  audience: string;
  /** Every scope the API knows. */
  scopes: string[];
  /** @default 600 */
  accessTokenTtlSeconds?: number;
  /**
   * oidc-provider's FAPI 2.0 profile (`features.fapi`), and DPoP with nonces required (`features.dPoP`
   * with a 32-byte `nonceSecret` and `requireNonce: () => true`). @default false
   */
  fapi?: boolean;
}

export interface AuthServerCounters {
  /** GET …/.well-known/openid-configuration */
  discoveryRequests: number;
  /** GET …/jwks */
  jwksRequests: number;
  /** POST …/token, whatever the outcome. */
  tokenRequests: number;
  /** Token requests answered 200 with an access token. */
  tokensIssued: number;
  /** Token requests answered with an error by oidc-provider (4xx/5xx). */
  tokenErrors: number;
  /** Token requests answered 503 by `failNextTokenRequests`. */
  tokenFailuresInjected: number;
  /** Token requests that carried an `API-Key` header (the library must never send it there). */
  tokenRequestsWithApiKey: number;
  /** Token requests authenticated by a client assertion (private_key_jwt, RFC 7523). */
  clientAssertions: number;
  /** Token requests that carried a `DPoP` proof. */
  dpopProofs: number;
  /** Token requests answered `400 use_dpop_nonce` (a DPoP nonce challenge). */
  dpopNonceChallenges: number;
  /** Token requests answered 200 with `token_type: DPoP` (their proof verified by oidc-provider). */
  dpopTokensIssued: number;
  /**
   * Tokens issued, by the scope granted with each (space-separated, as the answer's `scope`; `''` for none):
   * a client that asks for `banking/read` alone gets a token with exactly that, counted under `banking/read`.
   */
  grantsByScope: Record<string, number>;
}

export interface AuthServer {
  /** `http://127.0.0.1:PORT/oidc` */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly counters: Readonly<AuthServerCounters>;
  /** The last errors oidc-provider reported (messages only), newest last. */
  readonly serverErrors: readonly string[];
  /** Answers the next `count` token requests with `503 temporarily_unavailable`. */
  failNextTokenRequests(count: number): void;
  close(): Promise<void>;
}

const MOUNT = '/oidc';

/** A client's registration metadata (RFC 7591 names), as oidc-provider takes it. */
function clientMetadata(c: AuthServerClient): Record<string, unknown> {
  return {
    client_id: c.clientId,
    ...(c.clientSecret !== undefined ? { client_secret: c.clientSecret } : {}),
    ...(c.jwks ? { jwks: c.jwks } : {}),
    ...(c.dpopBoundAccessTokens ? { dpop_bound_access_tokens: true } : {}),
    scope: c.scope,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: c.authMethod ?? 'client_secret_basic',
  };
}

/** FAPI 2.0, and DPoP whose nonces (HKDF of the secret and a 60-second time step) every proof must carry. */
function fapiFeatures(): Record<string, unknown> {
  return {
    fapi: { enabled: true, profile: '2.0' },
    dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => true },
  };
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Counts what oidc-provider made of a token request, once it answered (the body is parsed by then). */
function countTokenAnswer(ctx: KoaContext, counters: AuthServerCounters): void {
  if (ctx.oidc?.body?.['client_assertion_type'] === JWT_BEARER) counters.clientAssertions++;
  const answer = (ctx.body ?? {}) as { error?: unknown; token_type?: unknown; scope?: unknown };
  if (answer.error === 'use_dpop_nonce') counters.dpopNonceChallenges++;
  if (ctx.status === 200 && answer.token_type === 'DPoP') counters.dpopTokensIssued++;
  if (ctx.status === 200) {
    const scope = typeof answer.scope === 'string' ? answer.scope : '';
    counters.grantsByScope[scope] = (counters.grantsByScope[scope] ?? 0) + 1;
  }
}

export async function startAuthServer(options: AuthServerOptions): Promise<AuthServer> {
  const Provider = (await importOidcProvider()).default;
  const { errors } = await import('oidc-provider');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' };

  const counters: AuthServerCounters = {
    discoveryRequests: 0,
    jwksRequests: 0,
    tokenRequests: 0,
    tokensIssued: 0,
    tokenErrors: 0,
    tokenFailuresInjected: 0,
    tokenRequestsWithApiKey: 0,
    clientAssertions: 0,
    dpopProofs: 0,
    dpopNonceChallenges: 0,
    dpopTokensIssued: 0,
    grantsByScope: {},
  };
  const serverErrors: string[] = [];
  let failuresLeft = 0;

  const server = createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}${MOUNT}`;
  const resourceServer = {
    scope: options.scopes.join(' '),
    audience: options.audience,
    accessTokenTTL: options.accessTokenTtlSeconds ?? 600,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'ES256' } },
  };

  const provider = new Provider(issuer, {
    clients: options.clients.map(clientMetadata),
    clientDefaults: { id_token_signed_response_alg: 'ES256' },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    adapter: memoryAdapter(),
    findAccount: async () => undefined,
    scopes: options.scopes,
    ttl: { ClientCredentials: resourceServer.accessTokenTTL },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => options.audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (indicator !== options.audience) throw new errors.InvalidTarget('unknown resource');
          return resourceServer;
        },
      },
      ...(options.fapi ? fapiFeatures() : {}),
    },
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/token') countTokenAnswer(ctx, counters);
  });
  provider.on('server_error', (_ctx, error) => {
    serverErrors.push(error instanceof Error ? error.message : String(error));
  });
  const handle = provider.callback();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    if (path !== MOUNT && !path.startsWith(`${MOUNT}/`)) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    const route = path.slice(MOUNT.length) || '/';
    if (req.method === 'GET' && route === '/.well-known/openid-configuration') counters.discoveryRequests++;
    if (req.method === 'GET' && route === '/jwks') counters.jwksRequests++;
    if (req.method === 'POST' && route === '/token') {
      counters.tokenRequests++;
      if (req.headers['api-key'] !== undefined) counters.tokenRequestsWithApiKey++;
      if (req.headers['dpop'] !== undefined) counters.dpopProofs++;
      if (failuresLeft > 0) {
        failuresLeft--;
        counters.tokenFailuresInjected++;
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(
          JSON.stringify({
            error: 'temporarily_unavailable',
            error_description: 'the token service is briefly unavailable',
          }),
        );
        return;
      }
      res.once('finish', () => {
        if (res.statusCode === 200) counters.tokensIssued++;
        else counters.tokenErrors++;
      });
    }
    // Mount the provider under /oidc the way oidc-provider documents for plain node:http:
    // it derives its mount path from `originalUrl` minus `url`.
    Object.assign(req, { originalUrl: url });
    req.url = url.slice(MOUNT.length) || '/';
    handle(req, res);
  });

  return {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    counters,
    serverErrors,
    failNextTokenRequests(count: number) {
      failuresLeft = count;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
