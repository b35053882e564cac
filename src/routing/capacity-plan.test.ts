import { describe, expect, it } from 'vitest';
import { poolSchema } from '../config/index.ts';
import { parsePeaks, planCapacity } from './capacity-plan.ts';
import { auditPools } from './config-audit.ts';

const NOW = Date.parse('2026-11-28T12:00:00Z');
const approved = { kind: '10dlc', status: 'approved' } as const;
const pools = [
  poolSchema.parse({
    id: 'tx',
    senderType: 'long_code',
    purposes: ['otp', 'transactional'],
    countries: ['US'],
    registration: approved,
    peakMps: 25,
    numbers: [
      { address: '+14155550100', mps: 10 },
      { address: '+14155550101', mps: 10 },
      { address: '+14155550102', mps: 10, registration: { kind: '10dlc', status: 'pending' } },
    ],
  }),
  poolSchema.parse({
    id: 'mkt',
    senderType: 'toll_free',
    purposes: ['marketing'],
    countries: ['US'],
    registration: { kind: 'toll_free_verification', status: 'approved', expiresAt: '2026-12-10' },
    numbers: [{ address: '+18885550100', mps: 3 }],
  }),
];

describe('auditPools', () => {
  it('reports unregistered senders, registrations about to expire and pools below their peak', () => {
    const findings = auditPools(pools, NOW);
    expect(findings.map((f) => [f.severity, f.code, f.pool, f.number ?? null])).toEqual([
      ['error', 'registration_pending', 'tx', '+14155550102'],
      ['error', 'pool_below_peak', 'tx', null],
      ['warning', 'registration_expiring', 'mkt', '+18885550100'],
    ]);
    expect(findings[1]!.message).toContain('20 MPS is below the configured peak of 25');
  });
});

describe('planCapacity', () => {
  it('sizes each peak by sender type and checks the pool routing would pick', () => {
    const rows = planCapacity(
      parsePeaks('US:otp=50,US:marketing=3,US:transactional=15,GB:otp=5'),
      pools,
      NOW,
    );
    expect(
      rows.map((r) => [r.country, r.purpose, r.senderType, r.numbersNeeded, r.pool, r.poolMps, r.meets]),
    ).toEqual([
      ['US', 'otp', 'short_code', 1, 'tx', 20, false],
      ['US', 'marketing', 'toll_free', 1, 'mkt', 3, true],
      ['US', 'transactional', 'long_code', 15, 'tx', 20, true],
      ['GB', 'otp', 'alphanumeric', 1, null, 0, false],
    ]);
  });

  it('refuses a malformed peak list with the entry at fault', () => {
    expect(() => parsePeaks('US:otp=50,US:sms=3')).toThrow(/"US:sms=3"/);
    expect(() => parsePeaks('USA:otp=5')).toThrow(/COUNTRY:purpose=MPS/);
  });
});
