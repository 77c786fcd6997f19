/**
 * WaitingJobs: where a local store's scheduled jobs wait, and the order
 * they leave in. LocalState (local-state.ts) keeps the records, their
 * counts and the finished ones; this file keeps the queues a claim reads.
 *
 * `due` (4-ary heap keyed by runAt) holds scheduled jobs until they are
 * due; then they move to a per-name `ready` heap keyed by -priority (FIFO
 * among equals), from which `pick` takes across names with free capacity.
 * Grouped jobs wait in their group's lanes (groups.ts). Plain scheduled
 * jobs a JsonFileStore opened may wait as bytes (`cold`, cold-jobs.ts) in a
 * due heap of their own: a claim takes due ones from both heaps in (runAt,
 * seq) order.
 */
import { QuaternaryHeap } from '../heap.js';
import type { ColdJobs } from './cold-jobs.js';
import type { WaitingBytes } from './waiting-bytes.js';
import type { IdIndex } from './id-index.js';
import { ReadyQueue } from './ready-queue.js';
import { type GroupLanes, pickLanes } from './groups.js';
import type { RateWindows } from './rate-limits.js';
import { IndexSlot } from './record.js';
import { pickReady } from './pick.js';
import type { ClaimRequest, ClaimResult, JobRecord } from './store.js';

/**
 * Where an indexed scheduled record sits: the handle of its entry in the due
 * heap (>= 0), or -(handle + 1) in its name's ready heap. Kept on the record
 * in a private field (IndexSlot: JSON, Object.keys and deepEqual never see
 * it), so removing a record from its heap needs no id lookup: the heaps hash
 * nothing, and a cancel is O(1). A handle is checked against the heap's item
 * before use, so a spent or foreign one is harmless.
 */
const setSlot: (job: JobRecord, slot: number) => void = IndexSlot.set;

/** Records that `job` waits in its name's ready queue under `handle`. */
function setReadySlot(job: JobRecord, handle: number): void {
  setSlot(job, -handle - 1);
}

/** The queues of a local store's scheduled jobs. No I/O, no clock, no counts. */
export class WaitingJobs {
  private due = new QuaternaryHeap<JobRecord>();
  private readonly ready = new Map<string, ReadyQueue>();
  /** Per name, the latest (runAt, seq) promoted into its ready queue (see promote). */
  private readonly readyLast = new Map<string, JobRecord>();
  /** The latest `now` jobs were promoted at: a smaller one means the clock went back. */
  private promotedAt = -Infinity;
  /** Highest seq pushed onto the due heap since it was last empty, and whether pushes came in seq order (equal runAts then leave in seq order). */
  private dueSeq = -Infinity;
  private dueInOrder = true;
  /** See `cold`. */
  private coldJobs: WaitingBytes | undefined;

  /**
   * `byId`: the state's index, which a cold job popped joins; `groups` and
   * `rates`: the state's, which the claims read.
   */
  constructor(
    private readonly byId: IdIndex,
    private readonly groups: GroupLanes,
    private readonly rates: RateWindows,
  ) {}

  /**
   * Plain scheduled jobs held as bytes, with their due heap (which also
   * holds the ones thawed in place): a JsonFileStore's cold jobs
   * (cold-jobs.ts, set by `load`, undefined once that heap is empty) or a
   * packed MemoryStore's (packed-jobs.ts, set by `pack`, kept).
   */
  get cold(): WaitingBytes | undefined {
    return this.coldJobs;
  }

  /** Holds `packed` as the jobs kept as bytes (nothing else may be: it is called only while `cold` is undefined). */
  pack(packed: WaitingBytes): void {
    if (this.coldJobs !== undefined) throw new Error('WaitingJobs.pack: jobs are held as bytes already');
    this.coldJobs = packed;
  }

  /** Jobs queued: in the due heaps, the ready queues and the groups' lanes. */
  get size(): number {
    let n = 0;
    for (const heap of this.ready.values()) n += heap.size;
    return n + this.groups.size + this.due.size + (this.coldJobs?.queued ?? 0);
  }

  /** The earliest runAt in the due heaps (jobs not yet promoted), or undefined. */
  nextDueAt(): number | undefined {
    const hot = this.due.peekKey();
    const cold = this.coldJobs?.peekKey();
    return cold === undefined || (hot !== undefined && hot <= cold) ? hot : cold;
  }

