import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { type Db, openDatabase, STATUS_RANK } from '../../src/store/index.ts';
import {
  fastSimSenders,
  freePorts,
  type GatewayProcess,
  killAll,
  queueBatch,
  spawnGateway,
  tempDir,
  writeGatewayConfig,
} from '../support/gateway-process.ts';
import { admin, FAST_RELIABLE_US, inspected, waitFor } from '../support/sim-client.ts';

const NUMBERS = ['+14155550100', '+14155550101', '+12125550102'];
const MESSAGES = 1000;
const KILLS = 5;

/** A small seeded PRNG (mulberry32), so a failing run's kill schedule can be replayed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('crash safety: a gateway killed with SIGKILL mid-dispatch (SQLite file)', () => {
  const run = randomBytes(3).toString('hex');
  const seed = Number(process.env.SB_E2E_KILL_SEED ?? Math.floor(Math.random() * 1_000_000));
  const random = seededRandom(seed);
  const children = new Set<GatewayProcess>();
  let sim: Simulator;
  let dir: ReturnType<typeof tempDir>;
  let dbUrl: string;
  let db: Db | undefined;
  let port: number;
  let configFile: string;

  const start = async () => {
    const p = await spawnGateway({ port, db: dbUrl, configFile, sim });
    children.add(p);
    return p;
  };

  beforeAll(async () => {
    sim = await startSimulator({
      seed: 47,
      config: {
        senders: fastSimSenders(NUMBERS),
        carriers: FAST_RELIABLE_US,
        // The gateway is killed repeatedly: no status callbacks, only REST acceptance counts here.
        callbacks: { statuses: [] },
      },
    });
    dir = tempDir();
    dbUrl = `sqlite:${join(dir.path, 'crash.db')}`;
    [port] = (await freePorts(1)) as [number];
    configFile = writeGatewayConfig(dir.path, 'switchboard.yaml', {
      twilio: { timeoutMs: 3_000 },
      pools: [
        {
          id: 'crash',
          senderType: 'long_code',
          purposes: ['marketing'],
          countries: ['US'],
          registration: { kind: '10dlc', id: 'CM-e2e', status: 'approved' },
          mps: 300,
          numbers: NUMBERS.map((address) => ({ address, mps: 100 })),
        },
      ],
      // Marketing at any hour and with any body: those policies have their own tests.
      policy: { quietHours: { enabled: false }, content: { optOutLanguage: { purposes: [] } } },
      dispatch: {
        leaseMs: 2_000,
        pollMs: 20,
        retry: { baseMs: 100, capMs: 1_000, maxAttempts: 10 },
        reconcileAfterMs: 300,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await killAll(children);
    await sim?.stop();
    await db?.close();
    dir?.remove();
  }, 60_000);

  it('has the provider accept each of 1000 messages exactly once across 5 kills and lost responses', async () => {
    const started = Date.now();
    await admin(sim, 'POST', '/sim/faults', { responseLost: { rate: 0.2, mode: 'reset' } });
    let gw = await start();
    db = await openDatabase(dbUrl);
    const bodies = Array.from({ length: MESSAGES }, (_, i) => `crash ${run} #${i}`);
    const ids = await queueBatch(gw.url, bodies, 1000);

    const rows = () =>
      db!.kysely
        .selectFrom('messages')
        .select(['id', 'body', 'status', 'status_rank', 'provider_sid', 'lease_owner'])
        .where('pool_id', '=', 'crash')
        .execute();
    const submittedCount = async () =>
      (await rows()).filter((m) => m.status_rank >= STATUS_RANK.submitted).length;

    const progressAtKill: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, 200 + Math.floor(random() * 700)));
      const exit = await gw.stop('SIGKILL', 10_000);
      expect(exit.signal).toBe('SIGKILL');
      progressAtKill.push(await submittedCount());
      gw = await start();
    }

    const final = await waitFor(
      rows,
      (r) =>
        r.length === MESSAGES && r.every((m) => m.status_rank >= STATUS_RANK.submitted && m.provider_sid),
      45_000,
      200,
    );
    const elapsedMs = Date.now() - started;
    const outcomes = await db!.kysely.selectFrom('message_attempts').select(['outcome']).execute();
    const tally: Record<string, number> = {};
    for (const o of outcomes) tally[o.outcome] = (tally[o.outcome] ?? 0) + 1;

    const atSim = (await inspected(sim)).filter((m) => m.body.startsWith(`crash ${run} `));
    const byBody = new Map<string, string[]>();
    for (const m of atSim) byBody.set(m.body, [...(byBody.get(m.body) ?? []), m.sid]);
    const duplicates = [...byBody].filter(([, sids]) => sids.length > 1);
    const missing = bodies.filter((b) => !byBody.has(b));
    const context = `kill seed ${seed} (SB_E2E_KILL_SEED), submitted at each kill ${progressAtKill.join('/')}, attempts ${JSON.stringify(tally)}, ${elapsedMs} ms`;
    expect(duplicates, context).toEqual([]);
    expect(missing, context).toEqual([]);
    expect(atSim).toHaveLength(MESSAGES);

    // Every message holds the SID the provider gave its one copy.
    expect(new Set(final.map((m) => m.id))).toEqual(new Set(ids));
    for (const m of final) expect(m.provider_sid, m.body ?? '').toBe(byBody.get(m.body!)![0]);
    expect(final.every((m) => m.lease_owner === null)).toBe(true);

    // The faults really happened: lost responses were reconciled, and kills hit the middle of the work.
    expect(atSim.filter((m) => m.responseLost).length).toBeGreaterThan(20);
    expect(tally.adopted ?? 0, context).toBeGreaterThan(20);
    expect(progressAtKill[0]!, context).toBeLessThan(MESSAGES);
    expect(elapsedMs).toBeLessThan(90_000);
  }, 120_000);
});
