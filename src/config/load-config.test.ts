import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashApiKey, loadGatewayConfig } from './load-config.ts';

describe('loadGatewayConfig', () => {
  it('loads the example config', () => {
    const config = loadGatewayConfig({ configFile: 'examples/switchboard.yaml' }, {});
    expect(config.pools.map((p) => p.id)).toEqual(['transactional-us', 'marketing-us', 'whatsapp']);
    expect(config.templates.map((t) => t.id)).toEqual(['otp-code']);
    expect(config.policy.content.urlAllowlist).toEqual(['acme.example']);
    expect(config.tenants[0]!.id).toBe('acme');
  });

  it('lets the environment and then the command line override the file', () => {
    const config = loadGatewayConfig(
      { configFile: 'examples/switchboard.yaml', port: 9999 },
      {
        SWITCHBOARD_PORT: '7000',
        SWITCHBOARD_DB: 'postgres://x@h/db',
        TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
        TWILIO_AUTH_TOKEN: 'secret-token',
        SWITCHBOARD_API_KEY: 'k1',
      },
    );
    expect(config.server.port).toBe(9999);
    expect(config.database).toBe('postgres://x@h/db');
    expect(config.twilio.accountSid).toBe(`AC${'1'.repeat(32)}`);
    expect(config.tenants.find((t) => t.id === 'default')!.apiKeySha256).toEqual([hashApiKey('k1')]);
    expect(Object.isFrozen(config.pools[0])).toBe(true);
  });

  it('names the file and field of an invalid value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-cfg-'));
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'pools:\n  - id: Bad Id\n    senderType: pigeon\n');
    expect(() => loadGatewayConfig({ configFile: path }, {})).toThrow(/bad\.yaml:2:9: pools\.0\.id/);
  });

  it('refuses an account SID without its token', () => {
    expect(() => loadGatewayConfig({}, { TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}` })).toThrow(/go together/);
  });
});
