import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PoolConfig } from '../config/index.ts';
import type { SenderSelector, SlotAssignment } from '../pacing/index.ts';
import { bareAddress } from '../routing/index.ts';
import {
  batchedOptOutLookup,
  type Db,
  listCountryBlocks,
  type MessageRow,
  type OptOutLookup,
  optedOutRecipients,
  readSwitches,
  setSwitch,
  unblockCountry,
} from '../store/index.ts';
import { type CompiledPolicy, compilePolicy, type PolicySources } from './compiled-policy.ts';
import { type Admission, admitMessage, type IntakeRequest, type SwitchState } from './intake-policy.ts';
import { BROWNOUT_SWITCHES, type BrownoutSwitch } from './policy-config.ts';
import { PolicyRefusal } from './policy-refusal.ts';
import { checkBeforeSend, type GateDecision, optOutScopes } from './send-gate.ts';

/** What the engine works with. */
export interface PolicyEngineDeps {
  db: Db;
  logger: Logger;
  /** The gateway's registry: policy metrics are added to it. */
  registry?: Registry | undefined;
  clock?: (() => number) | undefined;
}

/** How often live state (switches, blocks) is read again and registrations re-evaluated. */
const REFRESH_MS = 1_000;
/** How often registration-dependent routing (expiry dates) is recompiled. */
const REGISTRATION_RECHECK_MS = 60_000;

/**
 * The policy engine: the compiled policy (replaced whole on reload, so a check never sees
 * half a config), the live switches and country blocks shared through the database, the
 * intake admission and the check before each send, and the metrics of its decisions.
 */
export class PolicyEngine {
  private current: CompiledPolicy;
  private apiSwitches = new Map<string, boolean>();
  /** The switches in force, recomputed when the API's or the config's change (read on every check). */
  private switchState!: SwitchState;
  private dbBlocks: ReadonlySet<string> = new Set();
  /** Blocked countries in force: the config's and the database's (read on every check). */
  private blocked: ReadonlySet<string> = new Set();
  private timer: NodeJS.Timeout | null = null;
  private readonly clock: () => number;
  private readonly decisions: Counter<'stage' | 'decision' | 'reason'> | null;
  private readonly blockedGauge: Gauge<'country'> | null;
  private readonly isOptedOut: OptOutLookup;

  constructor(
    private readonly deps: PolicyEngineDeps,
    sources: PolicySources,
  ) {
    this.clock = deps.clock ?? Date.now;
    this.isOptedOut = batchedOptOutLookup((recipients, scopes) =>
      optedOutRecipients(deps.db, recipients, scopes),
    );
    this.current = compilePolicy(sources, this.clock());
    this.recomputeSwitches();
    this.recomputeBlocks();
    const registers = deps.registry ? [deps.registry] : [];
    this.decisions = deps.registry
      ? new Counter({
          name: 'sb_policy_decisions_total',
          help: 'Policy decisions by stage (intake, send), decision and reason',
          labelNames: ['stage', 'decision', 'reason'],
          registers,
        })
      : null;
    this.blockedGauge = deps.registry
      ? new Gauge({
          name: 'sb_country_blocked',
          help: 'Countries blocked from sending (1 while blocked): alert on it (SMS pumping, spikes)',
          labelNames: ['country'],
          registers,
        })
      : null;
  }

  /** The compiled policy in force. */
  get compiled(): CompiledPolicy {
    return this.current;
  }

  /** The pools in force. */
  get pools(): readonly PoolConfig[] {
    return this.current.sources.pools;
  }

  /** Replaces the policy (a validated reload); checks in progress finish on the old one. */
  replace(sources: PolicySources): void {
    const old = this.current;
    this.current = compilePolicy(sources, this.clock());
    this.recomputeSwitches();
    this.recomputeBlocks();
    // Checks in flight may still use the old media checker's connections for a moment.
    setTimeout(() => void old.mediaChecker.close().catch(() => {}), 30_000).unref();
  }

