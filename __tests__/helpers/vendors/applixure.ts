/**
 * A loopback Applixure AAS as /work/shared/vendor-docs/applixure-client-credentials.txt describes
 * it: a form-encoded UTF-8 request with `grant_type` and `scope`; the key id and secret as HTTP
 * Basic (recommended) or as `client_id`/`client_secret` in the body; a granted `scope` that may be
 * a subset of the one asked; `token_type: "bearer"`, `expires_in: 3600`, no refresh token; 400 with
 * an RFC 6749 §5.2 body; 500 and 503 for temporary failures.
 */
import { randomBytes } from 'node:crypto';
import { json, startServer, type SeenRequest, type TestServer } from '../http.js';
import { decodeBasic, formOf } from './common.js';

export interface ApplixureOptions {
  keyId: string;
  keySecret: string;
  /** Scopes the key's account may have: asking for more grants the intersection. */
  allowedScope: string[];
  /** Default scopes of the client registration, used when none is asked. @default none */
  defaultScope?: string[];
}

export interface ApplixureServer extends TestServer {
  tokenUrl: string;
  apiUrl: string;
  readonly tokenRequests: SeenRequest[];
  readonly apiRequests: SeenRequest[];
  readonly issued: { accessToken: string; scope: string }[];
  /** Answers the next token requests with these statuses (500: temporary error; 503: AAS offline). */
  failNext(...statuses: (500 | 503)[]): void;
}

const ERROR_URI = 'https://docs.applixure.com/errors';

export async function startApplixureServer(options: ApplixureOptions): Promise<ApplixureServer> {
  const tokenRequests: SeenRequest[] = [];
  const apiRequests: SeenRequest[] = [];
  const issued: ApplixureServer['issued'] = [];
  const failures: (500 | 503)[] = [];
  const invalid = (res: Parameters<typeof json>[0], error: string, description: string) =>
    json(res, 400, { error, error_description: description, error_uri: `${ERROR_URI}#${error}` });
  const server = await startServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === '/oauth2/token') {
      tokenRequests.push(req);
      const failure = failures.shift();
      if (failure === 500)
        return json(res, 500, { error: 'server_error', error_description: 'Temporary error, retry after a while' });
      if (failure === 503)
        return json(res, 503, { error: 'temporarily_unavailable', error_description: 'AAS is temporarily offline' });
      if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
        return invalid(res, 'invalid_request', 'Expected application/x-www-form-urlencoded');
      const form = formOf(req);
      const fromBody =
        form['client_id'] !== undefined
          ? { clientId: form['client_id'], clientSecret: form['client_secret'] ?? '' }
          : undefined;
      const key = decodeBasic(req.headers.authorization) ?? fromBody;
      if (key?.clientId !== options.keyId || key.clientSecret !== options.keySecret)
        return invalid(res, 'invalid_client', 'Unknown API credential keypair');
      if (form['grant_type'] !== 'client_credentials')
        return invalid(res, 'unsupported_grant_type', 'Only client_credentials is supported here');
      const asked =
        form['scope'] !== undefined ? form['scope'].split(' ').filter(Boolean) : (options.defaultScope ?? []);
      if (asked.length === 0)
        return invalid(res, 'invalid_scope', 'No scope requested and no default scopes are defined');
      const granted = asked.filter((s) => options.allowedScope.includes(s));
      if (granted.length === 0) return invalid(res, 'invalid_scope', 'None of the requested scopes is allowed');
      const accessToken = randomBytes(48).toString('base64url');
      const scope = granted.join(' ');
      issued.push({ accessToken, scope });
      return json(res, 200, { access_token: accessToken, token_type: 'bearer', expires_in: 3600, scope });
    }
    if (path?.startsWith('/api/')) {
      apiRequests.push(req);
      const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!issued.some((t) => t.accessToken === token))
        return json(res, 401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      return json(res, 200, { ok: true });
    }
    json(res, 404, { error: 'not_found' });
  });
  return Object.assign(server, {
    tokenUrl: `${server.origin}/oauth2/token`,
    apiUrl: `${server.origin}/api`,
    tokenRequests,
    apiRequests,
    issued,
    failNext: (...statuses: (500 | 503)[]) => void failures.push(...statuses),
  });
}
