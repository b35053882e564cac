import { randomBytes, randomUUID } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter } from 'prom-client';
import { adminRoutes } from './admin/index.ts';
import { type CallbackApplier, callbackRoutes, startCallbackApplier } from './callbacks/index.ts';
import { type GatewayConfig, hashApiKey, type PoolConfig } from './config/index.ts';
import { EMBEDDED_POOLS, embeddedSimulatorConfig } from './embedded-defaults.ts';
import { SbError } from './errors/index.ts';
import { createIntake, installErrorHandler } from './intake/index.ts';
import { createLogger, createMetrics, type Metrics } from './observability/index.ts';
import {
  classifyInboundKeyword,
  type InboundProcessor,
  PolicyEngine,
  startInboundProcessor,
} from './policy/index.ts';
import { createTwilioProvider, type Provider } from './providers/index.ts';
import { Dispatcher } from './queue/index.ts';
import { type Simulator, startSimulator } from './simulator/index.ts';
import { type Db, openDatabase, pingDatabase, queueStats } from './store/index.ts';

/** Extra wiring for tests and the CLI. */
export interface GatewayOptions {
  logger?: Logger;
  /** Seed of the embedded simulator (used when no Twilio credentials are configured). */
  simulatorSeed?: number;
  /** The clock of intake, dispatch, callbacks and policies (tests move it; default Date.now). */
  clock?: (() => number) | undefined;
  /**
   * Loads the config again (from the same file and environment) for a reload; throws an
   * SbError naming the file, line and reason when it is invalid.
   */
  reloadConfig?: (() => GatewayConfig) | undefined;
  /** A config file to watch: a change reloads it (a broken one is refused and logged). */
  watchFile?: string | undefined;
}

/** A running gateway. */
export interface Gateway {
  app: FastifyInstance;
  db: Db;
  config: GatewayConfig;
  metrics: Metrics;
  /** Base URL the HTTP server listens on. */
  url: string;
  /** The embedded simulator, when no Twilio credentials were configured. */
  simulator: Simulator | null;
  /** An API key generated for this run when none was configured (development only). */
  generatedApiKey: string | null;
  /** The pools in force (they change on reload). */
  readonly pools: readonly PoolConfig[];
  /** The policy engine (switches, blocks, the compiled policy). */
  policy: PolicyEngine;
  /** Reloads the config: pools, templates and policies change at once, or nothing does. */
  reload(): Promise<{ loadedAt: string }>;
  /** Graceful stop: no new work, in-flight work finished or released, everything closed. */
  stop(): Promise<void>;
}

/**
 * The composition root: opens the store, picks the provider (Twilio, or the embedded
 * simulator when no credentials are set), and wires intake, callbacks, the dispatcher,
 * the callback applier and the operational endpoints for the configured role.
 */
