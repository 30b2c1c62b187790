/**
 * The bank API of the demo: a node:http server implementing examples/apiture/openapi.yaml with
 * in-memory data, on 127.0.0.1, under `/banking` (as `https://api.apiture.com/banking`).
 *
 * Every call needs the `API-Key` header and a JWT access token, verified with jose against the
 * authorization server's JWKS, issuer and audience (RFC 9068 `at+jwt`). Scopes are enforced per
 * operation. 401 and 403 carry RFC 6750 challenges; bodies are RFC 7807 problems.
 *
 * With `dpop`, the API takes DPoP-bound tokens only (RFC 9449): `Authorization: DPoP <token>` and a
 * `DPoP` proof that demo/dpop-verifier.ts checks, signed by the key the token's `cnf.jkt` names; its
 * challenges use the DPoP scheme, and with `requireNonce` every answer carries its `DPoP-Nonce`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { DPOP_ALGORITHMS, DpopRefusal, DpopVerifier } from './dpop-verifier.js';
import { listen } from './listen.js';

export interface BankApiOptions {
  /** The authorization server's issuer; tokens must carry it as `iss`. */
  issuer: string;
  jwksUri: string;
  /** The `aud` tokens must carry. */
  audience: string;
  /** The `API-Key` value every call must send. */
  apiKey: string;
  /** Take DPoP-bound tokens only, each call with a proof; with `requireNonce`, demand the API's own nonce. */
  dpop?: { requireNonce?: boolean };
}

export interface BankApiCounters {
  /** Every request that reached the server. */
  requests: number;
  /** Requests by response status. */
  byStatus: Record<number, number>;
  /** Requests by operationId (unknown routes under `notFound`). */
  byOperation: Record<string, number>;
  /** Requests without the right `API-Key`. */
  missingApiKey: number;
  /** Distinct access tokens (by `jti`) that verified. */
  distinctTokens: number;
  /** Transfers created (idempotent repeats excluded). */
  transfersCreated: number;
  /** With `dpop`: requests whose proof, access token and binding (`cnf.jkt` = the proof key's thumbprint) verified. */
  proofsVerified: number;
  /** With `dpop`: requests answered `401 use_dpop_nonce` (a nonce challenge). */
  nonceChallenges: number;
  /**
   * With `dpop`: requests refused for their proof or their scheme (`invalid_dpop_proof`, a token used as a
   * bearer token, a proof by a key the token is not bound to), by reason; revoked tokens are not counted here.
   */
  proofsRejected: Record<string, number>;
  /** With `dpop`: the distinct keys (`cnf.jkt`) of the tokens that verified. */
  boundKeys: number;
  /**
   * Requests whose token verified, by operationId and then by the token's `scope` claim (`''` for none):
   * which scopes each operation's tokens carried (least privilege: reads with `banking/read` alone).
   */
  tokenScopes: Record<string, Record<string, number>>;
}

export interface BankApi {
  /** `http://127.0.0.1:PORT/banking`, the generated client's `baseURL`. */
  readonly url: string;
  readonly counters: Readonly<BankApiCounters>;
  /**
   * Revokes every access token issued before now: tokens the API has seen, and any token whose
   * `iat` (whole seconds) is earlier than the current second. Later tokens are accepted.
   */
  revokeAllTokens(): void;
  /** With `dpop.requireNonce`: the nonce proofs must carry now. */
  readonly dpopNonce: string | undefined;
  /** With `dpop.requireNonce`: a new nonce; proofs with the old one get `use_dpop_nonce`. */
  rotateDpopNonce(): void;
  close(): Promise<void>;
}

const BASE_PATH = '/banking';
const REALM = 'banking';
const MAX_BODY_BYTES = 16 * 1024;

interface Account {
  id: string;
  maskedNumber: string;
  nickname: string;
  type: 'checking' | 'savings' | 'moneyMarket' | 'certificateOfDeposit';
  currency: string;
  availableCents: number;
  currentCents: number;
  updatedAt: string;
}

