/**
 * The attempt lifecycle of a Scheduler: a claimed job is checked (a lost
 * attempt charged, a schedule's misfires planned), run with its timeout and
 * abort signal, and its outcome settled in the store.
 *
 * HOW
 * - `begin` takes a job the dispatch loop claimed. An attempt the store took
 *   back from a dead process (`lost`) is charged to the retry policy; a
 *   schedule's occurrence is planned for misfires. Either may settle it
 *   without running.
 * - An attempt ends in a settle (outcome.ts decides the record). A settle the
 *   store refuses is retried with backoff until the store takes it: the
 *   outcome stays in memory, the job stays `running` (truthfully) and keeps
 *   its concurrency slot meanwhile. Events are emitted only after the store
 *   has recorded the change.
 *
 * WHY
 * - `lost` is charged at claim, by whichever process claims the job, so the
 *   crash rule is one code path for every store (a local store's crash, a
 *   shared store's lapsed lease) and a job that crashes its process ends dead.
 */
import { GodelayqError, JobTimeoutError, LeaseLostError, SchedulerStoppedError, toError } from '../errors.js';
import type { ClockTimer } from '../clock.js';
import { planDue } from '../cron.js';
import { patchRecord, shiftDue } from '../store/record.js';
import type { JobRecord, LostReason } from '../store/store.js';
import type { JsonValue } from '../types.js';
import { toJsonValue } from '../validate.js';
import type { Calls } from './calls.js';
import type { DispatchHost, HandlerEntry } from './host.js';
import { specOf } from './info.js';
import { failed, lostError, succeeded, type Outcome } from './outcome.js';
import { AttemptContext } from './context.js';
import type { Reporter } from './progress.js';
import type { TraceHook } from './trace-hook.js';

interface Attempt {
  record: JobRecord;
  handler: HandlerEntry;
  controller: AbortController;
  startedAt: number;
  timer: ClockTimer | undefined;
  timeoutAt: number;
  done: Promise<void>;
  /** Cancelled, replaced or lost: its outcome is ignored. */
  cancelled: boolean;
  /** Given up by stop(): its outcome is ignored. */
  abandoned: boolean;
  /** Ends the attempt once (handler settled, or timed out). */
  end?: (ok: boolean, value: unknown) => void;
  /** The outcome's record while its settle is in flight or being retried. */
  pending?: JobRecord;
  /** The handler returned or threw, or the attempt was given up: it reports nothing more. */
  finished: boolean;
  /** Made by the first `job.progress()` / `job.log()` (progress.ts). */
  reporter?: Reporter;
}

/** What the attempt lifecycle needs from the dispatch loop. */
export interface AttemptLoop {
  readonly calls: Calls;
  /** A slot was freed or a settle landed: dispatch again soon. */
  kick(): void;
  /** A settle aside ended: emit `drained` if nothing is left. */
  checkDrained(): void;
  /** stop() gave up: settle retries end. */
  halted(): boolean;
  /** A clock step's re-base is owed to the store: lands it first, or rejects (see Dispatcher.beforeWrite). */
  beforeWrite(): Promise<void> | undefined;
}

const LATENESS_WINDOW = 1024;
/** First and longest wait between retries of a settle the store refused, ms. */
export const SETTLE_RETRY_FIRST = 100;
export const SETTLE_RETRY_MAX = 30_000;

export class Attempts {
  private readonly attempts = new Map<string, Attempt>();
  private readonly runningByName = new Map<string, number>();
  /** Settles in flight (or waiting to be retried) that hold no attempt: misfire replans, lost charges, hand-backs. */
  private readonly settling = new Map<string, { token: string | undefined; next: JobRecord; task: Promise<void> }>();
  private readonly lateness: number[] = [];
  private latenessNext = 0;
  /** Some attempt started since the last `drained`. */
  busy = false;
  /** The tracing seam godelayq/otel installed (trace-hook.ts), if any. */
  traceHook: TraceHook | undefined;

