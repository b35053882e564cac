import { Command, InvalidArgumentError } from 'commander';
import { type ConfigOverrides, loadGatewayConfig } from '../config/index.ts';
import { SbError } from '../errors/index.ts';
import { startGateway } from '../main.ts';
import { createLogger } from '../observability/index.ts';
import { ConfigError, loadSimConfigFile, type SimConfig, startSimulator } from '../simulator/index.ts';
import { registerLintCommand } from './lint-command.ts';
import { registerAuditCommand, registerPlanCommand } from './ops-commands.ts';

/** Parses the command line and runs the chosen command. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const program = new Command();
  program.name('switchboard').description('Switchboard: a communications gateway in front of Twilio');

  program
    .command('sim')
    .description('Run the Twilio-compatible carrier simulator')
    .option('-p, --port <port>', 'port to listen on', toPort, 4010)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('-s, --seed <seed>', 'seed: the same seed and requests give the same SIDs and outcomes')
    .option('-c, --config <file>', 'simulator YAML config (senders, carriers, faults, callbacks)')
    .option(
      '--account-sid <sid>',
      'default account SID (else TWILIO_ACCOUNT_SID, else derived from the seed)',
    )
    .option(
      '--auth-token <token>',
      'default account auth token (else TWILIO_AUTH_TOKEN, else derived from the seed)',
    )
    .action(
      async (opts: {
        port: number;
        host: string;
        seed?: string;
        config?: string;
        accountSid?: string;
        authToken?: string;
      }) => {
        const log = createLogger({ name: 'switchboard-sim' });
        let config: SimConfig | undefined;
        try {
          config = opts.config ? loadSimConfigFile(opts.config) : undefined;
        } catch (err) {
          if (err instanceof ConfigError) {
            process.stderr.write(`${err.message}\n`);
            process.exitCode = 2;
            return;
          }
          throw err;
        }
        const seed =
          opts.seed === undefined ? undefined : /^-?\d+$/.test(opts.seed) ? Number(opts.seed) : opts.seed;
        const sim = await startSimulator({
          config,
          seed,
          accountSid: opts.accountSid ?? env.TWILIO_ACCOUNT_SID,
          authToken: opts.authToken ?? env.TWILIO_AUTH_TOKEN,
          port: opts.port,
          host: opts.host,
        });
        log.info(
          { url: sim.url, accountSid: sim.accountSid, seed: seed ?? config?.seed ?? 42 },
          'carrier simulator listening',
        );
        process.stdout.write(
          [
            `Twilio-compatible simulator on ${sim.url}`,
            `  Account SID: ${sim.accountSid}`,
            `  Auth token:  ${sim.authToken}`,
            `  Senders:     ${sim.ctx.accounts
              .sendersOf(sim.accountSid)
              .map((s) => s.address)
              .join(', ')}`,
            '  Try:',
            `    curl -u ${sim.accountSid}:${sim.authToken} ${sim.url}/2010-04-01/Accounts/${sim.accountSid}/Messages.json \\`,
            `      --data-urlencode To=+14155550123 --data-urlencode From=+14155550100 --data-urlencode "Body=Hello"`,
            `    curl ${sim.url}/sim/messages`,
            '',
          ].join('\n'),
        );
        const shutdown = async () => {
          log.info('stopping simulator');
          await sim.stop();
          process.exit(0);
        };
        process.once('SIGTERM', shutdown);
        process.once('SIGINT', shutdown);
      },
    );

  registerLintCommand(program);
  registerAuditCommand(program, env);
  registerPlanCommand(program, env);

  program
    .command('serve')
    .description(
      'Run the gateway: intake API, dispatcher and callbacks (embedded simulator when no Twilio credentials are set)',
    )
    .option('-p, --port <port>', 'port to listen on (SWITCHBOARD_PORT, default 8080)', toPort)
    .option('--host <host>', 'address to listen on (SWITCHBOARD_HOST, default 127.0.0.1)')
    .option('--db <url>', 'sqlite:./data/switchboard.db (default) or postgres://… (SWITCHBOARD_DB)')
    .option('-c, --config <file>', 'switchboard.yaml: pools, tenants, Twilio, dispatch (SWITCHBOARD_CONFIG)')
    .option('--role <role>', 'all | api | worker (SWITCHBOARD_ROLE)')
    .option('--public-url <url>', 'base URL Twilio calls back (SWITCHBOARD_PUBLIC_URL)')
    .option('--seed <n>', 'seed of the embedded simulator', '42')
    .action(
      async (opts: {
        port?: number;
        host?: string;
        db?: string;
        config?: string;
        role?: ConfigOverrides['role'];
        publicUrl?: string;
        seed: string;
      }) => {
        const log = createLogger({ level: env.LOG_LEVEL ?? 'info' });
        let config: ReturnType<typeof loadGatewayConfig>;
        const overrides: ConfigOverrides = {
          configFile: opts.config,
          port: opts.port,
          host: opts.host,
          database: opts.db,
          role: opts.role,
          publicUrl: opts.publicUrl,
        };
        const configFile = opts.config ?? env.SWITCHBOARD_CONFIG;
        try {
          config = loadGatewayConfig(overrides, env);
        } catch (err) {
          if (err instanceof SbError) {
            process.stderr.write(`${err.message}\n`);
            process.exitCode = 2;
            return;
          }
          throw err;
        }
        const gateway = await startGateway(config, {
          logger: log,
          simulatorSeed: Number(opts.seed),
          ...(configFile
            ? { reloadConfig: () => loadGatewayConfig(overrides, env), watchFile: configFile }
            : {}),
        });
        // SIGHUP reloads the config file (pools, templates, policies); a broken file is refused and logged.
        process.on('SIGHUP', () => void gateway.reload().catch(() => {}));
        log.info(
          { url: gateway.url, role: config.role, database: config.database.replace(/\/\/[^@]*@/, '//***@') },
          'switchboard listening',
        );
        if (gateway.config.role !== 'worker') {
          const key = gateway.generatedApiKey ?? '<your API key>';
          const lines = [
            `Switchboard gateway on ${gateway.url} (role ${config.role}, ${gateway.simulator ? `embedded simulator at ${gateway.simulator.url}` : 'Twilio'})`,
            ...(gateway.generatedApiKey
              ? [`  Development API key (tenant "default"): ${gateway.generatedApiKey}`]
              : []),
            '  Send a first message:',
            `    curl -s ${gateway.url}/v1/messages -H 'Authorization: Bearer ${key}' -H 'Content-Type: application/json' \\`,
            `      -d '{"to":"+14155550123","body":"Hello from Switchboard","purpose":"transactional"}'`,
            `  Then: curl -s ${gateway.url}/v1/messages/<id> -H 'Authorization: Bearer ${key}'   ·   ${gateway.url}/metrics`,
          ];
          process.stdout.write(`${lines.join('\n')}\n`);
        }
        let stopping = false;
        const shutdown = async (signal: string) => {
          if (stopping) return;
          stopping = true;
          log.info({ signal }, 'stopping: no new claims, finishing in-flight work');
          await gateway.stop();
          log.info('stopped');
          process.exit(0);
        };
        process.once('SIGTERM', () => void shutdown('SIGTERM'));
        process.once('SIGINT', () => void shutdown('SIGINT'));
      },
    );

  await program.parseAsync(argv);
}

function toPort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65_535)
    throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}
