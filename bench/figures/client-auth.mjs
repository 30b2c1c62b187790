// Figure 12 (issue 11): the CPU a token request attempt spends on client authentication, per method: a
// fresh client assertion signed with ES256 (EC P-256), PS256 (RSA 2048), EdDSA (Ed25519) or HS256
// (client_secret_jwt), against client_secret_basic (a Basic header, no signature). Calls the built
// `authenticate(attempt, headers, body)` of dist/esm/grant/client-auth.js, with keys from its
// `importPrivateKey` (signing-key.js), exactly as each token request attempt does: claims with a random
// `jti`, the JWS signed with node:crypto, the form fields set. The peer figure is jose's `SignJWT` (a
// well-kept JOSE library, a devDependency here) building and signing the same claims with the same key
// (imported once with `importPKCS8`, as jose's documentation shows) and setting the same form fields.
// Rounds alternate between the methods; the median round is taken.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { median, round } from '../lib/stats.mjs';

export const ROUNDS = 11;
const ROUND_MS = 40; // each round of each method runs about this long
const WARM_UP_MS = 150;
const CLIENT_ID = 'bench-client';
const AUDIENCE = 'https://auth.bench.invalid';
const SECRET = 'bench-client-secret-of-more-than-32-bytes-for-HS256';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const joseVersion = () =>
  JSON.parse(readFileSync(new URL('../../node_modules/jose/package.json', import.meta.url), 'utf8')).version;

const pkcs8 = (pair) => pair.privateKey.export({ type: 'pkcs8', format: 'pem' });

/** The keys of the figure, PKCS#8 PEM: what a user hands to `privateKey`. */
function benchKeys() {
  return {
    ES256: pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-256' })),
    PS256: pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 })),
    EdDSA: pkcs8(generateKeyPairSync('ed25519')),
  };
}

/** One attempt's authentication with the library: a fresh header and body each time, as each attempt has. */
async function oursCases(keys) {
  const { authenticate } = await import(new URL('../../dist/esm/grant/client-auth.js', import.meta.url).href);
  const { importPrivateKey } = await import(new URL('../../dist/esm/grant/signing-key.js', import.meta.url).href);
  const attempt = (method, credential) => ({
    method,
    credential,
    clientId: CLIENT_ID,
    audience: AUDIENCE,
    timeoutMs: 10_000,
    nowSeconds: Math.floor(Date.now() / 1000),
  });
  const secret = { kind: 'secret', secret: SECRET };
  const attempts = {
    ES256: attempt('private_key_jwt', { kind: 'key', key: importPrivateKey({ key: keys.ES256, kid: 'es' }) }),
    PS256: attempt('private_key_jwt', { kind: 'key', key: importPrivateKey({ key: keys.PS256, kid: 'ps' }) }),
    EdDSA: attempt('private_key_jwt', { kind: 'key', key: importPrivateKey({ key: keys.EdDSA, kid: 'ed' }) }),
    HS256: attempt('client_secret_jwt', secret),
    client_secret_basic: attempt('client_secret_basic', secret),
  };
  const algs = Object.fromEntries(
    Object.entries(attempts)
      .filter(([, a]) => a.credential.kind === 'key')
      .map(([name, a]) => [name, a.credential.key.alg]),
  );
  for (const [name, alg] of Object.entries(algs)) if (alg !== name) throw new Error(`${name} key signs ${alg}`);
  return Object.fromEntries(
    Object.entries(attempts).map(([name, a]) => [
      name,
      async () => {
        const body = new URLSearchParams({ grant_type: 'client_credentials' });
        await authenticate(a, {}, body);
        return body;
      },
    ]),
  );
}

/** The same with jose: the claims built, `SignJWT` signing them, the same form fields set. */
async function joseCases(keys) {
  const { SignJWT, importPKCS8 } = await import('jose');
  const signer = async (alg, key, kid) => {
    const imported = typeof key === 'string' ? await importPKCS8(key, alg) : key; // HS256: the secret's bytes
    return async () => {
      const body = new URLSearchParams({ grant_type: 'client_credentials' });
      const now = Math.floor(Date.now() / 1000);
      const assertion = await new SignJWT({ jti: randomBytes(16).toString('base64url') })
        .setProtectedHeader(kid ? { alg, kid } : { alg })
        .setIssuer(CLIENT_ID)
        .setSubject(CLIENT_ID)
        .setAudience(AUDIENCE)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(imported);
      body.set('client_id', CLIENT_ID);
      body.set('client_assertion_type', JWT_BEARER);
      body.set('client_assertion', assertion);
      return body;
    };
  };
  return {
    ES256: await signer('ES256', keys.ES256, 'es'),
    PS256: await signer('PS256', keys.PS256, 'ps'),
    EdDSA: await signer('EdDSA', keys.EdDSA, 'ed'),
    HS256: await signer('HS256', new TextEncoder().encode(SECRET)),
  };
}