  /**
   * Takes the next job due at `now` off the due heaps, the earliest in
   * (runAt, seq) order of the two heads (a cold job is counted already: it
   * only joins byId), or undefined when none is due.
   */
  private popDue(now: number): JobRecord | undefined {
    const hot = this.due.peekKey();
    const cold = this.coldJobs;
    if (cold !== undefined) {
      const key = cold.peekKey() as number;
      if (key <= now && (hot === undefined || key < hot || (key === hot && cold.peekSeq() < (this.due.peek() as JobRecord).seq))) {
        const job = cold.pop() as JobRecord;
        if (!cold.poppedThawed) this.byId.set(job.id, job);
        if (cold.queued === 0 && !cold.growable) this.coldJobs = undefined;
        return job;
      }
    }
    return hot === undefined || hot > now ? undefined : this.due.pop();
  }

  /**
   * Queues `scheduled` (every scheduled record, in seq order) and the
   * `cold` jobs (sealed), in place of anything queued: O(n) heap builds.
   */
  load(scheduled: readonly JobRecord[], cold: ColdJobs | undefined): void {
    this.clear();
    if (cold !== undefined && cold.queued > 0) this.coldJobs = cold;
    this.due = QuaternaryHeap.fromItems(scheduled, (r) => r.runAt, {}, setSlot);
    this.dueSeq = scheduled.length > 0 ? (scheduled[scheduled.length - 1] as JobRecord).seq : -Infinity;
  }

  clear(): void {
    this.coldJobs = undefined;
    this.due.clear();
    this.ready.clear();
    this.readyLast.clear();
    this.promotedAt = -Infinity;
    this.dueSeq = -Infinity;
    this.dueInOrder = true;
  }

  /** Checks every heap's invariants (the tests' and the simulation's); throws on the first broken one. */
  check(): void {
    this.due.check();
    for (const heap of this.ready.values()) heap.check();
    this.coldJobs?.check?.();
  }

  /** Queues scheduled `job` in the due heap. */
  push(job: JobRecord): void {
    if (this.due.size === 0) {
      this.dueSeq = -Infinity;
      this.dueInOrder = true;
    }
    if (job.seq < this.dueSeq) this.dueInOrder = false;
    else this.dueSeq = job.seq;
    setSlot(job, this.due.push(job, job.runAt));
  }

  /** Takes a scheduled record out of the due heap or its ready heap (a no-op once popped). */
  remove(job: JobRecord): void {
    const slot = IndexSlot.get(job);
    if (slot === undefined) {
      // Never in these heaps: maybe thawed in place in the cold one.
      this.coldJobs?.forget(job);
      return;
    }
    if (slot >= 0) {
      if (this.due.itemOf(slot) === job) this.due.removeHandle(slot);
      return;
    }
    const queue = this.ready.get(job.name);
    if (queue && queue.itemOf(-slot - 1) === job) queue.removeHandle(-slot - 1);
  }

  /**
   * Moves every job due at `now` from the time index to its name's ready
   * queue; `taken`: due jobs already off the time index, first in line.
   * `max`: moves at most that many more and returns true when jobs due at
   * `now` are left (the caller moves them in later turns).
   */
  promote(now: number, taken?: readonly JobRecord[], max = Infinity): boolean {
    let moved = 0;
    if (now < this.promotedAt) this.demote(now);
    this.promotedAt = now;
    // The queue and last job of the name promoted last: due jobs come in runs
    // of one name, so most need no lookup (readyLast is written when the name changes).
    let name: string | undefined;
    let queue: ReadyQueue | undefined;
    let last: JobRecord | undefined;
    for (let i = 0; ; i++) {
      let job: JobRecord;
      if (taken !== undefined && i < taken.length) job = taken[i] as JobRecord;
      else {
        if (moved++ === max) {
          if (name !== undefined && last !== undefined) this.readyLast.set(name, last);
          const next = this.nextDueAt();
          return next !== undefined && next <= now;
        }
        const due = this.popDue(now);
        if (due === undefined) break;
        job = due;
      }
      if (job.group !== undefined) {
        this.groups.push(job);
        continue;
      }
      if (job.name !== name || queue === undefined) {
        if (name !== undefined && last !== undefined) this.readyLast.set(name, last);
        name = job.name;
        queue = this.ready.get(name);
        if (!queue) {
          queue = new ReadyQueue(setReadySlot);
          this.ready.set(name, queue);
        }
        last = this.readyLast.get(name);
      }
      // A ready queue is keyed by priority; equal priorities leave in push
      // order, which is (runAt, seq) order as long as jobs arrive in it. One
      // that arrives earlier than the last (a date in the past, a reschedule
      // into the past while others wait for capacity) waits beside it, in
      // (priority, runAt, seq) order (ReadyQueue.pushEarly).
      if (queue.size > 0 && last !== undefined && before(job, last)) setReadySlot(job, queue.pushEarly(job));
      else {
        setReadySlot(job, queue.push(job, -job.priority));
        last = job;
      }
    }
    if (name !== undefined && last !== undefined) this.readyLast.set(name, last);
    return false;
  }

