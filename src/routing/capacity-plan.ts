import type { PoolConfig } from '../config/index.ts';
import { registeredCapacity } from './config-audit.ts';
import { createRouter, type MessagePurpose } from './router.ts';

/** A sender type, as pools declare it. */
export type SenderType = PoolConfig['senderType'];

/**
 * Messages per second one number of each type carries, conservatively: a US short code 100,
 * a verified toll-free number 3 (Twilio's default; more on request), a 10DLC long code 1 (the
 * campaign's carrier limits decide the rest; plan per number with the low figure), an
 * alphanumeric ID or international long code 10, a WhatsApp sender 80.
 */
export const DEFAULT_MPS_PER_NUMBER: Readonly<Record<SenderType, number>> = {
  short_code: 100,
  toll_free: 3,
  long_code: 1,
  alphanumeric: 10,
  whatsapp: 80,
};

/** The expected peak of one kind of traffic. */
export interface PeakDemand {
  country: string;
  purpose: MessagePurpose;
  mps: number;
}

/** What `switchboard plan` answers for one peak. */
export interface PlanRow extends PeakDemand {
  senderType: SenderType;
  perNumberMps: number;
  numbersNeeded: number;
  /** The configured pool that serves this traffic (SMS), if any. */
  pool: string | null;
  /** Its registered capacity (sendable numbers, capped by the pool's MPS). */
  poolMps: number;
  meets: boolean;
}

/**
 * The sender type a peak calls for. US/Canada: a short code once toll-free numbers would need
 * more than ten numbers (30 MPS), otherwise toll-free for OTP and marketing (verified, high
 * deliverability) and 10DLC long codes for transactional and conversational traffic (sticky,
 * local). Elsewhere an alphanumeric ID, except conversational traffic, which needs a number
 * the recipient can answer.
 */
export function senderTypeFor(demand: PeakDemand): SenderType {
  const northAmerica = demand.country === 'US' || demand.country === 'CA';
  if (!northAmerica) return demand.purpose === 'conversational' ? 'long_code' : 'alphanumeric';
  if (demand.purpose !== 'conversational' && demand.mps > 10 * DEFAULT_MPS_PER_NUMBER.toll_free)
    return 'short_code';
  return demand.purpose === 'otp' || demand.purpose === 'marketing' ? 'toll_free' : 'long_code';
}

/**
 * Sizes the pools for expected peaks: per peak, the sender type, the numbers it needs and
 * whether the configured pool that routing picks for it carries the peak with its registered
 * numbers.
 */
export function planCapacity(
  demands: readonly PeakDemand[],
  pools: readonly PoolConfig[],
  now: number,
): PlanRow[] {
  const router = createRouter(pools);
  return demands.map((d) => {
    const senderType = senderTypeFor(d);
    const perNumberMps = DEFAULT_MPS_PER_NUMBER[senderType];
    const pool = router.selectPool({ purpose: d.purpose, channel: 'sms', country: d.country });
    const poolMps = pool ? registeredCapacity(pool, now) : 0;
    return {
      ...d,
      senderType,
      perNumberMps,
      numbersNeeded: Math.ceil(d.mps / perNumberMps),
      pool: pool?.id ?? null,
      poolMps,
      meets: poolMps >= d.mps,
    };
  });
}

/** Parses `US:otp=50,US:marketing=200`; throws an Error naming the bad entry. */
export function parsePeaks(text: string): PeakDemand[] {
  const purposes = new Set(['otp', 'transactional', 'conversational', 'marketing']);
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((entry) => {
      const m = /^([A-Za-z]{2}):([a-z]+)=(\d+(?:\.\d+)?)$/.exec(entry);
      if (!m || !purposes.has(m[2]!) || Number(m[3]) <= 0) {
        throw new Error(
          `"${entry}": expected COUNTRY:purpose=MPS such as US:otp=50 (purposes: otp, transactional, conversational, marketing)`,
        );
      }
      return { country: m[1]!.toUpperCase(), purpose: m[2] as MessagePurpose, mps: Number(m[3]) };
    });
}
