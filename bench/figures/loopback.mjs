// Figure 11 (issue 10): time per request over loopback HTTP with the token cached, against bare
// axios with a fixed Authorization header. Figure 3 isolates the client's own work with an adapter
// that answers at once; this one sends every request through axios's http adapter, node's http
// client and a keep-alive socket to an API server in another process (forked from this file), so
// what the client does to axios's objects on the way (headers, response, config) shows up in how
// fast axios's and node's own code then runs. Rounds alternate between the stacks (order rotated,
// gc before each, as figure 3), and the median of same-round ratios is taken. The gc before each
// round matters: a full GC makes V8 drop and later re-optimise code, and a client that leaves
// axios's objects in another shape (for example a header deleted after the http adapter added its
// own) makes that re-optimisation cost more, every time; figure 3's rounds of 20 000 hide it.
import { createServer } from 'node:http';

export const ROUNDS = 21;
export const PER_ROUND = 300;
const WARM_UP = 600;
const TARGET = 1.02;

/** The API server, when this file runs as the forked child: answers every request at once, counts connections. */
function serveApi() {
  let connections = 0;
  let requests = 0;
  let withoutBearer = 0;
  const server = createServer((req, res) => {
    requests++;
    if (!req.headers.authorization?.startsWith('Bearer ')) withoutBearer++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (message) => {
    if (message === 'stats') process.send({ connections, requests, withoutBearer });
  });
  process.on('disconnect', () => process.exit(0));
}

if (process.env.BENCH_LOOPBACK_API === '1') serveApi();

export async function loopback() {
  const { median, round } = await import('../lib/stats.mjs');
  const { withServers } = await import('../lib/servers.mjs');
  const { startApiProcess } = await import('../lib/api-process.mjs');
  const { createBare, createOurs, createPeer } = await import('../lib/stacks.mjs');
  const { alternatingRounds, modes } = await import('./cpu.mjs');
  const apiServer = await startApiProcess({
    moduleUrl: import.meta.url,
    env: 'BENCH_LOOPBACK_API',
    label: 'loopback API',
  });
  try {
    return await withServers({ delayMs: 0 }, async ({ auth }) => {
      const baseURL = apiServer.url;
      const stacks = {
        bare: createBare({ baseURL }),
        ours: createOurs({ tokenUrl: auth.tokenUrl, baseURL }),
        peer: createPeer({ tokenUrl: auth.tokenUrl, baseURL }),
      };
      for (const stack of Object.values(stacks)) await stack.api.get('/accounts');
      const tokensAfterWarm = auth.requests;
      const before = await apiServer.stats();
      const { wall, cpu } = await alternatingRounds(stacks, modes.sequential, {
        rounds: ROUNDS,
        perRound: PER_ROUND,
        warmUp: WARM_UP,
        label: 'loopback',
      });
      const after = await apiServer.stats();
      if (auth.requests !== tokensAfterWarm)
        throw new Error(`token requests during the loopback rounds: ${auth.requests - tokensAfterWarm}`);
      if (after.withoutBearer !== before.withoutBearer)
        throw new Error(
          `${after.withoutBearer - before.withoutBearer} loopback requests arrived without a Bearer token`,
        );
      const ratios = (perRound, name) => perRound[name].map((v, i) => v / perRound.bare[i]);
      const ratio = (perRound, name) => median(ratios(perRound, name));
      const spread = (perRound, name) => {
        const r = ratios(perRound, name);
        return `${round(Math.min(...r), 3)}–${round(Math.max(...r), 3)}`;
      };
      const us = (perRound, name) => round(median(perRound[name]), 1);
      const text = (name) => `${round(ratio(wall, name), 3)} (${spread(wall, name)})`;
      return [
        {
          id: '11',
          label: 'Loopback HTTP per request, ÷ bare',
          name: 'Time per request over loopback HTTP (keep-alive, sequential), token cached, ratio to bare axios',
          ours: round(ratio(wall, 'ours'), 3),
          peer: round(ratio(wall, 'peer'), 3),
          oursText: text('ours'),
          peerText: text('peer'),
          target: `≤ ${TARGET}`,
          pass: ratio(wall, 'ours') <= TARGET,
          note:
            `wall µs/request (median round): bare ${us(wall, 'bare')}, ours ${us(wall, 'ours')}, peer ${us(wall, 'peer')}; ` +
            `CPU ratio to bare: ours ${round(ratio(cpu, 'ours'), 3)} (${spread(cpu, 'ours')}), peer ${round(ratio(cpu, 'peer'), 3)} (${spread(cpu, 'peer')}); ` +
            `connections opened during the rounds: ${after.connections - before.connections}`,
          details: {
            wallUsPerRound: Object.fromEntries(Object.keys(stacks).map((n) => [n, wall[n].map((v) => round(v, 1))])),
            cpuUsPerRound: Object.fromEntries(Object.keys(stacks).map((n) => [n, cpu[n].map((v) => round(v, 1))])),
          },
          method: `GET to a node:http server in a forked process on 127.0.0.1 (keep-alive, the global agent), token cached; ${WARM_UP} warm-up requests per stack, then ${ROUNDS} alternating rounds of ${PER_ROUND} sequential requests per stack (order rotated, gc before each); wall-clock (and process.cpuUsage()) µs per request; ratio = median over rounds of (stack / bare axios with a fixed Authorization header) in the same round, with the lowest and highest round.`,
        },
      ];
    });
  } finally {
    apiServer.stop();
  }
}
