import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { NumberConfig, PoolConfig } from '../config/index.ts';
import { bareAddress } from './sender-ranking.ts';

/** Whether a sender may send as far as carrier registration goes. */
export type RegistrationState = 'ok' | 'not_required' | 'missing' | 'pending' | 'rejected' | 'expired';

/** What registration a sender of this pool needs: US A2P 10DLC, toll-free verification, or none. */
export function requiredRegistration(
  pool: PoolConfig,
  number: NumberConfig,
): '10dlc' | 'toll_free_verification' | null {
  if (pool.senderType !== 'long_code' && pool.senderType !== 'toll_free') return null;
  const phone = parsePhoneNumberFromString(bareAddress(number.address));
  // Only US numbers: Canadian and other +1 numbers are outside 10DLC and toll-free verification.
  if (phone?.country !== 'US')
    return pool.senderType === 'toll_free' && phone?.countryCallingCode === '1'
      ? 'toll_free_verification'
      : null;
  return pool.senderType === 'toll_free' ? 'toll_free_verification' : '10dlc';
}

/**
 * The registration state of one sender at `now`: the number's own registration, else its
 * pool's (a 10DLC campaign or a toll-free verification usually covers a whole pool, as it
 * covers a Messaging Service). A US long code needs an approved, unexpired 10DLC campaign; a
 * toll-free number an approved verification; other senders need none.
 */
export function registrationStateOf(pool: PoolConfig, number: NumberConfig, now: number): RegistrationState {
  const needed = requiredRegistration(pool, number);
  if (needed === null) return 'not_required';
  const reg = number.registration ?? pool.registration;
  if (!reg || reg.kind !== needed) return 'missing';
  if (reg.status !== 'approved') return reg.status;
  if (reg.expiresAt !== undefined && Date.parse(reg.expiresAt) <= now) return 'expired';
  return 'ok';
}

/** The numbers of a pool that may send at `now` (registered, or needing no registration). */
export function sendableNumbers(pool: PoolConfig, now: number): NumberConfig[] {
  return pool.numbers.filter((n) => {
    const state = registrationStateOf(pool, n, now);
    return state === 'ok' || state === 'not_required';
  });
}