  /** Reads the shared switches and blocks now, then every second; re-evaluates registrations. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((err) => this.deps.logger.error({ err }, 'policy refresh failed'));
    }, REFRESH_MS);
    this.timer.unref();
  }

  /** Stops refreshing. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    void this.current.mediaChecker.close().catch(() => {});
  }

  /** Reads switches and blocks from the database and recompiles registration-dependent parts. */
  async refresh(): Promise<void> {
    const [switches, blocks] = await Promise.all([
      readSwitches(this.deps.db),
      listCountryBlocks(this.deps.db),
    ]);
    this.apiSwitches = switches;
    this.recomputeSwitches();
    this.dbBlocks = new Set(blocks.map((b) => b.country));
    this.recomputeBlocks();
    if (this.blockedGauge) {
      this.blockedGauge.reset();
      for (const c of this.blocked) this.blockedGauge.set({ country: c }, 1);
    }
    // Registrations expire with time: re-evaluated once a minute, not on every refresh.
    const now = this.clock();
    if (now - this.current.builtAt >= REGISTRATION_RECHECK_MS) {
      this.current = compilePolicy(this.current.sources, now, this.current);
    }
  }

  /** The brownout switches in force: the API's setting where made, else the config's. */
  switches(): SwitchState {
    return this.switchState;
  }

  private recomputeSwitches(): void {
    const config = this.current.policy.brownout;
    const out = {} as Record<BrownoutSwitch, boolean>;
    for (const name of BROWNOUT_SWITCHES) out[name] = this.apiSwitches.get(name) ?? config[name];
    this.switchState = out;
  }

  private recomputeBlocks(): void {
    this.blocked = new Set([...this.current.blockedCountries, ...this.dbBlocks]);
  }

  /** Sets a brownout switch for every process sharing the database. */
  async setSwitch(name: BrownoutSwitch, enabled: boolean): Promise<void> {
    await setSwitch(this.deps.db, name, enabled, this.clock());
    this.apiSwitches.set(name, enabled);
    this.recomputeSwitches();
    this.deps.logger.warn({ switch: name, enabled }, 'brownout switch changed');
  }

  /** Lifts a country block made by spike protection or an operator. */
  async unblockCountry(country: string): Promise<void> {
    await unblockCountry(this.deps.db, country);
    await this.refresh();
  }

  /** Countries blocked right now (config and database). */
  blockedCountries(): string[] {
    return [...this.blocked].sort();
  }

  /** The intake check of one message. */
  admit(req: IntakeRequest): Admission | PolicyRefusal {
    const result = admitMessage(this.current, req, {
      now: this.clock(),
      switches: this.switches(),
      blockedCountries: this.blocked,
    });
    if (this.decisions) {
      if (result instanceof PolicyRefusal) {
        this.decisions.inc({ stage: 'intake', decision: 'refuse', reason: result.reason });
      } else if (result.policyReason) {
        this.decisions.inc({ stage: 'intake', decision: 'change', reason: result.policyReason });
      }
    }
    return result;
  }

  /** The check just before a provider call. */
  async check(
    row: MessageRow,
    pool: PoolConfig,
    slot: Pick<SlotAssignment, 'sender' | 'registered'>,
  ): Promise<GateDecision> {
    const decision = await checkBeforeSend(
      this.deps.db,
      {
        compiled: this.current,
        switches: this.switches(),
        blockedCountries: this.blocked,
        isOptedOut: this.isOptedOut,
      },
      row,
      pool,
      slot,
      this.clock(),
      {
        onCountryBlocked: (country, perMinute) => {
          this.deps.logger.error({ country, perMinute }, 'country blocked by spike protection');
          this.blockedGauge?.set({ country }, 1);
          this.dbBlocks = new Set([...this.dbBlocks, country]);
          this.recomputeBlocks();
        },
      },
    );
    if (this.decisions && (decision.kind !== 'send' || decision.note)) {
      const reason = decision.kind === 'send' ? decision.note! : decision.reason;
      this.decisions.inc({ stage: 'send', decision: decision.kind, reason });
    }
    return decision;
  }

  /** The sender selector of a pool (registered numbers, geomatch). */
  selector(poolId: string): SenderSelector | undefined {
    return this.current.selectors.get(poolId);
  }

  /** The opt-out scope a STOP to this sender number applies to. */
  optOutScopeOf(to: string): string {
    if (this.current.policy.optOut.scope === 'account') return 'account';
    const pool = this.current.poolOfSender.get(bareAddress(to));
    return pool ? optOutScopes(pool)[1]! : 'account';
  }

  /** The reply to HELP. */
  helpReply(): string {
    return this.current.policy.optOut.helpReply;
  }
}
