// The machine's ceiling for status callbacks: a bare node:http server doing the minimum a
// Twilio webhook needs at the HTTP level (read the form body, parse it, require the
// X-Twilio-Signature header and the MessageSid/MessageStatus fields, answer 204). It does not
// compute the HMAC: the ceiling is the HTTP work, the gateway's ratio includes its verification.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceServer } from '../lib/server-child.ts';

const MAX_BODY = 64 * 1024;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_BODY) return send(res, 413);
    if (typeof req.headers['x-twilio-signature'] !== 'string') return send(res, 403);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    if (!form.get('MessageSid') || !form.get('MessageStatus')) return send(res, 400);
    send(res, 204);
  });
});

function send(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}

server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  announceServer({ url: `http://127.0.0.1:${port}`, port, pid: process.pid }, () => {
    server.closeAllConnections();
    server.close();
  });
});
