/**
 * The attempt lifecycle of a Scheduler: a claimed job is checked (a lost
 * attempt charged, a schedule's misfires planned), run with its timeout and
 * abort signal, and its outcome settled in the store. Which attempts run,
 * their slots, and aborting a lost one are the registry's
 * (attempt-registry.ts), which Attempts extends.
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
import { JobTimeoutError, SchedulerStoppedError, toError } from '../errors.js';
import { planDue } from '../cron.js';
import { patchRecord, shiftDue } from '../store/record.js';
import type { JobRecord } from '../store/store.js';
import type { JsonValue } from '../types.js';
import { toJsonValue } from '../validate.js';
import { AttemptContext, abort } from './context.js';
import type { HandlerEntry } from './host.js';
import { specOf } from './info.js';
import { pushBackOf } from '../control/rate-limit-option.js';
import { pushedBack } from './push-back.js';
import { failed, lostError, succeeded, successView, type Outcome, type Success } from './outcome.js';
import type { TraceHook } from './trace-hook.js';
import { type Attempt, AttemptRegistry } from './attempt-registry.js';

export type { AttemptLoop } from './attempt-registry.js';

const LATENESS_WINDOW = 1024;
const RESOLVED = Promise.resolve();
/** First and longest wait between retries of a settle the store refused, ms. */
export const SETTLE_RETRY_FIRST = 100;
export const SETTLE_RETRY_MAX = 30_000;

export class Attempts extends AttemptRegistry {
  /** Settles in flight (or waiting to be retried) that hold no attempt: misfire replans, lost charges, hand-backs. */
  private readonly settling = new Map<string, { token: string | undefined; next: JobRecord; moved: number; task: Promise<void> }>();
  private readonly lateness: number[] = [];
  private latenessNext = 0;
  /**
   * Attempts whose handler returned a plain value, and the values, in the
   * order their end was queued: each queued microtask ends the oldest
   * (`endReturned`), so no closure is made a fire.
   */
  private readonly returned: Attempt[] = [];
  private readonly returnedValues: unknown[] = [];
  private returnedHead = 0;
  /** Some attempt started since the last `drained`. */
  busy = false;
  /** The tracing seam godelayq/otel installed (trace-hook.ts), if any. */
  traceHook: TraceHook | undefined;

