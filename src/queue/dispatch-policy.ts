import type { PoolConfig } from '../config/index.ts';
import type { SenderSelector, SlotAssignment } from '../pacing/index.ts';
import type { MessageRow } from '../store/index.ts';

/** What a policy decided just before a send (see the policy engine's check). */
export type SendDecision =
  | {
      kind: 'send';
      body: string | null;
      mediaUrls: string[];
      contentSid: string | null;
      contentVariables: string | null;
      /** A change a policy made on the way (e.g. media dropped), if any. */
      note?: string | null;
    }
  | { kind: 'refuse'; reason: string; message: string }
  | { kind: 'defer'; reason: string; until: number }
  | { kind: 'reroute'; reason: string; channel: string; poolId: string };

/** The policy the dispatcher consults: the pools in force, their senders, the check before a send. */
export interface DispatchPolicy {
  readonly pools: readonly PoolConfig[];
  selector(poolId: string): SenderSelector | undefined;
  check(row: MessageRow, pool: PoolConfig, slot: SlotAssignment): Promise<SendDecision>;
}

/** The content of a message as stored, when no policy decides it. */
export function storedContent(row: MessageRow): Extract<SendDecision, { kind: 'send' }> {
  return {
    kind: 'send',
    body: row.body,
    mediaUrls: row.media_urls ? (JSON.parse(row.media_urls) as string[]) : [],
    contentSid: row.content_sid,
    contentVariables: row.content_variables,
  };
}
