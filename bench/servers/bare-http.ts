// The machine's ceiling: a bare node:http server doing the minimum a Twilio create needs
// (read the form body, parse it, check Basic auth, answer 201 with a Message-like JSON).
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceServer } from '../lib/server-child.ts';

const accountSid = `AC${createHash('sha256').update('bench-account').digest('hex').slice(0, 32)}`;
const authToken = createHash('sha256').update('bench-token').digest('hex').slice(0, 32);
const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
const MAX_BODY = 1_048_576;
let counter = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on('end', () => {
    if (req.headers.authorization !== expectedAuth) return send(res, 401, { code: 20003, status: 401 });
    if (size > MAX_BODY) return send(res, 413, { code: 413, status: 413 });
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const to = form.get('To');
    const from = form.get('From');
    if (!to || !from) return send(res, 400, { code: 21604, status: 400 });
    const sid = `SM${(++counter).toString(16).padStart(32, '0')}`;
    const now = new Date().toUTCString().replace('GMT', '+0000');
    const path = `/2010-04-01/Accounts/${accountSid}/Messages/${sid}`;
    send(res, 201, {
      account_sid: accountSid,
      api_version: '2010-04-01',
      body: form.get('Body') ?? '',
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from,
      messaging_service_sid: null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: 'queued',
      subresource_uris: { media: `${path}/Media.json`, feedback: `${path}/Feedback.json` },
      to,
      uri: `${path}.json`,
    });
  });
});

function send(res: import('node:http').ServerResponse, status: number, body: unknown): void {
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
  announceServer({ url: `http://127.0.0.1:${port}`, port, accountSid, authToken }, () => {
    server.closeAllConnections();
    server.close();
  });
});
