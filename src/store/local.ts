/**
 * The in-process store engine shared by MemoryStore and JsonFileStore.
 *
 * HOW: every operation is turned into a list of record-level changes (`put`
 * a whole record, `del` an id) which are applied to in-memory indexes at once
 * and then handed to `persist()`. MemoryStore's persist does nothing;
 * JsonFileStore's appends them to its journal and resolves after fsync.
 *
 * WHY apply first: concurrent operations must see each other (two inserts of
 * one id, a cancel right after an insert) without waiting for the disk. If
 * persisting fails, the batch and every later batch still in flight are
 * reverted newest-first, so a rejected call has changed nothing. Persisters
 * guarantee in-order durability: when batch k fails, every later batch not yet
 * durable fails too. A refusal (a settle whose token no longer holds its
 * job) is judged on durable state: it waits for a write in flight on that job.
 *
 * The indexes the changes are applied to (due and ready heaps, groups,
 * retention, dedupe windows) are LocalState's, in local-state.ts.
 */
import { DuplicateJobError, JobNotFoundError, StorePersistError, ValidationError, toError } from '../errors.js';
import { idleTurn } from '../idle-turn.js';
import type { ColdJobs } from './cold-jobs.js';
import type { CapturedJobs } from './waiting-bytes.js';
import { openAt, opened, windowOutcome } from './dedupe.js';
import { GENERATED_IDS, type GeneratedIds } from './id-index.js';
import { type Change, LocalState } from './local-state.js';
import { listJobs } from './list-jobs.js';
import { patchRecord, runningRecord, shiftDue, withReport } from './record.js';

export { patchRecord };
export type { Change };
import type {
  PauseState,
  ClaimRequest,
  ClaimResult,
  InsertRequest,
  InsertResult,
  JobRecord,
  Store,
  StoreContext,
  StoreCounts,
  StoreFeatures,
  StoreListFilter,
} from './store.js';

/** A put of `job`, a new version of `old` that kept its payload when it did. */
function update(old: JobRecord, job: JobRecord): Change {
  return old.payload === job.payload ? { op: 'put', job, keep: true } : { op: 'put', job };
}

/**
 * A store holding more records than this applies a clock step's re-base
 * (LocalStore.shiftInTurns), and readies the jobs due when it opens, over
 * several turns of the event loop, this many records a turn; a claim that
 * finds more than this many due jobs to ready does the same (readyRest).
 */
let stepTurn = 1024;

/** For tests: re-base and ready in turns of `n` records once the store holds more than `n`; returns the undo. */
export function setStepTurnForTests(n: number): () => void {
  const before = stepTurn;
  stepTurn = n;
  return () => {
    stepTurn = before;
  };
}

interface Batch {
  inverse: Change[];
  reverted: boolean;
  /** The batch's persist, once handed over (a refused settle may wait for it: ownedBy). */
  persisting?: Promise<void>;
}

/**
 * Store engine for stores that keep every job in this process. Subclasses
 * supply `persist` (and optionally `openStorage` / `closeStorage`).
 */
export abstract class LocalStore implements Store, GeneratedIds {
  /** Groups and rate limits are claimed by LocalState (groups.ts, rate-limits.ts). */
  readonly features: StoreFeatures = { groups: true, rateLimits: true, pauseEverywhere: true, dedupe: true, removal: true };

  /**
   * `pause({ everywhere: true })`: one process uses a local store, so this
   * is a pause kept by the store (MemoryStore: while the object lives;
   * JsonFileStore: on disk, see `persistPause`).
   */
  protected paused: PauseState = { paused: false, version: 0 };

  async setPaused(paused: boolean): Promise<PauseState> {
    if (paused !== this.paused.paused) await this.persistPause(paused);
    this.paused = { paused, version: this.paused.version + 1 };
    return this.paused;
  }

  pauseState(): PauseState {
    return this.paused;
  }

  /** Durably records the store-wide pause; MemoryStore keeps it in memory only. */
  protected persistPause(_paused: boolean): Promise<void> {
    return Promise.resolve();
  }

  /** A claim of a job of `name` that did not start it leaves the windows (see Store.refundStart). */
  refundStart(name: string, _token: string): void {
    this.state.rates.refund(name);
  }

