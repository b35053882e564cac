// The carrier simulator with its limits set high, for throughput benchmarks.
//   BENCH_SIM_CONFIG (optional): JSON simulator config (src/simulator/sim-config.ts) that replaces the
//   defaults below field by field (top level), e.g. '{"callbacks":{"statuses":[]}}' or other senders.
import { type SimConfigInput, startSimulator } from '../../src/simulator/index.ts';
import { announceServer } from '../lib/server-child.ts';

const BENCH_SENDER = '+14155550100';

const defaults: SimConfigInput = {
  api: { concurrencyLimit: 100_000, queueMaxSeconds: 1e9, maxMessages: 2_000_000 },
  senders: [{ address: BENCH_SENDER, type: 'long_code', mps: 1_000_000 }],
};
const overrides = process.env.BENCH_SIM_CONFIG
  ? (JSON.parse(process.env.BENCH_SIM_CONFIG) as SimConfigInput)
  : {};

const sim = await startSimulator({
  config: { ...defaults, ...overrides },
  port: 0,
  host: '127.0.0.1',
});
const port = Number(new URL(sim.url).port);
announceServer({ url: sim.url, port, accountSid: sim.accountSid, authToken: sim.authToken }, () =>
  sim.stop(),
);
