import { setTimeout as sleep } from 'node:timers/promises';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { AccountRegistry, DEFAULT_SENDERS } from './accounts.ts';
import { CarrierNetwork, DEFAULT_CARRIERS } from './carriers.ts';
import { type Clock, systemClock } from './clock.ts';
import { createDeterminism } from './determinism.ts';
import { FaultState } from './faults.ts';
import { MessageEngine } from './message-engine.ts';
import { registerAccountRoutes } from './routes-accounts.ts';
import { registerAdminRoutes } from './routes-admin.ts';
import { registerLookupRoutes } from './routes-lookup.ts';
import { registerMessageRoutes } from './routes-messages.ts';
import { parseSimConfig, type SimConfig, type SimConfigInput } from './sim-config.ts';
import type { SimContext } from './sim-context.ts';
import { TwilioApiError } from './twilio-errors.ts';
import { WebhookClient } from './webhook-client.ts';

/** How to build a simulator; everything is optional. */
export interface SimulatorOptions {
  /** Config as written in the YAML file (validated here), or an already parsed one. */
  config?: SimConfigInput;
  seed?: number | string;
  accountSid?: string;
  authToken?: string;
  clock?: Clock;
}

/** A running (or ready to run) carrier simulator. */
export interface Simulator {
  readonly app: FastifyInstance;
  readonly ctx: SimContext;
  /** The default account's SID and token: a Twilio client configured with them works unchanged. */
  readonly accountSid: string;
  readonly authToken: string;
  /** Base URL once listening, e.g. `http://127.0.0.1:4010`. */
  readonly url: string;
  listen(port?: number, host?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Builds a simulator without opening a port (use `app.inject` or `listen`). */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const config: SimConfig = parseSimConfig(options.config ?? {});
  const clock = options.clock ?? systemClock;
  const seed = options.seed ?? config.seed ?? 42;
  const det = createDeterminism(seed);
  const accounts = new AccountRegistry(det, () => clock.now());
  const accountSid = options.accountSid ?? config.accountSid ?? det.sid('AC', 'default-account');
  const authToken = options.authToken ?? config.authToken ?? det.sid('', 'default-token');
  accounts.add({ sid: accountSid, authToken }, mergeSenders(DEFAULT_SENDERS, config.senders ?? []));
  for (const sub of config.subaccounts) {
    accounts.add(
      { sid: sub.sid, authToken: sub.authToken, friendlyName: sub.friendlyName, parentSid: accountSid },
      sub.senders ?? [],
    );
  }
  const carriers = new CarrierNetwork(
    det,
    DEFAULT_CARRIERS.map((c) => ({ ...c, ...(config.carriers[c.id] ?? {}) })),
  );
  const faults = new FaultState(clock, det, config.faults);
  const webhooks = new WebhookClient(config.callbacks, () => clock.now());
  const engine = new MessageEngine({ clock, det, accounts, carriers, faults, webhooks, config });
  let url = config.publicUrl ?? '';
  const ctx: SimContext = {
    config,
    clock,
    det,
    accounts,
    carriers,
    faults,
    webhooks,
    engine,
    baseUrl: () => url,
  };

  const app = Fastify({
    bodyLimit: config.api.maxBodyBytes,
    forceCloseConnections: true,
    logger: false,
    return503OnClosing: false,
  });
  installErrorHandling(app);
  app.register(async (twilio) => {
    twilio.removeAllContentTypeParsers();
    await twilio.register(formbody);
    // Twilio reads only form bodies; anything else arrives as no parameters at all.
    twilio.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, _body, done) => done(null, {}));
    installTwilioHooks(twilio, ctx);
    registerMessageRoutes(twilio, ctx);
    registerAccountRoutes(twilio, ctx);
    registerLookupRoutes(twilio, ctx);
  });
  app.register(async (admin) => registerAdminRoutes(admin, ctx));

  return {
    app,
    ctx,
    accountSid,
    authToken,
    get url() {
      return url;
    },
    async listen(port = 0, host = '127.0.0.1') {
      await app.listen({ port, host });
      const addr = app.server.address();
      const actualPort = typeof addr === 'object' && addr ? addr.port : port;
      if (!config.publicUrl) url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
      return url;
    },
    async stop() {
      engine.stop();
      await app.close();
      await webhooks.close();
    },
  };
}

/** Creates a simulator and starts it on a port (0 = any free port). */
export async function startSimulator(
  options: SimulatorOptions & { port?: number; host?: string } = {},
): Promise<Simulator> {
  const sim = createSimulator(options);
  await sim.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return sim;
}

function mergeSenders<T extends { address: string }>(defaults: T[], extra: T[]): T[] {
  const byAddress = new Map(defaults.map((s) => [s.address, s]));
  for (const s of extra) byAddress.set(s.address, { ...byAddress.get(s.address), ...s });
  return [...byAddress.values()];
}

/** Auth, the per-account concurrency limit, and request-level faults, in Twilio's order. */
function installTwilioHooks(app: FastifyInstance, ctx: SimContext): void {
  app.addHook('onRequest', async (req, reply) => {
    const params = (req.params ?? {}) as { accountSid?: string };
    const principal = ctx.accounts.authenticate(req.headers.authorization, params.accountSid ?? null);
    const account = principal.account;
    if (account.inflight >= ctx.config.api.concurrencyLimit) throw TwilioApiError.of(20429);
    account.inflight++;
    reply.raw.once('close', () => {
      account.inflight--;
    });
    req.simAccount = account;
    if (ctx.faults.fire('rest429')) throw TwilioApiError.of(20429);
    const fault = ctx.faults.fire('rest5xx');
    if (fault)
      throw fault.status === 503
        ? TwilioApiError.of(20503)
        : new TwilioApiError(20500, fault.status, 'Internal Server Error');
    const latency = ctx.faults.latencyMs;
    if (latency > 0) await sleep(latency);
  });
}

function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | TwilioApiError, req, reply) => {
    if (err instanceof TwilioApiError) return reply.code(err.status).send(err.toJSON());
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'simulator internal error');
    // No Twilio code exists for transport-level failures (oversized body, bad media type): the HTTP status is the code.
    return reply
      .code(status)
      .send(
        new TwilioApiError(
          status === 500 ? 20500 : status,
          status,
          status === 500 ? 'Internal Server Error' : err.message,
        ).toJSON(),
      );
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    reply.code(404).send(TwilioApiError.of(20404, `The requested resource ${path} was not found`).toJSON());
  });
}
