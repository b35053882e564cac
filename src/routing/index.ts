export {
  DEFAULT_MPS_PER_NUMBER,
  type PeakDemand,
  type PlanRow,
  parsePeaks,
  planCapacity,
  type SenderType,
  senderTypeFor,
} from './capacity-plan.ts';
export { type AuditFinding, auditPools, registeredCapacity } from './config-audit.ts';
export {
  createRouter,
  type MessageChannel,
  type MessagePurpose,
  orderKeyFor,
  type RouteRequest,
  type Router,
} from './router.ts';
export { bareAddress, createSenderRanker, type SenderRanker } from './sender-ranking.ts';
export {
  type RegistrationState,
  registrationStateOf,
  requiredRegistration,
  sendableNumbers,
} from './sender-registration.ts';
