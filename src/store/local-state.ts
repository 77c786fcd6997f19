/**
 * LocalState: the in-memory indexes of a local store (MemoryStore,
 * JsonFileStore) over a set of job records. No I/O, no clock: LocalStore
 * (local.ts) turns operations into record-level changes, applies them here
 * and persists them.
 *
 * Indexes: `byId` holds every record but the cold ones; the counts by state
 * are kept as records change. Scheduled jobs wait in the queues of
 * waiting.ts (due heap, ready queues, groups' lanes), finished records in
 * retention queues (retention.ts, removal.ts), running ones in a queue of
 * their own, dedupe windows in dedupe.ts. Plain scheduled jobs a
 * JsonFileStore opened, or a packed MemoryStore was given, may wait as bytes
 * (`cold`: cold-jobs.ts, packed-jobs.ts, one protocol in waiting-bytes.ts)
 * until first read: `get` thaws one in place, a walk of every record parses
 * them for the walk only.
 */
import type { ColdJobs } from './cold-jobs.js';
import { PackedJobs, packable } from './packed-jobs.js';
import type { CapturedJobs, WaitingBytes } from './waiting-bytes.js';
import { DedupeWindows } from './dedupe.js';
import { IdIndex } from './id-index.js';
import { GroupLanes } from './groups.js';
import { RateWindows } from './rate-limits.js';
import { REMOVE_MAX, Removals } from './removal.js';
import { Retention } from './retention.js';
import { WaitingJobs } from './waiting.js';
import type { ClaimRequest, ClaimResult, JobRecord, StoreCounts } from './store.js';
import type { JobState } from '../types.js';

/**
 * One record-level change: what a journal line holds. `keep`: the job's
 * payload is the one of the record it replaces (a state change), so a
 * durable store need not write the payload again.
 */
export type Change = { op: 'put'; job: JobRecord; keep?: true } | { op: 'del'; id: string };

/** In-memory indexes over a set of job records. No I/O, no clock. */
export class LocalState {
  readonly byId = new IdIndex();
  /** Due jobs with a group, and their groups' running counts (groups.ts). */
  private readonly groups = new GroupLanes();
  /** Start windows of rate-limited names, and names pushed back (rate-limits.ts). */
  readonly rates = new RateWindows();
  /** Open dedupe windows by (name, key) (dedupe.ts). */
  readonly windows = new DedupeWindows();
  /**
   * Where the scheduled jobs wait, cold ones included (waiting.ts). Cold
   * jobs are counted in `tally` and `unusual` from the load on.
   */
  readonly waiting = new WaitingJobs(this.byId, this.groups, this.rates);
  /** Per-job retention: expiries and count lists (removal.ts). */
  private readonly removals = new Removals();
  /** An undo is being applied: no removal runs (the state restored kept its own). */
  private restoring = false;
  /** Completed and cancelled records, oldest first. */
  private readonly finished = new Retention();
  private readonly dead = new Retention();
  /**
   * Running records, in the order they started: a list of them, or a reopen,
   * reads these, not every job (most are scheduled). A record that stops
   * running stays queued until a tidy drops it, as in the retention queues.
   * Not a Set: a new record added to a Set is given an identity hash,
   * and a Set's add and delete cost ~10% of a fire's CPU (bench/ab.ts fire);
   * a ring push and an occasional tidy cost nothing measurable.
   */
  private readonly runningQueue = new Retention();
  private readonly tally: StoreCounts = { scheduled: 0, running: 0, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 0 };
  /** An undo was applied (restore): retention queues may hold one record twice. */
  private restored = false;
  /**
   * The name of the first job scheduled while none was (see `unusual`),
   * and the scheduled jobs of another name, with a priority or a group.
   * While none is, every scheduled job is of one name and ranks by (runAt,
   * seq) alone, so `takeDue` may leave the due jobs past a claim's limit
   * where they are: pick would take them in due-heap order too.
   */
  private plainName: string | undefined;
  private unusual = 0;
  /**
   * `MemoryStore({ packed: true })`: new plain scheduled jobs are kept as
   * bytes (packed-jobs.ts), in `packed`, which `waiting` reads as its jobs
   * held as bytes.
   */
  packing = false;
  private packed: PackedJobs | undefined;
  nextSeq = 1;
  keepCompleted = 1000;
  keepDead = 10000;