  constructor(
    private readonly host: DispatchHost,
    private readonly loop: AttemptLoop,
  ) {}

  /** Attempts running (each holds a concurrency slot). */
  get running(): number {
    return this.attempts.size;
  }

  /** Attempts running or settles aside in flight. */
  get pending(): boolean {
    return this.attempts.size > 0 || this.settling.size > 0;
  }

  /** Free slots of `name` (its handler's limit less its running attempts); 0 without a handler. */
  capacity(name: string): number {
    const handler = this.host.handlers.get(name);
    if (!handler) return 0;
    return handler.concurrency - (this.runningByName.get(name) ?? 0);
  }

  /** Lateness samples of recent starts, ms. */
  latenessSamples(): number[] {
    return this.lateness.slice();
  }

  /** See Dispatcher.current. */
  current(record: JobRecord): JobRecord {
    const pending = this.settling.get(record.id);
    if (pending && pending.token === record.token) return pending.next;
    const attempt = this.attempts.get(record.id);
    if (attempt && record.state === 'running' && attempt.record.token === record.token) return attempt.record;
    return record;
  }

  /** Starts a claimed job, or settles it without running (lost attempt charged, misfire skipped, handler gone). */
  begin(claimed: JobRecord, now: number): void {
    const handler = this.host.handlers.get(claimed.name);
    if (!handler) {
      // Unregistered between claim and start: put it back as it was.
      this.settleAside(claimed, patchRecord(claimed, { state: 'scheduled', attempt: claimed.attempt - 1, token: undefined }));
      return;
    }
    if (claimed.lost && claimed.attempt > 1) {
      // The store took this attempt back from a process that died (or lost
      // its lease): charge it to the retry policy before anything runs.
      const error = lostError(claimed);
      const outcome = failed(claimed, claimed.attempt - 1, now, error, this.host.retryPolicy(claimed, handler));
      this.settleAside(claimed, outcome.next, () => this.emitFailure(outcome, error));
      return;
    }
    let record = claimed;
    if (record.recur && record.attempt === 1) {
      const recur = record.recur;
      const plan = planDue(specOf(recur), recur.slot, now, { misfire: recur.misfire, graceMs: recur.grace ?? this.host.misfireGraceMs });
      if (plan.runAt === undefined || plan.runAt !== recur.slot) {
        // Missed slots: record the planned slot (a catch-up now, a future
        // slot, or the end) before anything runs, so a crash or stop cannot
        // bring back a slot the `misfired` event declared missed. A catch-up
        // is due, so the next claim runs it.
        const next: JobRecord =
          plan.runAt === undefined
            ? patchRecord(record, { state: 'completed', finishedAt: now, attempt: 0, token: undefined, lost: undefined })
            : patchRecord(record, { state: 'scheduled', runAt: plan.runAt, attempt: 0, token: undefined, lost: undefined, recur: { ...recur, slot: plan.runAt } });
        const missed = plan.missed;
        const runAt = plan.runAt === undefined ? undefined : new Date(plan.runAt);
        this.settleAside(claimed, next, missed > 0 ? () => this.host.emit('misfired', () => ({ job: this.host.view(claimed), missed, runAt })) : undefined);
        return;
      }
    }
    if (record.lost) record = patchRecord(record, { lost: undefined });
    this.run(record, handler, now);
  }

