/**
 * A loopback Login 3.0 tenant as /work/shared/vendor-docs/login3-client-credentials.txt describes
 * it: `POST /oauth/token`, form-encoded, with `grant_type`, `client_id`, `client_secret` and
 * `audience` in the body and an optional `organization`; answers
 * `{ access_token: <JWT>, token_type: 'Bearer', expires_in: 86400 }`; the API wants
 * `authorization: Bearer ACCESS_TOKEN` with a token for its audience (and organization).
 */
import { json, startServer, type SeenRequest, type TestServer } from '../http.js';
import { formOf } from './common.js';
import { startJose } from './jose.js';

export interface Login3Options {
  clientId: string;
  clientSecret: string;
  /** The API identifier. */
  audience: string;
}

export interface Login3Server extends TestServer {
  tokenUrl: string;
  apiUrl: string;
  readonly tokenRequests: SeenRequest[];
  readonly apiCalls: { status: number; claims: Record<string, unknown> | undefined }[];
}

export async function startLogin3Server(options: Login3Options): Promise<Login3Server> {
  const jose = startJose();
  const tokenRequests: SeenRequest[] = [];
  const apiCalls: Login3Server['apiCalls'] = [];
  const server = await startServer(async (req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === '/oauth/token') {
      tokenRequests.push(req);
      if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded'))
        return json(res, 400, { error: 'invalid_request' });
      const form = formOf(req);
      if (form['grant_type'] !== 'client_credentials') return json(res, 400, { error: 'unsupported_grant_type' });
      if (form['client_id'] !== options.clientId || form['client_secret'] !== options.clientSecret) {
        return json(res, 401, { error: 'access_denied', error_description: 'Unauthorized' });
      }
      if (form['audience'] !== options.audience)
        return json(res, 403, { error: 'access_denied', error_description: 'Service not enabled within domain' });
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: `${server.origin}/`,
        sub: `${options.clientId}@clients`,
        aud: options.audience,
        iat: now,
        exp: now + 86400,
        ...(form['organization'] ? { org_id: form['organization'] } : {}),
      };
      return json(res, 200, { access_token: await jose.sign(claims), token_type: 'Bearer', expires_in: 86400 });
    }
    if (path === '/api') {
      const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const claims = token ? await jose.verify(token).catch(() => undefined) : undefined;
      const status = claims && claims['aud'] === options.audience ? 200 : 401;
      apiCalls.push({ status, claims });
      return status === 200
        ? json(res, 200, { ok: true, org: claims?.['org_id'] ?? null })
        : json(res, 401, { error: 'invalid_token' });
    }
    json(res, 404, { error: 'not_found' });
  });
  return Object.assign(server, {
    tokenUrl: `${server.origin}/oauth/token`,
    apiUrl: `${server.origin}/api`,
    tokenRequests,
    apiCalls,
  });
}
