import type { PoolConfig } from '../config/index.ts';

/** Why a message is sent: decides its pool and whether it is sent in order. */
export type MessagePurpose = PoolConfig['purposes'][number];
/** The channel a message goes out on. */
export type MessageChannel = PoolConfig['channel'];

/** What routing looks at: the message's purpose, channel and destination country (ISO 3166 alpha-2). */
export interface RouteRequest {
  purpose: MessagePurpose;
  channel: MessageChannel;
  country: string;
}

/** Picks the sender pool for a message. */
export interface Router {
  /** The pool for this traffic (lowest `priority` first, then config order), or null when none serves it. */
  selectPool(request: RouteRequest): PoolConfig | null;
}

/**
 * Whether a pool may carry a purpose. Marketing is isolated from OTP traffic in both
 * directions, so a filtering hit on a marketing sender never touches OTP deliverability: an
 * OTP never goes to a pool that also lists marketing, and marketing only goes to pools that
 * list it.
 */
function serves(pool: PoolConfig, purpose: MessagePurpose): boolean {
  if (!pool.purposes.includes(purpose)) return false;
  return purpose !== 'otp' || !pool.purposes.includes('marketing');
}

/**
 * Builds the purpose → pool router over the configured pools. Candidates per purpose and
 * channel are sorted once; a lookup only checks countries (`'*'` matches any).
 */
export function createRouter(pools: readonly PoolConfig[]): Router {
  const byRoute = new Map<string, { pool: PoolConfig; countries: ReadonlySet<string> }[]>();
  const ranked = pools
    .map((pool, index) => ({ pool, index }))
    .sort((a, b) => a.pool.priority - b.pool.priority || a.index - b.index);
  for (const { pool } of ranked) {
    const countries = new Set(pool.countries.map((c) => (c === '*' ? c : c.toUpperCase())));
    for (const purpose of pool.purposes) {
      if (!serves(pool, purpose)) continue;
      const key = `${purpose}|${pool.channel}`;
      const list = byRoute.get(key) ?? [];
      list.push({ pool, countries });
      byRoute.set(key, list);
    }
  }
  return {
    selectPool({ purpose, channel, country }) {
      const candidates = byRoute.get(`${purpose}|${channel}`);
      if (!candidates) return null;
      const wanted = country.toUpperCase();
      for (const c of candidates) {
        if (c.countries.has(wanted) || c.countries.has('*')) return c.pool;
      }
      return null;
    },
  };
}

/**
 * The ordering key of a message: OTP and transactional messages to one recipient of one
 * tenant share it, so they are sent in order and never two at once. Other purposes run in
 * parallel (null).
 */
export function orderKeyFor(purpose: MessagePurpose, tenantId: string, recipient: string): string | null {
  return purpose === 'otp' || purpose === 'transactional' ? `${tenantId}:${recipient}` : null;
}