  /** No job of `name` starts before `until` (kept in memory, not persisted). */
  pushBack(name: string, until: number): Promise<void> {
    this.state.rates.pushBack(name, until);
    return Promise.resolve();
  }
  protected readonly state = new LocalState();
  /** How far the rate windows moved ahead of a clock-step re-base whose write has not landed (see shift). */
  private ratesAhead = 0;
  protected context: StoreContext | undefined;
  /** False for MemoryStore: no revert bookkeeping, no awaiting. */
  protected abstract readonly durable: boolean;
  private readonly outstanding: Batch[] = [];
  /** A clock step's re-base being applied in turns (shiftInTurns): every call on records waits for it (afterStep). */
  private stepping: Promise<void> | undefined;
  /** Clock steps taken (shift calls): a claim readying in turns that sees this change picks nothing (see claim). */
  private steps = 0;
  /** A claim readying a big due backlog in turns (readyRest): the next claim waits until it has picked. */
  private readying: Promise<void> | undefined;
  /** Set from close() until the next open: a claim readying in turns stops and takes nothing. */
  private closeAsked = false;

  /**
   * Durably records `changes` (in call order). Rejects if they are not
   * durable (StorePersistError), or with ValidationError when a record is
   * over the store's size limit; either way the batch is reverted.
   */
  protected abstract persist(changes: Change[]): Promise<void>;

  /** Loads records from storage; `undefined` keeps the in-memory state. */
  protected openStorage(_context: StoreContext): Promise<Iterable<JobRecord> | undefined> {
    return Promise.resolve(undefined);
  }

  /** Jobs openStorage left as bytes, to load beside its records (cold-jobs.ts); asked once, right after it. */
  protected takeColdJobs(): ColdJobs | undefined {
    return undefined;
  }

  protected closeStorage(): Promise<void> {
    return Promise.resolve();
  }

  /** The scheduler's generated ids are `prefix` + a counter: they are indexed without a Map entry (IdIndex). */
  [GENERATED_IDS](prefix: string): void {
    this.state.byId.expect(prefix);
  }

  async open(context: StoreContext): Promise<void> {
    this.context = context;
    this.closeAsked = false;
    this.state.keepCompleted = context.keepCompleted;
    this.state.keepDead = context.keepDead;
    const records = await this.openStorage(context);
    // Jobs left running by a process that died run again, keeping their
    // attempt count (at-least-once); `lost` makes the scheduler charge that
    // attempt to the retry policy, so a job that crashes its process ends
    // dead. (A graceful stop hands its attempts back first: only a crash
    // leaves `running` records.) Not journaled: replaying a `running` record
    // recovers it the same way next time.
    let recovered: JobRecord[];
    if (records) recovered = this.state.load(Array.isArray(records) ? (records as JobRecord[]) : [...records], this.takeColdJobs());
    // Nothing read (MemoryStore): the state kept in memory is reopened.
    else recovered = this.state.running();
    for (const job of recovered) this.state.apply({ op: 'put', job: patchRecord(job, { state: 'scheduled', token: undefined, lost: 'crash' }) });
    // A restart after a downtime can find most jobs due. The first claim would move them all into
    // the ready queues in one step, to pick in priority order (2e5 jobs just opened: ~1 s, every
    // cold one parsed then). Moved here instead, `stepTurn` a turn, before anything is claimed.
    if (this.state.size > stepTurn) {
      const now = context.now();
      while (this.state.promote(now, undefined, stepTurn)) await idleTurn();
    }
  }

  async close(): Promise<void> {
    this.closeAsked = true;
    // A re-base in turns is one batch: it lands (or is undone) before the storage closes.
    await this.afterStep();
    await this.closeStorage();
  }

  /** Whether a clock step's re-base is being applied in turns (shiftInTurns). */
  protected get stepInProgress(): boolean {
    return this.stepping !== undefined;
  }

  /** Waits out a re-base in turns (its outcome is its caller's), so a call reads and writes records only before or after it. */
  protected async afterStep(): Promise<void> {
    while (this.stepping) await this.stepping.catch(() => undefined);
  }

  /** Applies `changes` now, persists them, reverts on failure. */
  protected async commit(changes: Change[]): Promise<void> {
    if (!this.durable) {
      for (const change of changes) this.state.apply(change);
      return;
    }
    const batch: Batch = { inverse: [], reverted: false };
    const all = changes.slice();
    for (const change of changes) this.state.apply(change, batch.inverse, all);
    await this.land(batch, all, () => this.persist(all));
  }

