/**
 * Apiture's OpenID Connect issuers, on a subpath of their own so that only the applications that talk to
 * Apiture carry them: `import { apitureIssuers } from 'axios-client-credentials/apiture'`. The package's
 * main entry exports the same object too.
 *
 * @module axios-client-credentials/apiture
 */
export { apitureIssuers } from './grant/issuers.js';
