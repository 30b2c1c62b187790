/**
 * Issue 9, test strength: after a 401 the request is replayed once with a fresh token, unless its
 * body was a one-shot stream that the first send consumed. A JSON object, a string, URLSearchParams, a
 * Buffer and native FormData are replayed byte-identical with the same Content-Type; a Node stream, a
 * form-data package instance, and a web `ReadableStream` sent through axios's fetch adapter are one-shot
 * bodies: each is refused for replay (AuthenticationError `body-not-replayable`, the token dropped), never
 * sent a second time. Loopback servers, both jest projects.
 */
import axios, { type AxiosRequestConfig } from 'axios';
import { Readable } from 'node:stream';
import FormDataPackage from 'form-data';
import { AuthenticationError, ClientCredentialsProvider, attachAuth } from '../src/index.js';
import { startApiServer, startAuthServer } from './helpers/oauth.js';
import { attachedClient } from './helpers/attached-client.js';

/** A web stream of `text`, in two chunks, as a browser or `Readable.toWeb` gives one. */
function webStream(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const half = Math.floor(bytes.length / 2);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, half));
      controller.enqueue(bytes.slice(half));
      controller.close();
    },
  });
}

/** An API whose first token was revoked after one call: the next request answers 401 with a Bearer challenge. */
async function revokedApi() {
  const auth = await startAuthServer();
  const api = await startApiServer(auth);
  const provider = new ClientCredentialsProvider({ tokenUrl: auth.tokenUrl, clientId: 'id', clientSecret: 'secret' });
  const client = axios.create({ baseURL: api.url, adapter: 'fetch' });
  attachAuth(client, provider);
  await client.get('/warm');
  api.revoke();
  return { auth, api, client };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const streamed: AxiosRequestConfig = { headers: { 'Content-Type': 'application/octet-stream' } };

describe('a 401 to a request with a web ReadableStream body, through the fetch adapter', () => {
  test("is not replayed: an AuthenticationError body-not-replayable, with the API's answer", async () => {
    const { api, client } = await revokedApi();
    const error = await rejectionOf(client.post('/upload', webStream('one-shot body'), streamed));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ reason: 'body-not-replayable', response: { status: 401 } });
    expect(axios.isAxiosError(error)).toBe(true);
    expect(api.requests.map((r) => [r.method, r.url, r.body.toString()])).toEqual([
      ['GET', '/warm', ''],
      ['POST', '/upload', 'one-shot body'],
    ]);
  });

  test('drops the rejected token: the next request gets a fresh one', async () => {
    const { auth, api, client } = await revokedApi();
    await rejectionOf(client.post('/upload', webStream('x'), streamed));
    expect((await client.get('/after')).status).toBe(200);
    expect(auth.tokenRequests).toHaveLength(2);
    expect(api.seenTokens).toEqual(['tok-1', 'tok-1', 'tok-2']);
  });

  test('while a string body is replayed with a fresh token', async () => {
    const { auth, api, client } = await revokedApi();
    const response = await client.post('/upload', 'replayable body', { headers: { 'Content-Type': 'text/plain' } });
    expect(response.status).toBe(200);
    expect(auth.tokenRequests).toHaveLength(2);
    expect(api.requests.slice(1).map((r) => [r.headers.authorization, r.body.toString()])).toEqual([
      ['Bearer tok-1', 'replayable body'],
      ['Bearer tok-2', 'replayable body'],
    ]);
  });
});

describe('bodies on replay', () => {
  const cases: [string, () => unknown, string | undefined][] = [
    ['a JSON object', () => ({ amount: 10, memo: 'rent' }), undefined],
    ['a string', () => 'plain text body', 'text/plain'],
    ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two words' }), undefined],
    ['a Buffer', () => Buffer.from([0, 1, 2, 250, 251]), 'application/octet-stream'],
    [
      'native FormData',
      () => {
        const fd = new FormData();
        fd.append('field', 'value');
        fd.append('file', new Blob(['file-bytes']), 'a.txt');
        return fd;
      },
      undefined,
    ],
  ];
  test.each(cases)('%s is replayed byte-identical with the same Content-Type', async (_name, make, contentType) => {
    const { api, client } = await attachedClient();
    await client.get('/warm');
    api.revoke();
    api.requests.length = 0;
    const response = await client.post(
      '/transfers',
      make(),
      contentType ? { headers: { 'Content-Type': contentType } } : {},
    );
    expect(response.status).toBe(200);
    expect(api.requests).toHaveLength(2);
    const [first, replay] = api.requests;
    expect(replay!.body.equals(first!.body)).toBe(true);
    expect(first!.body.length).toBeGreaterThan(0);
    expect(replay!.headers['content-type']).toBe(first!.headers['content-type']);
    expect(replay!.headers.authorization).toBe('Bearer tok-2');
  });

  test.each([
    ['a Node stream', async () => Readable.from([Buffer.from('streamed body')])],
    [
      'a form-data package instance',
      async () => {
        const fd = new FormDataPackage();
        fd.append('field', 'value');
        return fd;
      },
    ],
  ])('%s is not replayed: AuthenticationError after exactly one send, never an empty body', async (_name, make) => {
    const { api, client } = await attachedClient();
    await client.get('/warm');
    api.revoke();
    api.requests.length = 0;
    const error = await client.post('/upload', await make()).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AuthenticationError', reason: 'body-not-replayable' });
    expect((error as Error).message).toMatch(/cannot be replayed/);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]!.body.length).toBeGreaterThan(0);
  });
});
