import { analyzeSms, MAX_BODY_CHARS } from '../policy/index.ts';
import type { AccountRegistry } from './accounts.ts';
import { decideOutcome } from './carrier-outcome.ts';
import type { CarrierNetwork, Destination } from './carriers.ts';
import type { Clock } from './clock.ts';
import type { Determinism } from './determinism.ts';
import type { FaultState } from './faults.ts';
import type { MessageStatus, SimAccount, SimMessage, SimSender } from './model.ts';
import { SenderQueues } from './sender-queue.ts';
import type { SimConfig } from './sim-config.ts';
import { type SimAlert, StatusCallbacks } from './status-callbacks.ts';
import { TwilioApiError } from './twilio-errors.ts';
import type { WebhookClient } from './webhook-client.ts';

/** Form parameters as parsed from the request: a repeated name gives an array. */
export type FormParams = Record<string, string | string[] | undefined>;

/** Everything the message engine works with, passed in by the simulator's composition root. */
export interface EngineDeps {
  clock: Clock;
  det: Determinism;
  accounts: AccountRegistry;
  carriers: CarrierNetwork;
  faults: FaultState;
  webhooks: WebhookClient;
  config: SimConfig;
}

const MAX_ALERTS = 10_000;

/**
 * The simulator's message lifecycle: validates a create as Twilio does, queues it at its
 * sender, hands it to the carrier at the sender's pace, moves it through its statuses and
 * emits the status callbacks.
 */
export class MessageEngine {
  readonly queues: SenderQueues;
  readonly callbacks: StatusCallbacks;
  readonly alerts: SimAlert[] = [];
  /** `${sender}|${recipient}` pairs blocked by STOP. */
  readonly optOuts = new Set<string>();
  /** `${business}|${user}` → time of the user's last inbound WhatsApp message. */
  readonly sessions = new Map<string, number>();
  private readonly messages = new Map<string, SimMessage>();
  // Creation order, for newest-first listing; deleted and evicted entries are skipped.
  private order: SimMessage[] = [];
  private orderHead = 0;
  private readonly counters = new Map<string, number>();
  private readonly templates: Map<string, string>;
  private seq = 0;
  private stopped = false;

  constructor(private readonly deps: EngineDeps) {
    this.queues = new SenderQueues(deps.clock);
    this.templates = new Map(deps.config.whatsapp.templates.map((t) => [t.sid, t.status]));
    this.callbacks = new StatusCallbacks(
      {
        webhooks: deps.webhooks,
        faults: deps.faults,
        tokenOf: (sid) => deps.accounts.get(sid)?.authToken ?? '',
        onAlert: (a) => {
          if (this.alerts.length >= MAX_ALERTS) this.alerts.shift();
          this.alerts.push(a);
        },
        now: () => deps.clock.now(),
      },
      new Set(deps.config.callbacks.statuses),
    );
  }

  /** Validates and accepts an outbound message (`POST …/Messages.json`); throws TwilioApiError. */
  create(account: SimAccount, params: FormParams): SimMessage {
    const { config, accounts, carriers } = this.deps;
    const to = one(params.To)?.trim();
    const from = one(params.From)?.trim();
    const body = one(params.Body) ?? '';
    const mediaUrls = many(params.MediaUrl);
    const contentSid = one(params.ContentSid) ?? null;
    if (!to) throw TwilioApiError.of(21604);
    if (!from) {
      if (one(params.MessagingServiceSid))
        throw new TwilioApiError(21701, 404, 'The Messaging Service Sid is invalid.');
      throw TwilioApiError.of(21603);
    }
    if (!body && mediaUrls.length === 0 && !contentSid) throw TwilioApiError.of(21602);
    if (body.length > MAX_BODY_CHARS) throw TwilioApiError.of(21617);
    if (mediaUrls.length > 10) throw TwilioApiError.of(21623);
    if (mediaUrls.some((u) => !isHttpUrl(u))) throw TwilioApiError.of(21620);
    const statusCallback = one(params.StatusCallback) ?? null;
    if (statusCallback !== null && !isCallbackUrl(statusCallback)) throw TwilioApiError.of(21609);
    const validityPeriodS = parseValidity(one(params.ValidityPeriod));
    const whatsapp = to.startsWith('whatsapp:');
    if (whatsapp !== from.startsWith('whatsapp:'))
      throw TwilioApiError.of(21211, `The 'To' number ${to} is not a valid phone number for this channel.`);
    const dest = carriers.resolve(whatsapp ? to.slice(9) : to);
    if (!dest || to === from)
      throw TwilioApiError.of(21211, `The 'To' number ${to} is not a valid phone number.`);
    const sender = accounts.sender(from);
    if (!sender || sender.accountSid !== account.sid) {
      throw TwilioApiError.of(
        21606,
        `The 'From' number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`,
      );
    }
    if (config.api.blockedCountries.includes(dest.country)) {
      throw TwilioApiError.of(
        21408,
        `Permission to send an SMS has not been enabled for the region indicated by the 'To' number: ${to}.`,
      );
    }
    checkReach(sender, dest);
    if (this.optOuts.has(`${from}|${to}`)) throw TwilioApiError.of(21610);
    if (contentSid !== null) {
      if (!this.templates.has(contentSid)) throw TwilioApiError.of(21655);
      const vars = one(params.ContentVariables);
      if (vars !== undefined && !isJsonObject(vars)) throw TwilioApiError.of(21656);
    } else if (one(params.ContentVariables) !== undefined) {
      throw TwilioApiError.of(21654);
    }
    const segments = whatsapp || mediaUrls.length > 0 ? 1 : analyzeSms(body).segments;
    if (
      this.queues.backlogSeconds(sender.address, sender.mps) + segments / sender.mps >
      config.api.queueMaxSeconds
    ) {
      throw TwilioApiError.of(21611);
    }
    return this.accept(
      account,
      {
        to,
        from,
        body,
        mediaUrls,
        contentSid,
        statusCallback: statusCallback ?? sender.statusCallback,
        validityPeriodS,
        segments,
      },
      sender,
      dest,
    );
  }

