import { randomBytes } from 'node:crypto';
import type { NewCallbackEvent } from '../../src/store/callback-store.ts';

/** A provider message SID, random. */
export const newSid = (): string => `SM${randomBytes(16).toString('hex')}`;

/** A verified status callback as the webhook stores it; `over` replaces any field. */
export function statusEvent(
  sid: string,
  status: string,
  receivedAt: number,
  over: Partial<NewCallbackEvent> = {},
): NewCallbackEvent {
  return {
    kind: 'status',
    providerSid: sid,
    messageId: null,
    status,
    errorCode: null,
    params: { MessageSid: sid, MessageStatus: status },
    receivedAt,
    ...over,
  };
}
