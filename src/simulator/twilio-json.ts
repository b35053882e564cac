import type { SimAccount, SimMessage, SimSender } from './model.ts';
import { TWILIO_DELIVERY_ERRORS } from './twilio-errors.ts';

/** RFC 2822 in GMT with a numeric zone, as Twilio formats dates: `Thu, 24 Aug 2023 05:01:45 +0000`. */
export function rfc2822(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toUTCString().replace('GMT', '+0000');
}

/** The Message resource JSON. */
export function messageJson(m: SimMessage) {
  const uri = `/2010-04-01/Accounts/${m.accountSid}/Messages/${m.sid}.json`;
  return {
    account_sid: m.accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: rfc2822(m.dateCreated),
    date_sent: rfc2822(m.dateSent),
    date_updated: rfc2822(m.dateUpdated),
    direction: m.direction,
    error_code: m.errorCode,
    error_message: m.errorCode === null ? null : (TWILIO_DELIVERY_ERRORS[m.errorCode] ?? null),
    from: m.from,
    messaging_service_sid: null,
    num_media: String(m.mediaUrls.length),
    num_segments: String(m.numSegments),
    price: m.price,
    price_unit: 'USD',
    sid: m.sid,
    status: m.status,
    subresource_uris: {
      media: `/2010-04-01/Accounts/${m.accountSid}/Messages/${m.sid}/Media.json`,
      feedback: `/2010-04-01/Accounts/${m.accountSid}/Messages/${m.sid}/Feedback.json`,
    },
    to: m.to,
    uri,
  };
}

/** The Account resource JSON; the auth token is shown, as Twilio shows it to the owner. */
export function accountJson(a: SimAccount) {
  const base = `/2010-04-01/Accounts/${a.sid}`;
  return {
    auth_token: a.authToken,
    date_created: rfc2822(a.dateCreated),
    date_updated: rfc2822(a.dateCreated),
    friendly_name: a.friendlyName,
    owner_account_sid: a.parentSid ?? a.sid,
    sid: a.sid,
    status: 'active',
    subresource_uris: {
      messages: `${base}/Messages.json`,
      incoming_phone_numbers: `${base}/IncomingPhoneNumbers.json`,
      short_codes: `${base}/SMS/ShortCodes.json`,
      keys: `${base}/Keys.json`,
    },
    type: 'Full',
    uri: `${base}.json`,
  };
}

/** The IncomingPhoneNumber resource JSON (long codes, toll-free). */
export function phoneNumberJson(s: SimSender) {
  return {
    account_sid: s.accountSid,
    address_requirements: 'none',
    api_version: '2010-04-01',
    beta: false,
    capabilities: { fax: false, mms: true, sms: true, voice: true },
    date_created: rfc2822(s.dateCreated),
    date_updated: rfc2822(s.dateCreated),
    friendly_name: s.friendlyName,
    origin: 'twilio',
    phone_number: s.address,
    sid: s.sid,
    sms_method: 'POST',
    sms_url: s.smsUrl ?? '',
    status: 'in-use',
    status_callback: s.statusCallback ?? '',
    status_callback_method: 'POST',
    uri: `/2010-04-01/Accounts/${s.accountSid}/IncomingPhoneNumbers/${s.sid}.json`,
  };
}

/** The ShortCode resource JSON. */
export function shortCodeJson(s: SimSender) {
  return {
    account_sid: s.accountSid,
    api_version: '2010-04-01',
    date_created: rfc2822(s.dateCreated),
    date_updated: rfc2822(s.dateCreated),
    friendly_name: s.friendlyName,
    short_code: s.address,
    sid: s.sid,
    sms_method: 'POST',
    sms_url: s.smsUrl ?? '',
    uri: `/2010-04-01/Accounts/${s.accountSid}/SMS/ShortCodes/${s.sid}.json`,
  };
}

/** A 2010-API list page envelope with relative page URIs, as twilio-node pages through it. */
export function page2010<T>(
  key: string,
  path: string,
  query: URLSearchParams,
  items: T[],
  page: number,
  pageSize: number,
  nextToken: string | null,
) {
  const q = new URLSearchParams(query);
  q.delete('PageToken');
  q.delete('Page');
  q.set('PageSize', String(pageSize));
  const at = (p: number, token?: string) => {
    const x = new URLSearchParams(q);
    x.set('Page', String(p));
    if (token) x.set('PageToken', token);
    return `${path}?${x.toString()}`;
  };
  const start = page * pageSize;
  return {
    [key]: items,
    end: start + Math.max(items.length - 1, 0),
    first_page_uri: at(0),
    next_page_uri: nextToken ? at(page + 1, nextToken) : null,
    page,
    page_size: pageSize,
    previous_page_uri: page > 0 ? at(page - 1) : null,
    start,
    uri: `${path}?${query.toString()}`,
  };
}