  /** The message with this SID if the account may see it. */
  get(account: SimAccount, sid: string): SimMessage | undefined {
    const msg = this.messages.get(sid);
    return msg && msg.accountSid === account.sid ? msg : undefined;
  }

  /** Every message of an account, newest first (by creation). */
  *newestFirst(accountSid: string | null): Iterable<SimMessage> {
    for (let i = this.order.length - 1; i >= this.orderHead; i--) {
      const m = this.order[i]!;
      if ((accountSid === null || m.accountSid === accountSid) && this.messages.get(m.sid) === m) yield m;
    }
  }

  /** Every message in creation order, for inspection. */
  all(): IterableIterator<SimMessage> {
    return this.messages.values();
  }

  /** Number of messages kept. */
  get size(): number {
    return this.messages.size;
  }

  /** Deletes a message record (`DELETE …/Messages/{Sid}.json`). */
  delete(account: SimAccount, sid: string): boolean {
    const msg = this.get(account, sid);
    if (!msg) return false;
    this.messages.delete(sid);
    return true;
  }

  /** Records an inbound message (used by inbound injection). */
  recordInbound(msg: Omit<SimMessage, 'seq' | 'sid'>): SimMessage {
    const sid = this.nextSid(msg.accountSid, 'SM', 'inbound');
    return this.store({ ...msg, seq: 0, sid });
  }

  /** Forgets every message, opt-out, session and alert (queues keep running). */
  clear(): void {
    this.messages.clear();
    this.order = [];
    this.orderHead = 0;
    this.optOuts.clear();
    this.sessions.clear();
    this.alerts.length = 0;
  }

  /** Stops scheduling; pending status changes are abandoned. */
  stop(): void {
    this.stopped = true;
    this.queues.stop();
  }

  private accept(
    account: SimAccount,
    m: {
      to: string;
      from: string;
      body: string;
      mediaUrls: string[];
      contentSid: string | null;
      statusCallback: string | null;
      validityPeriodS: number;
      segments: number;
    },
    sender: SimSender,
    dest: Destination,
  ): SimMessage {
    const now = this.deps.clock.now();
    const sid = this.nextSid(account.sid, m.mediaUrls.length > 0 ? 'MM' : 'SM', 'outbound');
    const msg = this.store({
      seq: 0,
      sid,
      accountSid: account.sid,
      from: m.from,
      to: m.to,
      body: m.body,
      direction: 'outbound-api',
      status: 'queued',
      errorCode: null,
      numSegments: m.segments,
      mediaUrls: m.mediaUrls,
      contentSid: m.contentSid,
      statusCallback: m.statusCallback,
      validityPeriodS: m.validityPeriodS,
      senderType: sender.type,
      carrier: dest.carrier.id,
      country: dest.country,
      price: null,
      dateCreated: now,
      dateUpdated: now,
      dateSent: null,
      history: [{ status: 'queued', at: now, errorCode: null }],
      callbacks: [],
      responseLost: false,
    });
    this.callbacks.emit(msg, 'queued');
    // An idle sender departs inside enqueue; Twilio still answers the create with `queued`, so the
    // hand-off waits until the response is built (the queue's pacing is accounted at once).
    let accepting = true;
    this.queues.enqueue(sender.address, sender.mps, {
      segments: m.segments,
      enqueuedAt: now,
      expiresAt: now + m.validityPeriodS * 1000,
      depart: () => {
        const departedAt = this.deps.clock.now();
        if (accepting) queueMicrotask(() => this.handOff(msg, sender, dest, departedAt));
        else this.handOff(msg, sender, dest, departedAt);
      },
      expire: () => this.transition(msg, 'failed', 30036),
    });
    accepting = false;
    return msg;
  }