  /** Attempts running or settles aside in flight. */
  get pending(): boolean {
    return this.runningCount > 0 || this.settling.size > 0;
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
      this.putBack(claimed);
      return;
    }
    if (claimed.lost && claimed.attempt > 1) {
      // The store took this attempt back from a process that died (or lost
      // its lease): charge it to the retry policy before anything runs.
      const error = lostError(claimed);
      const outcome = failed(claimed, claimed.attempt - 1, now, error, this.host.retryPolicy(claimed, handler));
      if (outcome.next.state === 'dead') outcome.next = this.host.finished(outcome.next);
      // Reported as recorded: a clock step while the charge waited to be stored moved its retry (seed 234033002).
      this.settleAside(claimed, outcome.next, () => {
        const nextRunAt = outcome.nextRunAt === undefined ? undefined : this.outcomeOf(undefined, claimed, outcome.next).runAt;
        // An `every` slot is elapsed time: a step while the charge waited moved it, as it moves the
        // slot of an occurrence running across a step (local seed 247047301: `dead` named the old
        // frame's slot, and the next slots, re-based, looked to run before it).
        const moved = this.settling.get(claimed.id)?.moved ?? 0;
        const occurrence = moved !== 0 && claimed.recur?.every !== undefined ? patchRecord(outcome.occurrence, { runAt: outcome.occurrence.runAt + moved }) : outcome.occurrence;
        this.emitFailure({ ...outcome, occurrence, ...(nextRunAt === undefined ? {} : { nextRunAt }) }, error);
      });
      return;
    }
    let record = claimed;
    if (record.recur && record.attempt === 1) {
      const recur = record.recur;
      const plan = planDue(specOf(recur), recur.slot, now, { misfire: recur.misfire, graceMs: recur.grace ?? this.host.misfireGraceMs, after: recur.last?.slot });
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
        const emit = (): void => {
          // The catch-up as recorded: a clock step while the plan waited to be
          // stored moved it with the store's records (seed 196013933).
          const stored = this.settling.get(claimed.id)?.next ?? next;
          const runAt = plan.runAt === undefined ? undefined : new Date(stored.runAt);
          this.host.emit('misfired', () => ({ job: this.host.view(claimed), missed, runAt }));
        };
        this.settleUnstarted(claimed, next, missed > 0 ? emit : undefined);
        return;
      }
    }
    if (record.lost) record = patchRecord(record, { lost: undefined });
    this.run(record, handler, now);
  }

  /** A claimed job that must not start now goes back as it was, unstarted and uncharged (token-checked: refused if it ended meanwhile). */
  putBack(claimed: JobRecord): void {
    this.settleUnstarted(claimed, patchRecord(claimed, { state: 'scheduled', attempt: claimed.attempt - 1, token: undefined }));
  }

  private run(record: JobRecord, handler: HandlerEntry, now: number): void {
    // The store handed out again a job still running here: that attempt lost its lease, unheard of yet. Abort it first.
    // Unless its handler has ended: then its outcome is being recorded, and the store's answer says which (supersede).
    const previous = this.attempts.get(record.id);
    if (previous !== undefined) {
      if (previous.ended) this.supersede(previous);
      else this.lost(record.id, previous.record.token ?? '', 'lease');
    }
    this.busy = true;
    this.runningByName.set(record.name, (this.runningByName.get(record.name) ?? 0) + 1);
    const lateness = Math.max(0, now - record.runAt);
    this.lateness[this.latenessNext] = lateness;
    this.latenessNext = (this.latenessNext + 1) % LATENESS_WINDOW;
    const attempt: Attempt = {
      record,
      handler,
      controller: undefined,
      aborted: false,
      abortReason: undefined,
      startedAt: now,
      timer: undefined,
      timeoutAt: 0,
      ended: false,
      finished: false,
      waiters: undefined,
      cancelled: false,
      superseded: false,
      abandoned: false,
      pending: undefined,
      reporter: undefined,
      order: this.started++,
    };
    if (this.attempts.set(record.id, attempt) === undefined) this.runningCount++;
    if (this.host.wants('started')) this.host.emit('started', () => ({ job: this.host.view(record), lateness }));
    const timeout = record.timeout ?? handler.timeout ?? this.host.timeoutDefault;
    if (timeout !== undefined) {
      attempt.timeoutAt = now + timeout;
      attempt.timer = this.host.clock.setTimer(attempt.timeoutAt, () => this.timeUp(attempt));
    }
    const context = new AttemptContext(record, attempt, this.host);
    let result: unknown;
    try {
      const hook = this.traceHook;
      result = hook === undefined ? handler.fn(context) : hook.run(context, record.trace, () => handler.fn(context));
    } catch (error) {
      this.end(attempt, false, error);
      return;
    }
    if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
      // A synchronous handler's value (no thenable): one microtask, queued
      // where Promise.resolve(result).then would queue it, so outcomes keep
      // their order (and every attempt of a batch starts before any ends).
      // Not queueMicrotask: it makes an AsyncResource a call.
      this.returned.push(attempt);
      this.returnedValues.push(result);
      void RESOLVED.then(this.endReturned);
      return;
    }
    Promise.resolve(result).then(
      (value) => this.end(attempt, true, value),
      (error: unknown) => this.end(attempt, false, error),
    );
  }

  /** Ends the oldest attempt whose handler returned a plain value (see `returned`). */
  private readonly endReturned = (): void => {
    const i = this.returnedHead;
    const attempt = this.returned[i] as Attempt;
    const value = this.returnedValues[i];
    if (i + 1 === this.returned.length) {
      this.returned.length = 0;
      this.returnedValues.length = 0;
      this.returnedHead = 0;
    } else {
      this.returned[i] = undefined as unknown as Attempt;
      this.returnedValues[i] = undefined;
      this.returnedHead = i + 1;
    }
    this.end(attempt, true, value);
  };

  /** Ends the attempt once (its handler settled, or it timed out) and records the outcome. */
  private end(attempt: Attempt, ok: boolean, value: unknown): void {
    if (attempt.ended) return;
    attempt.ended = true;
    attempt.timer?.clear();
    let pending: Promise<void> | undefined;
    try {
      // Reports the handler made go into the record its outcome is built from.
      const reporter = attempt.reporter;
      pending = reporter === undefined ? this.recordOutcome(attempt, ok, value) : reporter.idle()
              .then(() => this.recordOutcome(attempt, ok, value))
              .catch((error: unknown) => this.host.emit('error', () => ({ error: toError(error), jobId: attempt.record.id })));
    } finally {
      if (pending === undefined) this.finish(attempt);
      else void pending.finally(() => this.finish(attempt));
    }
  }

  /** The attempt's outcome is recorded (or given up): wake stop()'s waiters. */
  private finish(attempt: Attempt): void {
    attempt.finished = true;
    if (attempt.superseded) this.settledSuperseded(attempt);
    if (attempt.waiters) for (const resolve of attempt.waiters) resolve();
  }

  private timeUp(attempt: Attempt): void {
    const timeout = attempt.timeoutAt - attempt.startedAt;
    const error = new JobTimeoutError(timeout);
    abort(attempt, error);
    this.end(attempt, false, error);
  }

  /** Decides and records the outcome; undefined when it is already recorded (a store that settles at once). */
  private recordOutcome(attempt: Attempt, ok: boolean, value: unknown): Promise<void> | undefined {
    if (attempt.abandoned) return undefined;
    if (attempt.cancelled) {
      this.releaseSlot(attempt);
      this.loop.kick();
      return undefined;
    }
    const { record, handler } = attempt;
    const now = this.host.clock.now();
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
      const success = succeeded(record, now, result);
      if (success.next.state === 'completed') success.next = this.host.finished(success.next);
      attempt.pending = success.next;
      // settleAttempt inlined: a store that settles at once (MemoryStore) needs no closure for the
      // event, and none is built when no one listens.
      const settled = this.settleSync(attempt, record, success.next);
      if (settled === undefined) return this.settle(attempt, record, success.next, () => this.emitCompleted(attempt, record, success, now, result, value));
      this.releaseSlot(attempt);
      if (settled) this.emitCompleted(attempt, record, success, now, result, value);
      this.loop.kick();
      return undefined;
    }
    const delayMs = pushBackOf(value);
    if (delayMs !== undefined) return this.pushBack(attempt, now, delayMs);
    const error = toError(value);
    const outcome = failed(record, record.attempt, now, error, this.host.retryPolicy(record, handler));
    if (outcome.next.state === 'dead') outcome.next = this.host.finished(outcome.next);
    attempt.pending = outcome.next;
    return this.settleAttempt(attempt, record, outcome.next, () => {
      const recorded = attempt.pending ?? outcome.next;
      const nextRunAt = outcome.nextRunAt === undefined ? undefined : recorded.runAt;
      this.emitFailure(nextRunAt === undefined ? outcome : { ...outcome, nextRunAt }, error);
    });
  }

  /**
   * settle() for a finished attempt: at once on a store that settles
   * synchronously (no promise hop per fire); a throw there falls back to
   * settle's report-and-retry loop.
   */
  private settleAttempt(attempt: Attempt, claimed: JobRecord, next: JobRecord, emit: () => void): Promise<void> | undefined {
    const settled = this.settleSync(attempt, claimed, next);
    if (settled === undefined) return this.settle(attempt, claimed, next, emit);
    this.releaseSlot(attempt);
    if (settled) emit();
    this.loop.kick();
    return undefined;
  }

  /** `completed` for a success the store recorded (its payload built only when someone listens). */
  private emitCompleted(attempt: Attempt, record: JobRecord, success: Success, now: number, result: JsonValue | undefined, value: unknown): void {
    if (!this.host.wants('completed')) return;
    // What was recorded: a clock step during the settle moved an elapsed-time due (see step).
    const recorded = attempt.pending ?? success.next;
    const nextRunAt = success.nextRunAt === undefined ? undefined : recorded.runAt;
    const durationMs = now - attempt.startedAt;
    this.host.emit('completed', () => ({
      name: record.name,
      job: this.host.view(successView(record, now, result), nextRunAt === undefined ? null : new Date(nextRunAt)),
      result: value,
      durationMs,
      ...(nextRunAt === undefined ? {} : { nextRunAt: new Date(nextRunAt) }),
    }));
  }

  /** The store's settleSync: whether it settled, or undefined when it cannot settle at once (or threw: settle's loop retries). */
  private settleSync(attempt: Attempt, claimed: JobRecord, next: JobRecord): boolean | undefined {
    const store = this.host.store;
    const settleSync = store.settleSync;
    // An owed clock-step re-base lands first (settle's loop waits for it).
    if (settleSync === undefined || this.loop.beforeWrite() !== undefined) return undefined;
    try {
      return settleSync.call(store, claimed.id, claimed.token as string, attempt.pending ?? next);
    } catch {
      return undefined;
    }
  }

  /**
   * The handler said the remote side pushed back (RateLimitError): no job of
   * its name starts for `delayMs` (in every process, when the store supports
   * it), and the job waits without counting this attempt.
   */
  private async pushBack(attempt: Attempt, now: number, delayMs: number): Promise<void> {
    const { record } = attempt;
    const until = now + delayMs;
    const store = this.host.store;
    let held = false;
    if (store.features?.rateLimits === true && store.pushBack) {
      try {
        await this.loop.calls.track(store.pushBack(record.name, until));
        held = true;
      } catch (error) {
        // The job still waits (its own runAt moves); only the other jobs of its name may start meanwhile.
        this.host.emit('error', () => ({ error: toError(error), jobId: record.id }));
      }
    }
    const next = pushedBack(record, until, held);
    attempt.pending = next;
    await this.settle(attempt, record, next, () => {
      this.host.emit('rateLimited', () => ({ job: this.host.view(next), delayMs, until: new Date(until) }));
    });
  }

  private emitFailure(outcome: Outcome, error: Error): void {
    const { occurrence, nextRunAt } = outcome;
    const next = nextRunAt === undefined ? undefined : new Date(nextRunAt);
    if (outcome.backoffError !== undefined) {
      this.host.emit('error', () => ({ error: toError(outcome.backoffError), jobId: occurrence.id }));
    }
    if (!this.host.wants('failed') && !this.host.wants(outcome.willRetry ? 'retrying' : 'dead')) return;
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

  /**
   * settleAside for a claim that ends without starting its job (a misfire
   * plan, a put-back): its start first leaves the rate windows the claim
   * counted it in, so the job, claimed again, is not held back by its own
   * unstarted claim. Without it, a schedule on a name whose window freed
   * slower than the schedule's interval was late at every claim, planned
   * again, and never ran, each claim spending a start (local simulation
   * seed 229).
   */
  private settleUnstarted(claimed: JobRecord, next: JobRecord, emit?: () => void): void {
    const store = this.host.store;
    const token = claimed.token;
    let refund: Promise<void> | void = undefined;
    if (store.features?.rateLimits === true && store.refundStart !== undefined && token !== undefined && this.host.rateLimits.counts(claimed.name)) {
      try {
        refund = store.refundStart(claimed.name, token);
      } catch (error) {
        this.host.emit('error', () => ({ error: toError(error), jobId: claimed.id }));
      }
    }
    // A refund that fails leaves the start counted: the window frees later, nothing else.
    const before = refund?.catch((error: unknown) => this.host.emit('error', () => ({ error: toError(error), jobId: claimed.id })));
    this.settleAside(claimed, next, emit, before && this.loop.calls.track(before));
  }

  /** A settle of a claimed job that never ran (it holds no slot), after `before` when given (it never rejects). */
  private settleAside(claimed: JobRecord, next: JobRecord, emit?: () => void, before?: Promise<void>): void {
    const entry = { token: claimed.token, next, moved: 0, task: Promise.resolve() };
    const settle = (): Promise<void> => this.settle(undefined, claimed, next, emit);
    entry.task = (before === undefined ? settle() : before.then(settle)).finally(() => {
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
      for (const entry of this.settling.values()) {
        entry.next = shiftDue(entry.next, deltaMs);
        entry.moved += deltaMs;
      }
    }
    for (const attempt of this.live()) {
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

  /**
   * stop(): aborts what still runs and hands it back. An outcome still
   * waiting to be recorded gets one more try; an unfinished attempt is handed
   * back unclaimed (it does not count): only a crash leaves `running` records.
   */
  handBackAll(): Promise<unknown> {
    const handBacks: Promise<void>[] = [];
    for (const attempt of this.live()) {
      attempt.abandoned = true;
      attempt.timer?.clear();
      abort(attempt, new SchedulerStoppedError('Attempt aborted: the scheduler stopped before it finished'));
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
}
