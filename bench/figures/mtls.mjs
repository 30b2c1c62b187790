// Figure 13 (issue 11): what mutual TLS costs an API call. The same axios instance (an https agent that
// trusts the bench's CA) and attachAuth, token cached, once with a provider that has `tls` (every API call
// presents the client certificate, through the agent attachAuth derives from the instance's) and once with
// one that has not (plain https), against a node:https server in a forked process (this file) that asks
// every client for a certificate. 13a: sequential requests over keep-alive connections, as figure 11 over
// http: the certificate is presented in the handshake, so what is left per request is the library's agent
// handling. 13b: a new connection (a full handshake, no session resumption) for every request, the cost of
// the certificate itself. As the reference, plain axios with a fixed token, with the certificate on its own
// agent and without: what the certificate costs by hand. A CA, a server and a client certificate (EC P-256)
// are made with the openssl CLI in a temp dir, removed at once.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiProcess } from '../lib/api-process.mjs';
import { median, round } from '../lib/stats.mjs';

export const ROUNDS = 21;
export const PER_ROUND = 300;
const WARM_UP = 300;
export const FRESH_ROUNDS = 11;
export const FRESH_PER_ROUND = 25;
const TARGET = 1.05;

/** The API server, when this file runs as the forked child: https, asks for a client certificate, answers at once. */
function serveApi() {
  process.once('message', ({ cert, key, ca }) => {
    const stats = { connections: 0, connectionsWithCertificate: 0, requests: 0, withCertificate: 0, withoutBearer: 0 };
    const server = createServer({ cert, key, ca: [ca], requestCert: true, rejectUnauthorized: false }, (req, res) => {
      stats.requests++;
      if (req.socket.authorized) stats.withCertificate++;
      if (!req.headers.authorization?.startsWith('Bearer ')) stats.withoutBearer++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    server.on('secureConnection', (socket) => {
      stats.connections++;
      if (socket.authorized) stats.connectionsWithCertificate++;
    });
    server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
    process.on('message', (message) => {
      if (message === 'stats') process.send({ ...stats });
    });
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.env.BENCH_MTLS_API === '1') serveApi();

function openssl(dir, args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a certificate for the server (127.0.0.1) and one for the client, PEM; nothing is left on disk. */
export function makeCertificates() {
  const dir = mkdtempSync(join(tmpdir(), 'acc-bench-mtls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    openssl(dir, ['req', '-x509', ...ec, '-days', '1', '-subj', '/CN=bench CA', '-keyout', 'ca.key', '-out', 'ca.crt']);
    const leaf = (name, ext, serial) => {
      writeFileSync(join(dir, `${name}.cnf`), `${ext}\nbasicConstraints=CA:FALSE\n`);
      openssl(dir, ['req', ...ec, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(serial),
        '-days',
        '1',
        '-extfile',
        `${name}.cnf`,
        '-out',
        `${name}.crt`,
      ]);
      return {
        cert: readFileSync(join(dir, `${name}.crt`), 'utf8'),
        key: readFileSync(join(dir, `${name}.key`), 'utf8'),
      };
    };
    return {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      server: leaf('server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth', 1),
      client: leaf('bench-client', 'extendedKeyUsage=clientAuth', 2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The four clients, each an instance with its own https agent trusting the CA (`agentOptions` on top):
 * bare axios with a fixed token without and with the certificate on that agent; ours, attachAuth with a
 * provider without `tls` and with it.
 */
async function clients({ auth, baseURL, certificates, agentOptions }) {
  const axios = (await import('axios')).default;
  const { ClientCredentialsProvider, attachAuth } = await import('axios-client-credentials');
  const { CLIENT } = await import('../lib/servers.mjs');
  const agent = (extra = {}) => new Agent({ ca: certificates.ca, ...agentOptions, ...extra });
  const bare = (httpsAgent) => ({
    api: axios.create({ baseURL, httpsAgent, headers: { Authorization: 'Bearer fixed-token' } }),
  });
  const ours = (tls) => {
    const provider = new ClientCredentialsProvider({
      tokenUrl: auth.tokenUrl,
      clientId: CLIENT.id,
      clientSecret: CLIENT.secret, // authenticates the client; with tls, the certificate binds the token
      ...(tls ? { tls } : {}),
    });
    const api = axios.create({ baseURL, httpsAgent: agent() });
    attachAuth(api, provider);
    return { api, provider };
  };
  return {
    bare: bare(agent()),
    bareMtls: bare(agent(certificates.client)),
    ours: ours(undefined),
    oursMtls: ours(certificates.client),
  };
}

/** Runs alternating rounds of sequential GETs and checks the server saw what each client should have sent. */
async function measure({ auth, apiServer, certificates, agentOptions, rounds, perRound, warmUp, label }) {
  const { alternatingRounds, modes } = await import('./cpu.mjs');
  const stacks = await clients({ auth, baseURL: apiServer.url, certificates, agentOptions });
  for (const stack of Object.values(stacks)) await stack.api.get('/accounts');
  const tokensAfterWarm = auth.requests;
  const before = await apiServer.stats();
  const { wall, cpu } = await alternatingRounds(stacks, modes.sequential, { rounds, perRound, warmUp, label });
  const after = await apiServer.stats();
  const delta = (name) => after[name] - before[name];
  const perStack = warmUp + rounds * perRound;
  if (auth.requests !== tokensAfterWarm) throw new Error(`token requests during the ${label} rounds`);
  if (delta('withoutBearer') !== 0) throw new Error(`${delta('withoutBearer')} ${label} requests without a token`);
  if (delta('withCertificate') !== 2 * perStack)
    throw new Error(`${label}: ${delta('withCertificate')} requests presented the certificate, not ${2 * perStack}`);
  return {
    wall,
    cpu,
    connections: delta('connections'),
    connectionsWithCertificate: delta('connectionsWithCertificate'),
  };
}

const ratios = (perRound, a, b) => perRound[a].map((v, i) => v / perRound[b][i]);
const ratio = (perRound, a, b) => median(ratios(perRound, a, b));
const spread = (perRound, a, b) => {
  const r = ratios(perRound, a, b);
  return `${round(Math.min(...r), 3)}–${round(Math.max(...r), 3)}`;
};
const us = (perRound, name) => round(median(perRound[name]), 1);
const perRoundDetails = (perRound) =>
  Object.fromEntries(Object.entries(perRound).map(([n, v]) => [n, v.map((x) => round(x, 1))]));

/** A figure row from one measurement: ours with tls ÷ without, and the same for bare axios as the peer. */
function row(id, run, { label, name, target, method }) {
  const ours = ratio(run.wall, 'oursMtls', 'ours');
  const peer = ratio(run.wall, 'bareMtls', 'bare');
  return {
    id,
    label,
    name,
    ours: round(ours, 3),
    peer: round(peer, 3),
    oursText: `${round(ours, 3)} (${spread(run.wall, 'oursMtls', 'ours')})`,
    peerText: `${round(peer, 3)} (axios, certificate on its agent)`,
    target: target === undefined ? '—' : `≤ ${target}`,
    ...(target === undefined ? {} : { pass: ours <= target }),
    note:
      `wall µs/request (median round): ours with tls ${us(run.wall, 'oursMtls')}, ours plain https ${us(run.wall, 'ours')}, ` +
      `bare axios with the certificate ${us(run.wall, 'bareMtls')}, without ${us(run.wall, 'bare')}; ` +
      `CPU ratio with ÷ without: ours ${round(ratio(run.cpu, 'oursMtls', 'ours'), 3)}, bare ${round(ratio(run.cpu, 'bareMtls', 'bare'), 3)}; ` +
      `connections opened during the rounds: ${run.connections} (${run.connectionsWithCertificate} with the certificate)`,
    details: { wallUsPerRound: perRoundDetails(run.wall), cpuUsPerRound: perRoundDetails(run.cpu) },
    method,
  };
}

const SETUP =
  'GET to a node:https server in a forked process on 127.0.0.1 (requestCert, certificates from a CA made with openssl, EC P-256), token cached; each client an axios instance with its own https.Agent trusting the CA';

export async function mtls() {
  const { withServers } = await import('../lib/servers.mjs');
  const certificates = makeCertificates();
  const apiServer = await startApiProcess({
    moduleUrl: import.meta.url,
    env: 'BENCH_MTLS_API',
    label: 'mTLS API',
    protocol: 'https',
    setup: { ...certificates.server, ca: certificates.ca },
  });
  try {
    return await withServers({ delayMs: 0 }, async ({ auth }) => {
      const common = { auth, apiServer, certificates };
      const kept = await measure({
        ...common,
        agentOptions: { keepAlive: true },
        rounds: ROUNDS,
        perRound: PER_ROUND,
        warmUp: WARM_UP,
        label: 'mTLS keep-alive',
      });
      const fresh = await measure({
        ...common,
        agentOptions: { keepAlive: false, maxCachedSessions: 0 },
        rounds: FRESH_ROUNDS,
        perRound: FRESH_PER_ROUND,
        warmUp: FRESH_PER_ROUND,
        label: 'mTLS new connection',
      });
      return [
        row('13a', kept, {
          label: 'mTLS API call per request (keep-alive), ÷ plain https',
          name: 'Time per API call over https keep-alive (sequential), token cached, provider with tls (the call presents the client certificate) ÷ the same without tls',
          target: TARGET,
          method: `${SETUP} (keepAlive); ${WARM_UP} warm-up requests per client, then ${ROUNDS} alternating rounds of ${PER_ROUND} sequential requests per client (order rotated, gc before each); wall-clock (and process.cpuUsage()) µs per request; ratio = median over rounds of (with tls / without) in the same round, with the lowest and highest round; peer = the same ratio for bare axios with a fixed token, the certificate on its own agent or not. The server checks that every request of the tls clients presented the certificate.`,
        }),
        row('13b', fresh, {
          label: 'mTLS API call per request (new connection each), ÷ plain https',
          name: 'Time per API call with a new connection and a full TLS handshake each (no keep-alive, no session resumption), provider with tls ÷ without',
          target: undefined,
          method: `${SETUP} (keepAlive: false, maxCachedSessions: 0: a full handshake per request); ${FRESH_PER_ROUND} warm-up requests per client, then ${FRESH_ROUNDS} alternating rounds of ${FRESH_PER_ROUND} sequential requests per client (order rotated, gc before each); ratios as 13a.`,
        }),
      ];
    });
  } finally {
    apiServer.stop();
  }
}
