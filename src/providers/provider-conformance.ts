import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Provider, SendRequest, SendResult } from './provider.ts';

/** Faults a test double of the provider can inject; absent against a real account. */
export interface ConformanceFaults {
  /** The next `count` requests are refused with a rate limit. */
  rateLimit(count: number): Promise<void>;
  /** The next `count` requests fail with this 5xx status before anything is created. */
  serverError(status: 500 | 503, count: number): Promise<void>;
  /**
   * The next `count` creates are accepted, but the answer is lost: the connection is reset
   * (`reset`) or never answered (`timeout`).
   */
  loseResponse(mode: 'reset' | 'timeout', count: number): Promise<void>;
  /** Removes every fault. */
  clear(): Promise<void>;
}

/** Variations of the provider under test. */
export interface ProviderVariant {
  timeoutMs?: number;
  maxConcurrency?: number;
  /** Credentials the provider refuses. */
  badCredentials?: boolean;
}

/** What the conformance suite needs from a provider and its surroundings. */
export interface ProviderConformanceContext {
  /** A new provider for the account; the suite closes it. */
  makeProvider(variant?: ProviderVariant): Provider;
  /** A sender the account owns. */
  from: string;
  /** A valid recipient not used before, so tests never see each other's messages. */
  nextRecipient(): string;
  /** A recipient the provider refuses as invalid, with the provider's own code for that. */
  invalidRecipient: { to: string; providerCode: number };
  /** The provider's code for a rate-limited request, if it has one. */
  rateLimitedProviderCode: number | null;
  /** Base of the status callback URL (our message id is appended as a query parameter). */
  statusCallback: string;
  /** The form of the SID the provider gives an accepted message. */
  sidPattern: RegExp;
  faults?: ConformanceFaults;
  /** SIDs of the messages the provider really holds from `from` to `to`, seen out of band. */
  heldSids?(to: string, from: string): Promise<string[]>;
  /** TCP connections opened to the provider so far. */
  connectionsOpened?(): number;
  teardown(): Promise<void>;
}

/**
 * The behaviour every provider must show: results instead of exceptions, the retryable flag
 * set only when a resend cannot duplicate, and ambiguous sends that `findSent` can resolve.
 * Runs against a simulator (with faults) or a real account (fault tests skip themselves).
 */
