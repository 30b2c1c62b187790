// The three ways of calling a protected API that the benchmark compares, built the same way for
// every figure:
// - ours: axios-client-credentials from the BUILT package (dist/, through the package's exports);
// - peer: axios-oauth-client + axios-token-interceptor + axios-auth-refresh wired as their
//   READMEs show, with their documented defaults;
// - bare: plain axios with a fixed Authorization header (the cost floor).
import axios from 'axios';
import { ClientCredentialsProvider, attachAuth } from 'axios-client-credentials';
import { createAuthRefreshInterceptor } from 'axios-auth-refresh';
import { clientCredentials } from 'axios-oauth-client';
import tokenProvider from 'axios-token-interceptor';
import { CLIENT } from './servers.mjs';

/** An axios adapter that answers at once, without any network: isolates the client's own cost. */
export const instantAdapter = (config) =>
  Promise.resolve({ data: { ok: true }, status: 200, statusText: 'OK', headers: {}, config, request: {} });

/** Our library: one provider, attachAuth on a fresh instance. `providerOptions` go to the provider. */
export function createOurs({ tokenUrl, baseURL, adapter, ...providerOptions }) {
  const provider = new ClientCredentialsProvider({
    tokenUrl,
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    ...providerOptions,
  });
  const api = axios.create({ baseURL, ...(adapter ? { adapter } : {}) });
  const handle = attachAuth(api, provider);
  return {
    api,
    provider,
    handle,
    /** Forgets the cached token, as a revocation seen by the client would. */
    dropToken() {
      const token = provider.peekToken();
      if (token) provider.invalidate(token);
    },
  };
}

/**
 * The stack users assemble today, exactly as the three READMEs show:
 * - axios-oauth-client: `clientCredentials(axios.create(), url, id, secret)`;
 * - axios-token-interceptor: `tokenProvider.tokenCache(fn, { getMaxAge: (body) => body.expires_in * 1000 })`
 *   and `tokenProvider({ getToken: cache, headerFormatter: (body) => 'Bearer ' + body.access_token })`;
 * - axios-auth-refresh: `createAuthRefreshInterceptor(instance, refreshAuthLogic)` whose logic gets
 *   a new token and sets it on `failedRequest.response.config.headers`, default options.
 */
export function createPeer({ tokenUrl, baseURL, adapter }) {
  const getClientCredentials = clientCredentials(axios.create(), tokenUrl, CLIENT.id, CLIENT.secret);
  const cache = tokenProvider.tokenCache(() => getClientCredentials(), {
    getMaxAge: (body) => body.expires_in * 1000,
  });
  const api = axios.create({ baseURL, ...(adapter ? { adapter } : {}) });
  api.interceptors.request.use(
    tokenProvider({
      getToken: cache,
      headerFormatter: (body) => 'Bearer ' + body.access_token,
    }),
  );
  const refreshAuthLogic = (failedRequest) => {
    cache.reset();
    return cache().then((body) => {
      failedRequest.response.config.headers['Authorization'] = 'Bearer ' + body.access_token;
    });
  };
  createAuthRefreshInterceptor(api, refreshAuthLogic);
  return { api, cache, dropToken: () => cache.reset() };
}

/** Plain axios with a fixed Authorization header: no token logic at all. */
export function createBare({ baseURL, adapter, token = 'fixed-token' }) {
  return {
    api: axios.create({ baseURL, ...(adapter ? { adapter } : {}), headers: { Authorization: `Bearer ${token}` } }),
  };
}
