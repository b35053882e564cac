// The carrier simulator with its limits set high, for throughput benchmarks.
import { startSimulator } from '../../src/simulator/index.ts';
import { announceServer } from '../lib/server-child.ts';

const BENCH_SENDER = '+14155550100';

const sim = await startSimulator({
  config: {
    api: { concurrencyLimit: 100_000, queueMaxSeconds: 1e9, maxMessages: 2_000_000 },
    senders: [{ address: BENCH_SENDER, type: 'long_code', mps: 1_000_000 }],
  },
  port: 0,
  host: '127.0.0.1',
});
const port = Number(new URL(sim.url).port);
announceServer({ url: sim.url, port, accountSid: sim.accountSid, authToken: sim.authToken }, () =>
  sim.stop(),
);
