import type { Clock } from './clock.ts';
import type { Determinism } from './determinism.ts';
import type { FaultSettings } from './sim-config.ts';

type FaultKind = 'rest429' | 'rest5xx' | 'responseLost';

interface ActiveFault {
  rate: number;
  remaining: number;
  until: number;
  status: number;
  mode: 'reset' | 'timeout';
}

/** What the admin API reports about the faults in force. */
export interface FaultSnapshot {
  rest429: ActiveFault | null;
  rest5xx: ActiveFault | null;
  responseLost: ActiveFault | null;
  latencyMs: number;
  callbackBlackhole: boolean;
  callbackDuplicateRate: number;
  callbackReorderRate: number;
  callbackDropRate: number;
}

/**
 * Faults in force, changed through the config file or the admin API. Each request-level
 * fault fires on a seeded fraction of requests, for an optional count or duration.
 */
export class FaultState {
  private state: FaultSnapshot = emptyFaults();
  private draws = 0;

  constructor(
    private readonly clock: Clock,
    private readonly det: Determinism,
    initial: FaultSettings,
  ) {
    this.apply(initial);
  }

  /** Merges new settings over the current ones. */
  apply(patch: FaultSettings): FaultSnapshot {
    const now = this.clock.now();
    for (const kind of ['rest429', 'rest5xx', 'responseLost'] as const) {
      const f = patch[kind];
      if (!f) continue;
      this.state[kind] =
        f.rate <= 0
          ? null
          : {
              rate: f.rate,
              remaining: f.count ?? Number.POSITIVE_INFINITY,
              until: f.durationMs ? now + f.durationMs : Number.POSITIVE_INFINITY,
              status: f.status ?? 503,
              mode: f.mode ?? 'reset',
            };
    }
    if (patch.latencyMs !== undefined) this.state.latencyMs = patch.latencyMs;
    if (patch.callbackBlackhole !== undefined) this.state.callbackBlackhole = patch.callbackBlackhole;
    if (patch.callbackDuplicateRate !== undefined)
      this.state.callbackDuplicateRate = patch.callbackDuplicateRate;
    if (patch.callbackReorderRate !== undefined) this.state.callbackReorderRate = patch.callbackReorderRate;
    if (patch.callbackDropRate !== undefined) this.state.callbackDropRate = patch.callbackDropRate;
    return this.snapshot();
  }

  /** Clears every fault. */
  reset(): void {
    this.state = emptyFaults();
  }

  /** The faults in force now (expired ones dropped). */
  snapshot(): FaultSnapshot {
    const now = this.clock.now();
    for (const kind of ['rest429', 'rest5xx', 'responseLost'] as const) {
      const f = this.state[kind];
      if (f && (f.remaining <= 0 || now >= f.until)) this.state[kind] = null;
    }
    return structuredClone(this.state);
  }

  /** Decides whether a request-level fault fires for this request; returns it if so. */
  fire(kind: FaultKind): ActiveFault | null {
    const f = this.state[kind];
    if (!f) return null;
    if (f.remaining <= 0 || this.clock.now() >= f.until) {
      this.state[kind] = null;
      return null;
    }
    if (f.rate < 1 && this.det.uniform(`fault:${kind}:${++this.draws}`) >= f.rate) return null;
    f.remaining--;
    return f;
  }

  /** Seeded draw for a callback-level fault rate. */
  roll(label: string, rate: number): boolean {
    return rate > 0 && this.det.uniform(`cbfault:${label}`) < rate;
  }

  get latencyMs(): number {
    return this.state.latencyMs;
  }
  get callbacks(): Pick<
    FaultSnapshot,
    'callbackBlackhole' | 'callbackDuplicateRate' | 'callbackReorderRate' | 'callbackDropRate'
  > {
    return this.state;
  }
}

function emptyFaults(): FaultSnapshot {
  return {
    rest429: null,
    rest5xx: null,
    responseLost: null,
    latencyMs: 0,
    callbackBlackhole: false,
    callbackDuplicateRate: 0,
    callbackReorderRate: 0,
    callbackDropRate: 0,
  };
}
