export { book, CallSpacing, earliestStart, type GcraState } from './gcra.ts';
export {
  allSenders,
  MIN_RATE_FACTOR,
  numberKey,
  type PoolPlanOptions,
  poolClaimPlan,
  poolKey,
  RECOVERY_PER_SECOND,
  type SenderSelector,
  type SlotAssignment,
  stickyKeyOf,
} from './pool-schedule.ts';
