import type { PoolConfig } from '../config/index.ts';
import type { SlotAssignment } from '../pacing/index.ts';
import type { SendDecision } from '../queue/index.ts';
import { bareAddress, type MessagePurpose } from '../routing/index.ts';
import {
  blockCountry,
  type Db,
  isFirstContact,
  lastWhatsappInbound,
  type MessageRow,
  type OptOutLookup,
  rememberContact,
  reserveCounter,
} from '../store/index.ts';
import type { CompiledPolicy } from './compiled-policy.ts';
import { BROWNOUT_RECHECK_MS, quietDeferral, type SwitchState } from './intake-policy.ts';
import { type PolicyReason, PolicyRefusal } from './policy-refusal.ts';
import { analyzeSms } from './sms-encoding.ts';

/** What the gate decided for a claimed message, just before the provider call. */
export type GateDecision = SendDecision;

/** What the gate reads: the compiled policy and the live switches and blocks. */
export interface GateState {
  compiled: CompiledPolicy;
  switches: SwitchState;
  /** Every country blocked now: the config's and the database's. */
  blockedCountries: ReadonlySet<string>;
  /** Whether the recipient opted out (`batchedOptOutLookup`: a claimed batch reads them in one query). */
  isOptedOut: OptOutLookup;
}

/** Callbacks for what the gate observes (metrics, logs). */
export interface GateEvents {
  onCountryBlocked?(country: string, perMinute: number): void;
}

const HOUR = 3_600_000;
const DAY = 86_400_000;
const MINUTE = 60_000;

/** The opt-out scopes a message sent from this pool is subject to. */
export function optOutScopes(pool: PoolConfig): string[] {
  return ['account', `pool:${pool.id}`];
}

/**
 * The dispatch half of the policy engine: the checks that depend on state that changes
 * after intake (opt-outs, the WhatsApp session, registrations, brownouts, quiet hours, caps,
 * spike protection, media reachability), run for each claimed message before the provider
 * is called. A refusal here fails the message with its reason and no provider call.
 */
export async function checkBeforeSend(
  db: Db,
  state: GateState,
  row: MessageRow,
  pool: PoolConfig,
  slot: Pick<SlotAssignment, 'sender' | 'registered'>,
  now: number,
  events: GateEvents = {},
): Promise<GateDecision> {
  const { compiled, switches } = state;
  const policy = compiled.policy;
  const purpose = row.purpose as MessagePurpose;
  const refuse = (r: PolicyRefusal): GateDecision => ({
    kind: 'refuse',
    reason: r.reason,
    message: r.message,
  });

  if (!slot.registered) return refuse(new PolicyRefusal('sender_unregistered'));
  if (state.blockedCountries.has(row.country)) {
    return refuse(new PolicyRefusal('country_blocked', `Sending to ${row.country} is blocked.`));
  }
  if (await state.isOptedOut(row.recipient, optOutScopes(pool))) {
    return refuse(new PolicyRefusal('recipient_opted_out'));
  }

  const quiet = quietDeferral(compiled, row, now);
  if (quiet !== null) return { kind: 'defer', reason: 'quiet_hours', until: quiet };
  if (purpose === 'marketing' && switches.deferMarketing) {
    return { kind: 'defer', reason: 'brownout_deferred', until: now + BROWNOUT_RECHECK_MS };
  }

  const channel = row.channel;
  if (channel === 'whatsapp' && purpose === 'otp' && switches.otpWhatsappToSms) {
    const sms = compiled.router.selectPool({ purpose, channel: 'sms', country: row.country });
    if (sms) return { kind: 'reroute', reason: 'brownout_otp_sms', channel: 'sms', poolId: sms.id };
  }

  // The body as sent: a template message is rendered again from its approved version.
  let body = row.body;
  let contentSid: string | null = null;
  let contentVariables: string | null = null;
  if (row.template_id !== null) {
    const resolved = compiled.catalog.resolve({
      id: row.template_id,
      version: row.template_version ?? undefined,
      locale: row.template_locale ?? undefined,
    });
    if (resolved instanceof PolicyRefusal) return refuse(resolved);
    const variables =
      row.content_variables === null
        ? undefined
        : (JSON.parse(row.content_variables) as Record<string, string>);
    if (channel === 'whatsapp' && resolved.contentSid !== null) {
      contentSid = resolved.contentSid;
      contentVariables = row.content_variables;
      body = null;
    } else {
      const rendered = compiled.catalog.render(resolved, variables);
      if (rendered instanceof PolicyRefusal) return refuse(rendered);
      body = compiled.linter.lint(rendered, { purpose, channel: channel as 'sms' | 'mms' | 'whatsapp' }).body;
    }
  }

  if (channel === 'whatsapp' && contentSid === null) {
    const opened = await lastWhatsappInbound(db, row.recipient, [bareAddress(slot.sender)]);
    const open = opened !== null && now - opened < policy.whatsapp.sessionHours * HOUR;
    if (!open) {
      const sms = policy.whatsapp.smsFallbackPurposes.includes(purpose)
        ? compiled.router.selectPool({ purpose, channel: 'sms', country: row.country })
        : null;
      if (sms) return { kind: 'reroute', reason: 'whatsapp_fallback_sms', channel: 'sms', poolId: sms.id };
      return refuse(new PolicyRefusal('whatsapp_outside_window'));
    }
  }

  let mediaUrls = row.media_urls === null ? [] : (JSON.parse(row.media_urls) as string[]);
  let note: PolicyReason | null = null;
  if (mediaUrls.length > 0) {
    if (switches.mmsAsText) {
      mediaUrls = [];
      note = 'mms_as_text';
    } else {
      const bad = await compiled.mediaChecker.check(mediaUrls);
      if (bad) {
        if (policy.media.onInvalid === 'send_as_text' && body !== null) {
          mediaUrls = [];
          note = 'mms_as_text';
        } else return refuse(bad);
      }
    }
  }

  const spike = await checkSpike(db, state, row.country, now, events);
  if (spike) return refuse(spike);

  if (purpose === 'marketing') {
    const deferral = await checkCaps(db, compiled, row, body, now);
    if (deferral) return deferral;
  }
  return { kind: 'send', body, mediaUrls, contentSid, contentVariables, note };
}

