import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fake server received, body read in full. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the fake server answers one request: a response, a reset connection, or no answer at all. */
export type FakeAnswer = { status: number; json?: unknown; text?: string } | 'reset' | 'hang';

/** A running fake server. */
export interface FakeTwilio {
  /** e.g. `http://127.0.0.1:PORT`. */
  url: string;
  requests: ReceivedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A scripted stand-in for Twilio (tests only), for wire details the simulator does not expose:
 * exact request bytes, crafted list pages, resets on a reused connection.
 */
export async function startFakeTwilio(
  answer: (request: ReceivedRequest, index: number) => FakeAnswer,
): Promise<FakeTwilio> {
  const requests: ReceivedRequest[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(received);
      const a = answer(received, requests.length - 1);
      if (a === 'reset') req.socket.destroy();
      else if (a !== 'hang') {
        const payload = a.text ?? JSON.stringify(a.json ?? {});
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(payload);
      }
    });
  });
  server.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
