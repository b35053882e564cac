import type { PoolConfig } from '../config/index.ts';
import type { MessageChannel, MessagePurpose } from '../routing/index.ts';
import type { CompiledPolicy } from './compiled-policy.ts';
import type { BrownoutSwitch } from './policy-config.ts';
import { type PolicyReason, PolicyRefusal } from './policy-refusal.ts';
import { quietHoursEnd } from './quiet-hours.ts';
import { timeZoneFor } from './recipient-time-zone.ts';
import { sha256Hex } from './template-catalog.ts';

/** What intake asks of the policy for one message (the recipient already validated). */
export interface IntakeRequest {
  channel: MessageChannel;
  purpose: MessagePurpose;
  recipient: string;
  country: string;
  body: string | null;
  template: {
    id: string;
    version?: number | undefined;
    locale?: string | undefined;
    variables?: Record<string, string> | undefined;
  } | null;
  mediaUrls: string[] | null;
}

/** A message the policy admits, with what it decided. */
export interface Admission {
  channel: MessageChannel;
  pool: PoolConfig;
  /** The body to store: null for a template message (it is rendered again at send time). */
  body: string | null;
  /** Hash of the body as it will be sent (rendered and smart-encoded). */
  bodyHash: string | null;
  mediaUrls: string[] | null;
  templateId: string | null;
  templateVersion: number | null;
  templateLocale: string | null;
  /** When the message may first be sent (quiet hours, brownout), or undefined for now. */
  notBefore: number | undefined;
  /** The policy decision recorded on the message (a deferral or a change), if any. */
  policyReason: PolicyReason | null;
}

/** The switches in force (the API's value where set, else the config's). */
export type SwitchState = Readonly<Record<BrownoutSwitch, boolean>>;

/** How long a brownout deferral waits before the switch is looked at again. */
export const BROWNOUT_RECHECK_MS = 60_000;

/**
 * The intake half of the policy engine, synchronous and allocation-light: brownout channel
 * changes, country blocks, template resolution and rendering, content lint (with smart
 * encoding), routing to a pool with a registered sender, and quiet hours. Returns the
 * admission or the refusal, before anything is stored.
 */
export function admitMessage(
  compiled: CompiledPolicy,
  req: IntakeRequest,
  /** `blockedCountries`: every country blocked now, the config's and the database's. */
  ctx: { now: number; switches: SwitchState; blockedCountries: ReadonlySet<string> },
): Admission | PolicyRefusal {
  let channel = req.channel;
  let mediaUrls = req.mediaUrls;
  let policyReason: PolicyReason | null = null;
  if (channel === 'whatsapp' && req.purpose === 'otp' && ctx.switches.otpWhatsappToSms) {
    channel = 'sms';
    policyReason = 'brownout_otp_sms';
  }
  if (channel === 'mms' && ctx.switches.mmsAsText) {
    channel = 'sms';
    mediaUrls = null;
    policyReason = 'mms_as_text';
  }
  if (ctx.blockedCountries.has(req.country)) {
    return new PolicyRefusal('country_blocked', `Sending to ${req.country} is blocked.`, 'to');
  }

  const pool = compiled.router.selectPool({ purpose: req.purpose, channel, country: req.country });
  if (!pool) {
    if (compiled.anyRouter.selectPool({ purpose: req.purpose, channel, country: req.country })) {
      return new PolicyRefusal('sender_unregistered');
    }
    return new PolicyRefusal(
      'no_pool',
      `No sender pool serves ${req.purpose} messages on ${channel} to ${req.country}.`,
    );
  }

  let text = req.body;
  let template: { id: string; version: number; locale: string } | null = null;
  if (req.template) {
    const resolved = compiled.catalog.resolve(req.template);
    if (resolved instanceof PolicyRefusal) return resolved;
    template = { id: resolved.id, version: resolved.version, locale: resolved.locale };
    if (channel === 'whatsapp' && resolved.contentSid !== null) {
      text = null; // an approved WhatsApp Content template: Twilio renders it
    } else if (resolved.body !== null) {
      const rendered = compiled.catalog.render(resolved, req.template.variables);
      if (rendered instanceof PolicyRefusal) return rendered;
      text = rendered;
    } else {
      return new PolicyRefusal(
        'template_unknown',
        `Template ${resolved.id} v${resolved.version} has no text body for ${channel}.`,
        'template',
      );
    }
  }

  let sendBody = text;
  if (text !== null) {
    const lint = compiled.linter.lint(text, { purpose: req.purpose, channel });
    if (lint.refusal) return lint.refusal;
    sendBody = lint.body;
  }

  let notBefore: number | undefined;
  const quiet = quietDeferral(compiled, req, ctx.now);
  if (quiet !== null) {
    notBefore = quiet;
    policyReason = 'quiet_hours';
  } else if (req.purpose === 'marketing' && ctx.switches.deferMarketing) {
    notBefore = ctx.now + BROWNOUT_RECHECK_MS;
    policyReason = 'brownout_deferred';
  }

  return {
    channel,
    pool,
    body: template ? null : sendBody,
    bodyHash: sendBody === null ? null : sha256Hex(sendBody),
    mediaUrls,
    templateId: template?.id ?? null,
    templateVersion: template?.version ?? null,
    templateLocale: template?.locale ?? null,
    notBefore,
    policyReason,
  };
}

/** The end of the recipient's quiet hours when the purpose observes them and now is inside; else null. */
export function quietDeferral(
  compiled: CompiledPolicy,
  msg: { purpose: string; recipient: string; country: string },
  now: number,
): number | null {
  const q = compiled.policy.quietHours;
  if (!q.enabled || !q.purposes.includes(msg.purpose as MessagePurpose)) return null;
  const window = q.countries?.[msg.country] ?? q;
  return quietHoursEnd(now, timeZoneFor(msg.recipient), window);
}