  /** Hands a batch applied in memory (`all` its changes) to `write`; reverts it, and every later one, when the write fails. */
  private async land(batch: Batch, all: readonly Change[], write: () => Promise<void>): Promise<void> {
    this.outstanding.push(batch);
    try {
      await (batch.persisting = write());
    } catch (error) {
      this.revertFrom(batch);
      throw this.refused(error, all.length);
    } finally {
      const i = this.outstanding.indexOf(batch);
      if (i >= 0) this.outstanding.splice(i, 1);
    }
  }

  /**
   * The error a refused batch of `count` changes rejects with, once it is
   * reverted. JsonFileStore also counts the failure handled (its writer
   * refuses new batches until each failed one is undone).
   */
  protected refused(error: unknown, count: number): unknown {
    return error instanceof StorePersistError || error instanceof ValidationError
      ? error
      : new StorePersistError(`Could not persist ${count} change(s): ${toError(error).message}`, { cause: error });
  }

  /** `persist` for a batch built over several turns (shiftInTurns): JsonFileStore encodes it in turns of `turn` changes too. */
  protected persistInTurns(changes: Change[], _turn: number): Promise<void> {
    return this.persist(changes);
  }

  private revertFrom(batch: Batch): void {
    // Already undone by an earlier failed batch: whatever came after that
    // revert was applied to the restored state and stands on its own.
    if (batch.reverted) return;
    const from = this.outstanding.indexOf(batch);
    if (from < 0) return;
    for (let i = this.outstanding.length - 1; i >= from; i--) {
      const b = this.outstanding[i] as Batch;
      if (b.reverted) continue;
      b.reverted = true;
      for (let j = b.inverse.length - 1; j >= 0; j--) this.state.restore(b.inverse[j] as Change);
    }
    // An undone cancel or reschedule may bring back a job due before the
    // scheduler's timer, which it armed for the state without that job.
    this.context?.wake();
  }

  async insert(requests: readonly InsertRequest[]): Promise<InsertResult[]> {
    if (this.stepping) await this.afterStep();
    if (!this.durable) return this.insertNow(requests);
    const { results, changes, seq } = this.planInsert(requests);
    const before = this.state.nextSeq;
    this.state.nextSeq = seq;
    try {
      await this.commit(changes);
    } catch (error) {
      if (this.state.nextSeq === seq) this.state.nextSeq = before;
      throw error;
    }
    return results;
  }

  /**
   * A non-durable store's insert, applied before it returns (all or none:
   * a DuplicateJobError is thrown before anything changes). The scheduler
   * takes this path for MemoryStore, sparing the promise hops of `insert`.
   */
  protected insertNow(requests: readonly InsertRequest[]): InsertResult[] {
    const single = requests.length === 1 ? requests[0] : undefined;
    // Hot path: one new job. The store owns the record it is given.
    if (single && single.record.state === 'scheduled' && single.dedupe === undefined && this.state.insertNew(single.record as JobRecord, this.state.nextSeq)) {
      this.state.nextSeq++;
      return [{ record: single.record as JobRecord, outcome: 'inserted' }];
    }
    const { results, changes, seq } = this.planInsert(requests);
    this.state.nextSeq = seq;
    for (const change of changes) this.state.apply(change);
    return results;
  }

