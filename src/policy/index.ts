export { isRefusal, POLICY_REASONS, type PolicyReason, PolicyRefusal } from './policy-refusal.ts';
export {
  analyzeSms,
  isGsm7,
  MAX_BODY_CHARS,
  type SmsAnalysis,
  type SmsEncoding,
  smartEncode,
} from './sms-encoding.ts';
