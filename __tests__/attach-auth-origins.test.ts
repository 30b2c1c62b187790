/**
 * Issue 9, test strength: the origin policy of attachAuth end to end. A request goes to a loopback
 * server under many names (axios's `lookup` option maps them all to 127.0.0.1, so no resolver is
 * needed), and the server records the Host and Authorization it got: the token goes to the allowed
 * origin however it is capitalised, and never to a host that starts like it, another port, a host
 * hidden behind user info, a protocol-relative URL, or an absolute URL under `allowAbsoluteUrls:
 * false`. The unit tables of the policy are in origin.test.ts.
 */
import axios from 'axios';
import { ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { json, startServer, type TestServer } from './helpers/http.js';
import { startAuthServer } from './helpers/oauth.js';

/** Resolves every host name to 127.0.0.1 (axios's `lookup` option). */
const toLoopback = (
  _host: string,
  _options: object,
  callback: (error: Error | null, address: string, family: 4) => void,
): void => callback(null, '127.0.0.1', 4);

interface Seen {
  host: string | undefined;
  authorization: string | undefined;
}

async function recordingServer(): Promise<TestServer & { seen: () => Seen[] }> {
  const server = await startServer((_req, res) => json(res, 200, {}));
  return Object.assign(server, {
    seen: () => server.requests.map((r) => ({ host: r.headers.host, authorization: r.headers.authorization })),
  });
}

async function setup(clientOptions: { allowAbsoluteUrls?: boolean } = {}) {
  const auth = await startAuthServer();
  const api = await recordingServer();
  const port = new URL(api.url).port;
  const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
  const client = axios.create({ baseURL: `http://api.test:${port}`, lookup: toLoopback, ...clientOptions });
  attachAuth(client, provider, { allowInsecureHttp: true });
  return { auth, api, port, client };
}

const bearer = (seen: Seen[]): Seen[] => seen.filter((s) => s.authorization?.startsWith('Bearer '));

describe('attachAuth sends the token by origin', () => {
  test('to the allowed origin, however its scheme and host are capitalised', async () => {
    const { api, port, client } = await setup();
    await client.get('/a');
    await client.get(`HTTP://API.TEST:${port}/b`);
    expect(api.seen()).toEqual([
      { host: `api.test:${port}`, authorization: 'Bearer tok-1' },
      { host: `api.test:${port}`, authorization: 'Bearer tok-1' },
    ]);
  });

  test('never to a host that starts like the allowed one', async () => {
    const { auth, api, port, client } = await setup();
    await client.get(`http://api.test.evil.test:${port}/x`);
    await client.get(`http://api.testevil.test:${port}/x`);
    expect(api.seen().map((s) => s.host)).toEqual([`api.test.evil.test:${port}`, `api.testevil.test:${port}`]);
    expect(bearer(api.seen())).toEqual([]);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('never to another port of the allowed host', async () => {
    const { auth, client } = await setup();
    const other = await recordingServer();
    await client.get(`http://api.test:${new URL(other.url).port}/x`);
    expect(other.seen()).toHaveLength(1);
    expect(bearer(other.seen())).toEqual([]);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('never to a host hidden behind user info that looks like the allowed host', async () => {
    const { auth, api, port, client } = await setup();
    await client.get(`http://api.test:${port}@evil.test:${port}/x`).catch(() => undefined);
    await client.get(`http://api.test@evil.test:${port}/x`);
    expect(api.seen().every((s) => s.host === `evil.test:${port}`)).toBe(true);
    expect(bearer(api.seen())).toEqual([]);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('never under a baseURL whose user info spells the allowed origin', async () => {
    const { auth, api, port } = await setup();
    const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
    const client = axios.create({ baseURL: `http://api.test:${port}@evil.test:${port}`, lookup: toLoopback });
    attachAuth(client, provider, { origins: [`http://api.test:${port}`], allowInsecureHttp: true });
    await client.get('/x');
    expect(api.seen().map((s) => s.host)).toEqual([`evil.test:${port}`]);
    expect(bearer(api.seen())).toEqual([]);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('never with a protocol-relative url, whatever host it names', async () => {
    const { auth, api, port, client } = await setup();
    await client.get(`//evil.test:${port}/x`).catch(() => undefined);
    await client.get(`//api.test:${port}/x`).catch(() => undefined);
    expect(bearer(api.seen())).toEqual([]);
    expect(auth.tokenRequests).toHaveLength(0);
  });

  test('never with an absolute foreign url under allowAbsoluteUrls: false', async () => {
    const { auth, api, port, client } = await setup({ allowAbsoluteUrls: false });
    await client.get(`http://evil.test:${port}/x`).catch(() => undefined);
    expect(api.seen()).toHaveLength(1);
    expect(bearer(api.seen())).toEqual([]);
    expect(auth.tokenRequests).toHaveLength(0);
  });
});