  /** The changes and results of an insert, checked for duplicates first; `seq` is the next free sequence number after it. */
  private planInsert(requests: readonly InsertRequest[]): { results: InsertResult[]; changes: Change[]; seq: number } {
    const results: InsertResult[] = [];
    const changes: Change[] = [];
    const pending = new Map<string, JobRecord>();
    /** Windows this batch opened or debounced: name → key → job. */
    let windowJobs: Map<string, Map<string, JobRecord>> | undefined;
    let seq = this.state.nextSeq;
    for (const { record, onDuplicate, dedupe } of requests) {
      if (dedupe !== undefined) {
        // A job this batch wrote before (scheduleMany refuses two items of one window; a store caller may not).
        const now = record.createdAt;
        const current = openAt(windowJobs?.get(record.name)?.get(dedupe.key), record.name, dedupe, now) ?? this.state.windows.open(record.name, dedupe, now, this.state.byId);
        const inside = current === undefined ? undefined : windowOutcome(pending.get(current.id) ?? current, record, dedupe);
        if (inside !== undefined) {
          results.push(inside);
          if (inside.outcome === 'debounced') {
            pending.set(inside.record.id, inside.record);
            changes.push({ op: 'put', job: inside.record });
            (windowJobs ??= new Map()).set(record.name, (windowJobs.get(record.name) ?? new Map<string, JobRecord>()).set(dedupe.key, inside.record));
          }
          continue;
        }
      }
      const existing = pending.get(record.id) ?? this.state.get(record.id);
      if (existing) {
        if (onDuplicate === 'reject') throw new DuplicateJobError(record.id);
        if (onDuplicate === 'keep') {
          results.push({ record: existing, outcome: 'kept' });
          continue;
        }
        if (onDuplicate === 'keepIfSame') {
          if (existing.recur && record.recur && existing.recur.signature === record.recur.signature) {
            results.push({ record: existing, outcome: 'kept' });
            continue;
          }
          throw new DuplicateJobError(record.id);
        }
      }
      const job: JobRecord = patchRecord(record as JobRecord, { seq: seq++ });
      if (dedupe !== undefined) {
        opened(job, record, dedupe);
        (windowJobs ??= new Map()).set(record.name, (windowJobs.get(record.name) ?? new Map<string, JobRecord>()).set(dedupe.key, job));
      }
      pending.set(job.id, job);
      changes.push({ op: 'put', job });
      results.push(existing ? { record: job, outcome: 'replaced', previous: existing } : { record: job, outcome: 'inserted' });
    }
    return { results, changes, seq };
  }

  get(id: string): Promise<JobRecord | undefined> {
    if (this.stepping) return this.afterStep().then(() => this.state.get(id));
    return Promise.resolve(this.state.get(id));
  }

  list(filter: StoreListFilter): Promise<JobRecord[]> {
    if (this.stepping) return this.afterStep().then(() => listJobs(this.state, filter));
    return Promise.resolve(listJobs(this.state, filter));
  }

  async cancel(id: string, now: number): Promise<JobRecord | undefined> {
    if (this.stepping) await this.afterStep();
    const job = this.state.get(id);
    if (!job || (job.state !== 'scheduled' && job.state !== 'running')) return undefined;
    const next: JobRecord = patchRecord(job, { state: 'cancelled', finishedAt: now, token: undefined });
    await this.commit([update(job, next)]);
    return next;
  }

  async reschedule(id: string, runAt: number): Promise<JobRecord> {
    if (this.stepping) await this.afterStep();
    const job = this.state.get(id);
    if (!job) throw new JobNotFoundError(id);
    if (job.state !== 'scheduled') {
      throw new JobNotFoundError(id, `Expected job \`${id}\` to be scheduled, got state '${job.state}'`);
    }
    // A schedule's moved occurrence runs as the slot `runAt`; the next slot follows from it.
    // A date is wall time: a rescheduled job no longer moves with clock steps.
    const next = patchRecord(job, job.recur ? { runAt, relative: undefined, recur: { ...job.recur, slot: runAt } } : { runAt, relative: undefined });
    await this.commit([update(job, next)]);
    return next;
  }

  async revive(id: string, runAt: number): Promise<JobRecord> {
    if (this.stepping) await this.afterStep();
    const job = this.state.get(id);
    if (!job) throw new JobNotFoundError(id);
    if (job.state !== 'dead' && job.state !== 'cancelled') {
      throw new JobNotFoundError(id, `Expected job \`${id}\` to be dead or cancelled, got state '${job.state}'`);
    }
    const next = patchRecord(job, { state: 'scheduled', runAt, attempt: 0, finishedAt: undefined, result: undefined, token: undefined, relative: undefined, lost: undefined });
    await this.commit([update(job, next)]);
    return next;
  }

