// The machine's ceiling for intake: a bare node:http server doing the minimum an intake call
// needs (read the JSON body, parse it, check the bearer key, answer 202 with a message
// resource of the gateway's shape; for /v1/messages/batch one result per item).
//   BENCH_API_KEY: the key to accept (default 'sk_bench').
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceServer } from '../lib/server-child.ts';

const expectedAuth = `Bearer ${process.env.BENCH_API_KEY || 'sk_bench'}`;
const MAX_BODY = 4 * 1_048_576;

type Input = { to?: unknown; body?: unknown; purpose?: unknown; idempotencyKey?: unknown };

function resource(m: Input): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    id: `msg_${randomUUID().replaceAll('-', '')}`,
    to: m.to,
    channel: 'sms',
    purpose: m.purpose,
    status: 'queued',
    body: m.body,
    template: null,
    mediaUrls: null,
    userId: null,
    correlationId: null,
    idempotencyKey: m.idempotencyKey ?? null,
    pool: 'bench',
    sender: null,
    providerSid: null,
    attempts: 0,
    errorCode: null,
    providerErrorCode: null,
    errorMessage: null,
    createdAt: now,
    updatedAt: now,
    submittedAt: null,
    sentAt: null,
    finalAt: null,
    latencyMs: null,
    replay: false,
  };
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on('end', () => {
    if (req.headers.authorization !== expectedAuth) return send(res, 401, { error: { code: 'unauth' } });
    if (size > MAX_BODY) return send(res, 413, { error: { code: 'too_large' } });
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, { error: { code: 'bad_json' } });
    }
    if (req.url === '/v1/messages/batch') {
      const items = (parsed as { messages?: Input[] }).messages;
      if (!Array.isArray(items)) return send(res, 400, { error: { code: 'no_messages' } });
      return send(res, 200, {
        results: items.map((m, index) => ({ index, status: 202, message: resource(m) })),
      });
    }
    const m = parsed as Input;
    if (typeof m.to !== 'string' || typeof m.body !== 'string')
      return send(res, 400, { error: { code: 'invalid' } });
    send(res, 202, resource(m));
  });
});

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  announceServer({ url: `http://127.0.0.1:${port}`, port, pid: process.pid }, () => {
    server.closeAllConnections();
    server.close();
  });
});
