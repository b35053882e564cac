import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import pino, { type Logger } from 'pino';
import { hashApiKey, type PoolConfig, poolSchema } from '../../src/config/index.ts';
import {
  createIntake,
  type Intake,
  type IntakeDeps,
  type IntakeOptions,
  installErrorHandler,
} from '../../src/intake/index.ts';
import {
  PolicyEngine,
  policyConfigSchema,
  type TemplateConfig,
  templatesSchema,
} from '../../src/policy/index.ts';
import type { Db } from '../../src/store/index.ts';
import type { TestBackend } from '../support/databases.ts';
import { useSuiteFixture } from '../support/suite-fixture.ts';

export const KEY_A = 'sk_test_tenant_a_0123456789';
export const KEY_B = 'sk_test_tenant_b_9876543210';
export const KEY_A_ROTATED = 'sk_test_tenant_a_rotated';

/** Two tenants; tenant a has two keys (rotation). */
export const TENANTS = [
  { id: 'tenant-a', apiKeySha256: [hashApiKey(KEY_A), hashApiKey(KEY_A_ROTATED)] },
  { id: 'tenant-b', apiKeySha256: [hashApiKey(KEY_B)] },
];

// poolSchema does not accept the '*' country (yet): parse the rest, then put the countries back.
const parsePool = (p: Record<string, unknown> & { countries: string[] }): PoolConfig => ({
  ...poolSchema.parse({ ...p, countries: p.countries.map((c) => (c === '*' ? 'US' : c)) }),
  countries: p.countries,
});

/** Transactional (US, CA), marketing (US only) and WhatsApp (anywhere, every purpose) pools. */
export const POOLS: PoolConfig[] = [
  {
    id: 'tx-us',
    senderType: 'long_code',
    channel: 'sms',
    purposes: ['otp', 'transactional', 'conversational'],
    countries: ['US', 'CA'],
    registration: { kind: '10dlc', id: 'CM-intake', status: 'approved' },
    numbers: [{ address: '+14155550100', mps: 10 }],
  },
  {
    id: 'mkt-us',
    senderType: 'toll_free',
    channel: 'sms',
    purposes: ['marketing'],
    countries: ['US'],
    registration: { kind: 'toll_free_verification', id: 'TF-intake', status: 'approved' },
    numbers: [{ address: '+18885550100', mps: 3 }],
  },
  {
    id: 'mms-us',
    senderType: 'long_code',
    channel: 'mms',
    purposes: ['transactional', 'conversational'],
    countries: ['US'],
    registration: { kind: '10dlc', id: 'CM-intake', status: 'approved' },
    numbers: [{ address: '+14155550101', mps: 1 }],
  },
  {
    id: 'wa',
    senderType: 'whatsapp',
    channel: 'whatsapp',
    purposes: ['otp', 'transactional', 'conversational', 'marketing'],
    countries: ['*'],
    numbers: [{ address: 'whatsapp:+14155238886', mps: 10 }],
  },
].map(parsePool);

/** One template: v1 and v2 approved in English (v2 newest), v3 pending. */
export const TEMPLATES: TemplateConfig[] = templatesSchema.parse([
  {
    id: 'welcome',
    purpose: 'transactional',
    versions: [
      { version: 1, locale: 'en', status: 'approved', body: 'Hi {{name}}' },
      { version: 2, locale: 'en', status: 'approved', body: 'Welcome, {{name}}!' },
      { version: 3, locale: 'en', status: 'pending', body: 'Hey {{name}}' },
    ],
  },
]);

/** A valid US recipient, a Canadian one and a German one. */
export const US = '+14155550123';
export const CA = '+16045550123';
export const DE = '+4915123456789';

/** The in-process app under test (no open port), with a clock the test moves. */
export interface IntakeApp {
  app: FastifyInstance;
  intake: Intake;
  clock: { now: number };
  close(): Promise<void>;
}

/** Builds the app as the gateway does: root error handler, then the intake plugin. */
export async function startIntakeApp(
  db: Db,
  options: {
    bodyLimit?: number;
    insert?: IntakeDeps['insert'];
    logger?: Logger;
    batch?: IntakeOptions['batch'];
    onQueued?: IntakeDeps['onQueued'];
  } = {},
): Promise<IntakeApp> {
  const clock = { now: 1_700_000_000_000 };
  const policy = new PolicyEngine(
    { db, logger: options.logger ?? pino({ level: 'silent' }), clock: () => clock.now },
    // Intake mechanics with any marketing body: content rules have their own tests.
    {
      pools: POOLS,
      templates: TEMPLATES,
      policy: policyConfigSchema.parse({ content: { optOutLanguage: { purposes: [] } } }),
    },
  );
  const app = Fastify({ bodyLimit: options.bodyLimit ?? 64 * 1024, logger: false });
  installErrorHandler(app, { logger: options.logger });
  const intake = createIntake(
    {
      db,
      admit: (req) => policy.admit(req),
      clock: () => clock.now,
      insert: options.insert,
      logger: options.logger,
      onQueued: options.onQueued,
    },
    { tenants: TENANTS, batchBodyLimit: 2 * 1024 * 1024, batch: options.batch },
  );
  await app.register(intake.plugin);
  await app.ready();
  return {
    app,
    intake,
    clock,
    close: async () => {
      await app.close();
      await intake.drain();
    },
  };
}

/** The intake app of one suite and its database (no `close`: the suite's hooks close both). */
export type IntakeSuite = Omit<IntakeApp, 'close'> & { readonly db: Db };

/**
 * Opens a fresh database of the backend and the app on it before the enclosing suite's
 * tests, and closes and drops them after; read the fields inside the tests.
 */
export function useIntakeApp(backend: TestBackend): IntakeSuite {
  return useSuiteFixture(
    'the intake app',
    async () => {
      const db = await backend.open();
      return { ...(await startIntakeApp(db)), db };
    },
    async (opened) => {
      await opened.close();
      await opened.db.close();
      await backend.cleanup();
    },
  );
}

/** A JSON request as tenant a (or another key). */
export function inject(
  app: FastifyInstance,
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
  key: string | null = KEY_A,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: {
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      ...headers,
    },
    ...(payload === undefined
      ? {}
      : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
  });
}

/** Row counts of the tables intake writes, to prove a refused request wrote nothing. */
export async function tableCounts(db: Db): Promise<{ messages: number; events: number }> {
  const [m, e] = await Promise.all([
    db.kysely
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
    db.kysely
      .selectFrom('message_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { messages: Number(m.n), events: Number(e.n) };
}

/** The error body of a response. */
export function errorOf(res: LightMyRequestResponse): { code: string; message: string; field?: string } {
  return (res.json() as { error: { code: string; message: string; field?: string } }).error;
}
