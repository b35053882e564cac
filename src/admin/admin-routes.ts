import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { SbError } from '../errors/index.ts';
import { createAuthenticator, errorHandler } from '../intake/index.ts';
import { BROWNOUT_SWITCHES, type BrownoutSwitch, type PolicyEngine } from '../policy/index.ts';

/** What the admin API works with. */
export interface AdminDeps {
  policy: PolicyEngine;
  /** Loads the config file again and applies it; throws an SbError naming file, line and reason. */
  reload?: (() => Promise<{ loadedAt: string }>) | undefined;
  logger?: Logger | undefined;
}

/** A change of some switches: each one optional (no defaults, unlike the config's schema). */
const brownoutBody = z.strictObject(
  Object.fromEntries(BROWNOUT_SWITCHES.map((name) => [name, z.boolean().optional()])),
) as z.ZodType<Partial<Record<BrownoutSwitch, boolean>>>;

/**
 * The operator API under `/v1/admin` (admin keys only): brownout switches shared by every
 * process, country blocks, and a validated config reload.
 * - `GET /v1/admin/policy` → switches in force, blocked countries.
 * - `PUT /v1/admin/brownout` `{ deferMarketing?, otpWhatsappToSms?, mmsAsText? }`.
 * - `DELETE /v1/admin/country-blocks/:country` lifts a block (e.g. after a spike).
 * - `POST /v1/admin/config/reload` → 200, or 400 with the file, line and reason (the running config stays).
 */
export function adminRoutes(
  deps: AdminDeps,
  options: { adminKeySha256: readonly string[] },
): FastifyPluginAsync {
  const authenticate = createAuthenticator([{ id: 'admin', apiKeySha256: options.adminKeySha256 }]);
  return async (app: FastifyInstance) => {
    app.setErrorHandler(errorHandler(deps.logger));
    app.addHook('onRequest', async (req: FastifyRequest) => {
      if (authenticate(req.headers.authorization) !== 'admin') throw new SbError('SB_ADMIN_FORBIDDEN');
    });

    const state = () => ({
      switches: deps.policy.switches(),
      blockedCountries: deps.policy.blockedCountries(),
    });

    app.get('/v1/admin/policy', async () => state());

    app.put('/v1/admin/brownout', async (req) => {
      const parsed = brownoutBody.safeParse(req.body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field =
          issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined);
        throw new SbError(
          'SB_INTAKE_INVALID_FIELD',
          `${field ?? 'body'}: ${issue.message} (switches: ${BROWNOUT_SWITCHES.join(', ')})`,
          { field },
        );
      }
      for (const name of BROWNOUT_SWITCHES) {
        const value = parsed.data[name];
        if (value !== undefined) await deps.policy.setSwitch(name, value);
      }
      return state();
    });

    app.delete('/v1/admin/country-blocks/:country', async (req) => {
      const { country } = req.params as { country: string };
      if (!/^[A-Za-z]{2}$/.test(country)) {
        throw new SbError('SB_INTAKE_INVALID_FIELD', 'country: an ISO 3166 alpha-2 code such as GB.', {
          field: 'country',
        });
      }
      await deps.policy.unblockCountry(country.toUpperCase());
      return state();
    });

    app.post('/v1/admin/config/reload', async () => {
      if (!deps.reload) {
        throw new SbError('SB_ADMIN_RELOAD_REJECTED', 'This gateway was started without a config file.');
      }
      return { reloaded: true, ...(await deps.reload()) };
    });
  };
}