  private run(record: JobRecord, handler: HandlerEntry, now: number): void {
    this.busy = true;
    this.runningByName.set(record.name, (this.runningByName.get(record.name) ?? 0) + 1);
    const controller = new AbortController();
    const lateness = Math.max(0, now - record.runAt);
    this.lateness[this.latenessNext] = lateness;
    this.latenessNext = (this.latenessNext + 1) % LATENESS_WINDOW;
    let resolveDone!: () => void;
    const attempt: Attempt = {
      record,
      handler,
      controller,
      startedAt: now,
      timer: undefined,
      timeoutAt: 0,
      done: new Promise<void>((resolve) => {
        resolveDone = resolve;
      }),
      cancelled: false,
      abandoned: false,
      finished: false,
    };
    this.attempts.set(record.id, attempt);
    this.host.emit('started', () => ({ job: this.host.view(record), lateness }));

    let ended = false;
    const end = (ok: boolean, value: unknown): void => {
      if (ended) return;
      ended = true;
      attempt.finished = true;
      attempt.timer?.clear();
      void this.afterAttempt(attempt, ok, value).finally(resolveDone);
    };
    attempt.end = end;
    const timeout = record.timeout ?? handler.timeout ?? this.host.timeoutDefault;
    if (timeout !== undefined) {
      attempt.timeoutAt = now + timeout;
      attempt.timer = this.host.clock.setTimer(attempt.timeoutAt, () => this.timeUp(attempt));
    }
    let payload: unknown;
    try {
      payload = record.payload === null || typeof record.payload !== 'object' ? record.payload : structuredClone(record.payload);
    } catch {
      payload = record.payload;
    }
    const context = new AttemptContext(record, payload, controller, attempt, this.host);
    try {
      const hook = this.traceHook;
      const result = hook ? hook.run(context, record.trace, () => handler.fn(context)) : handler.fn(context);
      Promise.resolve(result).then(
        (value) => end(true, value),
        (error: unknown) => end(false, error),
      );
    } catch (error) {
      end(false, error);
    }
  }

  private timeUp(attempt: Attempt): void {
    const timeout = attempt.timeoutAt - attempt.startedAt;
    const error = new JobTimeoutError(timeout);
    attempt.controller.abort(error);
    attempt.end?.(false, error);
  }

  private releaseSlot(attempt: Attempt): void {
    if (this.attempts.get(attempt.record.id) !== attempt) return;
    this.attempts.delete(attempt.record.id);
    const name = attempt.record.name;
    const n = (this.runningByName.get(name) ?? 1) - 1;
    if (n <= 0) this.runningByName.delete(name);
    else this.runningByName.set(name, n);
  }

  private async afterAttempt(attempt: Attempt, ok: boolean, value: unknown): Promise<void> {
    if (attempt.abandoned) return;
    if (attempt.cancelled) {
      this.releaseSlot(attempt);
      this.loop.kick();
      return;
    }
    // Reports the handler made are in the record its outcome is built from.
    if (attempt.reporter) await attempt.reporter.idle();
    if (attempt.abandoned) return;
    if (attempt.cancelled) {
      this.releaseSlot(attempt);
      this.loop.kick();
      return;
    }
    const { record, handler } = attempt;
    const now = this.host.clock.now();
    const durationMs = now - attempt.startedAt;
    let outcome: Outcome;
    let error: Error | undefined;
    if (ok) {
      let result: JsonValue | undefined;
      if (value !== undefined) {
        try {
          result = toJsonValue(value, `result of job ${record.id}`, this.host.maxPayloadBytes);
        } catch (invalid) {
          // The handler's work is done: complete the job, keep the raw value in the event only, and say why it was not stored.
          this.host.emit('error', () => ({ error: toError(invalid), jobId: record.id }));
        }
      }
      outcome = succeeded(record, now, result);
    } else {
      error = toError(value);
      outcome = failed(record, record.attempt, now, error, this.host.retryPolicy(record, handler));
    }
    attempt.pending = outcome.next;
    await this.settle(attempt, record, outcome.next, () => {
      // What was recorded: a clock step during the settle moved an elapsed-time due (see step).
      const recorded = attempt.pending ?? outcome.next;
      const nextRunAt = outcome.nextRunAt === undefined ? undefined : recorded.runAt;
      if (error === undefined) {
        this.host.emit('completed', () => ({
          name: record.name,
          job: this.host.view(outcome.occurrence, nextRunAt === undefined ? null : new Date(nextRunAt)),
          result: value,
          durationMs,
          ...(nextRunAt === undefined ? {} : { nextRunAt: new Date(nextRunAt) }),
        }));
      } else this.emitFailure(nextRunAt === undefined ? outcome : { ...outcome, nextRunAt }, error);
    });
  }

