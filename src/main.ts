import { randomBytes, randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type CallbackApplier, callbackRoutes, startCallbackApplier } from './callbacks/index.ts';
import { type GatewayConfig, hashApiKey, type PoolConfig } from './config/index.ts';
import { EMBEDDED_POOLS, embeddedSimulatorConfig } from './embedded-defaults.ts';
import { SbError } from './errors/index.ts';
import { createIntake, installErrorHandler } from './intake/index.ts';
import { createLogger, createMetrics, type Metrics } from './observability/index.ts';
import { createTwilioProvider, type Provider } from './providers/index.ts';
import { Dispatcher } from './queue/index.ts';
import { createRouter } from './routing/index.ts';
import { type Simulator, startSimulator } from './simulator/index.ts';
import { type Db, openDatabase, pingDatabase, queueStats } from './store/index.ts';

/** Extra wiring for tests and the CLI. */
export interface GatewayOptions {
  logger?: Logger;
  /** Seed of the embedded simulator (used when no Twilio credentials are configured). */
  simulatorSeed?: number;
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
  pools: PoolConfig[];
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

    const router = createRouter(pools);
    const api = config.role === 'all' || config.role === 'api';
    const worker = config.role === 'all' || config.role === 'worker';
    let publicUrl = config.server.publicUrl ?? '';
    // In-process wake-ups: new messages and callbacks reach an idle worker at once.
    let dispatcher: Dispatcher | null = null;
    let applier: CallbackApplier | null = null;
    const intake = api
      ? createIntake({ db, logger, router, metrics, onQueued: () => dispatcher?.notifyWork() }, { tenants })
      : null;
    if (intake) await app.register(intake.plugin);
    if (api) {
      await app.register(
        callbackRoutes(
          { db, logger, metrics, onStored: () => applier?.notifyWork() },
          {
            publicUrl: () => publicUrl,
            authToken: twilio.authToken!,
            previousAuthToken: twilio.previousAuthToken,
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
          { db, provider, pools, metrics, logger },
          {
            owner: `${process.pid}-${randomUUID().slice(0, 8)}`,
            leaseMs: config.dispatch.leaseMs,
            pollMs: config.dispatch.pollMs,
            horizonMs: config.dispatch.horizonMs,
            claimBatch: config.dispatch.claimBatch,
            retry: config.dispatch.retry,
            reconcileAfterMs: config.dispatch.reconcileAfterMs,
            maxConcurrency: config.twilio.maxConcurrency,
            statusCallbackUrl: (id) => `${publicUrl}/webhooks/twilio/status?mid=${encodeURIComponent(id)}`,
          },
        )
      : null;
    dispatcher?.start();
    applier = worker ? startCallbackApplier({ db, logger, metrics }, { intervalMs: 20, batch: 500 }) : null;
    ready = true;

    return {
      app,
      db,
      config,
      metrics,
      url,
      simulator,
      generatedApiKey,
      pools,
      async stop() {
        stopping = true;
        await app.close();
        await intake?.drain();
        await dispatcher?.stop();
        await applier?.stop();
        for (const close of closers) await close();
      },
    };
  } catch (err) {
    for (const close of closers) await close().catch(() => {});
    throw err;
  }
}
