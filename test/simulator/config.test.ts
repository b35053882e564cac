import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, createSimulator, loadSimConfigFile } from '../../src/simulator/index.ts';
import { createMessage, inspected } from '../support/sim-client.ts';

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'sb-sim-')), name);
  writeFileSync(path, text);
  return path;
}

describe('simulator config', () => {
  it('loads the example config', () => {
    const config = loadSimConfigFile('examples/sim.yaml');
    expect(config.senders?.[0]).toMatchObject({ address: '+14155550100', mps: 5 });
    expect(config.api.concurrencyLimit).toBe(100);
  });

  it('names the file, line and field of an invalid value', () => {
    const path = tempFile('bad.yaml', 'seed: 1\napi:\n  concurrencyLimit: -3\n');
    expect(() => loadSimConfigFile(path)).toThrow(ConfigError);
    expect(() => loadSimConfigFile(path)).toThrow(`${path}:3: api.concurrencyLimit`);
  });

  it('rejects an unknown key rather than ignoring a typo', () => {
    const path = tempFile('typo.yaml', 'carriers:\n  att:\n    latencyMedianMS: 5\n');
    expect(() => loadSimConfigFile(path)).toThrow(/carriers\.att/);
  });

  it('reports broken YAML with its position', () => {
    const path = tempFile('broken.yaml', 'api: [1, 2\n');
    expect(() => loadSimConfigFile(path)).toThrow(path);
  });

  it('makes the CLI exit with status 2 and the reason on a bad config', () => {
    const path = tempFile('bad.yaml', 'faults:\n  rest429:\n    rate: 2\n');
    const run = spawnSync(process.execPath, ['bin/switchboard.js', 'sim', '--port', '0', '--config', path], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('faults.rest429.rate');
  });
});

describe('determinism', () => {
  async function run(seed: number) {
    const sim = createSimulator({
      seed,
      config: { senders: [{ address: '+14155550100', type: 'long_code', mps: 1000 }] },
    });
    for (let i = 0; i < 20; i++)
      await createMessage(sim, { From: '+14155550100', To: `+1415555${2000 + i}`, Body: `m${i}` });
    const msgs = await inspected(sim);
    await sim.stop();
    return msgs.map((m) => ({ sid: m.sid, carrier: (m as unknown as { carrier: string }).carrier }));
  }

  it('gives the same SIDs and carrier assignments for the same seed, and others for another seed', async () => {
    const a = await run(99);
    const b = await run(99);
    const c = await run(100);
    expect(a).toEqual(b);
    expect(c.map((x) => x.sid)).not.toEqual(a.map((x) => x.sid));
    expect(new Set(a.map((x) => x.carrier)).size).toBeGreaterThan(1);
  });
});