  async claim(request: ClaimRequest): Promise<ClaimResult> {
    while (this.stepping || this.readying) await (this.stepping ? this.afterStep() : this.readying);
    if (!this.durable) {
      const direct = this.state.takeDue(request);
      if (direct !== undefined) return this.startNow(request, { jobs: direct, waiting: [] });
    }
    if (this.state.promote(request.now, undefined, stepTurn)) {
      // Later claims wait until this one has picked (and, below, started or applied what it took).
      let release: () => void = () => undefined;
      this.readying = new Promise<void>((resolve) => {
        release = resolve;
      });
      let ready = false;
      try {
        ready = await this.readyRest(request.now);
      } finally {
        // Waiters resume after this synchronous stretch, which runs to the pick's records applied.
        this.readying = undefined;
        release();
      }
      if (!ready) return { jobs: [], waiting: [] };
    }
    if (!this.durable) return this.startNow(request, this.state.pick(request));
    const picked = this.state.pick(request);
    if (picked.jobs.length === 0) return picked;
    const jobs = picked.jobs.map((job): JobRecord => runningRecord(job, request.token()));
    await this.commit(jobs.map((job): Change => ({ op: 'put', job, keep: true })));
    return picked.retryAt === undefined ? { jobs, waiting: picked.waiting } : { jobs, waiting: picked.waiting, retryAt: picked.retryAt };
  }

  /**
   * The rest of a due backlog the claim's first turn could not ready: a turn
   * of the event loop a batch of `stepTurn` jobs. WHY: moving every due job
   * into the ready queues in one step (so the pick sees all of them, in
   * priority order) blocked the event loop when many came due at once:
   * 2e5 jobs of a JsonFileStore opened before they came due, each parsed
   * then, ~0.73 s. Other calls run between the turns; later claims wait
   * (`readying`), so the pick still sees the whole backlog. Resolves false
   * when the claim must pick nothing: the clock was stepped meanwhile (its
   * `now` is from before the step; the scheduler claims again after the
   * re-base) or the store is closing.
   */
  private async readyRest(now: number): Promise<boolean> {
    const steps = this.steps;
    do {
      await idleTurn();
      if (this.stepping) await this.afterStep();
      if (this.steps !== steps || this.closeAsked) return false;
    } while (this.state.promote(now, undefined, stepTurn));
    return true;
  }

