import { describe, expect, it } from 'vitest';
import { createSenderRanker } from './sender-ranking.ts';

describe('createSenderRanker', () => {
  const ranker = createSenderRanker(
    ['+14155550100', '+12125550102', '+12125550103', '+447400100100', 'ACME'].map((address) => ({ address })),
  );
  const preferred = (recipient: string) => ranker.preferred(recipient).map((n) => n.address);

  it('prefers numbers with the recipient\u2019s area code', () => {
    expect(preferred('+12125551234')).toEqual(['+12125550102', '+12125550103']);
    expect(preferred('+14155551234')).toEqual(['+14155550100']);
  });

  it('falls back to numbers of the recipient\u2019s country, then to every number', () => {
    expect(preferred('+13035551234')).toEqual(['+14155550100', '+12125550102', '+12125550103']);
    expect(preferred('+447400123456')).toEqual(['+447400100100']);
    expect(preferred('+4915123456789')).toHaveLength(5);
  });
});
