import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Close functions registered by helpers; run them in afterEach/afterAll with {@link closeAll}. */
export const cleanup: (() => Promise<void> | void)[] = [];

/** Closes everything the helpers started (servers), so a failed assertion never leaves a server behind. */
export async function closeAll(): Promise<void> {
  const tasks = cleanup.splice(0);
  await Promise.all(tasks.map((task) => task()));
}

/** A request as a loopback test server saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
}

export interface TestServer {
  url: string;
  origin: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

/** Starts a node:http server on 127.0.0.1 with a free port; it records every request with its body. */
export function startServer(handler: Handler): Promise<TestServer> {
  return serveRecorded((listener) => createServer(listener), 'http', handler);
}

/**
 * Starts the server `create` makes (node:http or node:https) on 127.0.0.1 with a free port, recording
 * every request with its body; it is closed by {@link closeAll}.
 */
export async function serveRecorded(
  create: (listener: (req: IncomingMessage, res: ServerResponse) => void) => Server,
  protocol: 'http' | 'https',
  handler: Handler,
): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = create((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      requests.push(seen);
      Promise.resolve(handler(seen, res)).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `${protocol}://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
  cleanup.push(close);
  return { url: origin, origin, requests, close };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}
