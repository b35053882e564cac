export {
  analyzeSms,
  isGsm7,
  MAX_BODY_CHARS,
  type SmsAnalysis,
  type SmsEncoding,
  smartEncode,
} from './sms-encoding.ts';