interface Transfer {
  id: string;
  type: 'internal' | 'ach';
  sourceAccount: { id: string };
  targetAccount: { id: string };
  amount: string;
  memo?: string;
  state: 'pending' | 'scheduled' | 'processing' | 'completed' | 'failed';
  createdAt: string;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

const money = (cents: number): string => (cents / 100).toFixed(2);

function seedAccounts(): Map<string, Account> {
  const now = new Date().toISOString();
  const accounts: Account[] = [
    {
      id: 'acc-0001',
      maskedNumber: '*3210',
      nickname: 'Everyday checking',
      type: 'checking',
      currency: 'USD',
      availableCents: 152_037,
      currentCents: 162_037,
      updatedAt: now,
    },
    {
      id: 'acc-0002',
      maskedNumber: '*8765',
      nickname: 'Rainy day savings',
      type: 'savings',
      currency: 'USD',
      availableCents: 1_250_000,
      currentCents: 1_250_000,
      updatedAt: now,
    },
    {
      id: 'acc-0003',
      maskedNumber: '*4455',
      nickname: 'Business money market',
      type: 'moneyMarket',
      currency: 'USD',
      availableCents: 4_875_512,
      currentCents: 4_875_512,
      updatedAt: now,
    },
  ];
  return new Map(accounts.map((a) => [a.id, a]));
}

const publicAccount = ({ id, maskedNumber, nickname, type, currency }: Account) => ({
  id,
  maskedNumber,
  nickname,
  type,
  currency,
});

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpProblem(413, 'Payload Too Large', `The body exceeds ${MAX_BODY_BYTES} bytes.`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startBankApi(options: BankApiOptions): Promise<BankApi> {
  const jwks = createRemoteJWKSet(new URL(options.jwksUri));
  const accounts = seedAccounts();
  const transfers = new Map<string, Transfer>();
  const idempotency = new Map<string, { fingerprint: string; transferId: string }>();
  const seenJtis = new Set<string>();
  const revokedJtis = new Set<string>();
  let notBeforeSeconds = 0;
  const counters: BankApiCounters = {
    requests: 0,
    byStatus: {},
    byOperation: {},
    missingApiKey: 0,
    distinctTokens: 0,
    transfersCreated: 0,
    proofsVerified: 0,
    nonceChallenges: 0,
    proofsRejected: {},
    boundKeys: 0,
    tokenScopes: {},
  };
  const dpop = options.dpop ? new DpopVerifier(options.dpop) : undefined;
  const boundKeys = new Set<string>();
  let origin = '';

  const bearerChallenge = (error?: string, description?: string, scope?: string): string =>
    [
      dpop ? `DPoP realm="${REALM}", algs="${DPOP_ALGORITHMS.join(' ')}"` : `Bearer realm="${REALM}"`,
      error && `error="${error}"`,
      description && `error_description="${description}"`,
      scope && `scope="${scope}"`,
    ]
      .filter(Boolean)
      .join(', ');

  async function authenticate(req: IncomingMessage): Promise<JWTPayload> {
    if (req.headers['api-key'] !== options.apiKey) {
      counters.missingApiKey++;
      throw new HttpProblem(401, 'Unauthorized', 'A valid API-Key header is required.', {
        'www-authenticate': `API-Key realm="${REALM}"`,
      });
    }
    const match = /^(Bearer|DPoP) ([^\s]+)$/i.exec(req.headers.authorization ?? '');
    const scheme = match?.[1]?.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
    if (!match?.[2] || (scheme === 'DPoP' && !dpop)) {
      throw new HttpProblem(401, 'Unauthorized', 'An access token is required.', {
        'www-authenticate': bearerChallenge(),
      });
    }
    const accessToken = match[2];
    const invalid = (description: string) =>
      new HttpProblem(401, 'Unauthorized', `The access token is invalid: ${description}.`, {
        'www-authenticate': bearerChallenge('invalid_token', description),
      });
    const proofKey = dpop ? await checkProof(req, scheme, accessToken) : undefined;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(accessToken, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['ES256'],
        requiredClaims: ['jti', 'iat', 'exp'],
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw invalid('the access token expired');
      if (error instanceof joseErrors.JOSEError) throw invalid(`verification failed (${error.code})`);
      throw error;
    }
    const jti = String(payload.jti);
    if (revokedJtis.has(jti) || (payload.iat ?? 0) < notBeforeSeconds) throw invalid('the access token was revoked');
    if (proofKey !== undefined) checkBinding(payload, proofKey);
    if (!seenJtis.has(jti)) {
      seenJtis.add(jti);
      counters.distinctTokens = seenJtis.size;
    }
    return payload;
  }

  function rejectProof(reason: string, error: string, description: string): HttpProblem {
    counters.proofsRejected[reason] = (counters.proofsRejected[reason] ?? 0) + 1;
    return new HttpProblem(401, 'Unauthorized', `The request is refused: ${description}.`, {
      'www-authenticate': bearerChallenge(error, description),
    });
  }

  /** DPoP mode: the `DPoP` scheme and a proof that verifies; resolves the thumbprint of the proof's key. */
  async function checkProof(req: IncomingMessage, scheme: string, accessToken: string): Promise<string> {
    const verifier = dpop!;
    if (scheme !== 'DPoP')
      throw rejectProof('bearer', 'invalid_token', 'this API takes DPoP-bound tokens with a proof');
    try {
      return await verifier.verify({
        proofs: req.headersDistinct['dpop'] ?? [],
        method: req.method ?? 'GET',
        htu: `${origin}${new URL(req.url ?? '/', origin).pathname}`,
        accessToken,
      });
    } catch (error) {
      if (!(error instanceof DpopRefusal)) throw error;
      if (error.error === 'invalid_dpop_proof') throw rejectProof(error.reason, error.error, error.message);
      counters.nonceChallenges++;
      throw new HttpProblem(401, 'Unauthorized', 'A DPoP proof with the current nonce is required.', {
        'www-authenticate': bearerChallenge(error.error, error.message),
      });
    }
  }

  /** DPoP mode: the token must be bound (`cnf.jkt`) to the key that signed the proof. */
  function checkBinding(token: JWTPayload, proofKey: string): void {
    const jkt = (token['cnf'] as { jkt?: unknown } | undefined)?.jkt;
    if (typeof jkt !== 'string')
      throw rejectProof('unbound token', 'invalid_token', 'the access token is not DPoP-bound');
    if (jkt !== proofKey)
      throw rejectProof('another key', 'invalid_token', 'the access token is bound to another key than the proof');
    counters.proofsVerified++;
    boundKeys.add(jkt);
    counters.boundKeys = boundKeys.size;
  }

  function countTokenScope(operation: string, token: JWTPayload): void {
    const scope = typeof token['scope'] === 'string' ? token['scope'] : '';
    const byScope = (counters.tokenScopes[operation] ??= {});
    byScope[scope] = (byScope[scope] ?? 0) + 1;
  }

  function requireScope(token: JWTPayload, scope: string): void {
    const granted = typeof token['scope'] === 'string' ? token['scope'].split(' ') : [];
    if (!granted.includes(scope)) {
      throw new HttpProblem(403, 'Forbidden', `This operation needs the ${scope} scope.`, {
        'www-authenticate': bearerChallenge('insufficient_scope', `this operation needs the ${scope} scope`, scope),
      });
    }
  }

  function findAccount(id: string): Account {
    const account = accounts.get(id);
    if (!account) throw new HttpProblem(404, 'Not Found', `There is no account ${id}.`);
    return account;
  }

  async function createTransfer(
    req: IncomingMessage,
    token: JWTPayload,
  ): Promise<[number, unknown, Record<string, string>?]> {
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      throw new HttpProblem(400, 'Bad Request', 'The body is not JSON.');
    }
    if (body === null || typeof body !== 'object')
      throw new HttpProblem(400, 'Bad Request', 'The body must be a JSON object.');
    const type = body['type'];
    if (type !== 'internal' && type !== 'ach')
      throw new HttpProblem(400, 'Bad Request', 'type must be internal or ach.');
    requireScope(token, type === 'ach' ? 'moneyMovement/write' : 'banking/write');

    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0 || key.length > 64) {
      throw new HttpProblem(400, 'Bad Request', 'An Idempotency-Key header of 1 to 64 characters is required.');
    }
    const fingerprint = createHash('sha256').update(raw).digest('hex');
    const seen = idempotency.get(key);
    if (seen) {
      if (seen.fingerprint !== fingerprint) {
        throw new HttpProblem(422, 'Unprocessable Entity', 'This Idempotency-Key was used with a different body.');
      }
      return [200, transfers.get(seen.transferId)];
    }

    const source = body['sourceAccount'] as { id?: unknown } | undefined;
    const target = body['targetAccount'] as { id?: unknown } | undefined;
    const amount = body['amount'];
    const memo = body['memo'];
    if (typeof source?.id !== 'string' || typeof target?.id !== 'string') {
      throw new HttpProblem(400, 'Bad Request', 'sourceAccount.id and targetAccount.id are required.');
    }
    if (typeof amount !== 'string' || !/^[0-9]{1,9}\.[0-9]{2}$/.test(amount) || Number(amount) <= 0) {
      throw new HttpProblem(400, 'Bad Request', 'amount must be a positive decimal string such as "125.00".');
    }
    if (memo !== undefined && (typeof memo !== 'string' || memo.length > 80)) {
      throw new HttpProblem(400, 'Bad Request', 'memo must be a string of at most 80 characters.');
    }
    const from = findAccount(source.id);
    const cents = Math.round(Number(amount) * 100);
    if (from.availableCents < cents)
      throw new HttpProblem(422, 'Unprocessable Entity', 'Insufficient available funds.');
    if (type === 'internal') {
      const to = findAccount(target.id);
      if (to === from)
        throw new HttpProblem(422, 'Unprocessable Entity', 'The source and target accounts are the same.');
      to.availableCents += cents;
      to.currentCents += cents;
      to.updatedAt = new Date().toISOString();
    }
    from.availableCents -= cents;
    from.currentCents -= cents;
    from.updatedAt = new Date().toISOString();

    const transfer: Transfer = {
      id: `tr-${String(transfers.size + 1).padStart(4, '0')}`,
      type,
      sourceAccount: { id: source.id },
      targetAccount: { id: target.id },
      amount,
      ...(typeof memo === 'string' ? { memo } : {}),
      state: type === 'internal' ? 'completed' : 'pending',
      createdAt: new Date().toISOString(),
    };
    transfers.set(transfer.id, transfer);
    idempotency.set(key, { fingerprint, transferId: transfer.id });
    counters.transfersCreated++;
    return [201, transfer, { location: `${BASE_PATH}/transfers/${transfer.id}` }];
  }

