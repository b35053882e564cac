export type { Provider, ProviderMessage, SendRequest, SendResult, SentLookup } from './provider.ts';
export { createTwilioProvider, type TwilioProviderOptions } from './twilio/index.ts';
