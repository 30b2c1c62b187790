/**
 * A loopback `/oauth/v2/token` JWT API as /work/shared/vendor-docs/oauth-v2-token-jwt-api.txt
 * describes it: HTTP Basic credentials, `grant_type=client_credentials` form-encoded as the only
 * body parameter, `{ token_type: 'Bearer', expires_in: 3600, access_token: <JWT> }`, HTTP 401 for
 * invalid credentials; the API verifies the JWT (with jose) on every call, answers 401 for a token
 * it does not accept and 403 where the account lacks permission.
 */
import type { ServerResponse } from 'node:http';
import { json, startServer, type SeenRequest, type TestServer } from '../http.js';
import { decodeBasic, formOf } from './common.js';
import { startJose, type JwtKit } from './jose.js';

export interface OauthV2JwtOptions {
  clientId: string;
  clientSecret: string;
  /** `expires_in` sent; `null` leaves it out (the JWT's `exp` still says when it expires). @default 3600 */
  expiresIn?: number | null;
  /** Lifetime written in the JWT's `exp`, in s. @default expiresIn, else 3600 */
  jwtLifetimeSeconds?: number;
  /** Body of the 401 for invalid credentials; `null` sends none. @default an RFC 6749 §5.2 `invalid_client` */
  unauthorizedBody?: Record<string, unknown> | null;
}

export interface OauthV2JwtServer extends TestServer {
  tokenUrl: string;
  /** `GET` answers 200 for a valid JWT. */
  accountsUrl: string;
  /** `GET` answers 403 for a valid JWT ("check account permissions and access"). */
  restrictedUrl: string;
  readonly tokenRequests: SeenRequest[];
  /** API calls: the token they carried and the status they got. */
  readonly apiCalls: { authorization: string | undefined; status: number }[];
  /** Tokens issued, in order. */
  readonly issued: string[];
  /** From now on the API rejects every token issued so far (as after a key rotation). */
  revokeIssued(): void;
  /** From now on the API rejects every token, even fresh ones (the client may not use it). */
  refuseAll(): void;
  jose: JwtKit;
}

export async function startOauthV2JwtServer(options: OauthV2JwtOptions): Promise<OauthV2JwtServer> {
  const jose = startJose();
  const tokenRequests: SeenRequest[] = [];
  const apiCalls: OauthV2JwtServer['apiCalls'] = [];
  const issued: string[] = [];
  const revoked = new Set<string>();
  const state = { refuseAll: false };
  const expiresIn = options.expiresIn === undefined ? 3600 : options.expiresIn;
  const lifetime = options.jwtLifetimeSeconds ?? expiresIn ?? 3600;

  const api = async (req: SeenRequest, res: ServerResponse, path: string): Promise<number> => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const claims =
      token && !revoked.has(token) && !state.refuseAll ? await jose.verify(token).catch(() => undefined) : undefined;
    if (!claims) {
      json(
        res,
        401,
        { error: 'unauthorized', message: 'Check token validity or credentials.' },
        { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
      );
      return 401;
    }
    if (path === '/api/v1/restricted') {
      json(res, 403, { error: 'forbidden', message: 'Check account permissions and access.' });
      return 403;
    }
    json(res, 200, { ok: true, subject: claims['sub'] });
    return 200;
  };

  const server = await startServer(async (req, res) => {
    const path = req.url.split('?')[0] ?? '';
    if (req.method === 'POST' && path === '/oauth/v2/token') {
      tokenRequests.push(req);
      const client = decodeBasic(req.headers.authorization);
      if (client?.clientId !== options.clientId || client.clientSecret !== options.clientSecret) {
        const body =
          options.unauthorizedBody === undefined
            ? { error: 'invalid_client', error_description: 'Invalid client credentials' }
            : options.unauthorizedBody;
        if (body === null) {
          res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="oauth"' });
          return void res.end();
        }
        return json(res, 401, body, { 'WWW-Authenticate': 'Basic realm="oauth"' });
      }
      if (
        !(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ||
        formOf(req)['grant_type'] !== 'client_credentials'
      ) {
        return json(res, 400, { error: 'invalid_request' });
      }
      const now = Math.floor(Date.now() / 1000);
      const accessToken = await jose.sign({ sub: options.clientId, iat: now, exp: now + lifetime });
      issued.push(accessToken);
      return json(res, 200, {
        token_type: 'Bearer',
        ...(expiresIn === null ? {} : { expires_in: expiresIn }),
        access_token: accessToken,
      });
    }
    if (path.startsWith('/api/v1/')) {
      const status = await api(req, res, path);
      apiCalls.push({ authorization: req.headers.authorization, status });
      return;
    }
    json(res, 404, { error: 'not_found' });
  });
  return Object.assign(server, {
    tokenUrl: `${server.origin}/oauth/v2/token`,
    accountsUrl: `${server.origin}/api/v1/accounts`,
    restrictedUrl: `${server.origin}/api/v1/restricted`,
    tokenRequests,
    apiCalls,
    issued,
    revokeIssued: () => issued.forEach((t) => revoked.add(t)),
    refuseAll: () => void (state.refuseAll = true),
    jose,
  });
}
