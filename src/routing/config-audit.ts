import type { PoolConfig } from '../config/index.ts';
import { registrationStateOf, sendableNumbers } from './sender-registration.ts';

/** One problem `switchboard audit` reports. */
export interface AuditFinding {
  severity: 'error' | 'warning';
  /** Stable: registration_missing, registration_pending, registration_rejected, registration_expired, registration_expiring, pool_below_peak, pool_unsendable. */
  code: string;
  pool: string;
  /** The sender number (the company's own; printed in full). */
  number?: string;
  message: string;
}

const EXPIRY_WARNING_MS = 30 * 86_400_000;

/** The MPS a pool can carry from its sendable numbers, capped by the pool's own cap. */
export function registeredCapacity(pool: PoolConfig, now: number): number {
  const sum = sendableNumbers(pool, now).reduce((s, n) => s + n.mps, 0);
  return pool.mps === undefined ? sum : Math.min(pool.mps, sum);
}

/**
 * Audits the senders: every US sender whose registration is missing, pending, rejected or
 * expired (errors: the policy refuses to send from it), registrations expiring within 30 days
 * (warnings), pools with no sender able to send, and pools whose registered capacity is below
 * their configured `peakMps`.
 */
export function auditPools(pools: readonly PoolConfig[], now: number): AuditFinding[] {
  const findings: AuditFinding[] = [];
  for (const pool of pools) {
    for (const number of pool.numbers) {
      const state = registrationStateOf(pool, number, now);
      if (state === 'ok') {
        const expires = (number.registration ?? pool.registration)?.expiresAt;
        if (expires !== undefined && Date.parse(expires) - now < EXPIRY_WARNING_MS) {
          findings.push({
            severity: 'warning',
            code: 'registration_expiring',
            pool: pool.id,
            number: number.address,
            message: `registration expires on ${expires}`,
          });
        }
      } else if (state !== 'not_required') {
        findings.push({
          severity: 'error',
          code: `registration_${state}`,
          pool: pool.id,
          number: number.address,
          message:
            state === 'missing'
              ? `no ${pool.senderType === 'toll_free' ? 'toll-free verification' : '10DLC campaign'} recorded: carriers filter it, the gateway will not send from it`
              : `registration is ${state}: the gateway will not send from it`,
        });
      }
    }
    const capacity = registeredCapacity(pool, now);
    if (capacity === 0) {
      findings.push({
        severity: 'error',
        code: 'pool_unsendable',
        pool: pool.id,
        message: 'no number of the pool may send',
      });
    } else if (pool.peakMps !== undefined && capacity < pool.peakMps) {
      findings.push({
        severity: 'error',
        code: 'pool_below_peak',
        pool: pool.id,
        message: `registered capacity ${round(capacity)} MPS is below the configured peak of ${pool.peakMps} MPS`,
      });
    }
  }
  return findings;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
