import type { NumberConfig, PoolConfig } from '../config/index.ts';
import type { ClaimPlan, MessageRow, PacingRow, StickyPin } from '../store/index.ts';
import { book, earliestStart } from './gcra.ts';

/** Where and when one claimed message goes out. */
export interface SlotAssignment {
  messageId: string;
  sender: string;
  /** When to call the provider (ms since epoch). */
  at: number;
  /** False when no number of the pool may send (none registered): the message is refused. */
  registered: boolean;
  /**
   * The share of the numbers' MPS the slot was paced at (below 1 while the pool is slowed
   * down after 429s); the dispatcher keeps its own calls to that pace too.
   */
  rateFactor: number;
}

/** How fast a slowed-down pool gets back to full rate: fraction of its MPS regained per second. */
export const RECOVERY_PER_SECOND = 0.1;

/** Pacing key of a pool and of a number. */
export const poolKey = (poolId: string) => `pool:${poolId}`;
export const numberKey = (address: string) => `num:${address}`;

/** Which of a pool's numbers may carry a message (registration, geomatch). */
export interface SenderSelector {
  /** The numbers that may send (e.g. registered), in config order; empty when none may. */
  readonly sendable: readonly NumberConfig[];
  /** The best geomatch tier of sendable numbers for a recipient (same area code, country, any). */
  preferred(recipient: string): readonly NumberConfig[];
}

/** Every number may send, none preferred: the selector when no routing rules apply. */
export function allSenders(pool: PoolConfig): SenderSelector {
  return { sendable: pool.numbers, preferred: () => pool.numbers };
}

/** The sticky-sender key of a conversational message: per tenant, user (else number) and country. */
export function stickyKeyOf(row: MessageRow): string | null {
  return row.purpose === 'conversational'
    ? `${row.tenant_id}:${row.user_id ?? row.recipient}:${row.country}`
    : null;
}

/** How far past the horizon a message bound to one number (sticky, ordered, geomatched) may be placed. */
export interface PoolPlanOptions {
  selector?: SenderSelector;
  /** A slot later than now + maxWaitMs is not taken: the message goes back to the queue. */
  maxWaitMs?: number;
}

/**
 * The claim plan for one pool: each message gets the number whose schedule frees first among
 * those it may use — ordered traffic always the same number for a recipient (so the
 * provider's FIFO per sender keeps the order), a conversational recipient its sticky number,
 * other traffic the best geomatch tier — and a start time allowed by both the number's MPS
 * and the pool's cap, scaled down by the pool's 429 slow-down factor. Only what fits within
 * `horizonMs` is claimed, so claimed messages never wait long enough to lose their lease.
 */
export function poolClaimPlan(
  pool: PoolConfig,
  now: number,
  horizonMs: number,
  options: PoolPlanOptions = {},
): ClaimPlan<SlotAssignment> {
  const selector = options.selector ?? allSenders(pool);
  const maxWaitMs = Math.max(horizonMs, options.maxWaitMs ?? horizonMs);
  const pk = poolKey(pool.id);
  const poolMps = pool.mps ?? pool.numbers.reduce((s, n) => s + n.mps, 0);
  const keys = [pk, ...pool.numbers.map((n) => numberKey(n.address))];
  const sendable = selector.sendable.length > 0 ? selector.sendable : pool.numbers;
  const sendableSet = new Set(sendable.map((n) => n.address));

  const recover = (state: Map<string, PacingRow>) => {
    const row = state.get(pk)!;
    const elapsed = Math.max(0, now - row.updatedAt) / 1000;
    row.rateFactor = Math.min(1, row.rateFactor + elapsed * RECOVERY_PER_SECOND);
    row.updatedAt = now;
    return row.rateFactor;
  };

  const place = (
    state: Map<string, PacingRow>,
    factor: number,
    candidates: readonly NumberConfig[],
    commit: boolean,
  ) => {
    const poolRow = state.get(pk)!;
    const poolInterval = 1000 / (poolMps * factor);
    let best: { address: string; start: number; interval: number } | null = null;
    for (const n of candidates) {
      const interval = 1000 / (n.mps * factor);
      const start = earliestStart(state.get(numberKey(n.address))!, now, interval, pool.burst);
      if (!best || start < best.start) best = { address: n.address, start, interval };
    }
    const start = Math.max(best!.start, earliestStart(poolRow, now, poolInterval, pool.burst));
    if (commit) {
      book(state.get(numberKey(best!.address))!, start, best!.interval);
      book(poolRow, start, poolInterval);
    }
    return { address: best!.address, start };
  };

  const candidatesFor = (row: MessageRow, pins: ReadonlyMap<string, string>, sticky: string | null) => {
    if (row.order_key !== null) return [sendable[stableIndex(row.order_key, sendable.length)]!];
    const pinned = sticky === null ? undefined : pins.get(sticky);
    if (pinned !== undefined && sendableSet.has(pinned)) return sendable.filter((n) => n.address === pinned);
    const preferred = selector.preferred(row.recipient);
    const tier = preferred.length > 0 ? preferred : sendable;
    // A new sticky recipient gets a number of its tier by hash: users spread evenly over the
    // numbers whatever the load at the moment of their first message.
    if (sticky !== null) return [tier[stableIndex(sticky, tier.length)]!];
    return tier;
  };

  return {
    keys,
    capacity(state, max) {
      const factor = recover(state);
      const copy = new Map([...state].map(([k, v]) => [k, { ...v }]));
      let n = 0;
      for (; n < max; n++) {
        const slot = place(copy, factor, sendable, true);
        if (slot.start >= now + horizonMs) break;
      }
      return n;
    },
    stickyKeys: (rows) => rows.map(stickyKeyOf).filter((k): k is string => k !== null),
    assign(rows, state, pins = new Map()) {
      const factor = state.get(pk)!.rateFactor;
      const newPins: StickyPin[] = [];
      const slots = rows.map((row) => {
        const sticky = stickyKeyOf(row);
        let candidates = candidatesFor(row, pins, sticky);
        let probe = place(state, factor, candidates, false);
        // Geomatch is a preference: once the local numbers are booked beyond a quarter of the
        // horizon, free traffic spills over to the rest of the pool instead of queueing.
        if (row.order_key === null && sticky === null && candidates.length < sendable.length) {
          if (probe.start - now > horizonMs / 4) {
            candidates = sendable;
            probe = place(state, factor, candidates, false);
          }
        }
        if (probe.start >= now + maxWaitMs) return null;
        const slot = place(state, factor, candidates, true);
        if (sticky !== null && pins.get(sticky) !== slot.address) {
          newPins.push({ key: sticky, poolId: pool.id, sender: slot.address });
          (pins as Map<string, string>).set(sticky, slot.address);
        }
        return {
          messageId: row.id,
          sender: slot.address,
          at: slot.start,
          registered: selector.sendable.length > 0,
          rateFactor: factor,
        };
      });
      return { slots, newPins };
    },
  };
}

/** A stable small hash, so one recipient always maps to the same number. */
function stableIndex(key: string, n: number): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) % n;
}
