import type { InternalAxiosRequestConfig } from 'axios';
import type { ClientCertificate } from '../grant/client-tls.js';
import { ConfigurationError } from '../errors.js';

/**
 * Puts the client certificate on a request `attachAuth` authorizes (mutual TLS, RFC 8705 §3): the
 * request's https agent becomes one that presents the certificate, made once from the instance's own
 * agent (whose settings, such as a private `ca`, it keeps). A request that brings its own agent keeps
 * it: that agent must then carry the certificate itself. axios's fetch and xhr adapters (`agentless`) take
 * no agent: a request through them is refused rather than sent without the certificate its token is bound
 * to. Returns the agent to put back once the adapter settled.
 */
export function presentCertificate(
  config: InternalAxiosRequestConfig,
  agentless: boolean,
  certificate: ClientCertificate,
  instanceAgent: unknown,
): unknown {
  if (agentless) {
    throw new ConfigurationError(
      "This provider's tokens are bound to its client certificate (tls), which only axios's http adapter can present: send with adapter: 'http', not fetch or xhr.",
    );
  }
  const own: unknown = config.httpsAgent;
  if (own === undefined || own === instanceAgent || certificate.owns(own)) {
    config.httpsAgent = certificate.agentFor(own);
  }
  return own;
}
