import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/index.ts';
import { backends } from '../support/databases.ts';
import { CA, type IntakeApp, inject, KEY_B, startIntakeApp, US } from './intake-harness.ts';

interface Page {
  messages: { id: string; to: string; purpose: string; status: string; correlationId: string | null }[];
  nextCursor: string | null;
}

describe.each(backends())('intake listing on $name', (backend) => {
  let db: Db;
  let h: IntakeApp;
  const ids: string[] = [];
  beforeAll(async () => {
    db = await backend.open();
    h = await startIntakeApp(db);
    // 25 messages of tenant a, in order; every fifth to Canada and marketing, with a correlation id.
    for (let i = 0; i < 25; i++) {
      h.clock.now += 1_000;
      const res = await inject(h.app, 'POST', '/v1/messages', {
        to: i % 5 === 0 ? US : CA,
        body: `m${i}`,
        purpose: i % 5 === 0 ? 'marketing' : 'transactional',
        correlationId: `order-${i % 3}`,
      });
      ids.push(res.json().id);
    }
    await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'b', purpose: 'otp' }, {}, KEY_B);
  });
  afterAll(async () => {
    await h.close();
    await db.close();
    await backend.cleanup();
  });

  const list = async (query: string, key?: string): Promise<Page> => {
    const res = await inject(h.app, 'GET', `/v1/messages${query}`, undefined, {}, key);
    expect(res.statusCode).toBe(200);
    return res.json() as Page;
  };

  it('lists a tenant’s own messages newest first, 50 by default', async () => {
    const page = await list('');
    expect(page.messages.map((m) => m.id)).toEqual([...ids].reverse());
    expect(page.nextCursor).toBeNull();
    const other = await list('', KEY_B);
    expect(other.messages).toHaveLength(1);
    expect(ids).not.toContain(other.messages[0]?.id);
  });

  it('pages with an opaque cursor until the last page, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Page = await list(`?limit=10${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.messages.map((m) => m.id));
      cursor = page.nextCursor;
      pages++;
      if (cursor) expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('says there is no next page when the last page is exactly full', async () => {
    const first = await list('?limit=20');
    const second = await list(`?limit=5&cursor=${first.nextCursor}`);
    expect(second.messages).toHaveLength(5);
    expect(second.nextCursor).toBeNull();
  });

  it('keeps a cursor stable while new messages arrive', async () => {
    const first = await list('?limit=5');
    await inject(h.app, 'POST', '/v1/messages', { to: US, body: 'late', purpose: 'otp' });
    const second = await list(`?limit=5&cursor=${first.nextCursor}`);
    expect(second.messages.map((m) => m.id)).toEqual([...ids].reverse().slice(5, 10));
  });

  it('filters by status, recipient, purpose and correlation id', async () => {
    const mkt = await list('?purpose=marketing');
    expect(mkt.messages).toHaveLength(5);
    expect(mkt.messages.every((m) => m.purpose === 'marketing' && m.to === US)).toBe(true);
    const toCa = await list(`?to=${encodeURIComponent(CA)}`);
    expect(toCa.messages).toHaveLength(20);
    // An unencoded '+' (read as a space) still means the number.
    expect((await list(`?to=${CA}&limit=1`)).messages[0]?.to).toBe(CA);
    const corr = await list('?correlationId=order-1&purpose=transactional');
    expect(corr.messages.every((m) => m.correlationId === 'order-1' && m.purpose === 'transactional')).toBe(
      true,
    );
    expect(corr.messages.length).toBeGreaterThan(0);
    const canceled = ids[3] as string;
    expect((await inject(h.app, 'POST', `/v1/messages/${canceled}/cancel`)).statusCode).toBe(200);
    const byStatus = await list('?status=canceled');
    expect(byStatus.messages.map((m) => m.id)).toEqual([canceled]);
    const none = await list('?status=delivered');
    expect(none).toEqual({ messages: [], nextCursor: null });
  });
});
