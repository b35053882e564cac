import DataLoader from 'dataloader';
import type { Db } from './dialect.ts';

// Reading opt-outs before a send (STOP / START are written with the inbound effects in
// policy-store.ts).

/** The recipients (of those given) opted out in any of these scopes. */
export async function optedOutRecipients(
  db: Db,
  recipients: readonly string[],
  scopes: readonly string[],
): Promise<Set<string>> {
  if (recipients.length === 0 || scopes.length === 0) return new Set();
  const rows = await db.kysely
    .selectFrom('opt_outs')
    .select('recipient')
    .where('recipient', 'in', [...new Set(recipients)])
    .where('scope', 'in', [...scopes])
    .where('opted_out', '=', 1)
    .execute();
  return new Set(rows.map((r) => r.recipient));
}

/** Whether a recipient has opted out in any of these scopes. */
export type OptOutLookup = (recipient: string, scopes: readonly string[]) => Promise<boolean>;

/** Reads which of these recipients opted out in any of these scopes (`optedOutRecipients`). */
export type OptOutReader = (recipients: readonly string[], scopes: readonly string[]) => Promise<Set<string>>;

/**
 * One recipient's opt-out at a time, with the lookups asked in one tick read together: one
 * query per scope set and up to `maxBatch` recipients (DataLoader). The dispatcher checks a
 * claimed batch of messages at once, and a query per message made 162 of the 1,165 MB the
 * gateway allocated in dispatch-e2e (Kysely builds and compiles each one). Nothing is cached:
 * every lookup reads the table after it was asked, so an opt-out stored before then is always
 * seen. A failed read fails the lookups of its batch only.
 */
export function batchedOptOutLookup(read: OptOutReader, maxBatch = 500): OptOutLookup {
  const loaders = new Map<string, DataLoader<string, boolean>>();
  return (recipient, scopes) => {
    const key = scopes.join('\n');
    let loader = loaders.get(key);
    if (!loader) {
      const fixed = [...scopes];
      loader = new DataLoader<string, boolean>(
        async (recipients) => {
          const out = await read(recipients, fixed);
          return recipients.map((r) => out.has(r));
        },
        { cache: false, maxBatchSize: maxBatch },
      );
      loaders.set(key, loader);
    }
    return loader.load(recipient);
  };
}
