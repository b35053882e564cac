import type { FaultState } from './faults.ts';
import type { CallbackAttempt, MessageStatus, SimMessage } from './model.ts';
import type { WebhookClient } from './webhook-client.ts';

/** A webhook failure, as Twilio's debugger (Monitor Alerts) would list it. */
export interface SimAlert {
  errorCode: number;
  resourceSid: string;
  accountSid: string;
  url: string;
  httpStatus: number | null;
  at: number;
}

/** Dependencies of the status-callback emitter. */
export interface StatusCallbackDeps {
  webhooks: WebhookClient;
  faults: FaultState;
  /** The current primary auth token of an account: callbacks are always signed with it. */
  tokenOf: (accountSid: string) => string;
  onAlert: (alert: SimAlert) => void;
  now: () => number;
}

const FINAL: ReadonlySet<MessageStatus> = new Set(['delivered', 'undelivered', 'failed', 'read']);

/**
 * Sends status callbacks for message status changes, applying the callback faults in
 * force: blackhole, drop, duplicate and reorder (a `sent` held back until after the final
 * status). Each attempt is recorded on the message.
 */
export class StatusCallbacks {
  private readonly held = new Map<string, { status: MessageStatus; params: Record<string, string> }>();
  private pending = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly deps: StatusCallbackDeps,
    private readonly statuses: ReadonlySet<MessageStatus>,
  ) {}

  /** Emits the callback for the message's new status, if the message asked for callbacks. */
  emit(msg: SimMessage, status: MessageStatus): void {
    const url = msg.statusCallback;
    if (!url || !this.statuses.has(status)) return;
    const { faults } = this.deps;
    const label = `${msg.sid}:${status}`;
    const params = callbackParams(msg, status, this.deps.now());
    const cb = faults.callbacks;
    if (cb.callbackBlackhole || faults.roll(`drop:${label}`, cb.callbackDropRate)) {
      this.record(msg, status, url, 'dropped');
      return;
    }
    if (status === 'sent' && faults.roll(`reorder:${label}`, cb.callbackReorderRate)) {
      this.held.set(msg.sid, { status, params });
      return;
    }
    const duplicate = faults.roll(`dup:${label}`, cb.callbackDuplicateRate);
    const held = FINAL.has(status) ? this.held.get(msg.sid) : undefined;
    if (held) this.held.delete(msg.sid);
    this.track(async () => {
      await this.send(msg, status, url, params, label, 'sent');
      if (duplicate) await this.send(msg, status, url, params, label, 'duplicate');
      if (held) await this.send(msg, held.status, url, held.params, `${msg.sid}:${held.status}`, 'sent');
    });
  }

  /** Resolves when no callback is in flight. */
  async drain(): Promise<void> {
    if (this.pending === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private track(work: () => Promise<void>): void {
    this.pending++;
    work()
      .catch(() => {})
      .finally(() => {
        if (--this.pending === 0) for (const r of this.idle.splice(0)) r();
      });
  }

  private async send(
    msg: SimMessage,
    status: MessageStatus,
    url: string,
    params: Record<string, string>,
    label: string,
    disposition: CallbackAttempt['disposition'],
  ): Promise<void> {
    const token = this.deps.tokenOf(msg.accountSid);
    const attempts = await this.deps.webhooks.deliver(url, params, token, `${label}`);
    for (const a of attempts) {
      msg.callbacks.push({ kind: 'status', status, disposition, ...a });
      if (a.errorCode !== null) {
        this.deps.onAlert({
          errorCode: a.errorCode,
          resourceSid: msg.sid,
          accountSid: msg.accountSid,
          url: a.url,
          httpStatus: a.httpStatus,
          at: a.at,
        });
      }
    }
  }

  private record(
    msg: SimMessage,
    status: MessageStatus,
    url: string,
    disposition: CallbackAttempt['disposition'],
  ): void {
    msg.callbacks.push({
      kind: 'status',
      status,
      url,
      at: this.deps.now(),
      durationMs: 0,
      httpStatus: null,
      errorCode: null,
      attempt: 0,
      disposition,
    });
  }
}

/** Twilio's status-callback parameter set for a message in the given status. */
export function callbackParams(msg: SimMessage, status: MessageStatus, now: number): Record<string, string> {
  const params: Record<string, string> = {
    AccountSid: msg.accountSid,
    ApiVersion: '2010-04-01',
    From: msg.from,
    MessageSid: msg.sid,
    MessageStatus: status,
    SmsSid: msg.sid,
    SmsStatus: status,
    To: msg.to,
  };
  if ((status === 'failed' || status === 'undelivered') && msg.errorCode !== null)
    params.ErrorCode = String(msg.errorCode);
  const whatsapp = msg.to.startsWith('whatsapp:');
  if (!whatsapp && (status === 'delivered' || status === 'undelivered'))
    params.RawDlrDoneDate = rawDlrDate(now);
  if (whatsapp) {
    params.ChannelPrefix = 'whatsapp';
    params.ChannelToAddress = msg.to.slice('whatsapp:'.length);
    params.ChannelInstallSid = `XE${msg.accountSid.slice(2)}`;
    if (status === 'delivered' || status === 'read' || status === 'undelivered')
      params.EventType = status.toUpperCase();
  }
  return params;
}

/** `YYMMDDhhmm` in UTC, as carriers put it in delivery receipts. */
function rawDlrDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}
