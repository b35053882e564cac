export {
  type ApplyCallbacksResult,
  applyCallbackEvents,
  type CallbackEventRow,
  type CallbackInsertResult,
  type CallbackKind,
  type CallbackTransition,
  callbackDedupeKey,
  countOrphans,
  insertCallbackEvents,
  messageStatusFor,
  type NewCallbackEvent,
  type RematchOrphansResult,
  rematchOrphans,
} from './callback-store.ts';
export type { Db, DialectName } from './dialect.ts';
export { parseDatabaseUrl } from './dialect.ts';
export {
  type AttemptRow,
  cancelMessage,
  type EventRow,
  getHistory,
  getMessage,
  type InsertOutcome,
  insertMessages,
  listMessages,
  type MessageFilter,
  type MessageRow,
  type NewMessage,
  toRow,
} from './message-store.ts';
export { openDatabase } from './open-database.ts';
export {
  batchedOptOutLookup,
  type OptOutLookup,
  type OptOutReader,
  optedOutRecipients,
} from './opt-out-store.ts';
export {
  applyInboundEvents,
  blockCountry,
  type InboundEffect,
  isFirstContact,
  lastWhatsappInbound,
  listCountryBlocks,
  POLICY_REFUSED_CODE,
  type PolicyOutcome,
  pruneCounters,
  readSwitches,
  recordPolicyOutcomes,
  rememberContact,
  reserveCounter,
  setOptOut,
  setSwitch,
  touchWhatsappSession,
  unblockCountry,
} from './policy-store.ts';
export {
  type AttemptStart,
  type ClaimPlan,
  claimPaced,
  type DispatchOutcome,
  knownProviderSids,
  type PacingRow,
  pingDatabase,
  queueStats,
  recordOutcomes,
  releaseExpiredLeases,
  releaseLeases,
  type StickyPin,
  startAttempts,
  updateRateFactor,
} from './queue-store.ts';
export { type MessageStatus, STATUS_RANK } from './schema.ts';
export { Semaphore } from './semaphore.ts';
export { type BatcherOptions, WriteBatcher } from './write-batcher.ts';
