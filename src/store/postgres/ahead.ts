/**
 * Jobs PostgresStore claimed ahead, along with a batch of outcomes, for the
 * scheduler's next claim (ClaimRequest.ahead).
 *
 * WHY. With a backlog, a scheduler records a batch of outcomes and, the
 * moment they are acknowledged, claims jobs for the slots they freed: two
 * round trips and two commits per cycle. Claiming in the settle's own
 * statement makes it one of each. The scheduler asks for that by setting
 * `ahead` on its claims: it promises to claim again as soon as a settle of
 * its resolves, so what this buffer holds is taken within microtasks.
 *
 * The jobs are `running` under a lease from the moment the settle commits,
 * exactly as if that claim had been made then. What keeps that honest:
 * - only as many jobs as the batch frees slots, per name within capacity;
 * - a job the next claim cannot take (no capacity any more, the scheduler
 *   paused or stopping) goes back unstarted (attempt given back, not
 *   charged) after `ttlMs`, or at close;
 * - a change this process makes to one of these jobs (cancel, reschedule,
 *   revive, replace) gives it back first, and a local insert marks the
 *   buffer stale (given back before the next claim), so a claim never
 *   returns a job this process has since changed or outranked;
 * - a job cancelled or replaced elsewhere is dropped from the buffer (its
 *   attempt never started: nobody is told).
 */
import type { ClaimRequest, JobRecord } from '../store.js';

export interface AheadEntry {
  record: JobRecord;
}

export class AheadBuffer {
  private entries: AheadEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** A local insert may have outranked the held jobs: give them back before the next claim. */
  stale = false;

  /**
   * @param expire gives back jobs nobody took within `ttlMs` (real time: a
   *   virtual clock nobody advances must not keep jobs running)
   */
  constructor(
    private readonly ttlMs: number,
    private readonly expire: (entries: AheadEntry[]) => void,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  add(records: readonly JobRecord[]): void {
    if (records.length === 0) return;
    for (const record of records) this.entries.push({ record });
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        const gone = this.drain();
        if (gone.length > 0) this.expire(gone);
      }, this.ttlMs);
      this.timer.unref();
    }
  }

  /** Hands out held jobs the request has room for, in claim order; the rest stay. */
  take(request: ClaimRequest, taken: Map<string, number>): JobRecord[] {
    const out: JobRecord[] = [];
    const keep: AheadEntry[] = [];
    const caps = new Map<string, number>();
    for (const entry of this.entries) {
      const name = entry.record.name;
      let cap = caps.get(name);
      if (cap === undefined) caps.set(name, (cap = request.capacity(name)));
      const used = taken.get(name) ?? 0;
      if (out.length < request.limit && used < cap) {
        out.push(entry.record);
        taken.set(name, used + 1);
      } else keep.push(entry);
    }
    this.entries = keep;
    if (keep.length === 0) this.clearTimer();
    return out;
  }

  /** Held jobs per name. */
  countByName(): Map<string, number> {
    const n = new Map<string, number>();
    for (const e of this.entries) n.set(e.record.name, (n.get(e.record.name) ?? 0) + 1);
    return n;
  }

  holds(id: string): boolean {
    return this.entries.some((e) => e.record.id === id);
  }

  /** Drops the entry of this attempt; true when it was held. */
  drop(token: string): boolean {
    const i = this.entries.findIndex((e) => e.record.token === token);
    if (i < 0) return false;
    this.entries.splice(i, 1);
    if (this.entries.length === 0) this.clearTimer();
    return true;
  }

  /** Removes and returns every held entry. */
  drain(): AheadEntry[] {
    const all = this.entries;
    this.entries = [];
    this.stale = false;
    this.clearTimer();
    return all;
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
