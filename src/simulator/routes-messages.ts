import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FormParams, one } from './message-engine.ts';
import type { SimAccount, SimMessage } from './model.ts';
import type { SimContext } from './sim-context.ts';
import { TwilioApiError } from './twilio-errors.ts';
import { messageJson, page2010 } from './twilio-json.ts';

type MsgParams = { accountSid: string; messageSid: string };

/** `…/Messages.json` create, list, fetch, update, delete, and the Media sub-resource. */
export function registerMessageRoutes(app: FastifyInstance, ctx: SimContext): void {
  const base = '/2010-04-01/Accounts/:accountSid';

  app.post(`${base}/Messages.json`, async (req, reply) => {
    const account = req.simAccount!;
    const msg = ctx.engine.create(account, (req.body ?? {}) as FormParams);
    const lost = ctx.faults.fire('responseLost');
    if (lost) {
      msg.responseLost = true;
      return loseResponse(req, reply, lost.mode);
    }
    return reply.code(201).send(messageJson(msg));
  });

  app.get(`${base}/Messages.json`, async (req) => {
    const account = req.simAccount!;
    const query = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1 || req.url.length));
    const pageSize = clampInt(query.get('PageSize'), 50, 1, 1000);
    const page = clampInt(query.get('Page'), 0, 0, Number.MAX_SAFE_INTEGER);
    const tokenSeq = parseToken(query.get('PageToken'));
    const filter = messageFilter(query);
    const items: SimMessage[] = [];
    let more = false;
    for (const m of ctx.engine.newestFirst(account.sid)) {
      if (tokenSeq !== null && m.seq >= tokenSeq) continue;
      if (!filter(m)) continue;
      if (items.length === pageSize) {
        more = true;
        break;
      }
      items.push(m);
    }
    const next = more ? `PA${items[items.length - 1]!.seq}` : null;
    return page2010(
      'messages',
      `/2010-04-01/Accounts/${account.sid}/Messages.json`,
      query,
      items.map(messageJson),
      page,
      pageSize,
      next,
    );
  });

  app.get<{ Params: MsgParams }>(`${base}/Messages/:messageSid.json`, async (req) => {
    return messageJson(find(req.simAccount!, req.params.messageSid, ctx));
  });

  app.post<{ Params: MsgParams }>(`${base}/Messages/:messageSid.json`, async (req) => {
    const msg = find(req.simAccount!, req.params.messageSid, ctx);
    const params = (req.body ?? {}) as FormParams;
    const status = one(params.Status);
    if (status !== undefined) {
      if (status !== 'canceled')
        throw new TwilioApiError(20001, 400, "Status can only be updated to 'canceled'.");
      // Only scheduled messages can be canceled; the simulator queues every message at once.
      throw new TwilioApiError(30409, 400, 'Message cannot be canceled: it is not scheduled.');
    }
    const body = one(params.Body);
    if (body !== undefined) {
      if (body !== '')
        throw new TwilioApiError(20001, 400, 'Body can only be updated to an empty string (redaction).');
      if (!isFinal(msg))
        throw new TwilioApiError(20009, 400, 'Cannot redact a message that is still in flight.');
      msg.body = '';
    }
    return messageJson(msg);
  });

  app.delete<{ Params: MsgParams }>(`${base}/Messages/:messageSid.json`, async (req, reply) => {
    const msg = find(req.simAccount!, req.params.messageSid, ctx);
    if (!isFinal(msg))
      throw new TwilioApiError(20009, 409, 'Cannot delete a message that is still in flight.');
    ctx.engine.delete(req.simAccount!, msg.sid);
    return reply.code(204).send();
  });

  app.get<{ Params: MsgParams }>(`${base}/Messages/:messageSid/Media.json`, async (req) => {
    const msg = find(req.simAccount!, req.params.messageSid, ctx);
    const path = `/2010-04-01/Accounts/${msg.accountSid}/Messages/${msg.sid}/Media.json`;
    const media = msg.mediaUrls.map((url, i) => ({
      account_sid: msg.accountSid,
      content_type: guessContentType(url),
      date_created: null,
      date_updated: null,
      parent_sid: msg.sid,
      sid: ctx.det.sid('ME', `media:${msg.sid}:${i}`),
      uri: path.replace('Media.json', `Media/${ctx.det.sid('ME', `media:${msg.sid}:${i}`)}.json`),
    }));
    return page2010('media_list', path, new URLSearchParams(), media, 0, 50, null);
  });
}

function find(account: SimAccount, sid: string, ctx: SimContext): SimMessage {
  const msg = ctx.engine.get(account, sid);
  if (!msg)
    throw TwilioApiError.of(
      20404,
      `The requested resource /2010-04-01/Accounts/${account.sid}/Messages/${sid}.json was not found`,
    );
  return msg;
}

function isFinal(m: SimMessage): boolean {
  return ['delivered', 'undelivered', 'failed', 'read', 'received', 'canceled'].includes(m.status);
}

/**
 * "Accepted but the response is lost": the message exists, the client sees a reset
 * connection, or (mode `timeout`) no answer at all until it gives up.
 */
function loseResponse(req: FastifyRequest, reply: FastifyReply, mode: 'reset' | 'timeout'): FastifyReply {
  reply.hijack();
  if (mode === 'reset') req.raw.socket.destroy();
  return reply;
}

function messageFilter(q: URLSearchParams): (m: SimMessage) => boolean {
  const to = q.get('To');
  const from = q.get('From');
  const on = dayRange(q.get('DateSent'));
  const before = dayRange(q.get('DateSent<'));
  const after = dayRange(q.get('DateSent>'));
  return (m) => {
    if (to !== null && m.to !== to) return false;
    if (from !== null && m.from !== from) return false;
    if (on || before || after) {
      const sent = m.dateSent ?? (m.direction === 'inbound' ? m.dateCreated : null);
      if (sent === null) return false;
      if (on && (sent < on.start || sent >= on.end)) return false;
      if (before && sent >= before.end) return false;
      if (after && sent < after.start) return false;
    }
    return true;
  };
}

/** A `YYYY-MM-DD` day (GMT) or a full timestamp, as a [start, end) range in ms. */
function dayRange(v: string | null): { start: number; end: number } | null {
  if (!v) return null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const start = Date.parse(`${v}T00:00:00Z`);
    return Number.isNaN(start) ? null : { start, end: start + 86_400_000 };
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new TwilioApiError(20001, 400, `Invalid DateSent value: ${v}`);
  return { start: t, end: t + 1000 };
}

function parseToken(v: string | null): number | null {
  if (!v) return null;
  const n = Number(v.slice(2));
  if (!v.startsWith('PA') || !Number.isInteger(n)) throw new TwilioApiError(20001, 400, 'Invalid PageToken.');
  return n;
}

function clampInt(v: string | null, dflt: number, min: number, max: number): number {
  if (v === null) return dflt;
  const n = Number(v);
  return Number.isInteger(n) ? Math.min(max, Math.max(min, n)) : dflt;
}

function guessContentType(url: string): string {
  const lower = url.toLowerCase();
  if (lower.endsWith('.png')) return 'image/png';
  if (lower.endsWith('.gif')) return 'image/gif';
  if (lower.endsWith('.jpg') || lower.endsWith('.jpeg')) return 'image/jpeg';
  return 'application/octet-stream';
}