  counts(): StoreCounts {
    // One literal, whose hidden class its allocation site keeps alive, not
    // `{ ...this.tally, indexed }`: the spread's class lived only as long as
    // the objects it made, a full GC dropped the feedback naming it, and the
    // read in the scheduler's idle check then threw away the optimized
    // dispatch loop at the end of every burst (dispatch-optimized.test.ts).
    const t = this.tally;
    return { scheduled: t.scheduled, running: t.running, completed: t.completed, dead: t.dead, cancelled: t.cancelled, recurring: t.recurring, indexed: this.waiting.size };
  }

  /** Records held, cold ones included. */
  get size(): number {
    return this.byId.size + (this.waiting.cold?.size ?? 0);
  }

  get(id: string): JobRecord | undefined {
    const job = this.byId.get(id);
    if (job !== undefined) return job;
    const thawed = this.waiting.cold?.thaw(id);
    if (thawed === undefined) return undefined;
    // Read, not moved: it waits in the cold heap (WaitingJobs.remove takes it out when its record changes).
    this.byId.set(thawed.id, thawed);
    return thawed;
  }

  /** The earliest runAt of a job in the due heaps (not yet promoted), or undefined. */
  nextDueAt(): number | undefined {
    return this.waiting.nextDueAt();
  }

  /** WaitingJobs.promote. */
  promote(now: number, taken?: readonly JobRecord[], max = Infinity): boolean {
    return this.waiting.promote(now, taken, max);
  }

  /** WaitingJobs.takeDue, which may leave due jobs past the limit queued while every scheduled job is plain. */
  takeDue(request: ClaimRequest): JobRecord[] | undefined {
    return this.waiting.takeDue(request, this.unusual === 0);
  }

  /** WaitingJobs.pick: the caller must put the jobs it takes (as running) right after. */
  pick(request: ClaimRequest): ClaimResult {
    return this.waiting.pick(request);
  }

