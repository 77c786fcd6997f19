/**
 * What this process knows of the shared job set between calls: the summary
 * every script returns (server time, earliest due time, earliest lease end,
 * names with ready jobs, counts), kept so that the synchronous Store methods
 * (`nextDueAt`, `counts`, `now`) answer without a round trip. Pushes
 * (`P:wake`) lower the cached times between calls.
 */
import type { StoreCounts } from '../store.js';
import { ServerTime } from './time.js';

/** The summary that ends every writing script's reply (see lua.ts `summary`). */
export type Summary = [string, string, string, string[] | '-', number, number, number, number, number, number, string[], number?];

export class ServerView {
  readonly time = new ServerTime();
  dueMin: number | undefined;
  /** Earliest lease end in the job set (server ms): the lease watch recovers it then. */
  leaseMin: number | undefined;
  readyNames: string[] = [];
  /** Ready names the last claim here could not take (no capacity): they do not make nextDueAt "now". */
  blocked = new Set<string>();
  /** Groups whose next job may start (P:gfree), as of the last summary. */
  freeGroups = 0;
  /** `freeGroups` right after the last claim here: that many could not be taken (no capacity here). */
  blockedGroups = 0;
  lastClaimNow: number | undefined;
  private cached: StoreCounts = { scheduled: 0, running: 0, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 0 };

  /**
   * Takes in a summary read between monotonic `t0` and `t1`. Returns the
   * job keys the script found broken, and whether the earliest lease moved.
   */
  absorb(s: Summary, t0: number, t1: number): { broken: readonly string[]; leaseKnown: boolean } {
    const [now, due, lease, names, scheduled, running, completed, dead, cancelled, recurring, broken, freeGroups] = s;
    this.freeGroups = Number(freeGroups ?? 0);
    this.time.sample(Number(now), t0, t1);
    this.dueMin = due === '' ? undefined : Number(due);
    if (lease !== '-') this.leaseMin = lease === '' ? undefined : Number(lease);
    if (names !== '-') this.readyNames = names;
    this.cached = { scheduled, running, completed, dead, cancelled, recurring, indexed: scheduled };
    return { broken: broken ?? [], leaseKnown: lease !== '-' };
  }

  /** A push: some job is now due at `at`. True when that is earlier than anything known. */
  dueAt(at: number): boolean {
    if (this.dueMin !== undefined && at >= this.dueMin) return false;
    this.dueMin = at;
    return true;
  }

  /** A push: a lease ends at `end`. True when that is earlier than anything known. */
  leaseEnds(end: number): boolean {
    if (this.leaseMin !== undefined && end >= this.leaseMin) return false;
    this.leaseMin = end;
    return true;
  }

  /**
   * Earliest runAt in the due index (records' frame), or the time of the
   * last claim when a ready job of a name not tried here since waits (another
   * process moved it from the due index to its ready set).
   */
  nextDueAt(): number | undefined {
    let at = this.dueMin;
    // More groups free than the last claim here left: another process finished a group's job, or promoted one.
    if (this.readyNames.some((n) => !this.blocked.has(n)) || this.freeGroups > this.blockedGroups) {
      const now = this.lastClaimNow ?? this.time.now();
      if (at === undefined || now < at) at = now;
    }
    return at;
  }

  counts(): StoreCounts {
    return { ...this.cached };
  }
}
