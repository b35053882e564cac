import { z } from 'zod';
import { contentPolicySchema } from './content-linter.ts';
import { mediaPolicySchema } from './media-checker.ts';
import { quietHoursSchema } from './quiet-hours.ts';

const purpose = z.enum(['otp', 'transactional', 'conversational', 'marketing']);
const country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'a country is an ISO 3166 alpha-2 code such as US')
  .transform((c) => c.toUpperCase());

/** The brownout switches: degrade on purpose, before the system degrades by accident. */
export const brownoutSchema = z
  .strictObject({
    /** Marketing waits (deferred, not dropped) while the switch is on. */
    deferMarketing: z.boolean().default(false),
    /** OTP asked for WhatsApp goes out as SMS. */
    otpWhatsappToSms: z.boolean().default(false),
    /** MMS goes out as text without its media. */
    mmsAsText: z.boolean().default(false),
  })
  .prefault({});

/** The names of the brownout switches. */
export type BrownoutSwitch = keyof z.infer<typeof brownoutSchema>;
/** Every brownout switch name. */
export const BROWNOUT_SWITCHES: readonly BrownoutSwitch[] = brownoutSchema.unwrap().keyof().options;

/** The `policy:` section of the gateway config: every deliverability rule as data. */
export const policyConfigSchema = z
  .strictObject({
    /** Locale a template falls back to when the requested one has no approved version. */
    defaultLocale: z.string().default('en'),
    content: contentPolicySchema,
    quietHours: quietHoursSchema,
    media: mediaPolicySchema,
    optOut: z
      .strictObject({
        /**
         * Where a STOP applies: `pool` (the pool of the number the recipient wrote to, like a
         * Twilio Messaging Service) or `account` (every sender).
         */
        scope: z.enum(['pool', 'account']).default('pool'),
        /** The reply to HELP / INFO (carriers require one). */
        helpReply: z
          .string()
          .min(1)
          .max(320)
          .default('Msg&data rates may apply. Reply STOP to unsubscribe, HELP for help.'),
      })
      .prefault({}),
    whatsapp: z
      .strictObject({
        /** How long an inbound message keeps the session open for free-form replies. */
        sessionHours: z.number().positive().max(72).default(24),
        /** Purposes that fall back to SMS when the session is closed and no template applies. */
        smsFallbackPurposes: z.array(purpose).default(['otp', 'transactional']),
      })
      .prefault({}),
    caps: z
      .strictObject({
        /** First messages to new recipients per tenant per hour (marketing); excess is deferred. */
        firstContactPerHour: z.number().int().positive().optional(),
        /** Daily marketing spend per country in USD (UTC days); excess is deferred to the next day. */
        dailySpendUsd: z.record(z.string(), z.number().positive()).default({}),
        /** Price per segment in USD by country (Twilio's price list); `defaultPrice` otherwise. */
        prices: z.record(z.string(), z.number().nonnegative()).default({}),
        defaultPrice: z.number().nonnegative().default(0.0083),
      })
      .prefault({}),
    spikeProtection: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Countries the business normally sends to: never blocked by spike protection. */
        homeCountries: z.array(country).default(['US', 'CA']),
        /** Messages a minute to one other country before it is blocked (SMS pumping). */
        perMinute: z.number().int().positive().default(120),
        /** Per-country overrides of `perMinute`. */
        countries: z.record(z.string(), z.number().int().positive()).default({}),
      })
      .prefault({}),
    /** Countries never sent to. */
    blockedCountries: z.array(country).default([]),
    brownout: brownoutSchema,
  })
  .prefault({});

/** The validated policy section. */
export type PolicyConfig = z.infer<typeof policyConfigSchema>;
