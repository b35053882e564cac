import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { stringify } from 'yaml';
import { type GatewayConfigInput, hashApiKey, loadGatewayConfig } from '../../src/config/index.ts';
import { type Gateway, startGateway } from '../../src/main.ts';
import { createLogger } from '../../src/observability/index.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import type { TestBackend } from '../support/databases.ts';
import { type ApiMessage, E2E_API_KEY, freePorts, tempDir } from '../support/gateway-process.ts';
import { admin, FAST_RELIABLE_US, inspected, waitFor } from '../support/sim-client.ts';

// The policy end-to-end tests' shared set-up: a simulator with senders of every kind, a gateway
// started from a config file (so reloads read it again), and helpers that call its API in-process.

export const ADMIN_KEY = 'sk_e2e_admin_key_0123456789abcdef';
export const TX = '+14155550100';
export const CHAT = ['+14155550101', '+12125550102', '+13125550103'];
export const PROMO = '+18885550100';
export const MMS = '+14155550104';
export const UNREGISTERED = '+14155550199';
export const WHATSAPP = 'whatsapp:+14155238886';
export const ALPHA = 'SWITCHBD';
/** A distinct valid UK mobile number per index. */
export const uk = (i: number) => `+4474001234${String(10 + i)}`;
export const CONTENT_SID = 'HX0123456789abcdef0123456789abcdef';
export const approved10dlc = {
  kind: '10dlc',
  id: 'CM00000000000000000000000000000000',
  status: 'approved',
} as const;

/** A distinct valid US mobile number per index (NYC area code, so its time zone is New York). */
export const nyc = (i: number) => `+1212555${String(1000 + i).padStart(4, '0')}`;
/** A distinct valid Denver number per index (no sender of the pools shares its area code). */
export const denver = (i: number) => `+1303555${String(1000 + i).padStart(4, '0')}`;

/** The local time in New York as HH:MM, `deltaMs` from `at`. */
export function newYorkClock(at: number, deltaMs: number): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: 'America/New_York',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(at + deltaMs));
}

export function gatewayConfig(
  port: number,
  sim: Simulator,
  dbUrl: string,
  over: Partial<GatewayConfigInput> = {},
) {
  const base: GatewayConfigInput = {
    server: { port, host: '127.0.0.1' },
    database: dbUrl,
    twilio: { accountSid: sim.accountSid, authToken: sim.authToken, baseUrl: sim.url },
    tenants: [{ id: 'default', apiKeySha256: [hashApiKey(E2E_API_KEY)] }],
    admin: { apiKeySha256: [hashApiKey(ADMIN_KEY)] },
    dispatch: { pollMs: 10, leaseMs: 5_000, retry: { baseMs: 50, capMs: 200, maxAttempts: 3 } },
    pools: [
      {
        id: 'promo',
        senderType: 'toll_free',
        // Lists OTP too: the router must still never send an OTP through a marketing pool.
        purposes: ['marketing', 'otp'],
        countries: ['US'],
        priority: 1,
        numbers: [
          {
            address: PROMO,
            mps: 50,
            registration: { kind: 'toll_free_verification', id: 'TF1', status: 'approved' },
          },
        ],
      },
      {
        id: 'tx',
        senderType: 'long_code',
        purposes: ['otp', 'transactional'],
        countries: ['US'],
        priority: 50,
        numbers: [{ address: TX, mps: 50, registration: approved10dlc }],
      },
      {
        id: 'chat',
        senderType: 'long_code',
        purposes: ['conversational'],
        countries: ['US'],
        geomatch: 'area_code',
        numbers: CHAT.map((address) => ({ address, mps: 50, registration: approved10dlc })),
      },
      {
        id: 'mms',
        senderType: 'long_code',
        channel: 'mms',
        purposes: ['transactional', 'marketing'],
        countries: ['US'],
        numbers: [{ address: MMS, mps: 50, registration: approved10dlc }],
      },
      {
        id: 'unregistered',
        senderType: 'long_code',
        purposes: ['transactional'],
        countries: ['CA'],
        numbers: [{ address: UNREGISTERED, mps: 50 }],
      },
      {
        id: 'wa',
        senderType: 'whatsapp',
        channel: 'whatsapp',
        purposes: ['transactional', 'conversational', 'otp'],
        countries: ['*'],
        numbers: [{ address: WHATSAPP, mps: 50 }],
      },
      {
        id: 'intl',
        senderType: 'alphanumeric',
        purposes: ['transactional'],
        countries: ['GB'],
        numbers: [{ address: ALPHA, mps: 50 }],
      },
    ],
    templates: [
      {
        id: 'order-update',
        purpose: 'transactional',
        versions: [
          {
            version: 1,
            locale: 'en',
            status: 'approved',
            body: 'Order {{1}} is on its way',
            contentSid: CONTENT_SID,
          },
        ],
      },
      {
        id: 'otp-code',
        purpose: 'otp',
        versions: [
          { version: 1, locale: 'en', status: 'approved', body: 'Your code is {{code}}' },
          { version: 2, locale: 'en', status: 'pending', body: 'Code: {{code}}' },
          { version: 1, locale: 'es', status: 'approved', body: 'Tu codigo es {{code}}' },
        ],
      },
    ],
    policy: {
      content: { urlAllowlist: ['example.com'] },
      quietHours: { enabled: false },
      media: { timeoutMs: 1_000 },
      spikeProtection: { homeCountries: ['US', 'CA'], perMinute: 3 },
      caps: { dailySpendUsd: { US: 0.02 }, prices: { US: 0.0079 } },
    },
  };
  return { ...base, ...over };
}

