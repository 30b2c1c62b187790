// One process of the benchmark's fleet (figures 7 and 9), forked by figures/fleet.mjs. Each round,
// on the parent's word, it builds a fresh client of the asked stack and sends 100 concurrent GETs,
// then reports what happened. It exits when told, when the parent goes away, or after 150 s.
import { now, within } from './lib/clock.mjs';
import { createOurs, createPeer } from './lib/stacks.mjs';

const config = JSON.parse(process.argv[2]);
setTimeout(() => process.exit(3), 150_000).unref();
process.on('disconnect', () => process.exit(0));

let redis;
let redisStore;
if (config.redisPath) {
  ({ redisStore } = await import('axios-client-credentials/redis'));
  const { Redis } = await import('ioredis');
  redis = new Redis({ path: config.redisPath, lazyConnect: true });
  await redis.connect();
}

/**
 * The Redis store of a round: as users get it (`ours-redis`: waiting processes are woken by its change
 * notification), or the same store without `waitForChange` (`ours-redis-poll`: the provider polls it every
 * 10 ms, as before issue 10), the baseline measured in the same run.
 */
function storeFor(kind, prefix) {
  if (kind === 'ours-redis') return redisStore(redis, { prefix });
  if (kind === 'ours-redis-poll') return { ...redisStore(redis, { prefix }), waitForChange: undefined };
  return undefined;
}

async function runRound({ round, stack: kind, prefix, concurrency }) {
  const options = { tokenUrl: config.tokenUrl, baseURL: config.apiUrl };
  const store = storeFor(kind, prefix);
  const stack = kind === 'peer' ? createPeer(options) : createOurs({ ...options, ...(store ? { store } : {}) });
  const tokens = [];
  stack.provider?.on('token', (event) =>
    tokens.push({ source: event.source, at: now(), durationMs: event.durationMs }),
  );
  const errors = [];
  stack.provider?.on('error', (event) => errors.push(`${event.phase}: ${event.error.message}`));
  const goAt = now();
  const results = await within(
    Promise.allSettled(Array.from({ length: concurrency }, () => stack.api.get('/accounts'))),
    30_000,
    `round ${round}`,
  );
  const failed = results.filter((r) => r.status === 'rejected');
  return {
    type: 'done',
    round,
    goAt,
    ok: results.length - failed.length,
    failed: failed.length,
    failure: failed[0]?.reason?.message,
    firstToken: tokens[0],
    errors,
  };
}

process.on('message', async (message) => {
  if (message.type === 'clock') process.send({ type: 'clock', t: now() });
  else if (message.type === 'round')
    process.send(
      await runRound(message).catch((error) => ({ type: 'done', round: message.round, crashed: String(error) })),
    );
  else if (message.type === 'exit') {
    await redis?.quit().catch(() => redis.disconnect());
    process.disconnect();
  }
});
process.send({ type: 'ready' });