  async function route(
    req: IncomingMessage,
    url: URL,
    operation: (name: string) => void,
  ): Promise<[number, unknown, Record<string, string>?]> {
    const path = url.pathname.startsWith(`${BASE_PATH}/`) ? url.pathname.slice(BASE_PATH.length) : undefined;
    const segments = path?.split('/').slice(1).map(decodeURIComponent) ?? [];
    const method = req.method ?? 'GET';
    const [collection, id, extra] = segments;

    let name: string | undefined;
    if (extra === undefined && method === 'GET' && collection === 'accounts')
      name = id === undefined ? 'listAccounts' : 'getAccount';
    else if (extra === undefined && method === 'GET' && collection === 'accountBalances' && id === undefined)
      name = 'listAccountBalances';
    else if (extra === undefined && method === 'POST' && collection === 'transfers' && id === undefined)
      name = 'createTransfer';
    else if (extra === undefined && method === 'GET' && collection === 'transfers' && id !== undefined)
      name = 'getTransfer';
    operation(name ?? 'notFound');
    if (!name) {
      req.resume();
      throw new HttpProblem(404, 'Not Found', `There is no operation ${method} ${url.pathname}.`);
    }

    const token = await authenticate(req);
    countTokenScope(name, token);
    switch (name) {
      case 'listAccounts': {
        requireScope(token, 'banking/read');
        const limit = Number(url.searchParams.get('limit') ?? 100);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
          throw new HttpProblem(400, 'Bad Request', 'limit must be 1 to 1000.');
        return [200, { items: [...accounts.values()].slice(0, limit).map(publicAccount) }];
      }
      case 'getAccount':
        requireScope(token, 'banking/read');
        return [200, publicAccount(findAccount(id!))];
      case 'listAccountBalances': {
        requireScope(token, 'banking/read');
        const ids = url.searchParams.get('accounts')?.split(',').filter(Boolean) ?? [...accounts.keys()];
        return [
          200,
          {
            items: ids.map(findAccount).map((a) => ({
              id: a.id,
              available: money(a.availableCents),
              current: money(a.currentCents),
              updatedAt: a.updatedAt,
            })),
          },
        ];
      }
      case 'createTransfer':
        return createTransfer(req, token);
      case 'getTransfer': {
        requireScope(token, 'banking/read');
        const transfer = transfers.get(id!);
        if (!transfer) throw new HttpProblem(404, 'Not Found', `There is no transfer ${id}.`);
        return [200, transfer];
      }
    }
    throw new Error(`unrouted operation ${name}`);
  }

