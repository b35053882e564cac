import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BackgroundConnection,
  startBackgroundConnection,
  type WriterHold,
} from './background-connection.ts';

describe('background SQLite connection', () => {
  const open: { db: BetterSqlite3.Database; bg: BackgroundConnection }[] = [];
  afterEach(async () => {
    for (const { db, bg } of open.splice(0)) {
      await bg.stop();
      db.close();
    }
  });

  /**
   * `nice`: the tests of the log's restarts run the worker at normal priority. At its default
   * (19) it gets about 1/70 of a core beside other test files busy on every core, and then
   * restarts nothing in the time a test writes; that is the documented trade-off, not what the
   * tests check (all three failed with three busy loops beside them).
   */
  function setup(intervalMs: number, restartFrames: number, hold?: WriterHold, nice?: number) {
    const path = join(tmpdir(), `sb-bg-${randomBytes(6).toString('hex')}.db`);
    const db = new BetterSqlite3(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('wal_autocheckpoint = 0'); // only the worker checkpoints here
    db.exec('create table t (id integer primary key, v blob)');
    const bg = startBackgroundConnection(path, { intervalMs, restartFrames, holdWriters: hold, nice });
    open.push({ db, bg });
    return { db, bg, path, wal: () => statSync(`${path}-wal`).size };
  }

  /** The nice value of each thread of this process by thread id (Linux). */
  function threadNice(): Map<string, number> {
    return new Map(
      readdirSync('/proc/self/task').flatMap((tid): [string, number][] => {
        try {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          // Fields after the command name (which may hold spaces); nice is field 19 of the line.
          return [[tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])]];
        } catch {
          return []; // the thread ended meanwhile
        }
      }),
    );
  }

  /** A writer hold that records its use; writers poll `held` as the store's queue would wait. */
  function trackedHold() {
    const state = { holds: 0, held: false };
    const hold: WriterHold = async (during) => {
      state.holds++;
      state.held = true;
      try {
        await during();
      } finally {
        state.held = false;
      }
    };
    return { state, hold };
  }

  /** Writes 2 KB rows in small transactions until `until` says so or `ms` pass; returns how many. */
  async function writeWhileNotHeld(
    db: BetterSqlite3.Database,
    state: { held: boolean },
    ms: number,
    until = () => false,
  ) {
    const insert = db.prepare('insert into t (v) values (?)');
    const deadline = Date.now() + ms;
    let writes = 0;
    while (Date.now() < deadline && !until()) {
      // A held writer waits (asynchronously) instead of meeting the RESTART's lock.
      while (state.held) await new Promise((r) => setTimeout(r, 1));
      for (let i = 0; i < 20; i++) insert.run(randomBytes(2_000));
      writes += 20;
      await new Promise((r) => setImmediate(r));
    }
    return writes;
  }

  it.runIf(process.platform === 'linux')(
    'checkpoints at the lowest CPU priority, and reads on a thread of its own at the process\u2019s',
    async () => {
      const before = threadNice();
      const { bg } = setup(1_000, 1_000);
      await bg.read('select 1');
      const added = () => [...threadNice()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
      // The checkpointer sets its own priority once it has started.
      const deadline = Date.now() + 5_000;
      while (!added().includes(19) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      // The checkpointer at 19; the reader, which answers requests, at the process's own.
      expect(added().sort((a, b) => a - b)).toEqual([before.get(String(process.pid)) ?? 0, 19]);
    },
  );

  it('answers read-only queries from its own connection', async () => {
    const { db, bg } = setup(1_000, 1_000);
    db.prepare('insert into t (v) values (?)').run(Buffer.alloc(10));
    db.prepare('insert into t (v) values (?)').run(Buffer.alloc(10));
    expect(await bg.read<{ n: number }>('select count(*) as n from t where id > ?', [0])).toEqual([{ n: 2 }]);
    await expect(bg.read('select * from missing_table')).rejects.toThrow(/no such table/);
  });

  it('keeps the WAL bounded under a steady write load by restarting it', async () => {
    const { db, wal } = setup(20, 50, undefined, 0);
    const insert = db.prepare('insert into t (v) values (?)');
    const deadline = Date.now() + 1_500;
    let writes = 0;
    // Small transactions without a pause long enough for a PASSIVE checkpoint to catch up:
    // without the restart the log only grows (about 4 KB a write here).
    while (Date.now() < deadline) {
      for (let i = 0; i < 20; i++) insert.run(randomBytes(2_000));
      writes += 20;
      await new Promise((r) => setImmediate(r));
    }
    expect(writes).toBeGreaterThan(1_000);
    // Two 4 KiB frames a write without restarts; restarts keep it to a fraction of that.
    expect(wal()).toBeLessThan(writes * 4_096);
  });

  it('restarts the log only while the writers are held, and the hold ends with it', async () => {
    const { state, hold } = trackedHold();
    const { db, wal } = setup(20, 50, hold, 0);
    const writes = await writeWhileNotHeld(db, state, 1_500);
    expect(state.holds).toBeGreaterThan(0);
    expect(wal()).toBeLessThan(writes * 4_096);
    // Every hold was released: the worker answered each restart.
    await new Promise((r) => setTimeout(r, 100));
    expect(state.held).toBe(false);
  });

  it.runIf(process.platform === 'linux')(
    'flushes the database and its log before holding the writers, so the restart syncs only its own copy',
    async () => {
      const { state, hold } = trackedHold();
      const { db, bg, path } = setup(20, 50, hold, 0);
      const real = realpathSync(path);
      // Descriptors of the database and its log in this process: SQLite's own, and no more.
      const descriptors = () =>
        readdirSync('/proc/self/fd').filter((fd) => {
          try {
            return [real, `${real}-wal`].includes(readlinkSync(`/proc/self/fd/${fd}`));
          } catch {
            return false; // closed meanwhile
          }
        }).length;
      await writeWhileNotHeld(db, state, 3_000, () => bg.restarts().count >= 1);
      const afterFirst = descriptors();
      await writeWhileNotHeld(db, state, 3_000, () => bg.restarts().count >= 3);
      const stats = bg.restarts();
      expect(stats.count).toBeGreaterThanOrEqual(3);
      // Through SQLite's own descriptors, found in /proc/self/fd: both files, each once.
      expect([...stats.lastFlushed].sort()).toEqual([real, `${real}-wal`]);
      // Flushing opened none of its own (closing one would drop the process's locks on the file).
      expect(descriptors()).toBe(afterFirst);
    },
  );

  it('holds the writers only briefly while a long scan on the reader pins a snapshot', async () => {
    const holds: number[] = [];
    let held = false;
    const hold: WriterHold = async (during) => {
      held = true;
      const t0 = performance.now();
      try {
        await during();
      } finally {
        holds.push(performance.now() - t0);
        held = false;
      }
    };
    const { db, bg } = setup(20, 50, hold, 0);
    // A scan of a few seconds: the reader keeps its snapshot, so no RESTART can reset the log
    // meanwhile. One that waited for it (the busy timeout) would hold the writers for a second.
    let scanning = true;
    const scan = bg
      .read<{ n: number }>(
        // Reading t opens the read transaction, which lasts until the statement ends.
        'with recursive c(i) as (select 1 union all select i + 1 from c where i < 10000000) ' +
          'select count(*) as n from c, (select count(*) as k from t) where k >= 0',
      )
      .finally(() => {
        scanning = false;
      });
    const insert = db.prepare('insert into t (v) values (?)');
    const deadline = Date.now() + 10_000;
    while (scanning && Date.now() < deadline) {
      while (held) await new Promise((r) => setTimeout(r, 1));
      for (let i = 0; i < 20; i++) insert.run(randomBytes(2_000));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(await scan).toEqual([{ n: 10_000_000 }]);
    expect(holds.length).toBeGreaterThan(0);
    expect(Math.max(...holds)).toBeLessThan(250);
  });

  it('a hold that starts after the worker stopped ends at once', async () => {
    let openGate!: () => void;
    const gate = new Promise<void>((r) => {
      openGate = r;
    });
    let asked!: () => void;
    const restartAsked = new Promise<void>((r) => {
      asked = r;
    });
    let holdEnded = false;
    const { db, bg } = setup(
      20,
      50,
      async (during) => {
        asked();
        await gate; // e.g. a long transaction still holds the connection
        await during();
        holdEnded = true;
      },
      0,
    );
    const insert = db.prepare('insert into t (v) values (?)');
    const deadline = Date.now() + 5_000;
    let waiting = true;
    void restartAsked.then(() => {
      waiting = false;
    });
    while (waiting && Date.now() < deadline) {
      for (let i = 0; i < 20; i++) insert.run(randomBytes(2_000));
      await new Promise((r) => setImmediate(r));
    }
    expect(waiting).toBe(false);
    await bg.stop();
    openGate();
    await new Promise((r) => setTimeout(r, 50));
    expect(holdEnded).toBe(true);
  });
});
