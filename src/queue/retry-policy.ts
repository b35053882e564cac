/** Retry settings: decorrelated jitter between `baseMs` and three times the last delay, capped. */
export interface RetryPolicy {
  baseMs: number;
  capMs: number;
  maxAttempts: number;
}

/**
 * The next delay with decorrelated jitter (sleep = min(cap, random(base, last × 3))): each
 * message draws its own delay from a range that grows with its history, so retries after
 * a 429 storm spread out instead of coming back in synchronized waves.
 */
export function nextDelay(policy: RetryPolicy, lastDelayMs: number, random: () => number): number {
  const upper = Math.max(policy.baseMs, lastDelayMs * 3);
  return Math.min(policy.capMs, policy.baseMs + random() * (upper - policy.baseMs));
}
