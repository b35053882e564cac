import { SbError } from '../errors/index.ts';
import type { Provider } from '../providers/index.ts';
import { type Db, type DispatchOutcome, knownProviderSids, type MessageRow } from '../store/index.ts';

/** The recipient as the provider addresses it (`whatsapp:+…` on WhatsApp). */
export function providerAddress(row: Pick<MessageRow, 'channel' | 'recipient'>): string {
  return row.channel === 'whatsapp' ? `whatsapp:${row.recipient}` : row.recipient;
}

/** What went wrong with one attempt, as both a final failure and a retry record it. */
interface AttemptFailure {
  attempt: number;
  owner: string;
  error: SbError;
  providerCode: number | null;
  httpStatus: number | null;
  now: number;
}

function failureFields(row: MessageRow, f: AttemptFailure) {
  return {
    messageId: row.id,
    attempt: f.attempt,
    owner: f.owner,
    errorCode: f.error.code,
    providerErrorCode: f.providerCode,
    httpStatus: f.httpStatus,
    message: f.error.message,
    now: f.now,
  };
}

/** A final failure of one attempt: failed for good, or dead-lettered after the last retry. */
export function failedOutcome(
  row: MessageRow,
  args: AttemptFailure & { status: 'failed' | 'dead' },
): DispatchOutcome {
  return { kind: 'failed', status: args.status, ...failureFields(row, args) };
}

/** Dead-lettered after the last attempt, with what went wrong last. */
export function deadLetter(
  row: MessageRow,
  at: { attempt: number; owner: string; now: number },
  last: { message: string; providerCode: number | null; httpStatus: number | null },
): DispatchOutcome {
  const error = new SbError(
    'SB_QUEUE_RETRIES_EXHAUSTED',
    `gave up after ${at.attempt} attempts: ${last.message}`,
  );
  return failedOutcome(row, { ...at, ...last, error, status: 'dead' });
}

/** A retry after `delayMs`; with `reconcile`, the provider is asked first what it has. */
export function retryOutcome(
  row: MessageRow,
  args: AttemptFailure & { delayMs: number; reconcile: boolean },
): DispatchOutcome {
  return {
    kind: 'retry',
    nextAttemptAt: args.now + args.delayMs,
    delayMs: args.delayMs,
    reconcile: args.reconcile,
    ...failureFields(row, args),
  };
}

/**
 * The provider SID an ambiguous attempt of this message created, or null when it created
 * none: the earliest message the provider sent from the same sender to the same recipient
 * since the message was created, with the same body, that no other message of ours owns.
 */
export async function findOwnSent(provider: Provider, db: Db, row: MessageRow): Promise<string | null> {
  const found = await provider.findSent({
    to: providerAddress(row),
    from: row.sender ?? '',
    since: row.created_at,
  });
  const candidates = found.filter((m) => row.body === null || m.body === row.body);
  const owners = await knownProviderSids(
    db,
    candidates.map((m) => m.sid),
  );
  const mine = candidates.filter((m) => owners.get(m.sid) === undefined || owners.get(m.sid) === row.id);
  return mine.sort((a, b) => a.dateCreated - b.dateCreated)[0]?.sid ?? null;
}
