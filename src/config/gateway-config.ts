import { z } from 'zod';
import { policyConfigSchema, templatesSchema } from '../policy/index.ts';

const e164 = z
  .string()
  .regex(
    /^(whatsapp:)?\+[1-9]\d{6,14}$|^\d{5,6}$|^[A-Za-z0-9 ]{1,11}$/,
    'a sender is an E.164 number, a short code, an alphanumeric ID or whatsapp:+E.164',
  );
const purpose = z.enum(['otp', 'transactional', 'conversational', 'marketing']);
const channel = z.enum(['sms', 'mms', 'whatsapp']);

/**
 * A sender's carrier registration: the US A2P 10DLC campaign of a long code, or the
 * verification of a toll-free number. Only approved and unexpired registrations send.
 */
export const registrationSchema = z.strictObject({
  kind: z.enum(['10dlc', 'toll_free_verification']),
  /** The campaign SID (CM…) or verification id, for the audit. */
  id: z.string().min(1).max(64).optional(),
  status: z.enum(['approved', 'pending', 'rejected', 'expired']),
  /** ISO 8601 date or date-time after which the registration no longer counts. */
  expiresAt: z.iso.datetime({ offset: true }).or(z.iso.date()).optional(),
});

/** One sender number in a pool, with its messages-per-second and (US) registration. */
export const numberSchema = z.strictObject({
  address: e164,
  mps: z.number().positive().max(10_000),
  /** Overrides the pool's registration for this number. */
  registration: registrationSchema.optional(),
});

/** A sender pool: numbers of one sender type serving some purposes, channels and countries. */
export const poolSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-_]{0,62}$/, 'pool ids are lowercase letters, digits, - and _'),
  senderType: z.enum(['long_code', 'toll_free', 'short_code', 'alphanumeric', 'whatsapp']),
  channel: channel.default('sms'),
  purposes: z.array(purpose).min(1),
  countries: z.array(z.union([z.string().length(2), z.literal('*')])).min(1),
  numbers: z.array(numberSchema).min(1),
  /** Cap for the whole pool (defaults to the sum of its numbers' MPS). */
  mps: z.number().positive().optional(),
  /** Messages a number may send back to back before pacing applies (GCRA burst). */
  burst: z.number().int().min(1).max(100).default(1),
  /** Preference among pools serving the same traffic: lower first. */
  priority: z.number().int().default(100),
  /**
   * Which numbers a recipient prefers: its country's (`country`, the default, as Twilio's
   * Country Code Geomatch); one with its area code (US/CA), else its country (`area_code`,
   * opt-in as Twilio's Area Code Geomatch: it concentrates traffic on local numbers); any
   * (`off`). Free traffic spills over to the rest of the pool when the preferred numbers are
   * busy; conversational pins keep the tier.
   */
  geomatch: z.enum(['area_code', 'country', 'off']).default('country'),
  /** The registration covering the pool's numbers (a campaign, like a Messaging Service's). */
  registration: registrationSchema.optional(),
  /** The peak MPS this pool must carry: `switchboard audit` flags a pool whose registered capacity is below it. */
  peakMps: z.number().positive().optional(),
});

const tenantSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-_]{0,62}$/),
  /** API keys, stored as hex SHA-256 digests of the key. */
  apiKeySha256: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256 digest')).min(1),
});

/** The gateway config file (YAML); environment variables override some fields. */
export const gatewayConfigSchema = z.strictObject({
  server: z
    .strictObject({
      port: z.number().int().min(0).max(65_535).default(8080),
      host: z.string().default('127.0.0.1'),
      /** The public base URL Twilio calls back (signatures are computed over it). */
      publicUrl: z.url().optional(),
      bodyLimitBytes: z.number().int().positive().default(1_048_576),
    })
    .prefault({}),
  database: z.string().default('sqlite:./data/switchboard.db'),
  role: z.enum(['all', 'api', 'worker']).default('all'),
  twilio: z
    .strictObject({
      accountSid: z
        .string()
        .regex(/^AC[0-9a-fA-F]{32}$/)
        .optional(),
      authToken: z.string().min(8).optional(),
      /** The token before the last rotation: callbacks signed with it are still accepted. */
      previousAuthToken: z.string().min(8).optional(),
      baseUrl: z.url().default('https://api.twilio.com'),
      /** In-flight REST requests this process allows itself (Twilio limits each account). */
      maxConcurrency: z.number().int().positive().max(1000).default(64),
      connectTimeoutMs: z.number().int().min(100).default(5_000),
      /** Read timeout; never under 2 s, so transient slowness is not taken for failure. */
      timeoutMs: z.number().int().min(2_000).default(15_000),
    })
    .prefault({}),
  tenants: z.array(tenantSchema).default([]),
  /** Keys of the admin API (brownout switches, config reload, country blocks), as hex SHA-256. */
  admin: z
    .strictObject({
      apiKeySha256: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'a hex SHA-256 digest')).default([]),
    })
    .prefault({}),
  pools: z.array(poolSchema).default([]),
  /** Message templates: versioned, per locale, with an approval state. */
  templates: templatesSchema,
  /** Deliverability policies: content lint, opt-out, quiet hours, caps, WhatsApp, media, brownouts. */
  policy: policyConfigSchema,
  dispatch: z
    .strictObject({
      claimBatch: z.number().int().min(1).max(5_000).default(500),
      leaseMs: z.number().int().min(1_000).default(30_000),
      pollMs: z.number().int().min(1).default(25),
      /** Pacing reservations reach at most this far ahead. */
      horizonMs: z.number().int().min(10).default(1_000),
      /**
       * How long before its slot a message's pre-send work (the attempt record, a pending
       * reconciliation) starts, so that only the provider call waits for the slot: when that work
       * ran at the slot, its write's latency made sends late and bunched them at the provider.
       * 0 starts it at the slot.
       */
      prepareLeadMs: z.number().int().min(0).max(1_000).default(100),
      retry: z
        .strictObject({
          baseMs: z.number().int().min(1).default(250),
          capMs: z.number().int().min(1).default(30_000),
          maxAttempts: z.number().int().min(1).max(50).default(8),
        })
        .prefault({}),
      /** How long after an ambiguous attempt before the provider is asked what it has. */
      reconcileAfterMs: z.number().int().min(0).default(2_000),
    })
    .prefault({}),
});

/** The validated gateway config. */
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
/** A pool as configured. */
export type PoolConfig = z.infer<typeof poolSchema>;
/** The config as written (defaults optional). */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
/** A sender number as configured. */
export type NumberConfig = z.infer<typeof numberSchema>;
