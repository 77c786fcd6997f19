/**
 * Per-job retention of a local store (JobRecord.removal, set by the
 * scheduler from `removeOnComplete` / `removeOnFail`), on top of the
 * store-wide `keepCompleted` / `keepDead` (retention.ts).
 *
 * - `at <= finishedAt` (`true`, or `count: 0`): removed at the settle.
 * - `at` later: kept in a heap by `at`; every finish in the store removes
 *   the records whose `at` it passed (no timer: a store is only written when
 *   something happens, and an expired record harms nothing meanwhile).
 * - `count`: a FIFO per (name, state) of the finished records that have a
 *   count; a finish trims its own list to its own count, oldest first.
 * Records that left by other means (revived, replaced, dropped by
 * keepCompleted) stay queued and are skipped when reached, as in retention.ts.
 *
 * A finish removes at most REMOVE_MAX records besides its own, oldest first;
 * the finishes after it take the rest. WHY: after an idle spell, a restart or
 * a lowered count, the records due to go can be the whole store, and one
 * finish is one synchronous step (RedisStore and PostgresStore bound theirs
 * the same way, for the same reason).
 */
import { QuaternaryHeap } from '../heap.js';
import type { JobLookup } from './id-index.js';
import type { JobRecord } from './store.js';

/** Most records one finish removes past a limit or a removal time (also LocalState's keepCompleted / keepDead). */
export const REMOVE_MAX = 1000;

/** The finished records of one (name, state) that have a count, oldest first. */
interface CountList {
  items: (JobRecord | undefined)[];
  head: number;
  /** Entries whose record is still in the store, in that state. */
  live: number;
}

function listKey(job: JobRecord): string {
  return `${job.state === 'dead' ? 'd' : 'c'}${job.name}`;
}

/** The removal index of a LocalState. */
export class Removals {
  private readonly expiries = new QuaternaryHeap<JobRecord>();
  private readonly lists = new Map<string, CountList>();

  /** Whether a finish may have something to remove besides its own record. */
  get active(): boolean {
    return this.expiries.size > 0 || this.lists.size > 0;
  }

  /** A finished record with a `removal` was indexed. */
  add(job: JobRecord, byId: JobLookup): void {
    const r = job.removal;
    if (r === undefined) return;
    if (r.at !== undefined && r.at > (job.finishedAt ?? -Infinity)) this.expiries.push(job, r.at);
    if (r.count === undefined) return;
    const key = listKey(job);
    let list = this.lists.get(key);
    if (list === undefined) {
      list = { items: [], head: 0, live: 0 };
      this.lists.set(key, list);
    }
    list.items.push(job);
    list.live++;
    // Entries of records that left by other means: filtered once they are most of the list.
    if (list.items.length - list.head > 2 * list.live + 64) {
      list.items = list.items.slice(list.head).filter((j) => j !== undefined && byId.get(j.id) === j);
      list.head = 0;
    }
  }

  /** A finished record with a `removal` left the store or its state. */
  left(job: JobRecord): void {
    if (job.removal?.count === undefined) return;
    const list = this.lists.get(listKey(job));
    if (list !== undefined) list.live--;
  }

  /**
   * The records to remove now that `job` finished at `now`: itself when its
   * time has come, the oldest of its list beyond its count, and every
   * record whose `at` is passed. Each is current (byId holds it).
   */
  due(job: JobRecord, now: number, byId: JobLookup): JobRecord[] {
    const out: JobRecord[] = [];
    const r = job.removal;
    if (r?.at !== undefined && r.at <= now) out.push(job);
    else if (r?.count !== undefined) {
      const list = this.lists.get(listKey(job));
      let excess = list === undefined ? 0 : Math.min(list.live - r.count, REMOVE_MAX);
      while (list !== undefined && excess > 0 && list.head < list.items.length) {
        const old = list.items[list.head];
        list.items[list.head++] = undefined;
        if (old === undefined || byId.get(old.id) !== old) continue;
        out.push(old);
        excess--;
      }
      if (list !== undefined && list.head >= 1024 && list.head * 2 >= list.items.length) {
        list.items = list.items.slice(list.head);
        list.head = 0;
      }
    }
    // Checked against a set: with a backlog of expired records, `out.includes` made this quadratic (2 s for 8e4).
    const taken = out.length > 0 ? new Set(out) : undefined;
    for (let n = 0; n < REMOVE_MAX; n++) {
      const at = this.expiries.peekKey();
      if (at === undefined || at > now) break;
      const old = this.expiries.pop() as JobRecord;
      if (byId.get(old.id) === old && !taken?.has(old)) out.push(old);
    }
    return out;
  }

  clear(): void {
    this.expiries.clear();
    this.lists.clear();
  }
}
