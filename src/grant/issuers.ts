/**
 * Apiture's OpenID Connect issuers ("root OIDC authority URLs"), from Apiture's
 * client credentials guide. Use one as the provider's `issuer`:
 *
 * @example
 * new ClientCredentialsProvider({ issuer: apitureIssuers.cat2, clientId, clientSecret, scope: ['banking/read'] })
 */
export const apitureIssuers = Object.freeze({
  /** Production (live) financial institution API environment. */
  production: 'https://auth.apiture.com/oidc/',
  /** Customer Acceptance Test environment. */
  cat: 'https://cat-oidc.apiture-comm-preprod.com/oidc/',
  /** Second Customer Acceptance Test environment. */
  cat2: 'https://cat2-oidc.apiture-comm-preprod.com/oidc/',
} as const);
