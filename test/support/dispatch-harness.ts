import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { type PoolConfig, poolSchema } from '../../src/config/index.ts';
import { createMetrics, type Metrics } from '../../src/observability/index.ts';
import { createTwilioProvider } from '../../src/providers/index.ts';
import { Dispatcher, type DispatcherOptions, type DispatchPolicy } from '../../src/queue/index.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { type Db, insertMessages, type NewMessage } from '../../src/store/index.ts';
import { testMessage } from './messages.ts';

/** A pool from a short description. */
export function testPool(
  over: Partial<PoolConfig> & { id: string; numbers: PoolConfig['numbers'] },
): PoolConfig {
  return poolSchema.parse({
    senderType: 'long_code',
    purposes: ['transactional', 'marketing', 'conversational'],
    countries: ['US'],
    ...over,
  });
}

/** Queues `n` messages directly in the store. */
export async function enqueue(
  db: Db,
  poolId: string,
  n: number,
  over: Partial<NewMessage> = {},
  prefix = 'm',
): Promise<string[]> {
  const now = Date.now();
  const items: NewMessage[] = Array.from({ length: n }, (_, i) =>
    testMessage(`msg_${prefix}${i}_${randomUUID().slice(0, 8)}`, now, {
      purpose: 'marketing',
      recipient: `+1415555${String(3000 + (i % 5000)).padStart(4, '0')}`,
      body: `${prefix} message ${i}`,
      poolId,
      ...over,
    }),
  );
  for (let i = 0; i < items.length; i += 500) await insertMessages(db, items.slice(i, i + 500));
  return items.map((m) => m.id);
}

/** A dispatcher sending to the simulator, with test-friendly timings. */
export function simDispatcher(
  db: Db,
  sim: Simulator,
  pools: PoolConfig[],
  over: Partial<DispatcherOptions> = {},
  metrics: Metrics = createMetrics(),
  policy?: DispatchPolicy,
) {
  const provider = createTwilioProvider(
    {},
    {
      accountSid: sim.accountSid,
      authToken: sim.authToken,
      baseUrl: sim.url,
      maxConcurrency: 32,
      timeoutMs: 2_000,
    },
  );
  const dispatcher = new Dispatcher(
    { db, provider, pools, policy, metrics, logger: pino({ level: 'silent' }) },
    {
      owner: `w-${randomUUID().slice(0, 6)}`,
      leaseMs: 10_000,
      pollMs: 10,
      horizonMs: 500,
      prepareLeadMs: 100,
      claimBatch: 200,
      retry: { baseMs: 100, capMs: 2_000, maxAttempts: 6 },
      reconcileAfterMs: 200,
      maxConcurrency: 32,
      statusCallbackUrl: (id) => `http://127.0.0.1:9/webhooks/twilio/status?mid=${id}`,
      ...over,
    },
  );
  return {
    dispatcher,
    metrics,
    stop: async () => {
      await dispatcher.stop();
      await provider.close();
    },
  };
}
