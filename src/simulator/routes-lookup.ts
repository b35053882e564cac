import type { FastifyInstance } from 'fastify';
import type { SimContext } from './sim-context.ts';
import { TwilioApiError } from './twilio-errors.ts';

/** Lookup v2 (`/v2/PhoneNumbers/{n}`) and the Content API for WhatsApp templates. */
export function registerLookupRoutes(app: FastifyInstance, ctx: SimContext): void {
  app.get<{ Params: { number: string }; Querystring: { Fields?: string } }>(
    '/v2/PhoneNumbers/:number',
    async (req) => {
      const raw = decodeURIComponent(req.params.number);
      const fields = new Set(
        (req.query.Fields ?? '')
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean),
      );
      const dest = ctx.carriers.resolve(raw);
      const url = `${ctx.baseUrl()}/v2/PhoneNumbers/${encodeURIComponent(raw)}`;
      const empty = {
        caller_name: null,
        sim_swap: null,
        call_forwarding: null,
        line_status: null,
        identity_match: null,
        reassigned_number: null,
        sms_pumping_risk: null,
        phone_number_quality_score: null,
        pre_fill: null,
      };
      if (!dest) {
        return {
          calling_country_code: null,
          country_code: null,
          phone_number: raw,
          national_format: null,
          valid: false,
          validation_errors: [/^\+?\d+$/.test(raw) ? 'INVALID_BUT_POSSIBLE' : 'NOT_A_NUMBER'],
          line_type_intelligence: null,
          ...empty,
          url,
        };
      }
      const noCarrier = dest.lineType === 'tollFree';
      return {
        calling_country_code: dest.callingCode,
        country_code: dest.country,
        phone_number: dest.e164,
        national_format: dest.nationalFormat,
        valid: true,
        validation_errors: [],
        line_type_intelligence: fields.has('line_type_intelligence')
          ? {
              carrier_name: noCarrier ? null : dest.carrier.name,
              error_code: null,
              mobile_country_code: noCarrier ? null : dest.carrier.mcc,
              mobile_network_code: noCarrier ? null : dest.carrier.mnc,
              type: dest.lineType,
            }
          : null,
        ...empty,
        url,
      };
    },
  );

  app.get('/v1/Content', async () => {
    const contents = ctx.config.whatsapp.templates.map((t) => contentJson(ctx, t));
    return {
      contents,
      meta: {
        page: 0,
        page_size: 50,
        first_page_url: `${ctx.baseUrl()}/v1/Content?PageSize=50&Page=0`,
        previous_page_url: null,
        next_page_url: null,
        url: `${ctx.baseUrl()}/v1/Content?PageSize=50&Page=0`,
        key: 'contents',
      },
    };
  });

  app.get<{ Params: { sid: string } }>('/v1/Content/:sid', async (req) => {
    const t = ctx.config.whatsapp.templates.find((x) => x.sid === req.params.sid);
    if (!t)
      throw TwilioApiError.of(20404, `The requested resource /v1/Content/${req.params.sid} was not found`);
    return contentJson(ctx, t);
  });
}

function contentJson(ctx: SimContext, t: SimContext['config']['whatsapp']['templates'][number]) {
  const account = ctx.accounts.list()[0]!;
  return {
    account_sid: account.sid,
    date_created: null,
    date_updated: null,
    friendly_name: t.name,
    language: t.language,
    sid: t.sid,
    types: { 'twilio/text': { body: t.name } },
    url: `${ctx.baseUrl()}/v1/Content/${t.sid}`,
    variables: {},
    approval_requests: { name: t.name, status: t.status, category: 'UTILITY', rejection_reason: '' },
  };
}
