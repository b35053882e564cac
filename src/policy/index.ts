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
export { isRefusal, POLICY_REASONS, type PolicyReason, PolicyRefusal } from './policy-refusal.ts';
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
  type TemplateCatalog,
  type TemplateConfig,
  type TemplateRef,
  templateBodyHash,
  templatePlaceholders,
  templateSchema,
  templatesSchema,
} from './template-catalog.ts';
