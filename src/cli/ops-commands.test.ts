import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/switchboard.js', ...args], {
      env: { ...process.env, SWITCHBOARD_CONFIG: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const CONFIG = `pools:
  - id: tx
    senderType: long_code
    purposes: [otp, transactional]
    countries: [US]
    peakMps: 5
    numbers:
      - { address: "+14155550100", mps: 10, registration: { kind: 10dlc, status: approved } }
      - { address: "+14155550101", mps: 10 }
`;

describe('switchboard audit and plan', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-ops-'));
  const file = join(dir, 'switchboard.yaml');
  writeFileSync(file, CONFIG);

  it('audit exits 1 and names the unregistered sender', async () => {
    const res = await cli('audit', '--config', file, '--json');
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout).findings).toEqual([
      expect.objectContaining({ code: 'registration_missing', pool: 'tx', number: '+14155550101' }),
    ]);
  });

  it('plan exits 0 when the pool carries the peak and 1 when it does not', async () => {
    expect((await cli('plan', '--peak-mps', 'US:otp=10', '--config', file)).code).toBe(0);
    const short = await cli('plan', '--peak-mps', 'US:otp=10,US:transactional=11', '--config', file);
    expect(short.code).toBe(1);
    expect(short.stdout).toMatch(/US\s+transactional\s+11\s+long_code\s+1\s+11\s+tx\s+10\s+NO/);
  });
});