  /**
   * Replaces the whole state with `records` and the `cold` jobs (O(n) heap
   * builds); returns the `running` ones.
   */
  load(records: readonly JobRecord[], cold?: ColdJobs): JobRecord[] {
    this.clear();
    const scheduled: JobRecord[] = [];
    const finished: JobRecord[] = [];
    const dead: JobRecord[] = [];
    const running: JobRecord[] = [];
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as JobRecord;
      this.byId.set(r.id, r);
      if (r.dedupe !== undefined) this.windows.track(r, this.byId);
      this.tally[r.state]++;
      if (r.state === 'scheduled') this.countScheduled(r, 1);
      if (r.state === 'scheduled' && r.recur) this.tally.recurring++;
      if (r.seq >= this.nextSeq) this.nextSeq = r.seq + 1;
      if (r.state === 'scheduled') scheduled.push(r);
      if (r.group !== undefined && (r.state === 'scheduled' || r.state === 'running')) {
        this.groups.live(r.group, 1);
        if (r.state === 'running') this.groups.started(r.group, 1);
      }
      else if (r.state === 'completed' || r.state === 'cancelled') finished.push(r);
      else if (r.state === 'dead') dead.push(r);
      if (r.state === 'running') running.push(r);
    }
    for (const r of running) this.runningQueue.push(r, this.byId.get(r.id) === r);
    if (cold !== undefined && cold.size > 0) {
      // One id, one job: a record read in full wins over a cold line of its id (neither a store writes).
      for (const r of records) if (cold.has(r.id)) cold.take(r.id);
      for (const [name, count] of cold.nameCounts()) {
        // As `count` calls of countName would: the first may make `name` the plain one.
        this.tally.scheduled++;
        this.countName(name, false, 1);
        this.tally.scheduled += count - 1;
        if (name !== this.plainName) this.unusual += count - 1;
      }
      if (cold.maxSeq >= this.nextSeq) this.nextSeq = cold.maxSeq + 1;
      cold.seal();
    }
    scheduled.sort((a, b) => a.seq - b.seq);
    this.waiting.load(scheduled, cold);
    const byFinish = (a: JobRecord, b: JobRecord): number => (a.finishedAt ?? 0) - (b.finishedAt ?? 0) || a.seq - b.seq;
    for (const r of finished.sort(byFinish)) {
      this.finished.push(r, this.byId.get(r.id) === r);
      if (r.removal !== undefined && r.state === 'completed') this.removals.add(r, this.byId);
    }
    for (const r of dead.sort(byFinish)) {
      this.dead.push(r, this.byId.get(r.id) === r);
      if (r.removal !== undefined) this.removals.add(r, this.byId);
    }
    return running;
  }

  clear(): void {
    this.byId.clear();
    this.waiting.clear();
    this.packed = undefined;
    this.groups.clear();
    this.windows.clear();
    this.removals.clear();
    this.plainName = undefined;
    this.unusual = 0;
    this.restored = false;
    this.finished.clear();
    this.dead.clear();
    this.runningQueue.clear();
    for (const k of Object.keys(this.tally) as (keyof StoreCounts)[]) this.tally[k] = 0;
    this.nextSeq = 1;
  }

  /** Adds a scheduled job as number `seq` unless its id is taken (hot path of insert); false when taken. */
  insertNew(job: JobRecord, seq: number): boolean {
    if (this.waiting.cold?.has(job.id) === true) return false;
    if (this.packing) {
      if (this.byId.get(job.id) !== undefined) return false;
      job.seq = seq;
      if (this.pack(job)) return true;
    }
    if (!this.byId.add(job)) return false;
    job.seq = seq;
    this.index(job);
    return true;
  }

  /**
   * Keeps new job `job` (its id held nowhere here) as bytes when the store
   * packs and it is plain (packed-jobs.ts); false: it is indexed as a record.
   */
  private pack(job: JobRecord): boolean {
    if (!this.packing || !packable(job)) return false;
    if (this.packed === undefined) {
      this.packed = new PackedJobs();
      this.waiting.pack(this.packed);
    }
    if (!this.packed.add(job)) return false;
    // As index() counts a scheduled job; the packed set is its heap and its index by id.
    this.tally.scheduled++;
    this.countScheduled(job, 1);
    return true;
  }

  /**
   * Applies one change. Pushes the change(s) that undo it onto `inverse` and
   * any retention evictions it causes onto `extra` (they must be persisted too).
   */
  apply(change: Change, inverse?: Change[], extra?: Change[]): void {
    const id = change.op === 'put' ? change.job.id : change.id;
    const old = this.get(id);
    if (inverse) inverse.push(old ? { op: 'put', job: old } : { op: 'del', id });
    if (old) this.unindex(old);
    if (change.op === 'del') {
      if (old?.dedupe !== undefined) {
        this.windows.untrack(old);
        // Undoing a refused insert: the window before it holds its key again.
        if (this.restoring) this.windows.reopen(old, this.byId.values());
      }
      this.byId.delete(id);
      this.groups.changed();
      return;
    }
    // A new job (scheduleMany's, a batch's) may be kept as bytes.
    if (old === undefined && this.pack(change.job)) return;
    this.put(change.job, inverse, extra);
  }

  /**
   * A non-durable store's `apply` of a put whose current record the caller
   * holds (`old`, the one in byId): no lookup, no undo.
   */
  replace(old: JobRecord, job: JobRecord): void {
    this.unindex(old);
    this.put(job);
  }

  /**
   * `replace` of a job `pick` took (it left its ready queue) by its running
   * record: a scheduled record without a group needs only its counts undone.
   */
  start(picked: JobRecord, running: JobRecord): void {
    if (picked.state !== 'scheduled' || picked.group !== undefined) {
      this.replace(picked, running);
      return;
    }
    this.tally.scheduled--;
    this.countScheduled(picked, -1);
    if (picked.recur) this.tally.recurring--;
    this.put(running);
  }

  private put(job: JobRecord, inverse?: Change[], extra?: Change[]): void {
    const key = this.byId.set(job.id, job);
    if (job.dedupe !== undefined) this.windows.track(job, this.byId);
    this.index(job, key);
    this.groups.changed();
    if (job.state === 'completed' || job.state === 'cancelled') {
      if (this.tally.completed + this.tally.cancelled > this.keepCompleted) this.evict(this.finished, this.keepCompleted, inverse, extra);
    } else if (job.state === 'dead') {
      if (this.tally.dead > this.keepDead) this.evict(this.dead, this.keepDead, inverse, extra);
    } else return;
    if ((job.removal !== undefined || this.removals.active) && !this.restoring && job.finishedAt !== undefined) this.retire(job, job.finishedAt, inverse, extra);
  }

  /** Removes what per-job retention says is due now that `job` finished (removal.ts). */
  private retire(job: JobRecord, now: number, inverse?: Change[], extra?: Change[]): void {
    for (const old of this.removals.due(job, now, this.byId)) {
      if (this.byId.get(old.id) !== old) continue;
      if (inverse) inverse.push({ op: 'put', job: old });
      // Its retention-queue entry stays behind (unindex counts it stale) and is skipped when reached.
      this.unindex(old);
      this.byId.delete(old.id);
      if (old.dedupe !== undefined) this.windows.untrack(old);
      if (extra) extra.push({ op: 'del', id: old.id });
    }
  }

  /**
   * Applies an undo change of a failed batch. Never evicts: the state being
   * restored kept the retention limits, and an eviction here would drop a
   * job that a later undo change does not bring back.
   */
  restore(change: Change): void {
    // A record restored twice is queued twice, both entries current: from now on every drop checks.
    this.restored = true;
    const { keepCompleted, keepDead } = this;
    this.keepCompleted = this.keepDead = Infinity;
    this.restoring = true;
    try {
      this.apply(change);
    } finally {
      this.keepCompleted = keepCompleted;
      this.keepDead = keepDead;
      this.restoring = false;
    }
  }

  /** Drops the oldest finished (or dead) records until `keep` are left. O(1) a drop. */
  private evict(retention: Retention, keep: number, inverse?: Change[], extra?: Change[]): void {
    const dead = retention === this.dead;
    // At most REMOVE_MAX a finish (removal.ts): a limit lowered below what the store holds is worked off by the finishes after it.
    for (let n = 0; n < REMOVE_MAX && (dead ? this.tally.dead : this.tally.completed + this.tally.cancelled) > keep; n++) {
      const job = retention.shift();
      if (job === undefined) return;
      const key = retention.shiftedKey;
      // Skipped: a record that left its state (revived, replaced, evicted)
      // since it was kept. Checked only while the queue holds such entries.
      if ((retention.stale > 0 || this.restored) && this.byId.get(job.id) !== job) {
        retention.stale--;
        continue;
      }
      if (inverse) inverse.push({ op: 'put', job });
      this.unindex(job);
      retention.stale--; // unindex counted this entry as left behind; it is gone instead
      // Current (checked above, or no entry has left): deleted where byId put it, its id unread.
      this.byId.deleteAt(key, job);
      if (job.dedupe !== undefined) this.windows.untrack(job);
      if (extra) extra.push({ op: 'del', id: job.id });
    }
  }

  /** Indexes `job`; `key`: where byId put it (IdIndex.set), kept by retention. */
  private index(job: JobRecord, key = -1): void {
    this.tally[job.state]++;
    if (job.state === 'scheduled') this.countScheduled(job, 1);
    if (job.group !== undefined && (job.state === 'scheduled' || job.state === 'running')) this.groups.live(job.group, 1);
    if (job.state === 'scheduled' && job.recur) this.tally.recurring++;
    switch (job.state) {
      case 'scheduled':
        this.waiting.push(job);
        break;
      case 'completed':
      case 'cancelled':
        this.finished.push(job, true, key);
        this.finished.tidy(this.tally.completed + this.tally.cancelled, this.byId);
        if (job.removal !== undefined) this.removals.add(job, this.byId);
        break;
      case 'dead':
        this.dead.push(job, true, key);
        this.dead.tidy(this.tally.dead, this.byId);
        if (job.removal !== undefined) this.removals.add(job, this.byId);
        break;
      case 'running':
        this.runningQueue.push(job);
        this.runningQueue.tidy(this.tally.running, this.byId);
        if (job.group !== undefined) this.groups.started(job.group, 1);
        break;
    }
  }

  /** Counts a scheduled job in (`by` 1) or out (-1) of `unusual` (tally.scheduled already counts it). */
  private countScheduled(job: JobRecord, by: 1 | -1): void {
    this.countName(job.name, job.priority !== 0 || job.group !== undefined, by);
  }

  private countName(name: string, ranked: boolean, by: 1 | -1): void {
    if (by === 1 && this.tally.scheduled === 1) this.plainName = name;
    if (name !== this.plainName || ranked) this.unusual += by;
  }

  private unindex(job: JobRecord): void {
    this.tally[job.state]--;
    if (job.state === 'scheduled') this.countScheduled(job, -1);
    if (job.group !== undefined && (job.state === 'scheduled' || job.state === 'running')) this.groups.live(job.group, -1);
    if (job.state === 'scheduled' && job.recur) this.tally.recurring--;
    switch (job.state) {
      case 'scheduled':
        // A grouped job already promoted sits in its group's ready queue; else it is in the due heap or its name's.
        if (job.group === undefined || !this.groups.remove(job)) this.waiting.remove(job);
        break;
      case 'completed':
      case 'cancelled':
        // Left in its retention queue: skipped when reached (Retention).
        this.finished.stale++;
        if (job.removal !== undefined) this.removals.left(job);
        break;
      case 'dead':
        this.dead.stale++;
        if (job.removal !== undefined) this.removals.left(job);
        break;
      case 'running':
        this.runningQueue.stale++;
        if (job.group !== undefined) this.groups.started(job.group, -1);
        break;
    }
  }

  /**
   * Every record, any order. A cold job is parsed for the walk and stays
   * cold (a record is a value: a read by id parses it again), so a walk
   * neither keeps a record a job nor reorders the due heaps.
   */
  *values(): IterableIterator<JobRecord> {
    yield* this.byId.values();
    const cold = this.waiting.cold;
    if (cold !== undefined) yield* cold.records();
  }

  /**
   * What a clock step may move, as of now: every record held, and the cold
   * jobs scheduled with a delay (the ones at a date are never parsed). Taken
   * in one step, so a job read (thawed) afterwards is still named once.
   */
  stepTargets(): { records: JobRecord[]; cold: CapturedJobs | undefined } {
    return { records: this.byId.toArray(), cold: this.waiting.cold?.capture(true) };
  }

  /**
   * Calls `fn` with every record but the cold jobs (all `scheduled`): a walk
   * for other states reads no bytes. A callback, not an iterator: several
   * times faster at 1e6 records (no generator step a record).
   */
  forEachRecord(fn: (job: JobRecord) => void): void {
    this.byId.forEach(fn);
  }

  /** Jobs still cold (not read since the store opened). */
  get coldCount(): number {
    return this.waiting.cold?.size ?? 0;
  }

  /** The cold jobs, for a list that pages before it parses (list-jobs.ts); undefined when none is left. */
  get coldJobs(): WaitingBytes | undefined {
    return this.waiting.cold;
  }

  /** The running records (never cold: only scheduled jobs are), oldest seq first. O(running jobs). */
  running(): JobRecord[] {
    return this.recordsIn(['running']).sort((a, b) => a.seq - b.seq);
  }

  /**
   * The records in `states`, which must not hold `scheduled`, in no order:
   * O(running + retained jobs), never a walk of the scheduled ones (at 1e6
   * jobs a list of the running ones took 45-95 ms, now what the few cost).
   * Each comes from a queue that holds every record of its state: the
   * running one, the retention queues (an eviction leaves both).
   */
  recordsIn(states: readonly JobState[]): JobRecord[] {
    const out: JobRecord[] = [];
    // A queue may hold a record that left (skipped: byId has another or none) and, after an undo, one twice.
    const seen = new Set<JobRecord>();
    const from = (retention: Retention): void => {
      for (const job of retention.records()) {
        if (!states.includes(job.state) || this.byId.get(job.id) !== job || seen.has(job)) continue;
        seen.add(job);
        out.push(job);
      }
    };
    if (states.includes('running')) from(this.runningQueue);
    if (states.includes('completed') || states.includes('cancelled')) from(this.finished);
    if (states.includes('dead')) from(this.dead);
    return out;
  }

  /**
   * What a new snapshot holds: every thawed record, then the text of every
   * cold job as it is (written back unparsed). Taken in one synchronous
   * step, so it is the state of this instant: O(n), but cheap (an array of
   * the records, the cold jobs' positions); a cold job's text is made when
   * the writer reaches it, in the writer's time slices.
   */
  snapshotItems(): SnapshotJobs {
    const records = this.byId.toArray();
    const cold = this.waiting.cold?.capture();
    if (cold === undefined || cold.length === 0) return records;
    const hot = records.length;
    return { length: hot + cold.length, at: (i) => (i < hot ? records[i] : cold.text(i - hot)) };
  }
}

/** The jobs a snapshot writes, in order: job i as a record, or as a cold job's record text. An array is one. */
export interface SnapshotJobs {
  readonly length: number;
  at(i: number): JobRecord | string | undefined;
}
