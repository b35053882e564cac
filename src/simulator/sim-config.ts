import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';

const rate = z.number().min(0).max(1);
const senderType = z.enum(['long_code', 'toll_free', 'short_code', 'alphanumeric', 'whatsapp']);

const senderSchema = z.strictObject({
  address: z.string().min(1),
  type: senderType,
  country: z.string().length(2).optional(),
  mps: z.number().positive().optional(),
  registered: z.boolean().default(true),
  smsUrl: z.url().nullable().optional(),
  statusCallback: z.url().nullable().optional(),
  friendlyName: z.string().optional(),
});

const carrierOverride = z.strictObject({
  latencyMedianMs: z.number().nonnegative().optional(),
  latencyP95Ms: z.number().nonnegative().optional(),
  unreachableRate: rate.optional(),
  unknownNumberRate: rate.optional(),
  landlineRate: rate.optional(),
  unknownErrorRate: rate.optional(),
  filterKeywords: z.array(z.string()).optional(),
  enforcesRegistration: z.boolean().optional(),
  outage: z.boolean().optional(),
});

/** A fault that fires on a fraction of requests, optionally for a limited count or time. */
export const faultSchema = z.strictObject({
  rate: rate,
  count: z.number().int().positive().optional(),
  durationMs: z.number().int().positive().optional(),
  status: z.union([z.literal(500), z.literal(502), z.literal(503)]).optional(),
  mode: z.enum(['reset', 'timeout']).optional(),
});

/** Fault settings that can also be changed at run time through the admin API. */
export const faultsSchema = z.strictObject({
  rest429: faultSchema.optional(),
  rest5xx: faultSchema.optional(),
  responseLost: faultSchema.optional(),
  latencyMs: z.number().int().nonnegative().max(120_000).optional(),
  callbackBlackhole: z.boolean().optional(),
  callbackDuplicateRate: rate.optional(),
  callbackReorderRate: rate.optional(),
  callbackDropRate: rate.optional(),
});
export type FaultSettings = z.infer<typeof faultsSchema>;

const accountSchema = z.strictObject({
  sid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'an Account SID is AC followed by 32 hex digits'),
  authToken: z.string().min(8),
  friendlyName: z.string().optional(),
  senders: z.array(senderSchema).optional(),
});

/** The simulator's config file (YAML), every field optional. */
export const simConfigSchema = z.strictObject({
  seed: z.union([z.number().int(), z.string()]).optional(),
  accountSid: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/)
    .optional(),
  authToken: z.string().min(8).optional(),
  /** Public base URL the simulator is reached at, used in absolute URLs (defaults to the listen address). */
  publicUrl: z.url().optional(),
  api: z
    .strictObject({
      concurrencyLimit: z.number().int().positive().default(100),
      maxBodyBytes: z.number().int().positive().default(1_048_576),
      /** Seconds of sending a sender queue may hold before a create fails with 21611. */
      queueMaxSeconds: z.number().positive().default(36_000),
      blockedCountries: z.array(z.string().length(2)).default(['CU', 'IR', 'KP', 'SY']),
      maxMessages: z.number().int().positive().default(1_000_000),
    })
    .prefault({}),
  senders: z.array(senderSchema).optional(),
  subaccounts: z.array(accountSchema).default([]),
  carriers: z.record(z.string(), carrierOverride).default({}),
  content: z
    .strictObject({
      filterKeywords: z.array(z.string()).default([]),
      shortenerDomains: z
        .array(z.string())
        .default([
          'bit.ly',
          'tinyurl.com',
          'goo.gl',
          't.co',
          'ow.ly',
          'is.gd',
          'buff.ly',
          'rebrand.ly',
          'cutt.ly',
          'shorturl.at',
          'tiny.cc',
          'rb.gy',
          't.ly',
        ]),
    })
    .prefault({}),
  callbacks: z
    .strictObject({
      /** Statuses that produce a status callback; Twilio sends none for the initial status. */
      statuses: z
        .array(z.enum(['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'read']))
        .default(['sent', 'delivered', 'undelivered', 'failed', 'read']),
      connectTimeoutMs: z.number().int().positive().default(5_000),
      readTimeoutMs: z.number().int().positive().default(15_000),
      totalTimeoutMs: z.number().int().positive().default(15_000),
      retryCount: z.number().int().min(0).max(5).default(1),
      retryPolicy: z.array(z.enum(['4xx', '5xx', 'ct', 'rt', 'all'])).default(['ct']),
      /** Delay of the carrier's `sent` acknowledgement after hand-off. */
      sentDelayMs: z.number().int().nonnegative().default(50),
    })
    .prefault({}),
  whatsapp: z
    .strictObject({
      sessionWindowHours: z.number().positive().default(24),
      readRate: rate.default(0.7),
      templates: z
        .array(
          z.strictObject({
            sid: z.string().regex(/^HX[0-9a-fA-F]{32}$/),
            name: z.string(),
            language: z.string().default('en'),
            status: z.enum(['approved', 'pending', 'rejected', 'paused', 'disabled']).default('approved'),
          }),
        )
        .default([]),
    })
    .prefault({}),
  faults: faultsSchema.default({}),
});

/** The parsed, defaulted simulator config. */
export type SimConfig = z.infer<typeof simConfigSchema>;
/** The config as a caller writes it (defaults optional). */
export type SimConfigInput = z.input<typeof simConfigSchema>;

/** A config error that names the file, the line and the reason. */
export class ConfigError extends Error {}

/** Parses and validates a config object; throws ConfigError listing each bad field. */
export function parseSimConfig(input: unknown, source = 'config'): SimConfig {
  const result = simConfigSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError(lines.join('\n'));
}

/** Reads a YAML config file, reporting YAML syntax errors and schema errors with line numbers. */
export function loadSimConfigFile(path: string): SimConfig {
  const text = readFileSync(path, 'utf8');
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${path}: ${e.message}`).join('\n'));
  }
  const result = simConfigSchema.safeParse(doc.toJS() ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const node = doc.getIn(issue.path as (string | number)[], true) as
      | { range?: [number, number] }
      | undefined;
    const line = node?.range ? lineOf(text, node.range[0]) : undefined;
    return `${path}${line ? `:${line}` : ''}: ${issue.path.join('.') || '(root)'}: ${issue.message}`;
  });
  throw new ConfigError(lines.join('\n'));
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