/** A message as the policy tests read it from the API. */
export type Answer = ApiMessage & {
  channel: string;
  policyReason: string | null;
  notBefore: string | null;
  template: { id: string; version: number } | null;
  error?: { code: string; reason?: string; field?: string; message: string };
};

/** The gateway and simulator of one backend's policy tests, with the helpers the tests use. */
export interface PolicyGateway {
  readonly sim: Simulator;
  readonly gw: Gateway;
  readonly configFile: string;
  /** Added to the gateway's clock (ms), to move it past quiet hours. */
  offset: number;
  /** This run's config with `over` applied. */
  config(over?: Partial<GatewayConfigInput>): GatewayConfigInput;
  writeConfig(over?: Partial<GatewayConfigInput>): void;
  /** Stops the gateway and starts it again on the same database and config file. */
  restart(): Promise<void>;
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    key?: string,
  ): Promise<{ status: number; json: T }>;
  send(body: Record<string, unknown>): Promise<{ status: number; json: Answer }>;
  get(id: string): Promise<Answer>;
  /** The message once it has left queued and sending (or once `ok` holds). */
  settled(id: string, ok?: (m: Answer) => boolean): Promise<Answer>;
  /** What the simulator received for a recipient (SMS or WhatsApp). */
  atSim(to: string): Promise<Awaited<ReturnType<typeof inspected>>>;
  /** An inbound message from `from` to our number `to`, through the simulator. */
  inbound(from: string, to: string, body: string): ReturnType<typeof admin>;
}

/**
 * Starts the simulator and the gateway before the enclosing suite's tests and stops them after;
 * read the returned object's fields inside the tests.
 */
export function usePolicyGateway(backend: TestBackend): PolicyGateway {
  let sim: Simulator;
  let gw: Gateway;
  let dir: ReturnType<typeof tempDir>;
  let configFile: string;
  let dbUrl: string;
  let port: number;
  let offset = 0;
  const clock = () => Date.now() + offset;
  const logger = createLogger({ level: 'silent' });

  const writeConfig = (over: Partial<GatewayConfigInput> = {}) =>
    writeFileSync(configFile, stringify(gatewayConfig(port, sim, dbUrl, over)));
  const start = async () =>
    startGateway(loadGatewayConfig({ configFile }, {}), {
      logger,
      clock,
      reloadConfig: () => loadGatewayConfig({ configFile }, {}),
    });
  const call = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    key = E2E_API_KEY,
  ): Promise<{ status: number; json: T }> => {
    const res = await gw.app.inject({
      method: method as 'GET',
      url: path,
      headers: { authorization: `Bearer ${key}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: res.statusCode, json: (res.body ? res.json() : {}) as T };
  };
  const send = (body: Record<string, unknown>) => call<Answer>('POST', '/v1/messages', body);
  const get = async (id: string) => (await call<Answer>('GET', `/v1/messages/${id}`)).json;
  const settled = (
    id: string,
    ok: (m: Answer) => boolean = (m) => m.status !== 'queued' && m.status !== 'sending',
  ) => waitFor(() => get(id), ok, 20_000, 25);
  const atSim = async (to: string) =>
    (await inspected(sim)).filter((m) => m.to === to || m.to === `whatsapp:${to}`);
  const inbound = (from: string, to: string, body: string) =>
    admin(sim, 'POST', '/sim/inbound', { from, to, body });

  beforeAll(async () => {
    dir = tempDir('sb-policy-');
    configFile = join(dir.path, 'switchboard.yaml');
    dbUrl = await backend.url();
    [port] = (await freePorts(1)) as [number];
    const inboundUrl = `http://127.0.0.1:${port}/webhooks/twilio/inbound`;
    sim = await startSimulator({
      seed: 77,
      config: {
        senders: [
          ...[TX, ...CHAT, MMS].map((address) => ({
            address,
            type: 'long_code' as const,
            mps: 1_000,
            smsUrl: inboundUrl,
          })),
          {
            address: UNREGISTERED,
            type: 'long_code' as const,
            mps: 1_000,
            registered: false,
            smsUrl: inboundUrl,
          },
          { address: PROMO, type: 'toll_free' as const, mps: 1_000, smsUrl: inboundUrl },
          { address: WHATSAPP, type: 'whatsapp' as const, mps: 1_000, smsUrl: inboundUrl },
          { address: ALPHA, type: 'alphanumeric' as const, country: 'GB', mps: 1_000 },
        ],
        carriers: FAST_RELIABLE_US,
        whatsapp: { templates: [{ sid: CONTENT_SID, name: 'order_update', language: 'en' }] },
      },
    });
    writeConfig();
    gw = await start();
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await sim?.stop();
    await backend.cleanup();
    dir?.remove();
  }, 60_000);

  return {
    get sim() {
      return sim;
    },
    get gw() {
      return gw;
    },
    get configFile() {
      return configFile;
    },
    get offset() {
      return offset;
    },
    set offset(ms: number) {
      offset = ms;
    },
    config: (over = {}) => gatewayConfig(port, sim, dbUrl, over),
    writeConfig,
    restart: async () => {
      await gw.stop();
      gw = await start();
    },
    call,
    send,
    get,
    settled,
    atSim,
    inbound,
  };
}
