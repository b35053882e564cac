export { type CompiledPolicy, compilePolicy, type PolicySources } from './compiled-policy.ts';
export {
  type ContentLinter,
  type ContentPolicy,
  contentPolicySchema,
  createContentLinter,
  KNOWN_URL_SHORTENERS,
  type LintContext,
  type LintOutcome,
  messagePurposeSchema,
} from './content-linter.ts';
export {
  classifyInboundKeyword,
  HELP_KEYWORDS,
  type InboundKeyword,
  OPT_IN_KEYWORDS,
  OPT_OUT_KEYWORDS,
} from './inbound-keywords.ts';
export { type InboundProcessor, inboundEffect, startInboundProcessor } from './inbound-processor.ts';
export { type Admission, admitMessage, type IntakeRequest, type SwitchState } from './intake-policy.ts';
export {
  createMediaChecker,
  type MediaChecker,
  type MediaPolicy,
  mediaPolicySchema,
} from './media-checker.ts';
export {
  BROWNOUT_SWITCHES,
  type BrownoutSwitch,
  brownoutSchema,
  type PolicyConfig,
  policyConfigSchema,
} from './policy-config.ts';
export { PolicyEngine, type PolicyEngineDeps } from './policy-engine.ts';
export { isRefusal, POLICY_REASONS, type PolicyReason, PolicyRefusal } from './policy-refusal.ts';
export { type QuietHours, quietHoursEnd, quietHoursSchema } from './quiet-hours.ts';
export { timeZoneFor } from './recipient-time-zone.ts';
export { checkBeforeSend, type GateDecision, optOutScopes } from './send-gate.ts';
export {
  analyzeSms,
  isGsm7,
  MAX_BODY_CHARS,
  type SmsAnalysis,
  type SmsEncoding,
  smartEncode,
} from './sms-encoding.ts';
export {
  createTemplateCatalog,
  fillPlaceholders,
  type ResolvedTemplate,
  sha256Hex,
  type TemplateCatalog,
  type TemplateConfig,
  type TemplateRef,
  templatePlaceholders,
  templateSchema,
  templatesSchema,
} from './template-catalog.ts';
