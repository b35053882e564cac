import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMediaChecker, mediaPolicySchema } from './media-checker.ts';

describe('createMediaChecker', () => {
  let server: Server;
  let base: string;
  const hits = new Map<string, number>();
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/ok.png': (_req, res) =>
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': '1234' }).end(),
    '/page.html': (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html', 'content-length': '10' }).end(),
    '/huge.jpg': (_req, res) =>
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(6 * 1024 * 1024) }).end(),
    '/no-head.gif': (req, res) => {
      if (req.method === 'HEAD') res.writeHead(405).end();
      else res.writeHead(206, { 'content-type': 'image/gif', 'content-range': 'bytes 0-0/2048' }).end('G');
    },
    '/moved.png': (_req, res) => res.writeHead(302, { location: '/ok.png' }).end(),
    '/hang.png': () => {},
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0]!;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const route = routes[path];
      if (route) route(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const checker = (over: Record<string, unknown> = {}) =>
    createMediaChecker(mediaPolicySchema.parse({ requireHttps: false, timeoutMs: 500, ...over }));

  it('passes a reachable image of an allowed type and size, after a redirect or a refused HEAD', async () => {
    const c = checker();
    expect(await c.check([`${base}/ok.png`, `${base}/moved.png`, `${base}/no-head.gif`])).toBeNull();
    await c.close();
  });

  it('refuses, naming the URL and the reason: 404, wrong type, too large, no answer', async () => {
    const c = checker();
    const cases: [string, RegExp][] = [
      ['/missing.png', /answered 404/],
      ['/page.html', /content type text\/html/],
      ['/huge.jpg', /6291456 bytes \(limit 5242880\)/],
      ['/hang.png', /could not be fetched/],
    ];
    for (const [path, reason] of cases) {
      const refusal = await c.check([`${base}/ok.png`, `${base}${path}?token=secret`]);
      expect(refusal?.reason).toBe('media_invalid');
      expect(refusal?.field).toBe('mediaUrls.1');
      expect(refusal?.message).toMatch(reason);
      expect(refusal?.message).not.toContain('secret');
    }
    await c.close();
  });

  it('refuses plain HTTP when HTTPS is required, without fetching it', async () => {
    const c = checker({ requireHttps: true });
    const before = hits.get('/ok.png') ?? 0;
    expect((await c.check([`${base}/ok.png`]))?.message).toMatch(/is not HTTPS/);
    expect(hits.get('/ok.png') ?? 0).toBe(before);
    await c.close();
  });

  it('checks a URL once while the cached answer is fresh', async () => {
    const c = checker();
    const before = hits.get('/ok.png') ?? 0;
    for (let i = 0; i < 5; i++) expect(await c.check([`${base}/ok.png`])).toBeNull();
    expect((hits.get('/ok.png') ?? 0) - before).toBe(1);
    await c.close();
  });
});
