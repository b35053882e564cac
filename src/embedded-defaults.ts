import type { PoolConfig } from './config/index.ts';
import { poolSchema } from './config/index.ts';
import type { SimConfigInput } from './simulator/index.ts';

/**
 * Sender pools for the embedded simulator, matching its default senders: transactional
 * traffic (OTP included) on registered 10DLC numbers, marketing on its own toll-free pool so
 * its reputation never touches transactional traffic, WhatsApp, and an alphanumeric ID abroad.
 */
export const EMBEDDED_POOLS: PoolConfig[] = [
  {
    id: 'transactional-us',
    senderType: 'long_code',
    channel: 'sms',
    purposes: ['otp', 'transactional', 'conversational'],
    countries: ['US', 'CA'],
    // The simulator's default senders are registered; a real deployment records its own campaigns.
    registration: { kind: '10dlc', id: 'CM00000000000000000000000000000000', status: 'approved' },
    numbers: [
      { address: '+14155550100', mps: 20 },
      { address: '+14155550101', mps: 20 },
      { address: '+12125550102', mps: 20 },
    ],
    burst: 1,
    priority: 10,
  },
  {
    id: 'marketing-us',
    senderType: 'toll_free',
    channel: 'sms',
    purposes: ['marketing'],
    countries: ['US', 'CA'],
    registration: { kind: 'toll_free_verification', id: 'TF-simulated', status: 'approved' },
    numbers: [{ address: '+18885550100', mps: 25 }],
    burst: 1,
    priority: 10,
  },
  {
    id: 'whatsapp',
    senderType: 'whatsapp',
    channel: 'whatsapp',
    purposes: ['otp', 'transactional', 'conversational'],
    countries: ['*'],
    numbers: [{ address: 'whatsapp:+14155238886', mps: 20 }],
    burst: 1,
    priority: 10,
  },
  {
    id: 'international',
    senderType: 'alphanumeric',
    channel: 'sms',
    purposes: ['otp', 'transactional', 'conversational'],
    countries: ['GB', 'DE', 'IN', 'BR'],
    numbers: [{ address: 'SWITCHBD', mps: 10 }],
    burst: 1,
    priority: 20,
  },
].map((p) => poolSchema.parse(p));

/** Simulator config whose senders run at the pools' MPS, so the gateway's pacing is what limits. */
export function embeddedSimulatorConfig(pools: PoolConfig[]): SimConfigInput {
  return {
    senders: pools.flatMap((p) =>
      p.numbers.map((n) => ({
        address: n.address,
        type: p.senderType,
        mps: n.mps,
        ...(p.senderType === 'alphanumeric' ? { country: 'GB' } : {}),
      })),
    ),
  };
}