/**
 * SMS-pumping protection: counts messages a minute to each country outside the home
 * countries; past the threshold the country is blocked (persisted, for every process) and
 * the message refused.
 */
async function checkSpike(
  db: Db,
  state: GateState,
  country: string,
  now: number,
  events: GateEvents,
): Promise<PolicyRefusal | null> {
  const spike = state.compiled.policy.spikeProtection;
  if (!spike.enabled || spike.homeCountries.includes(country)) return null;
  const limit = spike.countries[country] ?? spike.perMinute;
  if ((await reserveInWindow(db, `spike:${country}`, MINUTE, 1, limit, now)) === null) return null;
  if (await blockCountry(db, country, `spike: more than ${limit} messages a minute`, now)) {
    events.onCountryBlocked?.(country, limit);
  }
  return new PolicyRefusal(
    'country_blocked',
    `Sending to ${country} is blocked: more than ${limit} messages a minute (spike protection).`,
  );
}

/**
 * Marketing caps: the first-contact throttle per tenant and hour, and the daily spend cap
 * per country (segments × price). Excess is deferred to the next window, never dropped.
 */
async function checkCaps(
  db: Db,
  compiled: CompiledPolicy,
  row: MessageRow,
  body: string | null,
  now: number,
): Promise<GateDecision | null> {
  const caps = compiled.policy.caps;
  if (caps.firstContactPerHour !== undefined && (await isFirstContact(db, row.tenant_id, row.recipient))) {
    const full = await reserveInWindow(db, `first:${row.tenant_id}`, HOUR, 1, caps.firstContactPerHour, now);
    if (full !== null) return { kind: 'defer', reason: 'first_contact_throttle', until: full };
  }
  const cap = caps.dailySpendUsd[row.country];
  if (cap !== undefined) {
    const segments = body === null ? 1 : analyzeSms(body).segments;
    const price = segments * (caps.prices[row.country] ?? caps.defaultPrice);
    const full = await reserveInWindow(db, `spend:${row.country}`, DAY, price, cap, now);
    if (full !== null) return { kind: 'defer', reason: 'daily_spend_cap', until: full };
  }
  if (caps.firstContactPerHour !== undefined) await rememberContact(db, row.tenant_id, row.recipient, now);
  return null;
}

/**
 * Reserves `amount` of `limit` in the fixed window of `windowMs` that holds `now` (counter
 * `<prefix>:<window>`, kept one window longer); returns null when reserved, else the window's
 * end, when the next one starts.
 */
async function reserveInWindow(
  db: Db,
  prefix: string,
  windowMs: number,
  amount: number,
  limit: number,
  now: number,
): Promise<number | null> {
  const window = Math.floor(now / windowMs);
  const { reserved } = await reserveCounter(db, {
    key: `${prefix}:${window}`,
    amount,
    limit,
    expiresAt: (window + 2) * windowMs,
    now,
  });
  return reserved ? null : (window + 1) * windowMs;
}
