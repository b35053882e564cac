import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Queue figures the metrics read at scrape time. */
export type QueueStatsSource = () => Promise<{
  depth: number;
  oldestDueAt: number | null;
  inFlight: number;
  keptAside: number;
}>;

/** The gateway's Prometheus metrics, in their own registry (no global state). */
export interface Metrics {
  registry: Registry;
  intakeAccepted: Counter<'outcome'>;
  providerRequests: Counter<'outcome' | 'pool'>;
  rateLimited: Counter<'pool'>;
  retries: Counter<'reason'>;
  deadLetters: Counter<'reason'>;
  submitted: Counter<'pool'>;
  callbacks: Counter<'result'>;
  callbackRejected: Counter<'reason'>;
  statusTransitions: Counter<'status'>;
  deliveryLatency: Histogram<'status'>;
  providerLatency: Histogram<'outcome'>;
  sendLateness: Histogram<'pool'>;
  reconciliations: Counter<'result'>;
}

/** Creates the metrics; `queueStats` feeds the queue gauges and `sb_callbacks_kept_aside` at scrape time. */
export function createMetrics(queueStats?: QueueStatsSource, now: () => number = Date.now): Metrics {
  const registry = new Registry();
  let cached: { at: number; value: ReturnType<QueueStatsSource> } | null = null;
  const stats = async () => {
    if (!queueStats) return { depth: 0, oldestDueAt: null, inFlight: 0, keptAside: 0 };
    // The gauges of one scrape collect at the same time, and scrapes within a second share
    // one read: the promise is cached, not its value (caching the value, every gauge of a
    // scrape missed the cache and ran the queries again: four scans of a deep queue).
    if (!cached || now() - cached.at > 1000) {
      const value = queueStats();
      cached = { at: now(), value };
      // A failed read is not kept: the next collect tries again.
      value.catch(() => {
        if (cached?.value === value) cached = null;
      });
    }
    return cached.value;
  };
  new Gauge({
    name: 'queue_depth',
    help: 'Messages waiting in the queue (status queued)',
    registers: [registry],
    async collect() {
      this.set((await stats()).depth);
    },
  });
  new Gauge({
    name: 'queue_lag_seconds',
    help: 'Age of the oldest message that is due but not yet claimed (autoscale workers on this)',
    registers: [registry],
    async collect() {
      const s = await stats();
      this.set(s.oldestDueAt === null ? 0 : Math.max(0, (now() - s.oldestDueAt) / 1000));
    },
  });
  new Gauge({
    name: 'queue_in_flight',
    help: 'Messages claimed by a worker and not yet resolved',
    registers: [registry],
    async collect() {
      this.set((await stats()).inFlight);
    },
  });
  new Gauge({
    name: 'sb_callbacks_kept_aside',
    help: 'Status callbacks that matched no message yet, kept aside and matched again a page at a time (growing: callbacks for messages this gateway does not have)',
    registers: [registry],
    async collect() {
      this.set((await stats()).keptAside);
    },
  });
  const latencyBuckets = [0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120, 300];
  return {
    registry,
    intakeAccepted: new Counter({
      name: 'sb_intake_messages_total',
      help: 'Messages received at intake by outcome (created, replay, conflict, invalid)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    providerRequests: new Counter({
      name: 'sb_provider_requests_total',
      help: 'Provider send calls by outcome',
      labelNames: ['outcome', 'pool'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'sb_provider_429_total',
      help: '429 / 20429 answers from the provider',
      labelNames: ['pool'],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'sb_retries_total',
      help: 'Messages scheduled for another attempt, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'sb_dead_letters_total',
      help: 'Messages dead-lettered after their last retry, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    submitted: new Counter({
      name: 'sb_messages_submitted_total',
      help: 'Messages accepted by the provider (send rate)',
      labelNames: ['pool'],
      registers: [registry],
    }),
    callbacks: new Counter({
      name: 'sb_callbacks_total',
      help: 'Provider callbacks received, by result (stored, duplicate)',
      labelNames: ['result'],
      registers: [registry],
    }),
    callbackRejected: new Counter({
      name: 'sb_callback_failures_total',
      help: 'Callbacks refused (bad signature, invalid)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    statusTransitions: new Counter({
      name: 'sb_status_transitions_total',
      help: 'Message status changes applied from callbacks',
      labelNames: ['status'],
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: 'sb_delivery_latency_seconds',
      help: 'From intake to final status',
      labelNames: ['status'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    providerLatency: new Histogram({
      name: 'sb_provider_request_seconds',
      help: 'Provider send call duration',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
      registers: [registry],
    }),
    sendLateness: new Histogram({
      name: 'sb_dispatch_send_lateness_seconds',
      help: "From a message's paced slot to its provider call (a busy event loop or a slow pre-send write; late sends can exceed the MPS at the provider)",
      labelNames: ['pool'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    reconciliations: new Counter({
      name: 'sb_reconciliations_total',
      help: 'Ambiguous attempts reconciled with the provider, by result (adopted, not_found, error)',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