  private handOff(msg: SimMessage, sender: SimSender, dest: Destination, departedAt: number): void {
    if (msg.status !== 'queued') return; // canceled or deleted while waiting
    const { clock, det, config } = this.deps;
    const now = clock.now();
    msg.dateSent = departedAt;
    this.transition(msg, 'sending', null);
    const outcome = decideOutcome(msg, sender, dest, {
      det,
      filter: { keywords: config.content.filterKeywords, shortenerDomains: config.content.shortenerDomains },
      sessionOpen:
        now - (this.sessions.get(`${msg.from}|${msg.to}`) ?? Number.NEGATIVE_INFINITY) <=
        config.whatsapp.sessionWindowHours * 3_600_000,
      templateStatus: msg.contentSid ? (this.templates.get(msg.contentSid) ?? null) : null,
      whatsappReadRate: config.whatsapp.readRate,
    });
    if (!outcome.acknowledged) {
      this.transition(msg, outcome.final, outcome.errorCode);
      return;
    }
    const sentDelay = Math.min(config.callbacks.sentDelayMs, Math.max(0, outcome.latencyMs - 1));
    // Chained, so the carrier's statuses always happen in order: sent, then the final one.
    this.later(sentDelay, () => {
      msg.price = price(msg, dest);
      this.transition(msg, 'sent', null);
      this.later(Math.max(1, outcome.latencyMs - sentDelay), () => {
        this.transition(msg, outcome.final, outcome.errorCode);
        if (outcome.readAfterMs !== null)
          this.later(outcome.readAfterMs, () => this.transition(msg, 'read', null));
      });
    });
  }

  private transition(msg: SimMessage, status: MessageStatus, errorCode: number | null): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    msg.status = status;
    msg.errorCode = errorCode;
    msg.dateUpdated = now;
    msg.history.push({ status, at: now, errorCode });
    this.callbacks.emit(msg, status);
  }

  private later(ms: number, fn: () => void): void {
    const handle = this.deps.clock.setTimeout(() => {
      if (!this.stopped) fn();
    }, ms);
    handle.unref?.();
  }

  private nextSid(accountSid: string, prefix: string, kind: string): string {
    const n = (this.counters.get(accountSid) ?? 0) + 1;
    this.counters.set(accountSid, n);
    return this.deps.det.sid(prefix, `${kind}:${accountSid}:${n}`);
  }

  private store(msg: SimMessage): SimMessage {
    msg.seq = ++this.seq;
    this.messages.set(msg.sid, msg);
    this.order.push(msg);
    if (this.messages.size > this.deps.config.api.maxMessages) {
      const oldest = this.messages.keys().next().value;
      if (oldest !== undefined) this.messages.delete(oldest);
    }
    while (
      this.orderHead < this.order.length &&
      this.messages.get(this.order[this.orderHead]!.sid) !== this.order[this.orderHead]
    ) {
      this.orderHead++;
    }
    if (this.orderHead > 4096 && this.orderHead * 2 > this.order.length) {
      this.order = this.order.slice(this.orderHead);
      this.orderHead = 0;
    }
    return msg;
  }
}

function checkReach(sender: SimSender, dest: Destination): void {
  if (sender.type === 'short_code' && sender.country !== dest.country) {
    throw TwilioApiError.of(
      21606,
      `The short code ${sender.address} cannot send to ${dest.country} numbers.`,
    );
  }
  if (sender.type === 'alphanumeric' && (dest.country === 'US' || dest.country === 'CA')) {
    throw TwilioApiError.of(21606, `Alphanumeric sender IDs cannot send to ${dest.country} numbers.`);
  }
}

function price(msg: SimMessage, dest: Destination): string {
  const unit = msg.to.startsWith('whatsapp:')
    ? 0.005
    : dest.country === 'US' || dest.country === 'CA'
      ? 0.0079
      : 0.05;
  return (-unit * msg.numSegments).toFixed(5);
}

function parseValidity(raw: string | undefined): number {
  if (raw === undefined) return 36_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 36_000)
    throw TwilioApiError.of(90007, 'ValidityPeriod must be an integer between 1 and 36000.');
  return n;
}

function isHttpUrl(u: string): boolean {
  try {
    const url = new URL(u);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function isCallbackUrl(u: string): boolean {
  if (u.length > 4000 || !isHttpUrl(u)) return false;
  return !new URL(u).hostname.includes('_');
}

function isJsonObject(s: string): boolean {
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}

/** The first value of a form parameter. */
export function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Every value of a repeated form parameter. */
export function many(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
