/**
 * The FAPI demo's attacker: a wiretap that captures one request as it leaves the client (its DPoP
 * token, its proof, the API key) and the nonce of its answer, and the four ways the attacker then
 * tries to use them. A DPoP-bound token is worth nothing without the key it is bound to: each try
 * must be refused.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Agent } from 'node:http';
import axios, { type AxiosAdapter, type AxiosResponse } from 'axios';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/** What the wiretap saw of one request and its answer. */
export interface Captured {
  /** The URL the request went to, without query. */
  url: string;
  /** `DPoP <token>` */
  authorization: string;
  /** The request's DPoP proof. */
  proof: string;
  apiKey: string;
  /** The `DPoP-Nonce` the API answered with. */
  nonce: string | undefined;
}

/** A per-request adapter that records what axios's http adapter sends and what comes back. */
export function wiretap(): { adapter: AxiosAdapter; captured(): Captured | undefined } {
  let captured: Captured | undefined;
  const http = (axios.getAdapter as (name: string) => AxiosAdapter)('http');
  const adapter: AxiosAdapter = async (config) => {
    const header = (name: string) => String(config.headers.get(name) ?? '');
    const response = await http(config);
    captured = {
      url: axios.getUri(config).split('?')[0] ?? '',
      authorization: header('authorization'),
      proof: header('dpop'),
      apiKey: header('api-key'),
      nonce: typeof response.headers['dpop-nonce'] === 'string' ? response.headers['dpop-nonce'] : undefined,
    };
    return response;
  };
  return { adapter, captured: () => captured };
}

/** One attempt and how the API answered it. */
export interface Attempt {
  what: string;
  status: number;
  /** The `error_description` of the API's challenge. */
  refusal: string;
}

/** A proof the attacker signs with a key of its own, right in every claim but the key. */
async function ownProof(captured: Captured, token: string): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const claims = {
    htm: 'GET',
    htu: captured.url,
    jti: randomUUID(),
    ath: createHash('sha256').update(token, 'ascii').digest('base64url'),
    ...(captured.nonce !== undefined ? { nonce: captured.nonce } : {}),
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
    .setIssuedAt()
    .sign(privateKey);
}

/** The attacker's four tries with what the wiretap captured, each answered 401 if the API holds. */
export async function useStolen(captured: Captured, agent: Agent): Promise<Attempt[]> {
  const token = captured.authorization.replace(/^DPoP /, '');
  const send = async (what: string, method: 'GET' | 'POST', headers: Record<string, string>, url = captured.url) => {
    const answer: AxiosResponse = await axios.request({
      method,
      url,
      headers: { 'API-Key': captured.apiKey, ...headers },
      ...(method === 'POST' ? { data: { type: 'internal', amount: '9999.00' } } : {}),
      httpAgent: agent,
      validateStatus: () => true,
    });
    const challenge = String(answer.headers['www-authenticate'] ?? '');
    return { what, status: answer.status, refusal: /error_description="([^"]*)"/.exec(challenge)?.[1] ?? '' };
  };
  const transfers = new URL('../transfers', captured.url).href;
  return [
    await send('as a bearer token', 'GET', { Authorization: `Bearer ${token}` }),
    await send('with the captured proof again', 'GET', { Authorization: captured.authorization, DPoP: captured.proof }),
    await send(
      'on POST /transfers',
      'POST',
      { Authorization: captured.authorization, DPoP: captured.proof },
      transfers,
    ),
    await send('with a proof of its own key', 'GET', {
      Authorization: captured.authorization,
      DPoP: await ownProof(captured, token),
    }),
  ];
}
