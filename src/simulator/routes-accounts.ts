import type { FastifyInstance } from 'fastify';
import { one } from './message-engine.ts';
import type { SimSender } from './model.ts';
import type { SimContext } from './sim-context.ts';
import { TwilioApiError } from './twilio-errors.ts';
import { accountJson, page2010, phoneNumberJson, rfc2822, shortCodeJson } from './twilio-json.ts';

type Body = Record<string, string | string[] | undefined>;

/** Accounts (subaccounts), API keys, IncomingPhoneNumbers and ShortCodes. */
export function registerAccountRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.post('/2010-04-01/Accounts.json', async (req, reply) => {
    const parent = req.simAccount!;
    if (parent.parentSid !== null)
      throw new TwilioApiError(20003, 401, 'Subaccounts cannot create subaccounts.');
    const sub = ctx.accounts.createSubaccount(parent, one((req.body as Body | undefined)?.FriendlyName));
    return reply.code(201).send(accountJson(sub));
  });

  app.get('/2010-04-01/Accounts.json', async (req) => {
    const me = req.simAccount!;
    const mine = ctx.accounts.list().filter((a) => a.sid === me.sid || a.parentSid === me.sid);
    return page2010(
      'accounts',
      '/2010-04-01/Accounts.json',
      new URLSearchParams(),
      mine.map(accountJson),
      0,
      50,
      null,
    );
  });

  app.get('/2010-04-01/Accounts/:accountSid.json', async (req) => accountJson(req.simAccount!));

  app.post('/2010-04-01/Accounts/:accountSid/Keys.json', async (req, reply) => {
    const account = req.simAccount!;
    const key = ctx.accounts.createApiKey(
      account,
      one((req.body as Body | undefined)?.FriendlyName) ?? 'key',
    );
    return reply.code(201).send({
      sid: key.sid,
      friendly_name: account.apiKeys.get(key.sid)!.friendlyName,
      secret: key.secret,
      date_created: rfc2822(key.dateCreated),
      date_updated: rfc2822(key.dateCreated),
    });
  });

  app.get('/2010-04-01/Accounts/:accountSid/Keys.json', async (req) => {
    const account = req.simAccount!;
    const keys = [...account.apiKeys].map(([sid, k]) => ({
      sid,
      friendly_name: k.friendlyName,
      date_created: rfc2822(k.dateCreated),
      date_updated: rfc2822(k.dateCreated),
    }));
    return page2010(
      'keys',
      `/2010-04-01/Accounts/${account.sid}/Keys.json`,
      new URLSearchParams(),
      keys,
      0,
      50,
      null,
    );
  });

  app.get('/2010-04-01/Accounts/:accountSid/IncomingPhoneNumbers.json', async (req) => {
    const account = req.simAccount!;
    const q = new URLSearchParams(req.url.split('?')[1] ?? '');
    const wanted = q.get('PhoneNumber');
    const numbers = ctx.accounts
      .sendersOf(account.sid)
      .filter((s) => s.type === 'long_code' || s.type === 'toll_free')
      .filter((s) => wanted === null || s.address === wanted);
    return page2010(
      'incoming_phone_numbers',
      `/2010-04-01/Accounts/${account.sid}/IncomingPhoneNumbers.json`,
      q,
      numbers.map(phoneNumberJson),
      0,
      Math.max(50, numbers.length),
      null,
    );
  });

  app.get<{ Params: { accountSid: string; sid: string } }>(
    '/2010-04-01/Accounts/:accountSid/IncomingPhoneNumbers/:sid.json',
    async (req) => {
      return phoneNumberJson(findSender(ctx, req.simAccount!.sid, req.params.sid));
    },
  );

  app.post<{ Params: { accountSid: string; sid: string } }>(
    '/2010-04-01/Accounts/:accountSid/IncomingPhoneNumbers/:sid.json',
    async (req) => {
      const sender = findSender(ctx, req.simAccount!.sid, req.params.sid);
      applyUrls(sender, (req.body ?? {}) as Body);
      return phoneNumberJson(sender);
    },
  );

  app.get('/2010-04-01/Accounts/:accountSid/SMS/ShortCodes.json', async (req) => {
    const account = req.simAccount!;
    const codes = ctx.accounts.sendersOf(account.sid).filter((s) => s.type === 'short_code');
    return page2010(
      'short_codes',
      `/2010-04-01/Accounts/${account.sid}/SMS/ShortCodes.json`,
      new URLSearchParams(),
      codes.map(shortCodeJson),
      0,
      50,
      null,
    );
  });

  app.post<{ Params: { accountSid: string; sid: string } }>(
    '/2010-04-01/Accounts/:accountSid/SMS/ShortCodes/:sid.json',
    async (req) => {
      const sender = findSender(ctx, req.simAccount!.sid, req.params.sid);
      applyUrls(sender, (req.body ?? {}) as Body);
      return shortCodeJson(sender);
    },
  );
}

function findSender(ctx: SimContext, accountSid: string, sid: string): SimSender {
  const sender = ctx.accounts.sendersOf(accountSid).find((s) => s.sid === sid);
  if (!sender) throw TwilioApiError.of(20404, `The requested resource ${sid} was not found`);
  return sender;
}

function applyUrls(sender: SimSender, body: Body): void {
  const smsUrl = one(body.SmsUrl);
  const statusCallback = one(body.StatusCallback);
  const friendlyName = one(body.FriendlyName);
  for (const url of [smsUrl, statusCallback]) {
    if (url && !/^https?:\/\/[^\s]+$/.test(url)) throw new TwilioApiError(21502, 400, `Invalid URL: ${url}`);
  }
  if (smsUrl !== undefined) sender.smsUrl = smsUrl || null;
  if (statusCallback !== undefined) sender.statusCallback = statusCallback || null;
  if (friendlyName !== undefined) sender.friendlyName = friendlyName;
}