  const server = createServer((req, res: ServerResponse) => {
    counters.requests++;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, type = 'application/json') => {
      counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
      res
        .writeHead(status, {
          'content-type': type,
          'cache-control': 'no-store',
          ...(dpop?.nonce !== undefined ? { 'dpop-nonce': dpop.nonce } : {}),
          ...headers,
        })
        .end(JSON.stringify(body));
    };
    route(req, url, (name) => {
      counters.byOperation[name] = (counters.byOperation[name] ?? 0) + 1;
    }).then(
      ([status, body, headers]) => send(status, body, headers),
      (error: unknown) => {
        const problem =
          error instanceof HttpProblem
            ? error
            : new HttpProblem(500, 'Internal Server Error', 'The server failed to answer.');
        if (!req.complete) req.resume();
        send(
          problem.status,
          {
            type: `https://problems.banking.example/${problem.title.toLowerCase().replaceAll(' ', '-')}`,
            title: problem.title,
            status: problem.status,
            detail: problem.detail,
            instance: url.pathname,
          },
          problem.headers,
          'application/problem+json',
        );
      },
    );
  });
  const port = await listen(server);
  origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}${BASE_PATH}`,
    counters,
    revokeAllTokens() {
      for (const jti of seenJtis) revokedJtis.add(jti);
      notBeforeSeconds = Math.floor(Date.now() / 1000);
    },
    get dpopNonce() {
      return dpop?.nonce;
    },
    rotateDpopNonce() {
      if (!dpop?.nonce) throw new Error('the bank API was started without dpop.requireNonce');
      dpop.rotateNonce();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
