import { type Command, InvalidArgumentError } from 'commander';
import { type GatewayConfig, loadGatewayConfig } from '../config/index.ts';
import { EMBEDDED_POOLS } from '../embedded-defaults.ts';
import { SbError } from '../errors/index.ts';
import { auditPools, type PeakDemand, parsePeaks, planCapacity } from '../routing/index.ts';

/** Where an operations command writes and how it exits (tests inject their own). */
export interface OpsIo {
  out(line: string): void;
  err(line: string): void;
  exit(code: 0 | 1 | 2): void;
}

const processIo: OpsIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  exit: (code) => {
    process.exitCode = code;
  },
};

/** The config as `serve` would load it; the embedded pools when none are configured. */
function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv, io: OpsIo): GatewayConfig | null {
  try {
    const config = loadGatewayConfig({ configFile: file }, env);
    return config.pools.length > 0 ? config : { ...config, pools: EMBEDDED_POOLS };
  } catch (err) {
    if (!(err instanceof SbError)) throw err;
    io.err(err.message);
    io.exit(2);
    return null;
  }
}

/** Pads columns to a plain-text table. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * `switchboard audit [--config f] [--json]`: senders whose registration is missing, pending,
 * rejected, expired or expiring, and pools below their `peakMps`. Exit 1 when any error.
 */
export function registerAuditCommand(program: Command, env: NodeJS.ProcessEnv, io: OpsIo = processIo): void {
  program
    .command('audit')
    .description('List senders with missing or expired registration and pools below their peak MPS')
    .option('-c, --config <file>', 'gateway config (SWITCHBOARD_CONFIG)')
    .option('--json', 'print the findings as JSON')
    .action((opts: { config?: string; json?: boolean }) => {
      const config = loadConfig(opts.config ?? env.SWITCHBOARD_CONFIG, env, io);
      if (!config) return;
      const findings = auditPools(config.pools, Date.now());
      if (opts.json) io.out(JSON.stringify({ findings }));
      else if (findings.length === 0) io.out(`${config.pools.length} pools audited: no findings`);
      else {
        for (const line of table([
          ['SEVERITY', 'CODE', 'POOL', 'NUMBER', 'MESSAGE'],
          ...findings.map((f) => [f.severity, f.code, f.pool, f.number ?? '-', f.message]),
        ]))
          io.out(line);
      }
      io.exit(findings.some((f) => f.severity === 'error') ? 1 : 0);
    });
}

/**
 * `switchboard plan --peak-mps US:otp=50,... [--config f] [--json]`: per peak, the sender type,
 * the numbers needed, and whether the configured pool carries it. Exit 1 when one is not met.
 */
export function registerPlanCommand(program: Command, env: NodeJS.ProcessEnv, io: OpsIo = processIo): void {
  program
    .command('plan')
    .description('Size sender pools for expected peak MPS per country and purpose, and check the config')
    .requiredOption(
      '--peak-mps <list>',
      'peaks such as US:otp=50,US:marketing=200,GB:transactional=20',
      (v) => {
        try {
          return parsePeaks(v);
        } catch (err) {
          throw new InvalidArgumentError((err as Error).message);
        }
      },
    )
    .option('-c, --config <file>', 'gateway config (SWITCHBOARD_CONFIG)')
    .option('--json', 'print the plan as JSON')
    .action((opts: { peakMps: PeakDemand[]; config?: string; json?: boolean }) => {
      const config = loadConfig(opts.config ?? env.SWITCHBOARD_CONFIG, env, io);
      if (!config) return;
      const rows = planCapacity(opts.peakMps, config.pools, Date.now());
      if (opts.json) io.out(JSON.stringify({ plan: rows }));
      else {
        for (const line of table([
          [
            'COUNTRY',
            'PURPOSE',
            'PEAK MPS',
            'SENDER TYPE',
            'MPS/NUMBER',
            'NUMBERS NEEDED',
            'POOL',
            'POOL MPS',
            'MEETS',
          ],
          ...rows.map((r) => [
            r.country,
            r.purpose,
            String(r.mps),
            r.senderType,
            String(r.perNumberMps),
            String(r.numbersNeeded),
            r.pool ?? '(none)',
            String(r.poolMps),
            r.meets ? 'yes' : 'NO',
          ]),
        ]))
          io.out(line);
      }
      io.exit(rows.every((r) => r.meets) ? 0 : 1);
    });
}
