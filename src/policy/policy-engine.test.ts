import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { testPool } from '../../test/support/dispatch-harness.ts';
import type { Db } from '../store/index.ts';
import { policyConfigSchema } from './policy-config.ts';
import { PolicyEngine } from './policy-engine.ts';
import { PolicyRefusal } from './policy-refusal.ts';

describe('PolicyEngine', () => {
  it('refuses at intake a country the config blocks, before any database state is read', () => {
    const engine = new PolicyEngine(
      // The config's blocks need no refresh: the database is never touched here.
      { db: undefined as unknown as Db, logger: pino({ level: 'silent' }) },
      {
        pools: [
          testPool({
            id: 'tx',
            purposes: ['otp'],
            countries: ['US', 'CA'],
            registration: { kind: '10dlc', id: 'CM1', status: 'approved' },
            numbers: [{ address: '+14155550100', mps: 1 }],
          }),
        ],
        templates: [],
        policy: policyConfigSchema.parse({ blockedCountries: ['CA'] }),
      },
    );
    const request = (recipient: string, country: string) => ({
      channel: 'sms' as const,
      purpose: 'otp' as const,
      recipient,
      country,
      body: 'Your code is 123456',
      template: null,
      mediaUrls: null,
    });
    const refused = engine.admit(request('+16135550123', 'CA'));
    expect(refused).toBeInstanceOf(PolicyRefusal);
    expect((refused as PolicyRefusal).reason).toBe('country_blocked');
    expect(engine.admit(request('+14155550123', 'US'))).not.toBeInstanceOf(PolicyRefusal);
    expect(engine.blockedCountries()).toEqual(['CA']);
  });
});