  private emitFailure(outcome: Outcome, error: Error): void {
    const { occurrence, nextRunAt } = outcome;
    const next = nextRunAt === undefined ? undefined : new Date(nextRunAt);
    if (outcome.backoffError !== undefined) {
      this.host.emit('error', () => ({ error: toError(outcome.backoffError), jobId: occurrence.id }));
    }
    const job = this.host.view(occurrence, next ?? null);
    this.host.emit('failed', () => ({ job, error, willRetry: outcome.willRetry, ...(next === undefined ? {} : { nextRunAt: next }) }));
    if (outcome.willRetry) {
      this.host.emit('retrying', () => ({ job, attempt: occurrence.attempt + 1, delay: outcome.delay ?? 0, nextRunAt: next ?? new Date(occurrence.runAt) }));
    } else this.host.emit('dead', () => ({ job, error }));
  }

  /**
   * Records an attempt's outcome, retrying with backoff while the store
   * refuses it (the attempt keeps its slot; the job is still `running` in
   * the store, so stats stay true). Then frees the slot and emits.
   */
  private async settle(attempt: Attempt | undefined, claimed: JobRecord, next: JobRecord, emit?: () => void): Promise<void> {
    const token = claimed.token as string;
    let wait = SETTLE_RETRY_FIRST;
    let settled = false;
    let recorded = false;
    for (;;) {
      try {
        // The outcome is in the frame of the latest clock step: an owed re-base
        // lands first, or it would move the recorded due a second time.
        const owed = this.loop.beforeWrite();
        if (owed) await owed;
        settled = await this.loop.calls.track(this.host.store.settle(claimed.id, token, this.outcomeOf(attempt, claimed, next)));
        recorded = true;
        break;
      } catch (error) {
        this.host.emit('error', () => ({ error: toError(error), jobId: claimed.id }));
        if (this.loop.halted() || attempt?.cancelled || attempt?.abandoned) break;
        await this.loop.calls.sleep(wait);
        wait = Math.min(SETTLE_RETRY_MAX, wait * 2);
        if (this.loop.halted() || attempt?.cancelled || attempt?.abandoned) break;
      }
    }
    if (attempt) this.releaseSlot(attempt);
    if (recorded && settled) emit?.();
    this.loop.kick();
  }

  /** The outcome to record now: a clock step since it was computed may have moved it (see step). */
  private outcomeOf(attempt: Attempt | undefined, claimed: JobRecord, next: JobRecord): JobRecord {
    if (attempt) return attempt.pending ?? next;
    const aside = this.settling.get(claimed.id);
    return aside && aside.token === claimed.token ? aside.next : next;
  }

  /** A settle of a claimed job that never ran (it holds no slot). */
  private settleAside(claimed: JobRecord, next: JobRecord, emit?: () => void): void {
    const entry = { token: claimed.token, next, task: Promise.resolve() };
    entry.task = this.settle(undefined, claimed, next, emit).finally(() => {
      if (this.settling.get(claimed.id) === entry) this.settling.delete(claimed.id);
      this.loop.checkDrained();
    });
    this.settling.set(claimed.id, entry);
  }

  // ------------------------------------------------------------- clock steps and stop

