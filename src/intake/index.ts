export { errorHandler, installErrorHandler, sendError, toSbError } from './error-handler.ts';
export {
  createIntake,
  type Intake,
  type IntakeDeps,
  type IntakeOptions,
  intakeRoutes,
  MAX_BATCH_MESSAGES,
} from './intake-routes.ts';
export { decodeCursor, encodeCursor } from './list-query.ts';
export { MAX_BODY_CHARS, MAX_MEDIA_URLS, type MessageInput, parseMessageInput } from './message-input.ts';
export {
  IsoTimes,
  type MessageHistory,
  type MessageResource,
  toMessageResource,
} from './message-resource.ts';
export { createNumberValidator, type NumberValidator, type ValidNumber } from './phone-numbers.ts';
export { canonicalPayload, prepareMessage } from './prepare-message.ts';
export { type Authenticator, createAuthenticator, type TenantKeys } from './tenant-auth.ts';
