export {
  createTwilioProvider,
  MIN_TIMEOUT_MS,
  type TwilioProviderDeps,
  type TwilioProviderOptions,
} from './twilio-provider.ts';
