import type { PoolConfig } from '../config/index.ts';
import type { ClaimPlan, MessageRow, PacingRow } from '../store/index.ts';
import { book, earliestStart } from './gcra.ts';

/** Where and when one claimed message goes out. */
export interface SlotAssignment {
  messageId: string;
  sender: string;
  /** When to call the provider (ms since epoch). */
  at: number;
}

/** How fast a slowed-down pool gets back to full rate: fraction of its MPS regained per second. */
export const RECOVERY_PER_SECOND = 0.1;
/** The lowest a pool is slowed to after repeated 429s. */
export const MIN_RATE_FACTOR = 0.05;

/** Pacing key of a pool and of a number. */
export const poolKey = (poolId: string) => `pool:${poolId}`;
export const numberKey = (address: string) => `num:${address}`;

/**
 * The claim plan for one pool: each message gets the number whose schedule frees first
 * (ordered traffic always gets the same number for a recipient, so the provider's FIFO per
 * sender keeps the order), and a start time allowed by both the number's MPS and the pool's
 * cap, scaled down by the pool's 429 slow-down factor. Only what fits within `horizonMs` is
 * claimed, so claimed messages never wait long enough to lose their lease.
 */
export function poolClaimPlan(pool: PoolConfig, now: number, horizonMs: number): ClaimPlan<SlotAssignment> {
  const pk = poolKey(pool.id);
  const poolMps = pool.mps ?? pool.numbers.reduce((s, n) => s + n.mps, 0);
  const keys = [pk, ...pool.numbers.map((n) => numberKey(n.address))];

  const recover = (state: Map<string, PacingRow>) => {
    const row = state.get(pk)!;
    const elapsed = Math.max(0, now - row.updatedAt) / 1000;
    row.rateFactor = Math.min(1, row.rateFactor + elapsed * RECOVERY_PER_SECOND);
    row.updatedAt = now;
    return row.rateFactor;
  };

  const place = (state: Map<string, PacingRow>, factor: number, orderKey: string | null, commit: boolean) => {
    const poolRow = state.get(pk)!;
    const poolInterval = 1000 / (poolMps * factor);
    let best: { address: string; start: number; interval: number } | null = null;
    const candidates =
      orderKey === null ? pool.numbers : [pool.numbers[stableIndex(orderKey, pool.numbers.length)]!];
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
    return { address: best!.address, start, poolInterval, numberInterval: best!.interval };
  };

  return {
    keys,
    capacity(state, max) {
      const factor = recover(state);
      const copy = new Map([...state].map(([k, v]) => [k, { ...v }]));
      let n = 0;
      for (; n < max; n++) {
        const slot = place(copy, factor, null, true);
        if (slot.start >= now + horizonMs) break;
      }
      return n;
    },
    assign(rows: MessageRow[], state) {
      const factor = state.get(pk)!.rateFactor;
      return rows.map((row) => {
        const slot = place(state, factor, row.order_key, true);
        return { messageId: row.id, sender: slot.address, at: slot.start };
      });
    },
  };
}

/** A stable small hash, so one recipient always maps to the same number. */
function stableIndex(key: string, n: number): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  return (h >>> 0) % n;
}
