import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { injectInbound } from './inbound.ts';
import type { SimMessage } from './model.ts';
import { faultsSchema } from './sim-config.ts';
import type { SimContext } from './sim-context.ts';
import { TwilioApiError } from './twilio-errors.ts';

const carrierPatch = z.strictObject({
  latencyMedianMs: z.number().nonnegative().optional(),
  latencyP95Ms: z.number().nonnegative().optional(),
  unreachableRate: z.number().min(0).max(1).optional(),
  unknownNumberRate: z.number().min(0).max(1).optional(),
  landlineRate: z.number().min(0).max(1).optional(),
  unknownErrorRate: z.number().min(0).max(1).optional(),
  filterKeywords: z.array(z.string()).optional(),
  enforcesRegistration: z.boolean().optional(),
  outage: z.boolean().optional(),
});
const senderPatch = z.strictObject({
  mps: z.number().positive().optional(),
  registered: z.boolean().optional(),
  smsUrl: z.url().nullable().optional(),
  statusCallback: z.url().nullable().optional(),
});
const inboundBody = z.strictObject({
  from: z.string().min(2),
  to: z.string().min(2),
  body: z.string().max(1600),
  mediaUrls: z.array(z.url()).max(10).optional(),
  profileName: z.string().optional(),
});
const rotateBody = z.strictObject({ authToken: z.string().min(8).optional() }).optional();

/**
 * The simulator's own admin API under `/sim`: fault injection, carrier and sender changes,
 * token rotation, inbound injection, and inspection of everything it accepted.
 */
export function registerAdminRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get('/sim/health', async () => ({ ok: true }));

  app.get('/sim/state', async () => ({
    accounts: ctx.accounts.list().map((a) => ({
      sid: a.sid,
      authToken: a.authToken,
      friendlyName: a.friendlyName,
      parentSid: a.parentSid,
    })),
    senders: ctx.accounts.allSenders(),
    carriers: ctx.carriers.list(),
    faults: ctx.faults.snapshot(),
    queues: ctx.engine.queues.depths(),
    messages: ctx.engine.size,
  }));

  app.get('/sim/faults', async () => ctx.faults.snapshot());
  app.post('/sim/faults', async (req) => ctx.faults.apply(parse(faultsSchema, req.body)));
  app.delete('/sim/faults', async () => {
    ctx.faults.reset();
    return ctx.faults.snapshot();
  });

  app.patch<{ Params: { id: string } }>('/sim/carriers/:id', async (req) => {
    const carrier = ctx.carriers.get(req.params.id);
    if (!carrier) throw new TwilioApiError(20404, 404, `Unknown carrier ${req.params.id}`);
    Object.assign(carrier, parse(carrierPatch, req.body));
    return carrier;
  });

  app.patch<{ Params: { address: string } }>('/sim/senders/:address', async (req) => {
    const sender = ctx.accounts.sender(decodeURIComponent(req.params.address));
    if (!sender) throw new TwilioApiError(20404, 404, `Unknown sender ${req.params.address}`);
    Object.assign(sender, parse(senderPatch, req.body));
    return sender;
  });

  app.post<{ Params: { sid: string } }>('/sim/accounts/:sid/rotate-token', async (req) => {
    const account = ctx.accounts.get(req.params.sid);
    if (!account) throw new TwilioApiError(20404, 404, `Unknown account ${req.params.sid}`);
    const body = parse(rotateBody, req.body);
    return { sid: account.sid, authToken: ctx.accounts.rotateToken(account, body?.authToken) };
  });

  app.post('/sim/inbound', async (req) => {
    const result = await injectInbound(ctx, parse(inboundBody, req.body));
    return {
      sid: result.message.sid,
      optOutType: result.optOutType,
      webhook: result.webhook,
      replies: result.replies.map((r) => ({ sid: r.sid, from: r.from, to: r.to, body: r.body })),
    };
  });

  app.get<{ Querystring: Record<string, string | undefined> }>('/sim/messages', async (req) => {
    const q = req.query;
    const afterSeq = Number(q.afterSeq ?? 0);
    const limit = Math.min(Number(q.limit ?? 10_000) || 10_000, 100_000);
    const out: ReturnType<typeof inspect>[] = [];
    for (const m of ctx.engine.all()) {
      if (m.seq <= afterSeq) continue;
      if (q.from && m.from !== q.from) continue;
      if (q.to && m.to !== q.to) continue;
      if (q.direction && m.direction !== q.direction) continue;
      out.push(inspect(m));
      if (out.length >= limit) break;
    }
    return { messages: out };
  });

  app.get('/sim/stats', async () => stats(ctx.engine.all()));
  app.get('/sim/alerts', async () => ({ alerts: ctx.engine.alerts }));

  app.post('/sim/reset', async () => {
    ctx.engine.clear();
    ctx.faults.reset();
    return { ok: true };
  });
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body ?? undefined);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new TwilioApiError(400, 400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return result.data;
}

/** One accepted message as the inspection endpoint shows it (millisecond timestamps). */
function inspect(m: SimMessage) {
  return {
    seq: m.seq,
    sid: m.sid,
    accountSid: m.accountSid,
    direction: m.direction,
    from: m.from,
    to: m.to,
    body: m.body,
    senderType: m.senderType,
    carrier: m.carrier,
    country: m.country,
    status: m.status,
    errorCode: m.errorCode,
    numSegments: m.numSegments,
    statusCallback: m.statusCallback,
    createdAt: m.dateCreated,
    sentAt: m.dateSent,
    responseLost: m.responseLost,
    history: m.history,
    callbacks: m.callbacks,
  };
}

/** Per-sender counts and the busiest one-second window at the carrier, plus duplicate bodies. */
function stats(messages: Iterable<SimMessage>) {
  const bySender: Record<
    string,
    { accepted: number; handedOff: number; maxPerSecond: number; sentTimes: number[] }
  > = {};
  const byStatus: Record<string, number> = {};
  const seen = new Map<string, number>();
  let total = 0;
  for (const m of messages) {
    if (m.direction !== 'outbound-api') continue;
    total++;
    byStatus[m.status] = (byStatus[m.status] ?? 0) + 1;
    const s = bySender[m.from] ?? { accepted: 0, handedOff: 0, maxPerSecond: 0, sentTimes: [] };
    bySender[m.from] = s;
    s.accepted++;
    if (m.dateSent !== null) {
      s.handedOff++;
      s.sentTimes.push(m.dateSent);
    }
    const key = `${m.to}\u0000${m.body}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const senders: Record<string, { accepted: number; handedOff: number; maxPerSecond: number }> = {};
  for (const [addr, s] of Object.entries(bySender)) {
    s.sentTimes.sort((a, b) => a - b);
    let lo = 0;
    for (let hi = 0; hi < s.sentTimes.length; hi++) {
      while (s.sentTimes[hi]! - s.sentTimes[lo]! >= 1000) lo++;
      s.maxPerSecond = Math.max(s.maxPerSecond, hi - lo + 1);
    }
    senders[addr] = { accepted: s.accepted, handedOff: s.handedOff, maxPerSecond: s.maxPerSecond };
  }
  let duplicates = 0;
  for (const n of seen.values()) if (n > 1) duplicates += n - 1;
  return { total, byStatus, senders, duplicateBodies: duplicates };
}
