import { describe, expect, it } from 'vitest';
import { poolSchema } from '../config/index.ts';
import { registrationStateOf, sendableNumbers } from './sender-registration.ts';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const pool = (over: Record<string, unknown>) =>
  poolSchema.parse({ id: 'p', purposes: ['transactional'], countries: ['US'], ...over });

describe('registrationStateOf', () => {
  it('needs an approved, unexpired 10DLC campaign for a US long code, from the number or its pool', () => {
    const p = pool({
      senderType: 'long_code',
      registration: { kind: '10dlc', status: 'approved' },
      numbers: [
        { address: '+14155550100', mps: 1 },
        { address: '+14155550101', mps: 1, registration: { kind: '10dlc', status: 'pending' } },
        {
          address: '+14155550102',
          mps: 1,
          registration: { kind: '10dlc', status: 'approved', expiresAt: '2026-11-01' },
        },
        {
          address: '+14155550103',
          mps: 1,
          registration: { kind: 'toll_free_verification', status: 'approved' },
        },
      ],
    });
    expect(p.numbers.map((n) => registrationStateOf(p, n, NOW))).toEqual([
      'ok',
      'pending',
      'expired',
      'missing',
    ]);
    expect(sendableNumbers(p, NOW).map((n) => n.address)).toEqual(['+14155550100']);
  });

  it('refuses a US long code with no registration at all, but not a Canadian one', () => {
    const p = pool({
      senderType: 'long_code',
      numbers: [
        { address: '+14155550100', mps: 1 },
        { address: '+16045550100', mps: 1 },
      ],
    });
    expect(p.numbers.map((n) => registrationStateOf(p, n, NOW))).toEqual(['missing', 'not_required']);
  });

  it('needs a toll-free verification for a toll-free number and nothing for alphanumeric or WhatsApp', () => {
    const tf = pool({ senderType: 'toll_free', numbers: [{ address: '+18885550100', mps: 3 }] });
    expect(registrationStateOf(tf, tf.numbers[0]!, NOW)).toBe('missing');
    const alpha = pool({
      senderType: 'alphanumeric',
      countries: ['GB'],
      numbers: [{ address: 'ACME', mps: 10 }],
    });
    expect(registrationStateOf(alpha, alpha.numbers[0]!, NOW)).toBe('not_required');
    const wa = pool({ senderType: 'whatsapp', numbers: [{ address: 'whatsapp:+14155238886', mps: 10 }] });
    expect(registrationStateOf(wa, wa.numbers[0]!, NOW)).toBe('not_required');
  });
});