export async function startGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? createLogger();
  const db = await openDatabase(config.database);
  const closers: (() => Promise<void>)[] = [() => db.close()];
  try {
    let simulator: Simulator | null = null;
    let pools = config.pools;
    let twilio = {
      accountSid: config.twilio.accountSid,
      authToken: config.twilio.authToken,
      previousAuthToken: config.twilio.previousAuthToken,
      baseUrl: config.twilio.baseUrl,
    };
    if (!twilio.accountSid || !twilio.authToken) {
      if (pools.length === 0) pools = EMBEDDED_POOLS;
      simulator = await startSimulator({
        seed: options.simulatorSeed ?? 42,
        config: embeddedSimulatorConfig(pools),
        port: 0,
      });
      closers.unshift(() => simulator!.stop());
      twilio = {
        accountSid: simulator.accountSid,
        authToken: simulator.authToken,
        previousAuthToken: undefined,
        baseUrl: simulator.url,
      };
      logger.warn(
        { simulator: simulator.url },
        'no Twilio credentials configured: sending to the embedded carrier simulator',
      );
    }
    if (pools.length === 0)
      throw new SbError('SB_CONFIG_INVALID', 'no sender pools configured (pools: in the config file)');

    let tenants = config.tenants;
    let generatedApiKey: string | null = null;
    if (tenants.length === 0) {
      generatedApiKey = `sk_dev_${randomBytes(18).toString('base64url')}`;
      tenants = [{ id: 'default', apiKeySha256: [hashApiKey(generatedApiKey)] }];
      logger.warn('no API keys configured: generated a development key for tenant "default"');
    }

    const metrics = createMetrics(() => queueStats(db, Date.now()));
    const provider: Provider = createTwilioProvider(
      { logger },
      {
        accountSid: twilio.accountSid!,
        authToken: twilio.authToken!,
        baseUrl: twilio.baseUrl,
        maxConcurrency: config.twilio.maxConcurrency,
        connectTimeoutMs: config.twilio.connectTimeoutMs,
        timeoutMs: config.twilio.timeoutMs,
      },
    );
    closers.unshift(() => provider.close());

    const app = Fastify({
      bodyLimit: config.server.bodyLimitBytes,
      logger: false,
      forceCloseConnections: true,
      return503OnClosing: true,
    });
    installErrorHandler(app);
    let ready = false;
    let stopping = false;
    app.get('/healthz', async () => ({ ok: true }));
    app.get('/readyz', async (_req, reply) => {
      if (!ready || stopping) return reply.code(503).send({ ready: false });
      await pingDatabase(db);
      return { ready: true, role: config.role };
    });
    app.get('/metrics', async (_req, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    });

    const clock = options.clock ?? Date.now;
    const policy = new PolicyEngine(
      { db, logger, registry: metrics.registry, clock },
      { pools, templates: config.templates, policy: config.policy },
    );
    await policy.start();
    closers.unshift(async () => policy.stop());
    const reloads = new Counter({
      name: 'sb_config_reloads_total',
      help: 'Config reloads by result (applied, rejected)',
      labelNames: ['result'],
      registers: [metrics.registry],
    });
    const reload = async (): Promise<{ loadedAt: string }> => {
      if (!options.reloadConfig) {
        throw new SbError('SB_ADMIN_RELOAD_REJECTED', 'This gateway was started without a config file.');
      }
      let next: GatewayConfig;
      try {
        next = options.reloadConfig();
      } catch (err) {
        reloads.inc({ result: 'rejected' });
        const reason = err instanceof Error ? err.message : String(err);
        logger.error({ reason }, 'config reload rejected; the running config stays in force');
        throw new SbError('SB_ADMIN_RELOAD_REJECTED', reason, { cause: err });
      }
      const nextPools = next.pools.length === 0 && simulator ? EMBEDDED_POOLS : next.pools;
      policy.replace({ pools: nextPools, templates: next.templates, policy: next.policy });
      reloads.inc({ result: 'applied' });
      logger.info({ pools: nextPools.length, templates: next.templates.length }, 'config reloaded');
      return { loadedAt: new Date().toISOString() };
    };
    const api = config.role === 'all' || config.role === 'api';
    const worker = config.role === 'all' || config.role === 'worker';
    let publicUrl = config.server.publicUrl ?? '';
    // In-process wake-ups: new messages and callbacks reach an idle worker at once.
    let dispatcher: Dispatcher | null = null;
    let applier: CallbackApplier | null = null;
    let inbound: InboundProcessor | null = null;
    const intake = api
      ? createIntake(
          {
            db,
            logger,
            admit: (req) => policy.admit(req),
            metrics,
            clock,
            onQueued: () => dispatcher?.notifyWork(),
          },
          { tenants },
        )
      : null;
    if (intake) await app.register(intake.plugin);
    const adminKeys = [...config.admin.apiKeySha256];
    if (api && adminKeys.length > 0) {
      await app.register(adminRoutes({ policy, reload, logger }, { adminKeySha256: adminKeys }));
    }
    if (api) {
      await app.register(
        callbackRoutes(
          {
            db,
            logger,
            metrics,
            clock,
            onStored: () => {
              applier?.notifyWork();
              inbound?.wake();
            },
          },
          {
            publicUrl: () => publicUrl,
            authToken: twilio.authToken!,
            previousAuthToken: twilio.previousAuthToken,
            inboundReply: (keyword) =>
              classifyInboundKeyword(keyword) === 'help' ? policy.helpReply() : null,
          },
        ),
      );
    }

    await app.listen({ port: config.server.port, host: config.server.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.server.port;
    const url = `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${port}`;
    if (!publicUrl) publicUrl = url;

    dispatcher = worker
      ? new Dispatcher(
          { db, provider, pools, policy, metrics, logger, clock },
          {
            owner: `${process.pid}-${randomUUID().slice(0, 8)}`,
            leaseMs: config.dispatch.leaseMs,
            pollMs: config.dispatch.pollMs,
            horizonMs: config.dispatch.horizonMs,
            prepareLeadMs: config.dispatch.prepareLeadMs,
            claimBatch: config.dispatch.claimBatch,
            retry: config.dispatch.retry,
            reconcileAfterMs: config.dispatch.reconcileAfterMs,
            maxConcurrency: config.twilio.maxConcurrency,
            statusCallbackUrl: (id) => `${publicUrl}/webhooks/twilio/status?mid=${encodeURIComponent(id)}`,
          },
        )
      : null;
    dispatcher?.start();
    // On SQLite an applier batch holds the event loop until it commits (about 60 us a
    // callback): 500 took 28 ms, 100 took 6-7 ms at the same cost per callback. PostgreSQL's
    // round trips yield, and larger batches there save round trips.
    const applierBatch = db.dialect === 'sqlite' ? 100 : 500;
    applier = worker
      ? startCallbackApplier({ db, logger, metrics, clock }, { intervalMs: 20, batch: applierBatch })
      : null;
    inbound = worker
      ? startInboundProcessor({ db, policy, logger, clock }, { intervalMs: 200, batch: 200 })
      : null;
    const watcher = options.watchFile ? watchConfig(options.watchFile, reload, logger) : null;
    ready = true;

    return {
      app,
      db,
      config,
      metrics,
      url,
      simulator,
      generatedApiKey,
      get pools() {
        return policy.pools;
      },
      policy,
      reload,
      async stop() {
        stopping = true;
        watcher?.close();
        await app.close();
        await intake?.drain();
        await dispatcher?.stop();
        await applier?.stop();
        await inbound?.stop();
        for (const close of closers) await close();
      },
    };
  } catch (err) {
    for (const close of closers) await close().catch(() => {});
    throw err;
  }
}

/**
 * Reloads the config when its file changes (debounced: editors write in several steps). A
 * broken file is refused by `reload` and logged with its file, line and reason.
 */
function watchConfig(file: string, reload: () => Promise<unknown>, logger: Logger): FSWatcher {
  let timer: NodeJS.Timeout | null = null;
  const watcher = watch(file, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      reload().catch(() => {}); // already logged and counted
    }, 200);
  });
  watcher.on('error', (err) => logger.warn({ err }, 'config file watch stopped'));
  watcher.unref();
  return watcher;
}
