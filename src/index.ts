export { ClientCredentialsProvider } from './provider/token-provider.js';
export type { GetTokenOptions, TokenSelection } from './provider/token-provider.js';
export type { ClientCredentialsOptions } from './options.js';
export { attachAuth } from './interceptors/attach-auth.js';
export type { AttachAuthOptions, AuthHandle } from './interceptors/attach-auth.js';
export type { RequestAuthOptions } from './interceptors/axios-config.js';
export {
  ClientCredentialsError,
  ConfigurationError,
  TokenEndpointError,
  DiscoveryError,
  AuthenticationError,
  PermissionError,
} from './errors.js';
export type { ClientCredentialsErrorCode, TokenEndpointErrorDetails, AuthenticationFailure } from './errors.js';
export type { AccessToken, TokenResponse } from './grant/token-response.js';
export type { ClientAuthMethod, ClientAssertionSigner } from './grant/client-auth.js';
export type { AssertionAudience } from './grant/client-credential.js';
export type { ClientTlsOptions } from './grant/client-tls.js';
export type { PrivateKeyInput } from './grant/signing-key.js';
export type { DpopKeyPair } from './grant/dpop.js';
export type { RetryOptions } from './grant/retry.js';
export { CHANNELS } from './events.js';
export type {
  ProviderEvents,
  ProviderEventName,
  TokenEvent,
  ErrorEvent,
  RetryEvent,
  ReplayEvent,
  DeniedEvent,
  Listener,
} from './events.js';
export type { RetryInfo } from './grant/send.js';
export { memoryStore, MemoryTokenStore } from './provider/token-store.js';
export type { TokenStore } from './provider/token-store.js';
export { parseBearerChallenge } from './interceptors/www-authenticate.js';
export type { BearerChallenge } from './interceptors/www-authenticate.js';
export { apitureIssuers } from './grant/issuers.js';
export { hasScope } from './util/scope.js';
