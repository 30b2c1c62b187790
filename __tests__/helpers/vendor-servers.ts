/**
 * Loopback stand-ins for the three vendors whose examples do not use the demo's oidc-provider:
 * each serves a token endpoint and one API route, and behaves as its vendor document
 * (/work/shared/vendor-docs/) says. Plain node:http, so jest can run them in-process.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { json, startServer, type SeenRequest, type TestServer } from './http.js';

export interface VendorServer extends TestServer {
  tokenUrl: string;
  /** The API route the example calls. */
  apiUrl: string;
  /** Token requests received, with their form fields. */
  readonly tokenRequests: { headers: SeenRequest['headers']; form: Record<string, string> }[];
  /** API requests received and the status each was answered. */
  readonly apiRequests: { authorization: string | undefined; status: number }[];
}

export interface Credentials {
  clientId: string;
  clientSecret: string;
}

// ── a little JWT, HS256, enough for "the access token is a JWT the API verifies" ────────────────
const b64url = (value: Buffer | string) => Buffer.from(value).toString('base64url');

function signJwt(payload: Record<string, unknown>, key: Buffer): string {
  const body = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(payload))}`;
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

function verifyJwt(token: string, key: Buffer): Record<string, unknown> | undefined {
  const [header, payload, signature] = token.split('.');
  if (!header || !payload || !signature) return undefined;
  const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  return typeof claims['exp'] === 'number' && claims['exp'] * 1000 > Date.now() ? claims : undefined;
}

/** RFC 6749 §2.3.1: the id and secret are form-urlencoded, joined by ':', then base64-encoded. */
function basicCredentials(authorization: string | undefined): Credentials | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
}

const form = (req: SeenRequest): Record<string, string> =>
  Object.fromEntries(new URLSearchParams(req.body.toString('utf8')));
const isForm = (req: SeenRequest) =>
  (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
const same = (a: Credentials | undefined, b: Credentials) =>
  a?.clientId === b.clientId && a.clientSecret === b.clientSecret;

interface Routes {
  tokenPath: string;
  /** API routes; the first is `apiUrl`. */
  apiPaths: string[];
  token(req: SeenRequest, res: ServerResponse, fields: Record<string, string>): void;
  api(req: SeenRequest, res: ServerResponse): number;
}

async function startVendor(routes: Routes): Promise<VendorServer> {
  const tokenRequests: VendorServer['tokenRequests'] = [];
  const apiRequests: VendorServer['apiRequests'] = [];
  const server = await startServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === routes.tokenPath) {
      const fields = form(req);
      tokenRequests.push({ headers: req.headers, form: fields });
      return routes.token(req, res, fields);
    }
    if (routes.apiPaths.includes(path ?? '')) {
      const status = routes.api(req, res);
      apiRequests.push({ authorization: req.headers.authorization, status });
      return;
    }
    json(res, 404, { error: 'not_found' });
  });
  return Object.assign(server, {
    tokenUrl: `${server.url}${routes.tokenPath}`,
    apiUrl: `${server.url}${routes.apiPaths[0]}`,
    tokenRequests,
    apiRequests,
  });
}

/**
 * Answers an API route: 401 with a Bearer challenge unless the request carries a valid Bearer JWT
 * that passes `check`; then `special(path)` if it answers, else 200.
 */
function bearerApi(
  key: Buffer,
  check: (claims: Record<string, unknown>) => boolean = () => true,
  special: (path: string) => { status: number; body: unknown } | undefined = () => undefined,
) {
  return (req: SeenRequest, res: ServerResponse): number => {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const claims = match?.[1] ? verifyJwt(match[1], key) : undefined;
    if (!claims || !check(claims)) {
      json(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      return 401;
    }
    const answer = special(req.url.split('?')[0] ?? '');
    if (answer) {
      json(res, answer.status, answer.body);
      return answer.status;
    }
    json(res, 200, { ok: true, subject: claims['sub'], scope: claims['scope'] ?? null });
    return 200;
  };
}

// ── The `/oauth/v2/token` JWT API ───────────────────────────────────────────────────────────────
/**
 * Basic credentials; the body is `grant_type=client_credentials` and nothing else is needed;
 * `{ token_type: 'Bearer', expires_in: 3600, access_token: <JWT> }`; invalid credentials → 401.
 * `/api/v1/accounts` answers 200; `/api/v1/restricted` answers 403 ("check account permissions").
 */
export async function startOauthV2JwtServer(client: Credentials): Promise<VendorServer & { restrictedUrl: string }> {
  const key = randomBytes(32);
  const server = await startVendor({
    tokenPath: '/oauth/v2/token',
    apiPaths: ['/api/v1/accounts', '/api/v1/restricted'],
    token(req, res, fields) {
      if (!same(basicCredentials(req.headers.authorization), client)) {
        return json(
          res,
          401,
          { error: 'invalid_client', error_description: 'Invalid client credentials' },
          { 'WWW-Authenticate': 'Basic realm="oauth"' },
        );
      }
      if (!isForm(req) || fields['grant_type'] !== 'client_credentials')
        return json(res, 400, { error: 'unsupported_grant_type' });
      const now = Math.floor(Date.now() / 1000);
      json(res, 200, {
        token_type: 'Bearer',
        expires_in: 3600,
        access_token: signJwt({ sub: client.clientId, iat: now, exp: now + 3600 }, key),
      });
    },
    api: bearerApi(
      key,
      () => true,
      (path) =>
        path === '/api/v1/restricted'
          ? { status: 403, body: { error: 'forbidden', message: 'Check account permissions and access.' } }
          : undefined,
    ),
  });
  return Object.assign(server, { restrictedUrl: `${server.url}/api/v1/restricted` });
}

// ── Applixure ───────────────────────────────────────────────────────────────────────────────────
export interface ApplixureOptions extends Credentials {
  /** Scopes this key may have; asking for more grants the intersection (a subset). */
  allowedScope: string[];
  /** Answer the first N token requests with this status (500 or 503: "retry after a while"). */
  failFirst?: { count: number; status: 500 | 503 };
}

/**
 * Form-encoded request with `grant_type` and `scope`; credentials as HTTP Basic (recommended) or
 * as `client_id`/`client_secret` in the body; the granted `scope` may be a subset of the one asked;
 * `token_type: "bearer"` (lower case), `expires_in: 3600`, no refresh token; 400 with an RFC 6749
 * §5.2 body; 500 and 503 are temporary.
 */
export async function startApplixureServer(options: ApplixureOptions): Promise<VendorServer> {
  const key = randomBytes(32);
  let failuresLeft = options.failFirst?.count ?? 0;
  return startVendor({
    tokenPath: '/oauth2/token',
    apiPaths: ['/api/v1/accounts'],
    token(req, res, fields) {
      if (failuresLeft > 0) {
        failuresLeft--;
        return json(res, options.failFirst!.status, { error: 'temporarily_unavailable' });
      }
      if (!isForm(req))
        return json(res, 400, {
          error: 'invalid_request',
          error_description: 'Expected application/x-www-form-urlencoded',
        });
      const body =
        fields['client_id'] !== undefined
          ? { clientId: fields['client_id'], clientSecret: fields['client_secret'] ?? '' }
          : undefined;
      if (!same(basicCredentials(req.headers.authorization) ?? body, options)) {
        return json(res, 400, { error: 'invalid_client', error_description: 'Unknown API credential keypair' });
      }
      if (fields['grant_type'] !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
      const asked = (fields['scope'] ?? '').split(' ').filter(Boolean);
      if (asked.length === 0)
        return json(res, 400, {
          error: 'invalid_scope',
          error_description: 'No scope requested and no default scopes are defined',
        });
      const granted = asked.filter((s) => options.allowedScope.includes(s));
      if (granted.length === 0)
        return json(res, 400, { error: 'invalid_scope', error_description: 'None of the requested scopes is allowed' });
      const now = Math.floor(Date.now() / 1000);
      const scope = granted.join(' ');
      json(res, 200, {
        access_token: signJwt({ sub: options.clientId, scope, iat: now, exp: now + 3600 }, key),
        token_type: 'bearer',
        expires_in: 3600,
        scope,
      });
    },
    api: bearerApi(key),
  });
}

// ── Login 3.0 ───────────────────────────────────────────────────────────────────────────────────
export interface Login3Options extends Credentials {
  audience: string;
  /** When set, token requests must name this organization and the API requires it. */
  organization?: string;
}

/**
 * `POST /oauth/token`, form-encoded, with `grant_type`, `client_id`, `client_secret` and
 * `audience` in the body and an optional `organization`; answers
 * `{ access_token: <JWT>, token_type: 'Bearer', expires_in: 86400 }`.
 */
export async function startLogin3Server(options: Login3Options): Promise<VendorServer> {
  const key = randomBytes(32);
  return startVendor({
    tokenPath: '/oauth/token',
    apiPaths: ['/api/orders'],
    token(req, res, fields) {
      if (!isForm(req))
        return json(res, 400, {
          error: 'invalid_request',
          error_description: 'Expected application/x-www-form-urlencoded',
        });
      if (fields['grant_type'] !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
      if (!same({ clientId: fields['client_id'] ?? '', clientSecret: fields['client_secret'] ?? '' }, options)) {
        return json(res, 401, { error: 'access_denied', error_description: 'Unauthorized' });
      }
      if (fields['audience'] !== options.audience)
        return json(res, 403, { error: 'access_denied', error_description: 'Service not enabled within domain' });
      if (options.organization !== undefined && fields['organization'] !== options.organization) {
        return json(res, 400, { error: 'invalid_request', error_description: 'organization is required' });
      }
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        sub: `${options.clientId}@clients`,
        aud: options.audience,
        iat: now,
        exp: now + 86400,
        ...(options.organization ? { org_id: options.organization } : {}),
      };
      json(res, 200, { access_token: signJwt(claims, key), token_type: 'Bearer', expires_in: 86400 });
    },
    api: bearerApi(
      key,
      (claims) =>
        claims['aud'] === options.audience &&
        (options.organization === undefined || claims['org_id'] === options.organization),
    ),
  });
}