  /** A non-durable store's claim of what it picked (off the ready queues already), applied before it returns. */
  private startNow(request: ClaimRequest, picked: ClaimResult): ClaimResult {
    const jobs = picked.jobs;
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i] as JobRecord;
      const running = runningRecord(job, request.token());
      jobs[i] = running;
      // `job` is what byId holds.
      this.state.start(job, running);
    }
    return picked;
  }

  async settle(id: string, token: string, next: JobRecord): Promise<boolean> {
    if (this.stepping) await this.afterStep();
    if (!this.durable) return this.settleNow(id, token, next);
    // Checked at once when it holds (the usual case: persisted in call order), else after the batches in flight.
    const job = this.held(id, token) ?? (await this.heldOnceDurable(id, token));
    if (!job) return false;
    await this.commit([update(job, next.token === undefined ? next : patchRecord(next, { token: undefined }))]);
    return true;
  }

  async progress(id: string, token: string, next: JobRecord): Promise<boolean> {
    if (this.stepping) await this.afterStep();
    const job = this.held(id, token) ?? (this.durable ? await this.heldOnceDurable(id, token) : undefined);
    if (!job) return false;
    await this.commit([update(job, withReport(job, next.progress, next.logs))]);
    return true;
  }

  /** The running record of `id` that `token` holds now, if it does. */
  private held(id: string, token: string): JobRecord | undefined {
    const job = this.state.get(id);
    return job && job.state === 'running' && job.token === token ? job : undefined;
  }

  /**
   * `held`, judged on durable state. A refusal tells the attempt its job was
   * taken away, for good; while a batch that changed `id` is in flight (a
   * cancel or a replace of a running job, applied at once), its outcome is
   * awaited first: one that fails is undone, and the attempt still owns its
   * job. (Refused at once, the attempt let go, and the undone cancel left
   * the job `running` with no attempt until a restart: seed 202002832.)
   */
  private async heldOnceDurable(id: string, token: string): Promise<JobRecord | undefined> {
    for (;;) {
      const pending: Promise<void>[] = [];
      for (const batch of this.outstanding) {
        if (!batch.reverted && batch.persisting && batch.inverse.some((c) => (c.op === 'put' ? c.job.id : c.id) === id)) pending.push(batch.persisting);
      }
      if (pending.length === 0) return undefined;
      await Promise.allSettled(pending);
      const job = this.held(id, token);
      if (job) return job;
    }
  }

  /** A non-durable store's settle, applied before it returns. */
  protected settleNow(id: string, token: string, next: JobRecord): boolean {
    const job = this.state.get(id);
    if (!job || job.state !== 'running' || job.token !== token) return false;
    this.state.replace(job, next.token === undefined ? next : patchRecord(next, { token: undefined }));
    return true;
  }

  nextDueAt(): number | undefined {
    return this.state.nextDueAt();
  }

  counts(): StoreCounts {
    return this.state.counts();
  }

  /**
   * The wall clock was stepped by `deltaMs`: every scheduled delay (a
   * `relative` runAt, an `every` schedule's anchor and slot) and every dedupe
   * window's end move with it, so they keep their elapsed length; dates and
   * cron slots stay put. Applied
   * in memory at once (before the next claim), durable when it resolves.
   * The rate-limit windows (memory only) move at once too, before the write:
   * a push-back or start recorded while the write is in flight is already in
   * the new frame and must not move again (simulation seed 257100416: a
   * handler that pushed its name back for 1 s after a forward step of an
   * hour held the name for the hour). A refused write is handed over again,
   * with the steps taken since added: the windows move only by what they
   * have not moved yet (`ratesAhead`).
   *
   * A store of more than `stepTurn` records is re-based in turns
   * (shiftInTurns): applied in memory, then durable, as one batch still.
   */
  async shift(deltaMs: number): Promise<void> {
    if (!Number.isFinite(deltaMs) || deltaMs === 0) return;
    this.steps++;
    this.state.rates.shift(deltaMs - this.ratesAhead);
    this.ratesAhead = deltaMs;
    if (this.state.size > stepTurn) {
      const task = this.shiftInTurns(deltaMs);
      this.stepping = task;
      try {
        await task;
      } finally {
        this.stepping = undefined;
      }
    } else {
      const changes: Change[] = [];
      for (const job of this.state.values()) {
        // A running `every` occurrence moves too: its next slot follows from its slot and anchor.
        const moved = shiftDue(job, deltaMs);
        if (moved !== job) changes.push({ op: 'put', job: moved, keep: true });
      }
      if (changes.length > 0) await this.commit(changes);
    }
    this.ratesAhead = 0;
  }

  /**
   * The re-base of a big store, `stepTurn` records a turn. WHY: walking,
   * moving, indexing and (JsonFileStore) encoding every delay in one step
   * blocked the event loop ~0.7 s for 2e5 jobs made in this process and
   * ~1.6 s for 2e5 just opened (each cold job parsed twice, the dates too);
   * every timer and caller of the process waited. It is one batch still, all or none: while
   * it runs every call on records waits (`afterStep`) and the scheduler
   * claims nothing, so no write lands inside it and no read sees it half
   * done. Batches in flight when it starts land (or are undone) first, so
   * none can undo part of it. Cold jobs at a date are not parsed: a step
   * does not move them (ColdJobs.capture(true)).
   */
  private async shiftInTurns(deltaMs: number): Promise<void> {
    for (;;) {
      const inFlight = this.outstanding.flatMap((b) => (b.persisting ? [b.persisting] : []));
      if (inFlight.length === 0) break;
      await Promise.allSettled(inFlight);
    }
    const { records, cold } = this.state.stepTargets();
    const total = records.length + (cold?.length ?? 0);
    const batch: Batch = { inverse: [], reverted: false };
    const all: Change[] = [];
    for (let k = 0; k < total; k++) {
      if (k > 0 && k % stepTurn === 0) await idleTurn();
      // Read by id now, as it is: a cold job is parsed here (and stays a record).
      const job = this.state.get(k < records.length ? (records[k] as JobRecord).id : (cold as CapturedJobs).id(k - records.length));
      if (job === undefined) continue;
      const moved = shiftDue(job, deltaMs);
      if (moved === job) continue;
      const change: Change = { op: 'put', job: moved, keep: true };
      if (!this.durable) {
        this.state.apply(change);
        continue;
      }
      all.push(change);
      this.state.apply(change, batch.inverse, all);
    }
    if (all.length > 0) await this.land(batch, all, () => this.persistInTurns(all, stepTurn));
  }
}
