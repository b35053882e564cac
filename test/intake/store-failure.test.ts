import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, insertMessages, type NewMessage } from '../../src/store/index.ts';
import { backends } from '../support/databases.ts';
import { errorOf, type IntakeApp, inject, startIntakeApp, tableCounts, US } from './intake-harness.ts';

describe.each(backends())('intake when the store fails on $name', (backend) => {
  let db: Db;
  let h: IntakeApp;
  const logged: string[] = [];
  beforeAll(async () => {
    db = await backend.open();
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, done) {
          logged.push(String(chunk));
          done();
        },
      }),
    );
    // Every batch gets one extra row whose id repeats the first: the transaction fails part-way.
    const insert = (items: NewMessage[]) =>
      insertMessages(db, [...items, { ...(items[0] as NewMessage), idempotencyKey: 'poison' }]);
    h = await startIntakeApp(db, { insert, logger });
  });
  afterAll(async () => {
    await h.close();
    await db.close();
    await backend.cleanup();
  });

  it('answers 503 SB_INTAKE_UNAVAILABLE, rolls the whole batch back and logs neither body nor number', async () => {
    const before = await tableCounts(db);
    const res = await inject(h.app, 'POST', '/v1/messages', {
      to: US,
      body: 'secret code 424242',
      purpose: 'otp',
    });
    expect(res.statusCode).toBe(503);
    expect(errorOf(res).code).toBe('SB_INTAKE_UNAVAILABLE');
    expect(res.body).not.toMatch(/constraint|UNIQUE|duplicate/i);
    const batch = await inject(h.app, 'POST', '/v1/messages/batch', {
      messages: [
        { to: US, body: 'one', purpose: 'otp' },
        { to: US, body: 'two', purpose: 'otp' },
      ],
    });
    expect(batch.statusCode).toBe(503);
    expect(await tableCounts(db)).toEqual(before);
    expect(logged.length).toBeGreaterThan(0);
    const log = logged.join('\n');
    expect(log).not.toContain('424242');
    expect(log).not.toContain(US);
    expect(log).not.toContain(US.slice(1));
  });
});
