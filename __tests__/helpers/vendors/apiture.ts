/**
 * A loopback Apiture environment as /work/shared/vendor-docs/apiture-client-credentials*.txt
 * describe it: an OIDC authority whose root URL ends in `/oidc/`, a discovery document at
 * `<root>.well-known/openid-configuration`, a token endpoint that takes HTTP Basic credentials and
 * form data (`grant_type=client_credentials`, `scope` space-separated) and answers `access_token`,
 * `token_type`, `expires_in` (no refresh token), and a banking API that wants
 * `Authorization: <token_type> <access_token>`.
 */
import { randomBytes } from 'node:crypto';
import { json, startServer, type SeenRequest, type TestServer } from '../http.js';
import { decodeBasic, formOf } from './common.js';

export interface ApitureOptions {
  clientId: string;
  clientSecret: string;
  /** Scopes registered for the application in the Developer Portal. */
  registeredScope: string[];
  /** @default 3600 */
  expiresIn?: number;
}

export interface ApitureIssued {
  accessToken: string;
  tokenType: string;
  scope: string[];
  expiresAt: number;
}

export interface ApitureServer extends TestServer {
  /** The root OIDC authority URL, e.g. `http://127.0.0.1:PORT/oidc/`. */
  issuer: string;
  discoveryUrl: string;
  tokenEndpoint: string;
  /** Base URL of the banking API. */
  apiUrl: string;
  readonly discoveryRequests: SeenRequest[];
  readonly tokenRequests: SeenRequest[];
  readonly apiRequests: SeenRequest[];
  readonly issued: ApitureIssued[];
}

export async function startApitureServer(options: ApitureOptions): Promise<ApitureServer> {
  const issued: ApitureIssued[] = [];
  const discoveryRequests: SeenRequest[] = [];
  const tokenRequests: SeenRequest[] = [];
  const apiRequests: SeenRequest[] = [];
  const server = await startServer((req, res) => {
    const path = req.url.split('?')[0];
    const origin = server.origin;
    if (req.method === 'GET' && path === '/oidc/.well-known/openid-configuration') {
      discoveryRequests.push(req);
      return json(res, 200, {
        issuer: `${origin}/oidc/`,
        authorization_endpoint: `${origin}/oidc/authorize`,
        token_endpoint: `${origin}/oidc/token`,
        userinfo_endpoint: `${origin}/oidc/userinfo`,
        jwks_uri: `${origin}/oidc/jwks`,
        grant_types_supported: ['authorization_code', 'client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        scopes_supported: ['openid', 'banking/read', 'banking/write'],
      });
    }
    if (req.method === 'POST' && path === '/oidc/token') {
      tokenRequests.push(req);
      const client = decodeBasic(req.headers.authorization);
      if (client?.clientId !== options.clientId || client.clientSecret !== options.clientSecret) {
        return json(res, 401, { error: 'invalid_client' }, { 'WWW-Authenticate': 'Basic realm="apiture"' });
      }
      if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
        return json(res, 400, { error: 'invalid_request' });
      const form = formOf(req);
      if (form['grant_type'] !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
      const scope = (form['scope'] ?? '').split(' ').filter(Boolean);
      if (scope.length === 0 || scope.some((s) => !options.registeredScope.includes(s)))
        return json(res, 400, { error: 'invalid_scope' });
      const accessToken = randomBytes(16).toString('hex').toUpperCase();
      const expiresIn = options.expiresIn ?? 3600;
      issued.push({ accessToken, tokenType: 'Bearer', scope, expiresAt: Date.now() + expiresIn * 1000 });
      return json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: expiresIn });
    }
    if (path?.startsWith('/banking/')) {
      apiRequests.push(req);
      const [type, value] = (req.headers.authorization ?? '').split(' ');
      const token = issued.find((t) => t.tokenType === type && t.accessToken === value && Date.now() < t.expiresAt);
      if (!token)
        return json(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      const needed = req.method === 'GET' ? 'banking/read' : 'banking/write';
      if (!token.scope.includes(needed)) {
        return json(
          res,
          403,
          { error: 'insufficient_scope' },
          { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${needed}"` },
        );
      }
      return json(res, 200, { items: [{ id: 'acc-0001', title: 'Everyday checking' }] });
    }
    json(res, 404, { error: 'not_found' });
  });
  return Object.assign(server, {
    issuer: `${server.origin}/oidc/`,
    discoveryUrl: `${server.origin}/oidc/.well-known/openid-configuration`,
    tokenEndpoint: `${server.origin}/oidc/token`,
    apiUrl: `${server.origin}/banking`,
    discoveryRequests,
    tokenRequests,
    apiRequests,
    issued,
  });
}
