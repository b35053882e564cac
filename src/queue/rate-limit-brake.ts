import type { Logger } from 'pino';
import { MIN_RATE_FACTOR, poolKey } from '../pacing/index.ts';
import { type Db, updateRateFactor } from '../store/index.ts';

/**
 * After a 429, halves a pool's shared rate (in the pacing state every worker reads), at most
 * once a second per worker so a burst of 429s does not stall the pool; the rate recovers
 * gradually in the claim plan.
 */
export function createRateLimitBrake(deps: {
  db: Db;
  logger: Logger;
  clock: () => number;
}): (poolId: string) => Promise<void> {
  const last = new Map<string, number>();
  return async (poolId) => {
    const now = deps.clock();
    if (now - (last.get(poolId) ?? 0) < 1000) return;
    last.set(poolId, now);
    try {
      const factor = await updateRateFactor(
        deps.db,
        poolKey(poolId),
        (r) => Math.max(MIN_RATE_FACTOR, r.rateFactor * 0.5),
        now,
      );
      deps.logger.warn({ pool: poolId, rateFactor: factor }, 'provider rate limit: pool slowed down');
    } catch (err) {
      deps.logger.error({ err }, 'could not slow the pool down');
    }
  };
}
