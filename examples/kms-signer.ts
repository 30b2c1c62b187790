/**
 * private_key_jwt with a signer you own: the private key stays in a KMS, an HSM or Vault, and the library
 * asks your function for each client assertion (once per token request attempt, retries included).
 *
 * This example SIMULATES the KMS with node:crypto and a key read from a file, so that it runs anywhere;
 * the comments in `kmsSign` show where the real call goes. The simulation returns what AWS KMS `Sign`
 * returns for ECDSA_SHA_256: a DER-encoded signature, which JOSE does not use (ES256 wants the raw r || s,
 * 64 bytes), so the conversion below is the code a real KMS signer needs too.
 *
 *   OAUTH_ISSUER=https://auth.example.com OAUTH_CLIENT_ID=… OAUTH_KEY_ID=… \
 *   SIMULATED_KMS_KEY_FILE=client-key.pem [OAUTH_SCOPE=…] \
 *   API_URL=https://api.example.com/accounts [CA_FILE=sandbox-ca.pem] npx tsx examples/kms-signer.ts
 *
 * - OAUTH_KEY_ID: the `kid` of the key in the JWKS you registered (the KMS key's public key, as a JWK).
 * - SIMULATED_KMS_KEY_FILE: an EC P-256 private key, PEM, standing in for the KMS key. With a real KMS there
 *   is no such file: you would set the key's id or ARN instead.
 * - CA_FILE: PEM of a private CA that issued the authorization server's and the API's certificates; leave it
 *   unset when they use public CAs.
 */
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import axios from 'axios';
import { attachAuth, ClientCredentialsProvider, type ClientAssertionSigner } from 'axios-client-credentials';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} (see the top of examples/kms-signer.ts).`);
  return value;
}

const kid = env('OAUTH_KEY_ID');
const scope = process.env['OAUTH_SCOPE'];
const caFile = process.env['CA_FILE'];
const ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
const endpoint = new URL(env('API_URL'));
const simulatedKmsKey = createPrivateKey(readFileSync(env('SIMULATED_KMS_KEY_FILE'), 'utf8'));

/**
 * Signs `message` with ECDSA P-256 / SHA-256 and returns the DER signature, as AWS KMS `Sign` does. With the
 * AWS SDK v3 (`@aws-sdk/client-kms`) the body would be:
 *
 *   const { Signature } = await kms.send(
 *     new SignCommand({ KeyId: process.env.KMS_KEY_ID, Message: message, MessageType: 'RAW',
 *                       SigningAlgorithm: 'ECDSA_SHA_256' }),
 *     { abortSignal: signal },
 *   );
 *   return Buffer.from(Signature!);
 *
 * (not run here). Google Cloud KMS `asymmetricSign` also returns DER (it takes the SHA-256 digest instead of
 * the message); Azure Key Vault's ES256 returns r || s already. Check what yours returns before converting.
 */
async function kmsSign(message: Buffer, signal: AbortSignal): Promise<Buffer> {
  signal.throwIfAborted();
  return sign('sha256', message, { key: simulatedKmsKey, dsaEncoding: 'der' }); // the simulation
}

/** An ECDSA signature from DER (SEQUENCE { INTEGER r, INTEGER s }) to JOSE's r || s, each `size` bytes. */
function derToJose(der: Buffer, size = 32): Buffer {
  let offset = 2 + (der[1]! & 0x80 ? der[1]! & 0x7f : 0); // skip the SEQUENCE tag and length
  const integer = () => {
    if (der[offset] !== 0x02) throw new Error('not a DER ECDSA signature');
    const length = der[offset + 1]!;
    const value = der.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    const unsigned = value.subarray(Math.max(0, value.length - size)); // drops DER's leading 0x00
    return Buffer.concat([Buffer.alloc(size - unsigned.length), unsigned]);
  };
  return Buffer.concat([integer(), integer()]);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The client assertion (RFC 7523 §3): the library says who the client is and the audience to use. */
const clientAssertion: ClientAssertionSigner = async ({ clientId, audience, signal }) => {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'ES256', kid };
  const claims = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    jti: randomBytes(16).toString('base64url'), // never reused: each call signs a new assertion
    iat: now,
    exp: now + 60,
  };
  const input = `${b64url(header)}.${b64url(claims)}`;
  const signature = derToJose(await kmsSign(Buffer.from(input), signal));
  return `${input}.${signature.toString('base64url')}`;
};

const tokens = new ClientCredentialsProvider({
  issuer: env('OAUTH_ISSUER'),
  clientId: env('OAUTH_CLIENT_ID'),
  clientAssertion, // private_key_jwt; the library validates what it returns and bounds it by timeoutMs
  ...(scope ? { scope } : {}),
  ...(ca ? { ca } : {}),
});
tokens.on('token', (e) => console.log(`token valid for ${Math.round((e.lifetimeMs ?? 0) / 60_000)} min`));

const api = axios.create({ baseURL: endpoint.origin, ...(ca ? { httpsAgent: new Agent({ ca }) } : {}) });
attachAuth(api, tokens);

async function main(): Promise<void> {
  const { status, data } = await api.get(`${endpoint.pathname}${endpoint.search}`);
  console.log(`GET ${endpoint.pathname}: ${status}`, JSON.stringify(data));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
});
