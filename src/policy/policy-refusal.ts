/**
 * The catalogue of policy reason codes: why a message was refused, deferred or changed before
 * the provider saw it. Codes are stable (producers branch on them); messages may change.
 */
export const POLICY_REASONS = {
  // refusals
  recipient_opted_out: 'The recipient opted out (STOP) from this sender scope.',
  url_shortener: 'The body links through a public URL shortener, which carriers filter.',
  url_not_allowed: 'The body links to a domain outside the URL allowlist.',
  keyword_blocked: 'The body matches a content rule that refuses it.',
  opt_out_language_missing: 'Marketing messages must tell the recipient how to opt out (e.g. "Reply STOP").',
  segment_limit_exceeded: 'The body needs more segments than the configured cap.',
  template_unknown: 'No such template, version or locale.',
  template_not_approved: 'The template version is not approved for sending.',
  template_variables_mismatch: "The variables do not match the template's placeholders.",
  sender_unregistered:
    'No sender of the pool has a valid registration (10DLC campaign or toll-free verification).',
  country_blocked: 'Sending to this country is blocked (spike protection or configuration).',
  media_invalid: 'A media URL failed the check (HTTPS, reachable, content type, size).',
  whatsapp_outside_window:
    'The WhatsApp 24-hour session is closed and no approved template or SMS fall-back applies.',
  no_pool: 'No sender pool serves this purpose, channel and country.',
  // deferrals and changes (recorded on the message, not refusals)
  quiet_hours: 'Deferred to the end of the recipient\u2019s local quiet hours.',
  daily_spend_cap: 'Deferred: the country\u2019s daily spend cap is reached.',
  first_contact_throttle: 'Deferred: the first-contact throttle is reached.',
  brownout_deferred: 'Deferred by a brownout switch.',
  whatsapp_fallback_sms: 'Sent as SMS: the WhatsApp session window is closed.',
  mms_as_text: 'Sent as text without media.',
  brownout_otp_sms: 'Sent as SMS: the OTP-over-WhatsApp brownout switch is on.',
} as const;

/** A stable policy reason code. */
export type PolicyReason = keyof typeof POLICY_REASONS;

/** A policy's refusal: its stable reason, a human message and the offending field. */
export class PolicyRefusal {
  readonly reason: PolicyReason;
  readonly message: string;
  readonly field: string | undefined;

  constructor(reason: PolicyReason, message?: string, field?: string) {
    this.reason = reason;
    this.message = message ?? POLICY_REASONS[reason];
    this.field = field;
  }
}

/** True for a refusal (as opposed to the value a policy function returns on success). */
export function isRefusal(value: unknown): value is PolicyRefusal {
  return value instanceof PolicyRefusal;
}
