export { book, CallSpacing, earliestStart, type GcraState, MIN_RATE_FACTOR } from './gcra.ts';
export {
  allSenders,
  numberKey,
  type PoolPlanOptions,
  poolClaimPlan,
  poolKey,
  RECOVERY_PER_SECOND,
  type SenderSelector,
  type SlotAssignment,
  stickyKeyOf,
} from './pool-schedule.ts';
