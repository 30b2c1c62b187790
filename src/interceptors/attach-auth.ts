import type { AxiosInstance } from 'axios';
import { ConfigurationError } from '../errors.js';
import { OriginPolicy } from './origin.js';
import type { ClientCredentialsProvider } from '../provider/token-provider.js';
import { AuthInterceptor } from './auth-interceptor.js';

/** The origins each axios instance sends a provider's token to, across its `attachAuth` handles. */
const attachedOrigins = new WeakMap<AxiosInstance, Set<string>>();

/** Options of {@link attachAuth}. */
export interface AttachAuthOptions {
  /**
   * Origins the token may be sent to, e.g. `['https://api.example.com']`.
   * @default the origin of the instance's `baseURL`
   */
  origins?: readonly string[] | undefined;
  /** Allow sending the token to a plain `http:` origin that is not loopback (RFC 6750 §5.3 requires TLS). @default false */
  allowInsecureHttp?: boolean | undefined;
}

/** What {@link attachAuth} returns. */
export interface AuthHandle {
  /** The origins the token is sent to. */
  readonly origins: readonly string[];
  /** Removes both interceptors; requests already under way finish as they started. */
  detach(): void;
}

/**
 * Adds `Authorization: <token_type> <access_token>` from `provider` to the
 * requests of `api` bound for an allowed origin, replays a 401 once with a
 * fresh token, and turns a 403 into a {@link PermissionError}.
 *
 * The token is set at the very last step, just before axios's adapter sends
 * the request, so every request interceptor, whenever it was registered, has
 * already run and the final URL is the one checked.
 *
 * Several providers may be attached to one instance, each for its own origins
 * (an aggregator calling several banks); an origin already served by another
 * handle on the instance is a {@link ConfigurationError}.
 *
 * @example
 * const api = axios.create({ baseURL: 'https://api.example.com/banking' });
 * const handle = attachAuth(api, tokens);
 * // later: handle.detach();
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export function attachAuth(
  api: AxiosInstance,
  provider: ClientCredentialsProvider,
  options: AttachAuthOptions = {},
): AuthHandle {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError(
      'attachAuth options must be an object, e.g. { origins: ["https://api.example.com"] }, or left out.',
    );
  }
  if (!api || typeof api.request !== 'function' || !api.interceptors) {
    throw new ConfigurationError(
      'attachAuth needs an axios instance as its first argument, e.g. attachAuth(axios.create({ baseURL }), provider).',
    );
  }
  if (
    !provider ||
    typeof provider.getToken !== 'function' ||
    typeof provider.peekToken !== 'function' ||
    typeof provider.invalidate !== 'function'
  ) {
    throw new ConfigurationError('attachAuth needs a ClientCredentialsProvider as its second argument.');
  }
  const policy = OriginPolicy.fromOptions(options.origins, api.defaults.baseURL, options.allowInsecureHttp === true);
  const attached = attachedOrigins.get(api) ?? new Set<string>();
  const overlap = policy.origins.find((origin) => attached.has(origin));
  if (overlap !== undefined) {
    throw new ConfigurationError(
      `attachAuth: ${overlap} already gets the token of another attachAuth on this instance; each origin may have one provider. Detach the other first, or give each provider its own origins.`,
    );
  }
  for (const origin of policy.origins) attached.add(origin);
  attachedOrigins.set(api, attached);
  const auth = new AuthInterceptor(api, provider, policy);
  let detached = false;
  const requestId = api.interceptors.request.use((config) => auth.onRequest(config), undefined, { synchronous: true });
  const responseId = api.interceptors.response.use(undefined, (error: unknown) => auth.onError(error));
  return {
    origins: policy.origins,
    detach() {
      if (!detached) for (const origin of policy.origins) attached.delete(origin);
      detached = true;
      auth.detach();
      api.interceptors.request.eject(requestId);
      api.interceptors.response.eject(responseId);
    },
  };
}
