import {
  type AttemptStart,
  type Db,
  type DispatchOutcome,
  type PolicyOutcome,
  recordOutcomes,
  recordPolicyOutcomes,
  startAttempts,
  WriteBatcher,
} from '../store/index.ts';

/** The dispatcher's writes, each group-committed across the messages in flight. */
export interface DispatchWriters {
  /** Records an attempt before the provider call; false when the lease was lost (never send then). */
  attempts: WriteBatcher<AttemptStart, boolean>;
  outcomes: WriteBatcher<DispatchOutcome, void>;
  /** Policy refusals, deferrals and reroutes; false when the lease was lost. */
  policyOutcomes: WriteBatcher<PolicyOutcome, boolean>;
  drain(): Promise<void>;
}

/** Creates the dispatcher's batched writers over the store. */
export function createDispatchWriters(db: Db): DispatchWriters {
  const batch = <T, R>(write: (items: T[]) => Promise<R[]>) =>
    new WriteBatcher<T, R>(write, { maxBatch: 500, maxWaitMs: 0 });
  const held =
    <T extends { messageId: string }>(write: (db: Db, items: T[]) => Promise<Set<string>>) =>
    async (items: T[]) => {
      const ids = await write(db, items);
      return items.map((i) => ids.has(i.messageId));
    };
  const writers = {
    attempts: batch(held(startAttempts)),
    outcomes: batch<DispatchOutcome, void>(async (items) => {
      await recordOutcomes(db, items);
      return items.map(() => undefined);
    }),
    policyOutcomes: batch(held(recordPolicyOutcomes)),
  };
  return {
    ...writers,
    async drain() {
      await writers.attempts.drain();
      await writers.outcomes.drain();
      await writers.policyOutcomes.drain();
    },
  };
}
