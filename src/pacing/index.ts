export { book, earliestStart, type GcraState } from './gcra.ts';
export {
  MIN_RATE_FACTOR,
  numberKey,
  poolClaimPlan,
  poolKey,
  RECOVERY_PER_SECOND,
  type SlotAssignment,
} from './pool-schedule.ts';
