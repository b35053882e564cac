import type { NewMessage } from '../../src/store/index.ts';

/** A transactional SMS as intake would hand it to the store, created at `now`, with overrides. */
export function testMessage(id: string, now: number, over: Partial<NewMessage> = {}): NewMessage {
  return {
    id,
    tenantId: 't1',
    idempotencyKey: null,
    payloadHash: 'h',
    channel: 'sms',
    purpose: 'transactional',
    recipient: '+14155550123',
    country: 'US',
    body: 'hello',
    bodyHash: null,
    contentSid: null,
    contentVariables: null,
    mediaUrls: null,
    userId: null,
    correlationId: null,
    poolId: 'p1',
    orderKey: null,
    now,
    ...over,
  };
}