  /**
   * The wall clock was stepped by `deltaMs`: deadlines move with it on a
   * local store (`local`), and so does a running `every` occurrence's slot.
   */
  step(deltaMs: number, local: boolean): void {
    if (local) {
      // An outcome waiting to be recorded was computed before the step: its
      // elapsed-time due (an every slot, a retry backoff) moves like the
      // store's records, or the settle would write the old frame over the re-base.
      for (const entry of this.settling.values()) entry.next = shiftDue(entry.next, deltaMs);
    }
    for (const attempt of this.attempts.values()) {
      if (local) {
        // A running `every` occurrence keeps elapsed time too: its outcome's next slot follows from the moved slot.
        attempt.record = shiftDue(attempt.record, deltaMs);
        if (attempt.pending) attempt.pending = shiftDue(attempt.pending, deltaMs);
      }
      if (!attempt.timer) continue;
      attempt.timer.clear();
      if (local) attempt.timeoutAt += deltaMs;
      attempt.timer = this.host.clock.setTimer(attempt.timeoutAt, () => this.timeUp(attempt));
    }
  }

  /** Resolves when every attempt running now has ended. */
  allDone(): Promise<unknown> {
    return Promise.all([...this.attempts.values()].map((a) => a.done));
  }

  /**
   * stop(): aborts what still runs and hands it back. An outcome still
   * waiting to be recorded gets one more try; an unfinished attempt is handed
   * back unclaimed (it does not count): only a crash leaves `running` records.
   */
  handBackAll(): Promise<unknown> {
    const handBacks: Promise<void>[] = [];
    for (const attempt of [...this.attempts.values()]) {
      attempt.abandoned = true;
      attempt.timer?.clear();
      attempt.controller.abort(new SchedulerStoppedError('Attempt aborted: the scheduler stopped before it finished'));
      this.releaseSlot(attempt);
      const r = attempt.record;
      const next = attempt.pending ?? patchRecord(r, { state: 'scheduled', attempt: Math.max(0, r.attempt - 1), token: undefined });
      handBacks.push(this.settleOnce(r, next));
    }
    return Promise.all(handBacks);
  }

  /** One settle attempt, errors swallowed (stop's hand-backs: a failure leaves the job to crash recovery). */
  private async settleOnce(claimed: JobRecord, next: JobRecord): Promise<void> {
    try {
      await this.loop.calls.track(this.host.store.settle(claimed.id, claimed.token as string, next));
    } catch {
      // The record stays `running`; the next open recovers it as lost.
    }
  }

  // ------------------------------------------------------------- losing attempts

  /** The store says this attempt no longer owns its job: abort it; its outcome is not recorded. */
  lost(id: string, token: string, reason: LostReason): void {
    const attempt = this.attempts.get(id);
    if (!attempt || attempt.record.token !== token || attempt.cancelled) return;
    const error =
      reason === 'lease'
        ? new LeaseLostError(`Attempt ${attempt.record.attempt} of job ${id} lost its lease; another process may run the job`)
        : new GodelayqError(
            reason === 'lock'
              ? `Attempt ${attempt.record.attempt} of job ${id} lost the store's lock; its outcome cannot be recorded`
              : `Job ${id} was ${reason} by another process`,
          );
    this.abandon(attempt, error);
    this.host.emit('lost', () => ({ job: this.host.view(attempt.record), reason, error }));
  }

  /** Job `id` was cancelled here: abort its attempt, if running. */
  cancelled(id: string): void {
    const attempt = this.attempts.get(id);
    if (attempt) this.abandon(attempt, new GodelayqError(`Job ${id} was cancelled`));
  }

  /** A running job was replaced by a new one with its id. */
  replaced(id: string): void {
    const attempt = this.attempts.get(id);
    if (!attempt) return;
    const error = new GodelayqError(`Job ${id} was replaced`);
    this.abandon(attempt, error);
    this.host.emit('lost', () => ({ job: this.host.view(attempt.record), reason: 'replaced', error }));
  }

  /**
   * Abort the attempt's signal and free its slot now, so a handler that
   * ignores the signal and never settles cannot hold a slot forever.
   */
  private abandon(attempt: Attempt, reason: Error): void {
    attempt.cancelled = true;
    attempt.timer?.clear();
    attempt.controller.abort(reason);
    this.releaseSlot(attempt);
    this.loop.kick();
  }
}
