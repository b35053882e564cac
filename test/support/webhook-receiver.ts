import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  params: Record<string, string>;
  at: number;
}

/** A local HTTP server that records webhooks; `respond` decides each answer. */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  respond: (req: ReceivedWebhook) => { status: number; delayMs?: number };
  close(): Promise<void>;
}

/** Starts a receiver on a free loopback port. */
export async function startReceiver(): Promise<WebhookReceiver> {
  const state: WebhookReceiver = {
    url: '',
    received: [],
    respond: () => ({ status: 204 }),
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: ReceivedWebhook = {
        path: req.url ?? '/',
        headers: req.headers,
        params: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
        at: Date.now(),
      };
      state.received.push(rec);
      const { status, delayMs } = state.respond(rec);
      const answer = () => {
        if (!res.destroyed) res.writeHead(status).end();
      };
      if (delayMs) setTimeout(answer, delayMs).unref();
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}
