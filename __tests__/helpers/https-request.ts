/**
 * Plain https requests for the harness suites (oidc-harness, dpop-harness), which exercise the test
 * servers without the library: one request per connection, the answer read as JSON.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import type { Pem } from './tls.js';

/** The `client_assertion_type` of a JWT client assertion (RFC 7523). */
export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** An answer: its status, headers and JSON body (`{ text }` when the body is not JSON). */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** What {@link fetchJson} sends. */
export interface FetchJsonOptions {
  /** The CA to trust (PEM). */
  ca: string;
  /** A client certificate to present in the handshake. */
  certificate?: Pem;
  /** @default 'POST' with a form, else 'GET' */
  method?: string;
  /** Sent as `application/x-www-form-urlencoded`. */
  form?: Record<string, string>;
  /** On top of `Accept: application/json`; an array is sent as that many header lines. */
  headers?: Record<string, string | string[]>;
}

/** One https request on its own connection (no agent), trusting `ca`, presenting `certificate` if given. */
export function fetchJson(url: string, options: FetchJsonOptions): Promise<Reply> {
  const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? (body ? 'POST' : 'GET'),
        agent: false,
        ca: options.ca,
        ...(options.certificate ? { cert: options.certificate.cert, key: options.certificate.key } : {}),
        headers: {
          accept: 'application/json',
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            parsed = { text };
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The claims of a JWT from a reply (an access token, an assertion), unverified; throws on anything but a string. */
export function jwtPayload(token: unknown): Record<string, unknown> {
  if (typeof token !== 'string') throw new TypeError(`not a JWT: ${String(token)}`);
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