export function describeProviderConformance(
  name: string,
  makeContext: () => Promise<ProviderConformanceContext>,
): void {
  describe(`provider conformance: ${name}`, () => {
    let ctx: ProviderConformanceContext;
    let open: Provider[] = [];
    let seq = 0;

    beforeAll(async () => {
      ctx = await makeContext();
    });
    afterEach(async () => {
      await ctx.faults?.clear();
      await Promise.all(open.map((p) => p.close()));
      open = [];
    });
    afterAll(async () => {
      await ctx?.teardown();
    });

    const provider = (variant?: ProviderVariant): Provider => {
      const p = ctx.makeProvider(variant);
      open.push(p);
      return p;
    };
    const request = (to: string, body = 'Your code is 123456'): SendRequest => {
      const messageId = `msg_conformance_${++seq}`;
      return {
        messageId,
        to,
        from: ctx.from,
        body,
        mediaUrls: [],
        contentSid: null,
        contentVariables: null,
        statusCallback: `${ctx.statusCallback}?messageId=${messageId}`,
      };
    };
    const held = async (to: string): Promise<string[] | null> =>
      ctx.heldSids ? (await ctx.heldSids(to, ctx.from)).sort() : null;

    it('accepts a message and returns its SID and status', async () => {
      const to = ctx.nextRecipient();
      const result = await provider().send(request(to));
      expect(result).toMatchObject({ kind: 'accepted', httpStatus: 201 });
      const accepted = result as Extract<SendResult, { kind: 'accepted' }>;
      expect(accepted.providerSid).toMatch(ctx.sidPattern);
      expect(accepted.providerStatus).toMatch(/^[a-z-]+$/);
      const sids = await held(to);
      if (sids) expect(sids).toEqual([accepted.providerSid]);
    });

    it('fails a send to an invalid number permanently, keeping the provider code', async () => {
      const result = await provider().send(request(ctx.invalidRecipient.to));
      expect(result.kind).toBe('failed');
      const failed = result as Extract<SendResult, { kind: 'failed' }>;
      expect(failed.error.code).toBe('SB_PROVIDER_REJECTED');
      expect(failed.error.retryable).toBe(false);
      expect(failed.providerCode).toBe(ctx.invalidRecipient.providerCode);
      expect(failed.httpStatus).toBe(400);
    });

    it('fails every send of a 429 storm as retryable rate limiting, and creates nothing', async (t) => {
      if (!ctx.faults) return t.skip('needs fault injection');
      await ctx.faults.rateLimit(20);
      const to = ctx.nextRecipient();
      const p = provider();
      const results = await Promise.all(Array.from({ length: 10 }, () => p.send(request(to))));
      for (const result of results) {
        expect(result.kind).toBe('failed');
        const failed = result as Extract<SendResult, { kind: 'failed' }>;
        expect(failed.error.code).toBe('SB_PROVIDER_RATE_LIMITED');
        expect(failed.error.retryable).toBe(true);
        expect(failed.httpStatus).toBe(429);
        expect(failed.providerCode).toBe(ctx.rateLimitedProviderCode);
      }
      const sids = await held(to);
      if (sids) expect(sids).toEqual([]);
    });

    it('reports a 5xx as an unknown outcome to reconcile, not a failure', async (t) => {
      if (!ctx.faults) return t.skip('needs fault injection');
      const p = provider();
      for (const status of [500, 503] as const) {
        await ctx.faults.serverError(status, 1);
        const result = await p.send(request(ctx.nextRecipient()));
        expect(result).toMatchObject({ kind: 'unknown', httpStatus: status });
        expect((result as Extract<SendResult, { kind: 'unknown' }>).error.code).toBe(
          'SB_PROVIDER_UNAVAILABLE',
        );
      }
    });

    it('reports a connection reset after the request as unknown, and findSent then finds that one message', async (t) => {
      if (!ctx.faults) return t.skip('needs fault injection');
      await ctx.faults.loseResponse('reset', 1);
      const to = ctx.nextRecipient();
      const since = Date.now();
      const p = provider();
      const result = await p.send(request(to, 'lost in transit'));
      expect(result.kind).toBe('unknown');
      expect((result as Extract<SendResult, { kind: 'unknown' }>).error.code).toBe(
        'SB_PROVIDER_OUTCOME_UNKNOWN',
      );

      const found = await p.findSent({ to, from: ctx.from, since });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({ to, from: ctx.from, body: 'lost in transit' });
      expect(found[0]!.sid).toMatch(ctx.sidPattern);
      expect(found[0]!.dateCreated).toBeGreaterThanOrEqual(since - 60_000);
      // Exactly one message exists: nothing below the provider re-sent the create.
      const sids = await held(to);
      if (sids) expect(sids).toEqual([found[0]!.sid]);
    });

    it('findSent returns nothing when nothing was sent', async () => {
      const found = await provider().findSent({ to: ctx.nextRecipient(), from: ctx.from, since: Date.now() });
      expect(found).toEqual([]);
    });

    it('findSent lists every message of the pair, newest first', async () => {
      const to = ctx.nextRecipient();
      const since = Date.now();
      const p = provider();
      const sent: string[] = [];
      for (const body of ['first', 'second', 'third']) {
        const result = await p.send(request(to, body));
        expect(result.kind).toBe('accepted');
        sent.push((result as Extract<SendResult, { kind: 'accepted' }>).providerSid);
      }
      const found = await p.findSent({ to, from: ctx.from, since });
      expect(found.map((m) => m.sid).sort()).toEqual([...sent].sort());
      for (let i = 1; i < found.length; i++) {
        expect(found[i - 1]!.dateCreated).toBeGreaterThanOrEqual(found[i]!.dateCreated);
      }
    });

    it('refuses bad credentials as a permanent auth failure', async () => {
      const result = await provider({ badCredentials: true }).send(request(ctx.nextRecipient()));
      expect(result.kind).toBe('failed');
      const failed = result as Extract<SendResult, { kind: 'failed' }>;
      expect(failed.error.code).toBe('SB_PROVIDER_AUTH');
      expect(failed.error.retryable).toBe(false);
    });

    it('gives up on a provider that never answers after the read timeout, as unknown', async (t) => {
      if (!ctx.faults) return t.skip('needs fault injection');
      await ctx.faults.loseResponse('timeout', 1);
      const to = ctx.nextRecipient();
      const since = Date.now();
      const p = provider({ timeoutMs: 2_000 });
      const started = performance.now();
      const result = await p.send(request(to));
      const elapsed = performance.now() - started;
      expect(result.kind).toBe('unknown');
      expect((result as Extract<SendResult, { kind: 'unknown' }>).error.code).toBe(
        'SB_PROVIDER_OUTCOME_UNKNOWN',
      );
      expect(elapsed).toBeGreaterThanOrEqual(1_900);
      // undici checks its timers at about one-second resolution.
      expect(elapsed).toBeLessThan(4_500);
      expect(await p.findSent({ to, from: ctx.from, since })).toHaveLength(1);
    });

    it('accepts 100 concurrent sends over at most maxConcurrency connections', async () => {
      const maxConcurrency = 8;
      const before = ctx.connectionsOpened?.() ?? 0;
      const p = provider({ maxConcurrency });
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => p.send(request(ctx.nextRecipient(), `bulk ${i}`))),
      );
      expect(results.filter((r) => r.kind !== 'accepted')).toEqual([]);
      const sids = new Set(results.map((r) => (r as Extract<SendResult, { kind: 'accepted' }>).providerSid));
      expect(sids.size).toBe(100);
      if (ctx.connectionsOpened) {
        const opened = ctx.connectionsOpened() - before;
        expect(opened).toBeGreaterThan(0);
        expect(opened).toBeLessThanOrEqual(maxConcurrency);
      }
    });
  });
}
