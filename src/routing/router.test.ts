import { describe, expect, it } from 'vitest';
import { type PoolConfig, poolSchema } from '../config/index.ts';
import { createRouter, orderKeyFor } from './router.ts';

// poolSchema does not accept the '*' country yet: parse the rest and put the countries back.
const pool = (p: Record<string, unknown> & { countries: string[] }): PoolConfig => ({
  ...poolSchema.parse({
    senderType: 'long_code',
    numbers: [{ address: '+14155550100', mps: 10 }],
    ...p,
    countries: p.countries.map((c) => (c === '*' ? 'US' : c)),
  }),
  countries: p.countries,
});

const txUs = pool({
  id: 'tx-us',
  channel: 'sms',
  purposes: ['otp', 'transactional', 'conversational'],
  countries: ['US', 'CA'],
});
const mktUs = pool({ id: 'mkt-us', senderType: 'toll_free', purposes: ['marketing'], countries: ['US'] });
const wa = pool({
  id: 'wa',
  senderType: 'whatsapp',
  channel: 'whatsapp',
  purposes: ['otp', 'transactional', 'conversational', 'marketing'],
  countries: ['*'],
  numbers: [{ address: 'whatsapp:+14155238886', mps: 10 }],
});

describe('createRouter', () => {
  it('routes each purpose to the pool serving its channel and country', () => {
    const router = createRouter([txUs, mktUs, wa]);
    expect(router.selectPool({ purpose: 'otp', channel: 'sms', country: 'US' })?.id).toBe('tx-us');
    expect(router.selectPool({ purpose: 'transactional', channel: 'sms', country: 'CA' })?.id).toBe('tx-us');
    expect(router.selectPool({ purpose: 'marketing', channel: 'sms', country: 'US' })?.id).toBe('mkt-us');
    expect(router.selectPool({ purpose: 'conversational', channel: 'whatsapp', country: 'DE' })?.id).toBe(
      'wa',
    );
  });

  it('returns null when no pool serves the country or the channel', () => {
    const router = createRouter([txUs, mktUs]);
    expect(router.selectPool({ purpose: 'marketing', channel: 'sms', country: 'CA' })).toBeNull();
    expect(router.selectPool({ purpose: 'otp', channel: 'sms', country: 'GB' })).toBeNull();
    expect(router.selectPool({ purpose: 'otp', channel: 'mms', country: 'US' })).toBeNull();
    expect(createRouter([]).selectPool({ purpose: 'otp', channel: 'sms', country: 'US' })).toBeNull();
  });

  it('never puts an OTP in a pool that also carries marketing, even when it is the only match', () => {
    const router = createRouter([txUs, mktUs, wa]);
    expect(router.selectPool({ purpose: 'otp', channel: 'whatsapp', country: 'US' })).toBeNull();
    expect(router.selectPool({ purpose: 'transactional', channel: 'whatsapp', country: 'US' })?.id).toBe(
      'wa',
    );
    const mixed = pool({ id: 'mixed', purposes: ['otp', 'marketing'], countries: ['US'], priority: 1 });
    expect(
      createRouter([mixed, txUs]).selectPool({ purpose: 'otp', channel: 'sms', country: 'US' })?.id,
    ).toBe('tx-us');
  });

  it('sends marketing only to pools that list marketing', () => {
    const router = createRouter([txUs]);
    expect(router.selectPool({ purpose: 'marketing', channel: 'sms', country: 'US' })).toBeNull();
  });

  it('prefers the lowest priority, then the order of the config', () => {
    const a = pool({ id: 'a', purposes: ['transactional'], countries: ['US'], priority: 50 });
    const b = pool({ id: 'b', purposes: ['transactional'], countries: ['US'], priority: 10 });
    const c = pool({ id: 'c', purposes: ['transactional'], countries: ['US'], priority: 10 });
    const router = createRouter([a, b, c]);
    expect(router.selectPool({ purpose: 'transactional', channel: 'sms', country: 'US' })?.id).toBe('b');
  });

  it('falls back from a country-specific pool to a wildcard pool by priority', () => {
    const world = pool({ id: 'world', purposes: ['transactional'], countries: ['*'], priority: 200 });
    const router = createRouter([world, txUs]);
    expect(router.selectPool({ purpose: 'transactional', channel: 'sms', country: 'US' })?.id).toBe('tx-us');
    expect(router.selectPool({ purpose: 'transactional', channel: 'sms', country: 'FR' })?.id).toBe('world');
  });

  it('matches countries regardless of case', () => {
    const lower = pool({ id: 'lower', purposes: ['transactional'], countries: ['gb'] });
    expect(
      createRouter([lower]).selectPool({ purpose: 'transactional', channel: 'sms', country: 'GB' })?.id,
    ).toBe('lower');
  });
});

describe('orderKeyFor', () => {
  it('keys OTP and transactional messages by tenant and recipient', () => {
    expect(orderKeyFor('otp', 'acme', '+14155550123')).toBe('acme:+14155550123');
    expect(orderKeyFor('transactional', 'acme', '+14155550123')).toBe('acme:+14155550123');
  });

  it('leaves conversational and marketing messages unordered', () => {
    expect(orderKeyFor('conversational', 'acme', '+14155550123')).toBeNull();
    expect(orderKeyFor('marketing', 'acme', '+14155550123')).toBeNull();
  });
});
