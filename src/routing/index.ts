export {
  createRouter,
  type MessageChannel,
  type MessagePurpose,
  orderKeyFor,
  type RouteRequest,
  type Router,
} from './router.ts';
export { createSenderRanker, type SenderRanker } from './sender-ranking.ts';
export {
  type RegistrationState,
  registrationStateOf,
  requiredRegistration,
  sendableNumbers,
} from './sender-registration.ts';
