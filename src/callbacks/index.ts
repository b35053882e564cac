export {
  type CallbackApplier,
  type CallbackApplierDeps,
  type CallbackApplierOptions,
  startCallbackApplier,
} from './callback-applier.ts';
export {
  type CallbackRejectReason,
  type CallbackRouteDeps,
  type CallbackRouteOptions,
  callbackRoutes,
  INBOUND_PATH,
  keywordOf,
  STATUS_CALLBACK_PATH,
} from './callback-routes.ts';
export {
  type CallbackParams,
  TwilioSignatureVerifier,
  type TwilioSignatureVerifierOptions,
  urlVariants,
} from './twilio-signature-verifier.ts';
