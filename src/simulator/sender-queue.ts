import type { Clock } from './clock.ts';

/** A message waiting in a sender's outbound queue. */
export interface QueuedItem {
  segments: number;
  enqueuedAt: number;
  /** Latest hand-off time; after it the message expires (30036). */
  expiresAt: number;
  depart: () => void;
  expire: () => void;
}

interface Lane {
  mps: number;
  items: QueuedItem[];
  head: number;
  segmentsQueued: number;
  /** Earliest time the next segment may leave (a theoretical arrival time). */
  nextAt: number;
  timer: unknown;
}

/**
 * Per-sender outbound queues, drained at each sender's messages-per-second (counted in
 * segments, as Twilio does), in arrival order. A message that waits past its validity
 * period expires without using a slot.
 */
export class SenderQueues {
  private readonly lanes = new Map<string, Lane>();
  private stopped = false;

  constructor(private readonly clock: Clock) {}

  /**
   * Seconds of sending already waiting at this sender, i.e. how long a new message
   * would wait. Used for the 21611 queue-full check.
   */
  backlogSeconds(sender: string, mps: number): number {
    const lane = this.lanes.get(sender);
    if (!lane) return 0;
    return Math.max(0, lane.nextAt - this.clock.now()) / 1000 + lane.segmentsQueued / mps;
  }

  /** Adds a message to the sender's queue. */
  enqueue(sender: string, mps: number, item: QueuedItem): void {
    let lane = this.lanes.get(sender);
    if (!lane) {
      lane = { mps, items: [], head: 0, segmentsQueued: 0, nextAt: 0, timer: null };
      this.lanes.set(sender, lane);
    }
    lane.mps = mps;
    lane.items.push(item);
    lane.segmentsQueued += item.segments;
    if (lane.timer === null) this.drain(lane);
  }

  /** Stops all timers; queued messages stay where they are. */
  stop(): void {
    this.stopped = true;
    for (const lane of this.lanes.values()) {
      if (lane.timer !== null) this.clock.clearTimeout(lane.timer);
      lane.timer = null;
    }
  }

  /** Messages waiting, per sender. */
  depths(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, lane] of this.lanes) out[k] = lane.items.length - lane.head;
    return out;
  }

  private drain(lane: Lane): void {
    lane.timer = null;
    if (this.stopped) return;
    const now = this.clock.now();
    while (lane.head < lane.items.length) {
      const item = lane.items[lane.head]!;
      if (now > item.expiresAt) {
        this.pop(lane, item);
        item.expire();
        continue;
      }
      if (lane.nextAt > now) break;
      this.pop(lane, item);
      lane.nextAt = Math.max(lane.nextAt, now) + (item.segments * 1000) / lane.mps;
      item.depart();
    }
    if (lane.head < lane.items.length) {
      const wait = Math.max(1, lane.nextAt - now);
      const handle = this.clock.setTimeout(() => this.drain(lane), wait);
      lane.timer = handle;
    } else {
      lane.items = [];
      lane.head = 0;
    }
  }

  private pop(lane: Lane, item: QueuedItem): void {
    lane.head++;
    lane.segmentsQueued -= item.segments;
    // Compact now and then so a long-lived queue does not keep every departed item.
    if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
      lane.items = lane.items.slice(lane.head);
      lane.head = 0;
    }
  }
}
