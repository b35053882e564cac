import type { Destination } from './carriers.ts';
import { type Determinism, logNormalFromUniform } from './determinism.ts';
import type { SimMessage, SimSender } from './model.ts';

/** What happens to a message once it leaves the sender queue. */
export interface Outcome {
  final: 'delivered' | 'undelivered' | 'failed';
  errorCode: number | null;
  /** Milliseconds from hand-off to the final status. */
  latencyMs: number;
  /** Whether the carrier acknowledged the message (`sent`) before the final status. */
  acknowledged: boolean;
  /** Milliseconds from delivery to `read` (WhatsApp), or null when never read. */
  readAfterMs: number | null;
}

/** Content rules every carrier applies. */
export interface ContentFilter {
  keywords: readonly string[];
  shortenerDomains: readonly string[];
}

/** Inputs that are not part of the message itself. */
export interface OutcomeContext {
  det: Determinism;
  filter: ContentFilter;
  /** For WhatsApp: whether the 24-hour session with this user is open. */
  sessionOpen: boolean;
  /** For a ContentSid send: the template's approval status, or null when none was used. */
  templateStatus: string | null;
  whatsappReadRate: number;
}

const TEMPLATE_FAILURE: Record<string, number> = {
  rejected: 63040,
  paused: 63041,
  disabled: 63042,
  pending: 63040,
};

/**
 * Decides a message's fate at hand-off, deterministically from the seed and its SID:
 * channel rules, carrier outage, registration, content filtering, line type, then the
 * carrier's random failure rates and its delivery latency.
 */
export function decideOutcome(
  msg: SimMessage,
  sender: SimSender,
  dest: Destination,
  ctx: OutcomeContext,
): Outcome {
  const { det } = ctx;
  const carrier = dest.carrier;
  const latencyMs = Math.round(
    logNormalFromUniform(
      det.uniform(`latency:${msg.sid}`),
      carrier.latencyMedianMs || 1,
      carrier.latencyP95Ms || 1,
    ),
  );
  const undelivered = (errorCode: number): Outcome => ({
    final: 'undelivered',
    errorCode,
    latencyMs,
    acknowledged: true,
    readAfterMs: null,
  });
  const failed = (errorCode: number): Outcome => ({
    final: 'failed',
    errorCode,
    latencyMs: 0,
    acknowledged: false,
    readAfterMs: null,
  });

  if (sender.type === 'whatsapp') {
    if (msg.contentSid !== null) {
      const failure = TEMPLATE_FAILURE[ctx.templateStatus ?? 'approved'];
      if (failure) return failed(failure);
    } else if (!ctx.sessionOpen) {
      return failed(63016);
    }
    if (!dest.exists || dest.lineType === 'landline') return failed(63003);
  }
  if (carrier.outage) return undelivered(30008);
  if (carrier.enforcesRegistration && dest.country === 'US' && !sender.registered) {
    if (sender.type === 'long_code') return undelivered(30034);
    if (sender.type === 'toll_free') return undelivered(30032);
  }
  if (isFiltered(msg.body, ctx.filter, carrier.filterKeywords)) return undelivered(30007);
  if (sender.type !== 'whatsapp') {
    if (!dest.exists) return undelivered(30005);
    if (dest.lineType === 'landline') return undelivered(30006);
  }
  const u = det.uniform(`fate:${msg.sid}`);
  if (u < carrier.unreachableRate) return undelivered(30003);
  if (u < carrier.unreachableRate + carrier.unknownErrorRate) return undelivered(30008);
  const read =
    sender.type === 'whatsapp' && det.uniform(`read:${msg.sid}`) < ctx.whatsappReadRate
      ? Math.round(logNormalFromUniform(det.uniform(`readlat:${msg.sid}`), 30_000, 600_000))
      : null;
  return { final: 'delivered', errorCode: null, latencyMs, acknowledged: true, readAfterMs: read };
}

/** True when the body contains a filtered keyword or a link through a public URL shortener. */
export function isFiltered(body: string, filter: ContentFilter, carrierKeywords: readonly string[]): boolean {
  if (body.length === 0) return false;
  const lower = body.toLowerCase();
  for (const k of filter.keywords) if (lower.includes(k.toLowerCase())) return true;
  for (const k of carrierKeywords) if (lower.includes(k.toLowerCase())) return true;
  if (filter.shortenerDomains.length > 0 && (lower.includes('http') || lower.includes('.'))) {
    for (const host of linkHosts(lower)) {
      if (filter.shortenerDomains.some((d) => host === d || host.endsWith(`.${d}`))) return true;
    }
  }
  return false;
}

const LINK = /(?:https?:\/\/)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?=[/:?#\s]|$)/g;

function linkHosts(text: string): string[] {
  const hosts: string[] = [];
  for (const m of text.matchAll(LINK)) hosts.push(m[1]!);
  return hosts;
}
