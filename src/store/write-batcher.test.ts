import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { type BatcherOptions, WriteBatcher } from './write-batcher.ts';

/** A batcher whose flush records each batch and answers every item doubled. */
function recording(options: BatcherOptions) {
  const batches: number[][] = [];
  const batcher = new WriteBatcher<number, number>(async (items) => {
    batches.push(items);
    return items.map((i) => i * 2);
  }, options);
  return { batcher, batches };
}

/** Items submitted one per "request" in a single event-loop turn, each followed by `workMs` of other work. */
async function burst(batcher: WriteBatcher<number, number>, count: number, workMs: number) {
  const answers: Promise<number>[] = [];
  for (let i = 0; i < count; i++) {
    answers.push(batcher.submit(i));
    const until = performance.now() + workMs;
    while (performance.now() < until) {
      // the rest of handling a request
    }
    // Microtasks run between I/O callbacks; timers and setImmediate do not.
    for (let k = 0; k < 5; k++) await Promise.resolve();
  }
  return answers;
}

describe('WriteBatcher', () => {
  it('writes what concurrent callers submit in one batch, each getting its own result', async () => {
    const { batcher, batches } = recording({ maxBatch: 100, maxWaitMs: 0 });
    const answers = await Promise.all([1, 2, 3].map((i) => batcher.submit(i)));
    expect(answers).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('splits at maxBatch', async () => {
    const { batcher, batches } = recording({ maxBatch: 2, maxWaitMs: 0 });
    expect(await batcher.submitMany([1, 2, 3, 4, 5])).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('answers a group with its results in order, across batches and beside single callers', async () => {
    const { batcher, batches } = recording({ maxBatch: 4, maxWaitMs: 0 });
    const before = batcher.submit(100);
    const group = batcher.submitMany([1, 2, 3, 4, 5, 6]);
    const after = batcher.submit(200);
    expect(await Promise.all([before, group, after])).toEqual([200, [2, 4, 6, 8, 10, 12], 400]);
    expect(batches).toEqual([
      [100, 1, 2, 3],
      [4, 5, 6, 200],
    ]);
    expect(await batcher.submitMany([])).toEqual([]);
  });

  it('rejects a group when one of its batches fails, and answers the callers queued after it', async () => {
    let calls = 0;
    const batcher = new WriteBatcher<number, number>(
      async (items) => {
        calls++;
        if (calls === 2) throw new Error('disk full');
        return items;
      },
      { maxBatch: 2, maxWaitMs: 0 },
    );
    const group = batcher.submitMany([1, 2, 3, 4]);
    const later = batcher.submit(5);
    await expect(group).rejects.toThrow('disk full');
    expect(await later).toBe(5);
  });

  it('without maxHoldMs, a burst in one event-loop turn waits for the turn to end', async () => {
    const { batcher, batches } = recording({ maxBatch: 100, maxWaitMs: 0 });
    const answers = await burst(batcher, 8, 1);
    expect(batches).toEqual([]);
    expect(await Promise.all(answers)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(batches).toHaveLength(1);
  });

  it('with maxHoldMs, writes a batch within the turn once its first item has waited that long', async () => {
    const { batcher, batches } = recording({ maxBatch: 100, maxWaitMs: 0, maxHoldMs: 2 });
    const answers = await burst(batcher, 8, 1);
    // 8 ms of work in one turn: batches went out during it, none larger than the hold allows.
    expect(batches.length).toBeGreaterThanOrEqual(2);
    for (const b of batches) expect(b.length).toBeLessThanOrEqual(3);
    expect(await Promise.all(answers)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('starts the hold when a group lands in an empty queue', async () => {
    const { batcher, batches } = recording({ maxBatch: 100, maxWaitMs: 0, maxHoldMs: 2 });
    const group = batcher.submitMany([1, 2]);
    for (let k = 0; k < 5; k++) await Promise.resolve();
    expect(batches).toEqual([]);
    const until = performance.now() + 3;
    while (performance.now() < until) {
      // other requests of the same turn
    }
    const single = batcher.submit(3);
    for (let k = 0; k < 5; k++) await Promise.resolve();
    expect(batches).toEqual([[1, 2, 3]]);
    expect(await Promise.all([group, single])).toEqual([[2, 4], 6]);
  });

  it('rejects every caller of a failed batch and goes on with the next', async () => {
    let fail = true;
    const batcher = new WriteBatcher<number, number>(
      async (items) => {
        if (fail) {
          fail = false;
          throw new Error('disk full');
        }
        return items;
      },
      { maxBatch: 2, maxWaitMs: 0 },
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => batcher.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });

  it('has a lone item in a stream wait for others (lingerMs), and nothing else', async () => {
    const { batcher, batches } = recording({ maxBatch: 100, maxWaitMs: 0, lingerMs: 20 });
    const nextTurn = () => new Promise((r) => setImmediate(r));
    // After a quiet spell a lone item is written when its turn ends.
    await batcher.submit(1);
    expect(batches).toEqual([[1]]);
    // Right after that write, items that come one per turn wait for each other.
    const t0 = performance.now();
    const lone = batcher.submit(2);
    await nextTurn();
    await nextTurn();
    expect(batches).toEqual([[1]]);
    const next = batcher.submit(3);
    await nextTurn();
    expect(batches).toEqual([[1]]);
    expect(await Promise.all([lone, next])).toEqual([4, 6]);
    expect(batches).toEqual([[1], [2, 3]]);
    // Written once the first of them had waited lingerMs (timers may fire a little early).
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    // Items that arrive in one turn are written when it ends, stream or not.
    const together = Promise.all([batcher.submit(4), batcher.submit(5)]);
    await nextTurn();
    await nextTurn();
    expect(batches).toEqual([[1], [2, 3], [4, 5]]);
    await together;
    // And after a quiet spell longer than lingerMs, a lone item goes at once again.
    await new Promise((r) => setTimeout(r, 40));
    const quiet = batcher.submit(6);
    await nextTurn();
    await nextTurn();
    expect(batches).toEqual([[1], [2, 3], [4, 5], [6]]);
    await quiet;
  });

  it('does not keep a lone item that already waited lingerMs in a busy turn any longer', async () => {
    const { batcher, batches } = recording({ maxBatch: 100, maxWaitMs: 0, lingerMs: 30 });
    await batcher.submit(1);
    // Right after that write (a stream), one item and then 40 ms of other work in its turn.
    const answers = await burst(batcher, 1, 40);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1], [0]]);
    expect(await Promise.all(answers)).toEqual([0]);
  });

  it('stops lingering for a sender that waits for each answer before sending the next', async () => {
    const { batcher, batches } = recording({ maxBatch: 100, maxWaitMs: 0, lingerMs: 40 });
    const t0 = performance.now();
    // Ten items in sequence: the second waits 40 ms for company, finds none, and the next
    // eight go at once (nine waits, 360 ms, without that).
    for (let i = 0; i < 10; i++) expect(await batcher.submit(i)).toBe(i * 2);
    expect(batches).toEqual(Array.from({ length: 10 }, (_, i) => [i]));
    expect(performance.now() - t0).toBeLessThan(160);
    // The eleventh, a lone item in the stream again, waits once more.
    const t1 = performance.now();
    await batcher.submit(10);
    expect(performance.now() - t1).toBeGreaterThanOrEqual(35);
  });
});