  /**
   * promote + pick for the common burst, without the ready queues. While no
   * job waits in one (and no group or rate limit is in play), when the due
   * jobs are all of one name and one priority, in (runAt, seq) order, and
   * fit in the claim's limit and that name's capacity, pick would take
   * exactly them, in that order: they are taken off the due heap directly.
   * Otherwise returns undefined, the jobs it took put in their ready queue
   * as promote would have (the caller promotes the rest and picks as usual).
   * `onePlainName`: every scheduled job is of one name and ranks by (runAt,
   * seq) alone (LocalState's `unusual` is 0), so due jobs past the limit may
   * stay in the due heap: pick would take them in that order too.
   */
  takeDue(request: ClaimRequest, onePlainName: boolean): JobRecord[] | undefined {
    const now = request.now;
    const limit = request.limit;
    if (limit <= 0 || now < this.promotedAt || this.groups.size > 0 || this.rates.active(request)) return undefined;
    for (const queue of this.ready.values()) if (queue.size > 0) return undefined;
    this.promotedAt = now;
    // First the due jobs (at most `limit`) off the heap by its keys, then their records read in a
    // loop of their own: each record is a first read of cold memory, and reads that do not wait
    // on one another overlap (interleaved with the pops, each waited on the sift before it).
    const jobs: JobRecord[] = [];
    for (;;) {
      const job = this.popDue(now);
      if (job === undefined) break;
      jobs.push(job);
      if (jobs.length === limit) break;
    }
    const n = jobs.length;
    if (n === 0) return jobs;
    const first = jobs[0] as JobRecord;
    const room = Math.min(limit, request.capacity(first.name));
    let fits = n <= room && first.group === undefined;
    for (let i = 1; fits && i < n; i++) {
      const job = jobs[i] as JobRecord;
      const last = jobs[i - 1] as JobRecord;
      fits = job.group === undefined && job.name === last.name && job.priority === last.priority && !before(job, last);
    }
    if (fits) {
      const key = n < limit ? undefined : this.nextDueAt();
      // The claim's limit is reached while more are due: when every scheduled job is of this name
      // and ranks by (runAt, seq) alone, the rest are exactly what pick would leave, in the order
      // it would take them next, and nothing waits for capacity: they stay in the due heap.
      if (key === undefined || key > now || (room === limit && onePlainName && this.dueInOrder)) return jobs;
    }
    // Not one plain run that fits: what was taken goes first in line, as promote would have put it
    // (the rest of what is due, the caller promotes: in turns when there are many).
    this.promote(now, jobs, 0);
    return undefined;
  }

  /**
   * The clock went back: a job promoted earlier but not yet claimed (its
   * handler busy or missing, the scheduler paused) and no longer due goes
   * back to the time index, so it never starts before its runAt. O(ready),
   * only after a backward step.
   */
  private demote(now: number): void {
    for (const queue of this.ready.values()) {
      const later: JobRecord[] = [];
      for (const job of queue) if (job.runAt > now) later.push(job);
      for (const job of later) {
        this.remove(job);
        this.push(job);
      }
    }
    if (this.groups.size > 0) this.groups.demote(now, (job) => this.push(job));
  }

  /**
   * Picks up to `limit` ready jobs: highest priority, then earliest runAt,
   * then first inserted, respecting per-name capacity. Removes them from the
   * ready queues; the caller must put them (as running) right after.
   */
  pick(request: ClaimRequest): ClaimResult {
    if (this.rates.active(request)) return pickLanes(this.ready, this.groups, request, this.rates.gate(request));
    if (this.groups.size > 0) return pickLanes(this.ready, this.groups, request);
    return pickReady(this.ready, request);
  }
}

/** Whether `job` comes before `other` in (runAt, seq) order. */
function before(job: JobRecord, other: JobRecord): boolean {
  return job.runAt < other.runAt || (job.runAt === other.runAt && job.seq < other.seq);
}
