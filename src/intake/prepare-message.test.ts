import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { poolSchema } from '../config/index.ts';
import { SbError } from '../errors/index.ts';
import { admitMessage, compilePolicy, type IntakeRequest, policyConfigSchema } from '../policy/index.ts';
import { type MessageInput, parseMessageInput } from './message-input.ts';
import { createNumberValidator } from './phone-numbers.ts';
import { canonicalPayload, createMessageIdSource, prepareMessage } from './prepare-message.ts';

const input = (raw: Record<string, unknown>, header?: string): MessageInput => {
  const parsed = parseMessageInput(raw, header);
  if (parsed instanceof SbError) throw parsed;
  return parsed;
};

describe('canonicalPayload', () => {
  it('is the same whatever the order of template variables or whether the channel was defaulted', () => {
    const a = input({
      to: '+14155550123',
      purpose: 'otp',
      template: { id: 't', variables: { a: '1', b: '2' } },
    });
    const b = input({
      template: { variables: { b: '2', a: '1' }, id: 't' },
      channel: 'sms',
      purpose: 'otp',
      to: '+14155550123',
    });
    expect(canonicalPayload(a, '+14155550123')).toBe(canonicalPayload(b, '+14155550123'));
  });

  it('differs when any meaningful field differs, but not with the idempotency key', () => {
    const base = { to: '+14155550123', body: 'hi', purpose: 'otp' };
    const hash = (raw: Record<string, unknown>) => canonicalPayload(input(raw), '+14155550123');
    expect(hash(base)).toBe(hash({ ...base, idempotencyKey: 'x' }));
    for (const change of [
      { body: 'ho' },
      { purpose: 'transactional' },
      { userId: 'u' },
      { correlationId: 'c' },
    ]) {
      expect(hash({ ...base, ...change })).not.toBe(hash(base));
    }
    // A body and a template id with the same text are different payloads.
    expect(hash({ to: base.to, purpose: 'otp', template: { id: 'hi' } })).not.toBe(hash(base));
  });
});

describe('prepareMessage', () => {
  const compiled = compilePolicy(
    {
      pools: [
        poolSchema.parse({
          id: 'tx',
          senderType: 'long_code',
          purposes: ['otp'],
          countries: ['US'],
          registration: { kind: '10dlc', id: 'CM1', status: 'approved' },
          numbers: [{ address: '+14155550100', mps: 1 }],
        }),
      ],
      templates: [],
      policy: policyConfigSchema.parse({}),
    },
    5,
  );
  const switches = { deferMarketing: false, otpWhatsappToSms: false, mmsAsText: false };
  const ctx = {
    tenantId: 't',
    admit: (req: IntakeRequest) =>
      admitMessage(compiled, req, { now: 5, switches, blockedCountries: new Set<string>() }),
    validateNumber: createNumberValidator(2),
    newId: createMessageIdSource(),
    now: 5,
  };

  it('builds the row with hashes, pool, country and ordering key', () => {
    const row = prepareMessage(input({ to: '+14155550123', body: 'hi', purpose: 'otp' }), ctx);
    if (row instanceof SbError) throw row;
    expect(row).toMatchObject({
      tenantId: 't',
      recipient: '+14155550123',
      country: 'US',
      poolId: 'tx',
      orderKey: 't:+14155550123',
      bodyHash: createHash('sha256').update('hi').digest('hex'),
      now: 5,
    });
    expect(row.id).toMatch(/^msg_[0-9a-f]{32}$/);
  });

  it('keeps validating correctly once the number cache is full', () => {
    for (const to of ['+14155550123', '+14155550124', '+14155550125', '+1415555012', '+14155550123']) {
      const row = prepareMessage(input({ to, body: 'hi', purpose: 'otp' }), ctx);
      expect(row instanceof SbError ? row.code : 'ok').toBe(
        to.length === 12 ? 'ok' : 'SB_INTAKE_INVALID_NUMBER',
      );
    }
  });
});

describe('createMessageIdSource', () => {
  it('orders ids by creation time and keeps them unique within a millisecond', () => {
    const newId = createMessageIdSource();
    const a = newId(1_700_000_000_000);
    const b = newId(1_700_000_000_001);
    expect(a < b).toBe(true);
    expect(a).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(newId(5)).not.toBe(newId(5));
  });

  it('draws the random part from its own pool, refilled through the injected source', () => {
    let fills = 0;
    const newId = createMessageIdSource((buf) => {
      fills++;
      buf.fill(fills);
    });
    const ids = Array.from({ length: 410 }, () => newId(0));
    // 409 ids of 10 bytes fit the 4090-byte pool; the 410th refills it.
    expect(fills).toBe(2);
    expect(ids[0]).toBe(`msg_000000000000${'01'.repeat(10)}`);
    expect(ids[409]).toBe(`msg_000000000000${'02'.repeat(10)}`);
    // A second source does not share the first one's pool.
    expect(createMessageIdSource(() => {})(0)).toBe(`msg_000000000000${'00'.repeat(10)}`);
  });
});