/** CPU µs per call of `fn` over `n` sequential calls. */
async function cpuPerCall(fn, n) {
  globalThis.gc?.();
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

/** How many calls of `fn` take about `ms`, from a warm-up of that length. */
async function callsIn(fn, ms) {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    await fn();
    calls++;
  }
  return Math.max(20, Math.round((calls * ROUND_MS) / ms));
}

/** Warms each case, then `rounds` rounds of each (order rotated); µs per call of each round, per case. */
async function alternate(cases, rounds = ROUNDS) {
  const names = Object.keys(cases);
  const sizes = {};
  for (const name of names) sizes[name] = await callsIn(cases[name], WARM_UP_MS);
  const perRound = Object.fromEntries(names.map((name) => [name, []]));
  for (let r = 0; r < rounds; r++) {
    const order = [...names.slice(r % names.length), ...names.slice(0, r % names.length)];
    for (const name of order) perRound[name].push(await cpuPerCall(cases[name], sizes[name]));
  }
  return { perRound, sizes };
}

/** Checks that each case produces what a token request sends, before anything is timed. */
async function check(name, fn, jwt) {
  const body = await fn();
  const assertion = body.get('client_assertion');
  if (jwt && !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(assertion ?? '')) throw new Error(`${name}: no client assertion`);
  if (!jwt && assertion !== null) throw new Error(`${name}: unexpected client assertion`);
}

export async function clientAuth() {
  const keys = benchKeys();
  const ours = await oursCases(keys);
  const peer = await joseCases(keys);
  for (const [name, fn] of Object.entries(ours)) await check(`ours ${name}`, fn, name !== 'client_secret_basic');
  for (const [name, fn] of Object.entries(peer)) await check(`jose ${name}`, fn, true);
  const cases = {
    ...Object.fromEntries(Object.entries(ours).map(([n, fn]) => [`ours ${n}`, fn])),
    ...Object.fromEntries(Object.entries(peer).map(([n, fn]) => [`jose ${n}`, fn])),
  };
  const { perRound, sizes } = await alternate(cases);
  const us = (name) => median(perRound[name]);
  const spread = (name) => `${round(Math.min(...perRound[name]), 1)}–${round(Math.max(...perRound[name]), 1)}`;
  const basic = us('ours client_secret_basic');
  const method = `authenticate(attempt, headers, body) of dist/esm/grant/client-auth.js, one call per token request attempt (a fresh body each time), keys from importPrivateKey of dist/esm/grant/signing-key.js (PKCS#8 PEM: EC P-256, RSA 2048, Ed25519; HS256 over a 51-byte secret); peer: jose ${joseVersion()} SignJWT with the same claims (random jti, iat, exp), keys from importPKCS8 once, and the same form fields (jose 6 signs through WebCrypto, whose work runs on libuv's thread pool: process.cpuUsage() counts every thread of the process). About ${WARM_UP_MS} ms of warm-up per case, then ${ROUNDS} rounds of about ${ROUND_MS} ms per case, alternating (order rotated, gc before each); process.cpuUsage() user+system µs per call, median round.`;
  const row = (id, alg, label) => {
    const peerName = `jose ${alg}`;
    const hasPeer = peerName in perRound;
    const ratio = hasPeer ? us(`ours ${alg}`) / us(peerName) : undefined;
    return {
      id,
      label: `Client auth CPU per token request, ${label}`,
      name: `CPU per token request attempt spent on client authentication, ${label}`,
      ours: round(us(`ours ${alg}`), 1),
      oursText: `${round(us(`ours ${alg}`), 1)} µs`,
      peer: hasPeer ? round(us(peerName), 1) : '—',
      peerText: hasPeer ? `${round(us(peerName), 1)} µs (jose SignJWT)` : '—',
      target: hasPeer ? '≤ jose' : '—',
      ...(hasPeer ? { pass: ratio <= 1 } : {}),
      note:
        `µs/attempt, median (lowest–highest round): ours ${round(us(`ours ${alg}`), 1)} (${spread(`ours ${alg}`)})` +
        (hasPeer ? `, jose ${round(us(peerName), 1)} (${spread(peerName)}), ours ÷ jose ${round(ratio, 3)}` : '') +
        (alg === 'client_secret_basic'
          ? ''
          : `; ${round(us(`ours ${alg}`) / basic, 1)}× client_secret_basic (${round(basic, 2)} µs)`) +
        `; ${sizes[`ours ${alg}`]} calls per round`,
      details: {
        usPerRound: Object.fromEntries(
          [`ours ${alg}`, ...(hasPeer ? [peerName] : [])].map((n) => [n, perRound[n].map((x) => round(x, 2))]),
        ),
      },
      method,
    };
  };
  return [
    row('12a', 'ES256', 'private_key_jwt ES256 (EC P-256)'),
    row('12b', 'PS256', 'private_key_jwt PS256 (RSA 2048)'),
    row('12c', 'EdDSA', 'private_key_jwt EdDSA (Ed25519)'),
    row('12d', 'HS256', 'client_secret_jwt HS256'),
    row('12e', 'client_secret_basic', 'client_secret_basic (no signature)'),
  ];
}
