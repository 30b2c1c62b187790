export { ClientCredentialsProvider } from './token-provider.js';
export type { GetTokenOptions } from './token-provider.js';
export type { ClientCredentialsOptions } from './options.js';
export { attachAuth } from './interceptors/attach-auth.js';
export type { AttachAuthOptions, AuthHandle } from './interceptors/attach-auth.js';
export type { RequestAuthOptions } from './axios-config.js';
export {
  ClientCredentialsError,
  ConfigurationError,
  TokenEndpointError,
  DiscoveryError,
  AuthenticationError,
  PermissionError,
} from './errors.js';
export type { ClientCredentialsErrorCode, TokenEndpointErrorDetails, AuthenticationFailure } from './errors.js';
export type { AccessToken, TokenResponse } from './token-response.js';
export type { ClientAuthMethod } from './client-auth.js';
export type { RetryOptions } from './retry.js';
export { CHANNELS } from './events.js';
export type { ProviderEvents, ProviderEventName, TokenEvent, ErrorEvent, RetryEvent, ReplayEvent, DeniedEvent, Listener } from './events.js';
export type { RetryInfo } from './grant.js';
export { memoryStore, MemoryTokenStore } from './token-store.js';
export type { TokenStore } from './token-store.js';
export { parseBearerChallenge } from './www-authenticate.js';
export type { BearerChallenge } from './www-authenticate.js';
export { apitureIssuers } from './issuers.js';
export { hasScope } from './scope.js';
