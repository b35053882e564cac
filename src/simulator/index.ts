export { DEFAULT_SENDERS, type SenderSpec } from './accounts.ts';
export { type CarrierProfile, DEFAULT_CARRIERS } from './carriers.ts';
export type { Clock } from './clock.ts';
export { HELP_KEYWORDS, OPT_IN_KEYWORDS, OPT_OUT_KEYWORDS } from './inbound.ts';
export type { CallbackAttempt, MessageStatus, SenderType, SimMessage, SimSender } from './model.ts';
export {
  ConfigError,
  loadSimConfigFile,
  parseSimConfig,
  type SimConfig,
  type SimConfigInput,
} from './sim-config.ts';
export { createSimulator, type Simulator, type SimulatorOptions, startSimulator } from './simulator.ts';
export { TwilioApiError } from './twilio-errors.ts';
export { signedParams, signTwilioRequest, signTwilioString } from './twilio-signature.ts';
