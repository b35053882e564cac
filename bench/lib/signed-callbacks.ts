// The callbacks benchmark's traffic: messages created through batch intake, and distinct,
// signed Twilio status callbacks about them (signatures precomputed, outside the measurement).
import { createHash } from 'node:crypto';
import { signTwilioRequest } from '../../src/simulator/index.ts';
import { benchRecipient, postBatches } from './gateway.ts';
import type { RequestSpec } from './load.ts';
import { benchPool } from './measure.ts';

export const STATUSES = ['sent', 'delivered'] as const;
export const FROM = '+14155550100';
export const ACCOUNT_SID = `AC${createHash('sha256').update('bench-callbacks').digest('hex').slice(0, 32)}`;
export const AUTH_TOKEN = createHash('sha256').update('bench-callbacks-token').digest('hex').slice(0, 32);

/** Precomputed, signed callbacks: `count` distinct ones, message by message (sent, then delivered). */
export function signedCallbacks(
  publicUrl: string,
  ids: string[],
  first: number,
  count: number,
): RequestSpec[] {
  const out: RequestSpec[] = new Array(count);
  const doneDate = '2611281200';
  for (let k = 0; k < count; k++) {
    const n = first + k;
    const m = Math.floor(n / STATUSES.length);
    const status = STATUSES[n % STATUSES.length]!;
    const id = ids[m % ids.length]!;
    const sid = `SM${createHash('md5').update(`${id}`).digest('hex')}`;
    const params: Record<string, string> = {
      AccountSid: ACCOUNT_SID,
      ApiVersion: '2010-04-01',
      From: FROM,
      MessageSid: sid,
      MessageStatus: status,
      SmsSid: sid,
      SmsStatus: status,
      To: benchRecipient(m),
    };
    if (status === 'delivered') params.RawDlrDoneDate = doneDate;
    const path = `/webhooks/twilio/status?mid=${encodeURIComponent(id)}`;
    out[k] = {
      path,
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'x-twilio-signature': signTwilioRequest(AUTH_TOKEN, publicUrl + path, params),
        'i-twilio-idempotency-token': `${sid}:${status}`,
        'user-agent': 'TwilioProxy/1.1',
        accept: '*/*',
      },
      body: new URLSearchParams(params).toString(),
    };
  }
  return out;
}

/** Creates `count` messages through batch intake (numbered from `first`); their ids in order. */
export async function preloadMessages(url: string, first: number, count: number): Promise<string[]> {
  const pool = benchPool(url, 4);
  try {
    const { ids } = await postBatches(pool, {
      total: count,
      batchSize: 1000,
      concurrency: 2,
      maxSeconds: 180,
      collectIds: true,
      makeMessage: (i) => ({
        to: benchRecipient(first + i),
        body: `Callback bench message ${first + i}`,
        purpose: 'transactional',
      }),
    });
    if (ids.length === 0) throw new Error('preload created no messages');
    return ids;
  } finally {
    await pool.close();
  }
}
