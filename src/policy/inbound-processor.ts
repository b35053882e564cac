import { setImmediate as afterPendingIo } from 'node:timers/promises';
import type { Logger } from 'pino';
import { bareAddress } from '../routing/index.ts';
import { applyInboundEvents, type Db, type InboundEffect } from '../store/index.ts';
import { classifyInboundKeyword } from './inbound-keywords.ts';
import type { PolicyEngine } from './policy-engine.ts';

/** A running inbound processor. */
export interface InboundProcessor {
  /** Applies stored inbound messages now instead of at the next poll (an opt-out takes effect at once). */
  wake(): void;
  stop(): Promise<void>;
}

/**
 * What an inbound message means: STOP-type keywords opt the sender out of the scope of the
 * number it wrote to, START-type opt back in; a WhatsApp message opens the 24-hour session.
 */
export function inboundEffect(
  policy: PolicyEngine,
  params: Record<string, unknown>,
  receivedAt: number,
): InboundEffect {
  const from = typeof params.From === 'string' ? params.From : '';
  const to = typeof params.To === 'string' ? params.To : '';
  const keyword = typeof params.BodyKeyword === 'string' ? params.BodyKeyword : '';
  const effect: InboundEffect = {};
  const recipient = bareAddress(from);
  if (recipient !== from) effect.whatsappSession = { recipient, sender: bareAddress(to), at: receivedAt };
  const kind = keyword ? classifyInboundKeyword(keyword) : null;
  if (kind === 'opt_out' || kind === 'opt_in') {
    effect.optOut = { scope: policy.optOutScopeOf(to), recipient, optedOut: kind === 'opt_out', keyword };
  }
  return effect;
}

/**
 * Applies stored inbound messages to the policy state off the request path, in batches,
 * polling every `intervalMs` (the webhook already answered once the event was stored).
 */
export function startInboundProcessor(
  deps: { db: Db; policy: PolicyEngine; logger: Logger; clock?: () => number },
  options: { intervalMs: number; batch: number },
): InboundProcessor {
  const clock = deps.clock ?? Date.now;
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    for (let first = true; ; first = false) {
      // Between batches, the I/O already received goes first (a SQLite batch runs on the event loop).
      if (!first) await afterPendingIo();
      const { applied, effects } = await applyInboundEvents(
        deps.db,
        { limit: options.batch, now: clock() },
        (p, at) => inboundEffect(deps.policy, p, at),
      );
      const optOuts = effects.filter((e) => e.optOut?.optedOut).length;
      if (optOuts > 0) deps.logger.info({ optOuts }, 'recipients opted out');
      if (stopping || applied < options.batch) return;
    }
  };
  let busy = false;
  let again = false;
  const tick = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (busy) {
      again = true; // a wake-up during a pass runs one more pass right after it
      return;
    }
    busy = true;
    running = pass()
      .catch((err) => deps.logger.error({ err }, 'applying inbound messages failed'))
      .finally(() => {
        busy = false;
        if (stopping) return;
        if (again) {
          again = false;
          tick();
        } else timer = setTimeout(tick, options.intervalMs);
      });
  };
  tick();
  return {
    wake: () => {
      if (!stopping) tick();
    },
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
