import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { type LintIo, registerLintCommand } from './lint-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'sb-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: string[] | string): string {
  const path = join(dir, name);
  writeFileSync(path, `${typeof lines === 'string' ? lines : lines.join('\n')}\n`);
  return path;
}

/** Runs `switchboard lint` in-process through commander, capturing output and exit code. */
async function lint(...args: string[]) {
  const run = { out: [] as string[], err: [] as string[], code: -1 };
  const io: LintIo = {
    out: (line) => run.out.push(line),
    err: (line) => run.err.push(line),
    exit: (code) => {
      run.code = code;
    },
  };
  const program = new Command().exitOverride();
  registerLintCommand(program, io);
  await program.parseAsync(['lint', ...args], { from: 'user' });
  return run;
}

const CLEAN = file('clean.yaml', [
  'content:', //                                           1
  '  urlAllowlist: [example.com]', //                       2
  '  keywords:', //                                         3
  '    - { pattern: hurry, action: warn }', //              4
  'templates:', //                                          5
  '  - id: order-shipped', //                               6
  '    versions:', //                                       7
  '      - version: 1', //                                  8
  '        locale: en', //                                  9
  '        status: approved', //                            10
  '        body: "Order {{order}} shipped: example.com/t"', // 11
  '      - version: 1', //                                  12
  '        locale: es', //                                  13
  '        status: pending', //                             14
  '        body: "Pedido {{order}} enviado. Hurry!"', //     15
]);

const FINDINGS = file('findings.yaml', [
  'content:', //                                                        1
  '  urlAllowlist: [example.com]', //                                    2
  '  maxSegments: 1', //                                                 3
  'templates:', //                                                       4
  '  - id: promo', //                                                    5
  '    purpose: marketing', //                                           6
  '    versions:', //                                                    7
  '      - { version: 1, locale: en, status: approved, body: "Sale!" }', // 8
  '      - version: 2', //                                               9
  '        locale: en', //                                               10
  '        status: pending', //                                          11
  '        body: >-', //                                                 12
  '          {{name}}, 20% off: https://bit.ly/x', //                    13
  '          Reply STOP to opt out', //                                  14
  '      - version: 3', //                                               15
  '        locale: en', //                                               16
  '        status: rejected', //                                         17
  '        body: "Sale at bit.ly/old"', //                               18
  '  - id: receipt', //                                                  19
  '    versions:', //                                                    20
  '      - version: 1', //                                               21
  '        locale: en-US', //                                            22
  '        status: approved', //                                         23
  `        body: "{{a}} paid at shop.other.net ${'y'.repeat(150)}"`, //  24
  '  - id: long', //                                                     25
  '    versions:', //                                                    26
  // 155 characters and a placeholder filled with 6 make 161: two segments.
  `      - { version: 1, locale: en, status: approved, body: "${'a'.repeat(155)}{{v}}" }`, // 27
]);

describe('switchboard lint', () => {
  it('exits 0 on a clean file and still prints warnings', async () => {
    const run = await lint(CLEAN);
    expect(run.code).toBe(0);
    expect(run.out).toEqual([
      `${CLEAN}:15: template order-shipped v1 es: keyword_blocked: warning: The body matches the content rule "hurry".`,
    ]);
  });

  it('exits 1 with one line per refusal at the line of the version body, skipping rejected versions and filling placeholders with a sample', async () => {
    const run = await lint(FINDINGS);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([
      `${FINDINGS}:8: template promo v1 en: opt_out_language_missing: Marketing messages must tell the recipient how to opt out (e.g. "Reply STOP to opt out").`,
      `${FINDINGS}:12: template promo v2 en: url_shortener: The body links through the public URL shortener bit.ly, which carriers filter; link to your own domain.`,
      `${FINDINGS}:24: template receipt v1 en-US: url_not_allowed: The body links to shop.other.net, which is not in the URL allowlist.`,
      `${FINDINGS}:27: template long v1 en: segment_limit_exceeded: The body needs 2 GSM-7 segments; the cap is 1.`,
    ]);
    expect(run.err).toEqual([]);
  });

  it('prints the encoding and segments of every version with --verbose', async () => {
    const path = file('verbose.yaml', [
      'templates:',
      '  - id: otp',
      '    purpose: otp',
      '    versions:',
      '      - { version: 1, locale: en, status: approved, body: "Code {{c}} \u2014 don\u2019t share it" }',
      '      - { version: 1, locale: fr, status: approved, body: "Code {{c}} \u{1F512}" }',
      `      - { version: 1, locale: es, status: approved, contentSid: HX${'0'.repeat(32)} }`,
    ]);
    const run = await lint(path, '--verbose');
    expect(run.code).toBe(0);
    expect(run.out).toEqual([
      `${path}:5: template otp v1 en: GSM-7, 1 segment(s) after smart encoding`,
      `${path}:6: template otp v1 fr: UCS-2, 1 segment(s)`,
      `${path}:7: template otp v1 es: not linted (Content template HX${'0'.repeat(32)})`,
    ]);
  });

  it('reads templates and policy.content from a gateway config', async () => {
    // The body is on line 10.
    const path = file(
      'gateway.yaml',
      `server:
  port: 8080
policy:
  content:
    extraShorteners: [sho.rt]
  quietHours: { anything: here }
templates:
  - id: t
    versions:
      - { version: 1, locale: en, status: approved, body: "See sho.rt/x" }`,
    );
    const run = await lint(path);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([
      `${path}:10: template t v1 en: url_shortener: The body links through the public URL shortener sho.rt, which carriers filter; link to your own domain.`,
    ]);
  });

  it('exits 1 with file:line:col and the reason of each schema error', async () => {
    const path = file(
      'invalid.yaml',
      `templates:
  - id: Promo
    versions:
      - version: 1
        locale: en
        status: live
        body: "Hi"
content:
  keywords:
    - pattern: "(x"
      match: regex
contnet: {}`,
    );
    const run = await lint(path);
    expect(run.code).toBe(1);
    expect(run.out).toEqual([
      `${path}:2:9: templates.0.id: template ids are lowercase letters, digits, -, _ and .`,
      `${path}:6:17: templates.0.versions.0.status: Invalid option: expected one of "approved"|"pending"|"rejected"`,
      `${path}:10:16: content.keywords.0.pattern: Invalid regular expression: /(x/iu: Unterminated group`,
      `${path}:12:1: (root): Unrecognized key: "contnet"`,
    ]);
  });

  it('exits 2 when the file is not YAML or cannot be read', async () => {
    const broken = file('broken.yaml', ['templates: [', '  - id: x', 'content: {']);
    const run = await lint(broken);
    expect(run.code).toBe(2);
    expect(run.out).toEqual([]);
    expect(run.err[0]).toMatch(new RegExp(`^${broken}:\\d+:\\d+: `));
    const missing = await lint(join(dir, 'missing.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.err).toEqual([expect.stringContaining(`${join(dir, 'missing.yaml')}: cannot read:`)]);
  });

  it('runs from the switchboard binary with its exit code', () => {
    const run = spawnSync(process.execPath, ['bin/switchboard.js', 'lint', FINDINGS], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(1);
    expect(run.stdout.split('\n').filter(Boolean)).toHaveLength(4);
    expect(run.stdout).toContain(`${FINDINGS}:12: template promo v2 en: url_shortener:`);
  });
});
