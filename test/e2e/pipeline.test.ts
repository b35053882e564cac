import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { type Db, openDatabase, STATUS_RANK } from '../../src/store/index.ts';
import { createPgDatabase } from '../support/databases.ts';
import {
  type ApiMessage,
  callApi,
  fastSimSenders,
  freePorts,
  type GatewayProcess,
  killAll,
  spawnGateway,
  tempDir,
  writeGatewayConfig,
} from '../support/gateway-process.ts';
import { FAST_RELIABLE_US, inspected, waitFor } from '../support/sim-client.ts';

const FAST_NUMBERS = ['+14155550100', '+14155550101'];
const SLOW_NUMBER = '+12125550102';
const CUBA = '+5352345678';

/** Reliable US carriers whose final status comes 520–1000 ms after hand-off. */
const STEADY_US = Object.fromEntries(
  Object.entries(FAST_RELIABLE_US).map(([id, c]) => [id, { ...c, latencyMedianMs: 800, latencyP95Ms: 900 }]),
);

/** A distinct valid US mobile number per index. */
const usNumber = (i: number) => `+1415555${String(1000 + i).padStart(4, '0')}`;

describe.each(['sqlite', 'postgres'] as const)('the gateway pipeline end to end on %s', (backend) => {
  const run = randomBytes(3).toString('hex');
  const children = new Set<GatewayProcess>();
  let sim: Simulator;
  let dir: ReturnType<typeof tempDir>;
  let dbUrl: string;
  let dropPg: (() => Promise<void>) | null = null;
  let db: Db;
  let port: number;
  let configFile: string;
  let gw: GatewayProcess;

  const start = async () => {
    const p = await spawnGateway({ port, db: dbUrl, configFile, sim });
    children.add(p);
    return p;
  };
  const getMessage = async (id: string) =>
    (await callApi<ApiMessage>(gw.url, 'GET', `/v1/messages/${id}`)).json;
  const send = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    callApi<ApiMessage & { error?: { code: string } }>(gw.url, 'POST', '/v1/messages', body, headers);

  beforeAll(async () => {
    sim = await startSimulator({
      seed: 31,
      config: {
        senders: fastSimSenders([...FAST_NUMBERS, SLOW_NUMBER]),
        carriers: STEADY_US,
        // `sent` comes well after the REST answer (so `submitted` is recorded first) and well
        // before the final status (so the two callbacks, sent concurrently, cannot swap).
        callbacks: { sentDelayMs: 300 },
      },
    });
    dir = tempDir();
    if (backend === 'sqlite') dbUrl = `sqlite:${join(dir.path, 'switchboard.db')}`;
    else {
      const created = await createPgDatabase();
      dbUrl = created.url;
      dropPg = created.drop;
    }
    [port] = (await freePorts(1)) as [number];
    configFile = writeGatewayConfig(dir.path, 'switchboard.yaml', {
      pools: [
        {
          id: 'fast',
          senderType: 'long_code',
          purposes: ['otp', 'transactional', 'conversational'],
          countries: ['US', 'CU'],
          registration: { kind: '10dlc', id: 'CM-e2e', status: 'approved' },
          numbers: FAST_NUMBERS.map((address) => ({ address, mps: 50 })),
        },
        {
          id: 'slow',
          senderType: 'long_code',
          purposes: ['marketing'],
          countries: ['US'],
          registration: { kind: '10dlc', id: 'CM-e2e', status: 'approved' },
          numbers: [{ address: SLOW_NUMBER, mps: 2 }],
        },
      ],
      // Marketing at any hour and with any body: those policies have their own tests.
      policy: { quietHours: { enabled: false }, content: { optOutLanguage: { purposes: [] } } },
      dispatch: {
        leaseMs: 5_000,
        pollMs: 20,
        retry: { baseMs: 100, capMs: 1_000, maxAttempts: 4 },
        reconcileAfterMs: 300,
      },
    });
    gw = await start();
    // The gateway has migrated the database; this handle only reads.
    db = await openDatabase(dbUrl);
  }, 90_000);

  afterAll(async () => {
    await killAll(children);
    await sim?.stop();
    await db?.close();
    await dropPg?.();
    dir?.remove();
  }, 60_000);

  it('delivers messages submitted through intake, with the provider SID and the full status history', async () => {
    const bodies = Array.from({ length: 5 }, (_, i) => `pipeline ${run} delivered ${i}`);
    const ids: string[] = [];
    for (const [i, body] of bodies.entries()) {
      const res = await send({ to: usNumber(i), body, purpose: 'transactional' });
      expect(res.status).toBe(202);
      expect(res.json.status).toBe('queued');
      expect(res.json.pool).toBe('fast');
      ids.push(res.json.id);
    }

    const messages = await waitFor(
      () => Promise.all(ids.map(getMessage)),
      (ms) => ms.every((m) => m.status === 'delivered'),
      30_000,
      100,
    );
    const atSim = await inspected(sim);
    for (const [i, m] of messages.entries()) {
      const simSide = atSim.filter((s) => s.body === bodies[i]);
      expect(simSide).toHaveLength(1);
      expect(m.providerSid).toBe(simSide[0]!.sid);
      expect(FAST_NUMBERS).toContain(m.sender);
      expect(m.history!.events.map((e) => e.status)).toEqual(['queued', 'submitted', 'sent', 'delivered']);
      expect(m.history!.attempts).toEqual([
        expect.objectContaining({ attempt: 1, outcome: 'accepted', providerSid: m.providerSid }),
      ]);
    }

    const listed = await callApi<{ messages: ApiMessage[] }>(gw.url, 'GET', '/v1/messages?status=delivered');
    expect(listed.status).toBe(200);
    expect(listed.json.messages.map((m) => m.id)).toEqual(expect.arrayContaining(ids));
  }, 60_000);

  it('answers a replayed idempotency key with the original message and sends it once', async () => {
    const key = `idem-${run}`;
    const payload = { to: usNumber(50), body: `pipeline ${run} idempotent`, purpose: 'transactional' };
    const first = await send({ ...payload, idempotencyKey: key });
    expect(first.status).toBe(202);
    const again = await send({ ...payload, idempotencyKey: key });
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(first.json.id);
    expect(again.json.replay).toBe(true);
    expect(again.headers.get('idempotent-replay')).toBe('true');
    const viaHeader = await send(payload, { 'idempotency-key': key });
    expect(viaHeader.status).toBe(200);
    expect(viaHeader.json.id).toBe(first.json.id);
    const conflict = await send({ ...payload, body: 'something else', idempotencyKey: key });
    expect(conflict.status).toBe(409);
    expect(conflict.json.error?.code).toBe('SB_INTAKE_IDEMPOTENCY_CONFLICT');

    await waitFor(
      () => getMessage(first.json.id),
      (m) => m.status === 'delivered',
      30_000,
      100,
    );
    // A replay after delivery still answers the original, now delivered.
    const late = await send({ ...payload, idempotencyKey: key });
    expect(late.status).toBe(200);
    expect(late.json.status).toBe('delivered');
    expect((await inspected(sim)).filter((m) => m.body === payload.body)).toHaveLength(1);
  }, 60_000);

  it('fails a message the provider refuses for good (Cuba, 21408) with the provider error code', async () => {
    const body = `pipeline ${run} cuba`;
    const res = await send({ to: CUBA, body, purpose: 'transactional' });
    expect(res.status).toBe(202);
    const m = await waitFor(
      () => getMessage(res.json.id),
      (x) => STATUS_RANK[x.status as keyof typeof STATUS_RANK] >= STATUS_RANK.delivered,
      30_000,
      100,
    );
    expect(m.status).toBe('failed');
    expect(m.providerErrorCode).toBe(21408);
    expect(m.providerSid).toBeNull();
    expect(m.attempts).toBe(1);
    expect(m.history!.events.map((e) => e.status)).toEqual(['queued', 'failed']);
    expect(m.history!.events.at(-1)!.providerErrorCode).toBe(21408);
    // Refused at the REST API: the provider holds no such message.
    expect((await inspected(sim)).filter((s) => s.body === body)).toHaveLength(0);
  }, 60_000);

  it('on SIGTERM exits 0 within seconds leaving every message submitted or queued without a lease; a restart finishes them', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => `pipeline ${run} shutdown ${i}`);
    const batch = await callApi<{ results: { status: number; message: ApiMessage }[] }>(
      gw.url,
      'POST',
      '/v1/messages/batch',
      { messages: bodies.map((body, i) => ({ to: usNumber(100 + i), body, purpose: 'marketing' })) },
    );
    expect(batch.status).toBe(200);
    expect(batch.json.results.map((r) => r.status)).toEqual(bodies.map(() => 202));
    const ids = batch.json.results.map((r) => r.message.id);
    expect(new Set(batch.json.results.map((r) => r.message.pool))).toEqual(new Set(['slow']));

    const rows = () =>
      db.kysely
        .selectFrom('messages')
        .select(['id', 'status', 'status_rank', 'lease_owner', 'lease_expires_at', 'provider_sid'])
        .where('id', 'in', ids)
        .execute();
    // Mid-work: some handed to the provider, the rest still waiting for the 2 MPS pool.
    await waitFor(rows, (r) => r.some((m) => m.provider_sid !== null), 20_000, 50);

    const exit = await gw.stop('SIGTERM', 20_000);
    expect(exit.code, gw.output().slice(-2000)).toBe(0);
    expect(exit.ms).toBeLessThan(5_000);

    const after = await rows();
    const submitted = after.filter((m) => m.status_rank >= STATUS_RANK.submitted);
    const queued = after.filter((m) => m.status === 'queued');
    expect(submitted.length + queued.length).toBe(ids.length);
    expect(submitted.every((m) => m.provider_sid !== null)).toBe(true);
    expect(queued.every((m) => m.lease_owner === null && m.lease_expires_at === null)).toBe(true);
    expect(submitted.length).toBeGreaterThan(0);
    expect(queued.length).toBeGreaterThan(0);

    gw = await start();
    const done = await waitFor(
      rows,
      (r) => r.every((m) => m.status_rank >= STATUS_RANK.submitted && m.provider_sid !== null),
      30_000,
      100,
    );
    const atSim = await inspected(sim);
    for (const [i, body] of bodies.entries()) {
      const simSide = atSim.filter((s) => s.body === body);
      expect(simSide, body).toHaveLength(1);
      expect(done.find((m) => m.id === ids[i])!.provider_sid).toBe(simSide[0]!.sid);
    }
  }, 90_000);
});
