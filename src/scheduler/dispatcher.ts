/**
 * The dispatch loop and the attempt lifecycle of a Scheduler.
 *
 * HOW
 * - ONE timer, armed for the store's earliest due time (`nextDueAt`). When it
 *   fires (or a handler finishes, a handler is registered, `resume()` is
 *   called) `dispatch` claims what is due: at most the free concurrency, per
 *   name at most the handler's free slots. Claimed jobs are `running` in the
 *   store before their handler starts.
 * - A claimed job is first checked: an attempt the store took back from a
 *   dead process (`lost`) is charged to the retry policy; a schedule's
 *   occurrence is planned for misfires. Either may settle it without running.
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
 * - Steps of the wall clock re-base delays in the store (`Store.shift`)
 *   before anything is claimed, so a delay keeps its elapsed length.
 */
import { GodelayqError, JobTimeoutError, LeaseLostError, SchedulerStoppedError, toError } from '../errors.js';
import type { Clock, ClockTimer } from '../clock.js';
import { planDue } from '../cron.js';
import { patchRecord, shiftEvery } from '../store/record.js';
import type { JobRecord, LostReason, Store } from '../store/store.js';
import type { HandlerRetryOptions, JobContext, JsonValue } from '../types.js';
import { toJsonValue } from '../validate.js';
import { specOf } from './info.js';
import { failed, lostError, slotOf, succeeded, type Outcome } from './outcome.js';

export interface HandlerEntry {
  fn: (job: JobContext<unknown, string>) => unknown;
  concurrency: number;
  retry: HandlerRetryOptions | undefined;
  timeout: number | undefined;
}

/** What the dispatcher needs from its Scheduler. */
export interface DispatchHost {
  readonly store: Store;
  /** Job times (the store's clock when it has one). */
  readonly clock: Clock;
  /** What waits are measured on (retry sleeps). */
  readonly baseClock: Clock;
  readonly concurrency: number;
  readonly timeoutDefault: number | undefined;
  readonly misfireGraceMs: number;
  readonly maxPayloadBytes: number;
  /** Keep the process alive while there is work. */
  readonly holdProcess: boolean;
  readonly handlers: ReadonlyMap<string, HandlerEntry>;
  retryPolicy(record: JobRecord, handler: HandlerEntry | undefined): HandlerRetryOptions;
  /** Emits `type` with the payload `make` builds, if anyone listens. */
  emit(type: string, make: () => object): void;
  /** A JobInfo; `nextRunAt` overrides a schedule's next run (occurrence views). */
  view(record: JobRecord, nextRunAt?: Date | null): object;
}

interface Sleeper {
  /** When it wakes, on the base clock. */
  at: number;
  timer: ClockTimer;
  wake: () => void;
}

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
}

const LATENESS_WINDOW = 1024;
/** First and longest wait between retries of a settle the store refused, ms. */
const SETTLE_RETRY_FIRST = 100;
const SETTLE_RETRY_MAX = 30_000;

export class Dispatcher {
  private readonly attempts = new Map<string, Attempt>();
  private readonly runningByName = new Map<string, number>();
  /** Settles in flight (or waiting to be retried) that hold no attempt: misfire replans, lost charges, hand-backs. */
  private readonly settling = new Map<string, { token: string | undefined; next: JobRecord; task: Promise<void> }>();
  private readonly missingReported = new Set<string>();
  private readonly lateness: number[] = [];
  private latenessNext = 0;
  private pendingOps = 0;
  private readonly opsIdle: (() => void)[] = [];
  private readonly sleepers = new Set<Sleeper>();
  /** A clock step's re-base the store has not taken yet (retried with backoff). */
  private shiftOwed = 0;
  /** The re-base in flight. */
  private shiftTask: Promise<void> | undefined;
  /** The retry loop is running. */
  private reBasing = false;
  private active = false;
  private paused = false;
  /** Set by stop(): settle retries give up. */
  private halted = false;
  private timer: ClockTimer | undefined;
  private timerAt: number | undefined;
  private dispatching = false;
  private dispatchAgain = false;
  private dispatchQueued = false;
  private busy = false;
  private release: (() => void) | undefined;
  private stepOff: (() => void) | undefined;
  private readonly newToken: () => string;

  constructor(
    private readonly host: DispatchHost,
    newToken: () => string,
  ) {
    this.newToken = newToken;
  }

  // ------------------------------------------------------------- lifecycle

  start(): void {
    this.active = true;
    this.halted = false;
    this.stepOff = this.host.baseClock.onStep?.((delta) => this.onStep(delta));
    if (this.shiftOwed !== 0) void this.reBase();
    this.kick();
  }

  pause(): void {
    this.paused = true;
    this.clearTimer();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.kick();
  }

  /**
   * Stops dispatching; waits for running attempts until `attemptsBy` (on the
   * clock or in real time, whichever ends first); aborts and hands back the
   * rest; waits for store calls in flight until `deadline` (real time).
   */
  async stop(attemptsWait: number, deadline: number): Promise<void> {
    this.active = false;
    this.clearTimer();
    this.stepOff?.();
    this.stepOff = undefined;
    while (this.dispatching && Date.now() < deadline) await idleTurn();
    const running = [...this.attempts.values()];
    if (running.length > 0) await this.waitOrExpire(Promise.all(running.map((a) => a.done)), attemptsWait);
    const handBacks: Promise<void>[] = [];
    for (const attempt of [...this.attempts.values()]) {
      attempt.abandoned = true;
      attempt.timer?.clear();
      attempt.controller.abort(new SchedulerStoppedError('Attempt aborted: the scheduler stopped before it finished'));
      this.releaseSlot(attempt);
      // An outcome still waiting to be recorded gets one more try; an
      // unfinished attempt is handed back unclaimed (it does not count):
      // only a crash leaves `running` records.
      const r = attempt.record;
      const next = attempt.pending ?? patchRecord(r, { state: 'scheduled', attempt: Math.max(0, r.attempt - 1), token: undefined });
      handBacks.push(this.settleOnce(r, next));
    }
    await withDeadline(Promise.all(handBacks), deadline);
    this.halted = true;
    for (const sleeper of [...this.sleepers]) sleeper.wake();
    await withDeadline(this.opsSettled(), deadline);
    this.release?.();
    this.release = undefined;
    this.paused = false;
  }

  /** One settle attempt, errors swallowed (stop's hand-backs: a failure leaves the job to crash recovery). */
  private async settleOnce(claimed: JobRecord, next: JobRecord): Promise<void> {
    try {
      await this.track(this.host.store.settle(claimed.id, claimed.token as string, next));
    } catch {
      // The record stays `running`; the next open recovers it as lost.
    }
  }

  private waitOrExpire(work: Promise<unknown>, ms: number): Promise<void> {
    // On the scheduler's clock or in real time, whichever ends first: a
    // VirtualClock nobody advances must not hang stop().
    let expire: ClockTimer | undefined;
    let realTimer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      expire = this.host.clock.setTimer(this.host.clock.now() + ms, resolve);
      realTimer = setTimeout(resolve, ms);
    });
    return Promise.race([work.then(() => undefined), expired]).finally(() => {
      expire?.clear();
      clearTimeout(realTimer);
    });
  }

  // ------------------------------------------------------------- queries

  /** Lateness samples of recent starts, ms. */
  latenessSamples(): number[] {
    return this.lateness.slice();
  }

  /** True while one-off work remains (for VirtualClock.runAll). */
  hasPendingOneOff(): boolean {
    if (this.attempts.size > 0 || this.settling.size > 0) return true;
    const c = this.host.store.counts();
    // Schedules alone do not count as pending work.
    return c.scheduled > c.recurring;
  }

  /**
   * The record as this process knows it now: for a claimed job, the record
   * its replan (or lost charge) is settling to, or its running attempt's
   * record (a schedule's planned slot). Never waits: a settle held up by a
   * full disk must not hold up reads.
   */
  current(record: JobRecord): JobRecord {
    if (record.state !== 'running') return record;
    const pending = this.settling.get(record.id);
    if (pending && pending.token === record.token) return pending.next;
    const attempt = this.attempts.get(record.id);
    if (attempt && record.state === 'running' && attempt.record.token === record.token) return attempt.record;
    return record;
  }

  // ------------------------------------------------------------- timer

  /** Runs `dispatch` soon, coalescing many requests into one pass. */
  kick(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    queueMicrotask(() => {
      this.dispatchQueued = false;
      void this.dispatch();
    });
  }

  private clearTimer(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.timerAt = undefined;
  }

  /** Keeps the one timer armed for the earliest due time, and the process held while there is work. */
  arm(): void {
    this.updateHold();
    if (!this.active || this.paused) return;
    if (this.attempts.size >= this.host.concurrency) {
      // Every slot is busy: the next completion dispatches. Arming now would
      // spin on a timer for a job that is already due but cannot start.
      this.clearTimer();
      return;
    }
    // Until a re-base lands, delays may sit at their old wall-clock due times: claim nothing (reBase kicks when done).
    const at = this.rebasing() ? undefined : this.host.store.nextDueAt();
    if (at === undefined) {
      this.clearTimer();
      return;
    }
    if (this.timerAt === at && this.timer) return;
    this.armAt(at);
  }

  private armAt(at: number): void {
    this.clearTimer();
    this.timerAt = at;
    this.timer = this.host.clock.setTimer(at, () => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.kick();
    });
  }

  private updateHold(): void {
    if (!this.host.holdProcess) return;
    const store = this.host.store;
    const want =
      this.active && (this.attempts.size > 0 || this.settling.size > 0 || store.nextDueAt() !== undefined || store.counts().scheduled > 0);
    if (want && !this.release) this.release = this.host.baseClock.hold?.();
    else if (!want && this.release) {
      this.release();
      this.release = undefined;
    }
  }

  /** The wall clock was stepped: re-base delays, move attempt deadlines, re-arm. */
  private onStep(deltaMs: number): void {
    this.host.emit('clockChanged', () => ({ deltaMs }));
    const store = this.host.store;
    // A shared store's records are in its server's frame: a local step moves none of them.
    const local = typeof store.now !== 'function';
    if (local && store.shift) {
      this.shiftOwed += deltaMs;
      void this.reBase();
    }
    for (const sleeper of this.sleepers) {
      // A settle retry waits elapsed time: it moves with the step rather than wait the step out.
      sleeper.timer.clear();
      sleeper.at += deltaMs;
      sleeper.timer = this.host.baseClock.setTimer(sleeper.at, () => sleeper.wake());
    }
    for (const attempt of this.attempts.values()) {
      // A running `every` occurrence keeps elapsed time too: its outcome's next slot follows from the moved slot.
      const recur = attempt.record.recur;
      if (local && recur?.every !== undefined) {
        attempt.record = patchRecord(attempt.record, { runAt: attempt.record.runAt + deltaMs, recur: shiftEvery(recur, deltaMs) });
      }
      if (!attempt.timer) continue;
      attempt.timer.clear();
      if (local) attempt.timeoutAt += deltaMs;
      attempt.timer = this.host.clock.setTimer(attempt.timeoutAt, () => this.timeUp(attempt));
    }
    this.clearTimer();
    this.arm();
    this.kick();
  }

  /** A clock step's re-base is owed to the store or in flight. */
  rebasing(): boolean {
    return this.shiftTask !== undefined || this.shiftOwed !== 0;
  }

  /**
   * Hands the owed re-base to the store (one flight at a time; steps taken
   * meanwhile are added). A refused shift changed nothing (the store undoes
   * a failed write, or stops writing for good) and stays owed.
   */
  private shiftOnce(): Promise<void> {
    const store = this.host.store;
    if (!this.shiftTask && store.shift) {
      const shift = store.shift.bind(store);
      this.shiftTask = (async () => {
        while (this.shiftOwed !== 0) {
          const delta = this.shiftOwed;
          this.shiftOwed = 0;
          try {
            await this.track(shift(delta));
          } catch (error) {
            this.shiftOwed += delta;
            throw error;
          }
        }
      })().finally(() => {
        this.shiftTask = undefined;
      });
    }
    return this.shiftTask ?? Promise.resolve();
  }

  /**
   * Retries the owed re-base with backoff until it lands, so no delay keeps
   * its old wall-clock due time; nothing is claimed meanwhile.
   */
  private async reBase(): Promise<void> {
    if (this.reBasing) return;
    this.reBasing = true;
    let wait = SETTLE_RETRY_FIRST;
    try {
      while (this.rebasing() && !this.halted) {
        try {
          await this.shiftOnce();
        } catch (error) {
          this.host.emit('error', () => ({ error: toError(error) }));
          if (!this.active) break;
          await this.sleep(wait);
          wait = Math.min(SETTLE_RETRY_MAX, wait * 2);
        }
      }
    } finally {
      this.reBasing = false;
      this.arm();
      this.kick();
    }
  }

  /**
   * Before a write that stores new due times: an owed re-base lands first,
   * or the write is refused with its error (and changes nothing). A re-base
   * landing after the write would move its fresh delay by a step it never saw.
   */
  beforeWrite(): Promise<void> {
    return this.shiftOnce();
  }

  // ------------------------------------------------------------- dispatch

  private capacity(name: string): number {
    const handler = this.host.handlers.get(name);
    if (!handler) return 0;
    return handler.concurrency - (this.runningByName.get(name) ?? 0);
  }

  private async dispatch(): Promise<void> {
    if (!this.active || this.paused) return;
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    this.host.baseClock.checkStep?.();
    let retryAt: number | undefined;
    let waiting: string[] = [];
    try {
      for (;;) {
        this.dispatchAgain = false;
        const free = this.host.concurrency - this.attempts.size;
        if (free <= 0 || !this.active || this.paused || this.rebasing()) break;
        const now = this.host.clock.now();
        const claimed = await this.track(
          this.host.store.claim({ now, limit: free, capacity: (name) => this.capacity(name), token: this.newToken, ahead: true }),
        );
        waiting = claimed.waiting;
        for (const record of claimed.jobs) this.begin(record, now);
        if (claimed.jobs.length < free && !this.dispatchAgain) break;
      }
    } catch (error) {
      this.host.emit('error', () => ({ error: toError(error) }));
      retryAt = this.host.clock.now() + 1000;
    } finally {
      this.dispatching = false;
    }
    for (const name of waiting) {
      if (!this.host.handlers.has(name) && !this.missingReported.has(name)) {
        this.missingReported.add(name);
        this.host.emit('missingHandler', () => ({ name }));
      }
    }
    if (retryAt !== undefined && this.active) {
      this.armAt(retryAt);
      return;
    }
    if (this.dispatchAgain) this.kick();
    this.arm();
    this.checkDrained();
  }

  /** A handler was registered for `name`: report it missing again if it goes away. */
  handlerRegistered(name: string): void {
    this.missingReported.delete(name);
    this.kick();
  }

  private checkDrained(): void {
    // A claim in flight may be starting work: dispatch checks again when it ends.
    if (!this.busy || this.attempts.size > 0 || this.settling.size > 0 || !this.active || this.dispatching) return;
    const next = this.host.store.nextDueAt();
    if (next !== undefined && next <= this.host.clock.now()) return;
    this.busy = false;
    this.host.emit('drained', () => ({}));
  }

  /** Starts a claimed job, or settles it without running (lost attempt charged, misfire skipped, handler gone). */
  private begin(claimed: JobRecord, now: number): void {
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

  // ------------------------------------------------------------- attempts

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
    };
    this.attempts.set(record.id, attempt);
    this.host.emit('started', () => ({ job: this.host.view(record), lateness }));

    let ended = false;
    const end = (ok: boolean, value: unknown): void => {
      if (ended) return;
      ended = true;
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
    const context: JobContext<unknown, string> = Object.freeze({
      id: record.id,
      name: record.name,
      payload,
      attempt: record.attempt,
      runAt: new Date(slotOf(record)),
      token: record.token as string,
      // A getter: creating the AbortSignal costs ~2 us and ~1.4 KB, and most handlers never read it.
      get signal(): AbortSignal {
        return controller.signal;
      },
    });
    try {
      const result = handler.fn(context);
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
      this.kick();
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
      if (error === undefined) {
        this.host.emit('completed', () => ({
          name: record.name,
          job: this.host.view(outcome.occurrence, outcome.nextRunAt === undefined ? null : new Date(outcome.nextRunAt)),
          result: value,
          durationMs,
          ...(outcome.nextRunAt === undefined ? {} : { nextRunAt: new Date(outcome.nextRunAt) }),
        }));
      } else this.emitFailure(outcome, error);
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
        settled = await this.track(this.host.store.settle(claimed.id, token, next));
        recorded = true;
        break;
      } catch (error) {
        this.host.emit('error', () => ({ error: toError(error), jobId: claimed.id }));
        if (this.halted || attempt?.cancelled || attempt?.abandoned) break;
        await this.sleep(wait);
        wait = Math.min(SETTLE_RETRY_MAX, wait * 2);
        if (this.halted || attempt?.cancelled || attempt?.abandoned) break;
      }
    }
    if (attempt) this.releaseSlot(attempt);
    if (recorded && settled) emit?.();
    this.kick();
  }

  /** A settle of a claimed job that never ran (it holds no slot). */
  private settleAside(claimed: JobRecord, next: JobRecord, emit?: () => void): void {
    const entry = { token: claimed.token, next, task: Promise.resolve() };
    entry.task = this.settle(undefined, claimed, next, emit).finally(() => {
      if (this.settling.get(claimed.id) === entry) this.settling.delete(claimed.id);
      this.checkDrained();
    });
    this.settling.set(claimed.id, entry);
  }

  /** Waits `ms` of elapsed time: a step of the wall clock moves the wake-up with it (onStep). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const clock = this.host.baseClock;
      const sleeper: Sleeper = {
        at: clock.now() + ms,
        timer: undefined as unknown as ClockTimer,
        wake: (): void => {
          sleeper.timer.clear();
          this.sleepers.delete(sleeper);
          resolve();
        },
      };
      sleeper.timer = clock.setTimer(sleeper.at, () => sleeper.wake());
      this.sleepers.add(sleeper);
    });
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
    this.kick();
  }

  // ------------------------------------------------------------- store calls

  /** Store calls in flight are counted so stop() can wait for them without per-call allocations. */
  async track<T>(promise: Promise<T>): Promise<T> {
    this.pendingOps++;
    try {
      return await promise;
    } finally {
      if (--this.pendingOps === 0 && this.opsIdle.length > 0) {
        for (const resolve of this.opsIdle.splice(0)) resolve();
      }
    }
  }

  private opsSettled(): Promise<void> {
    if (this.pendingOps === 0) return Promise.resolve();
    return new Promise((resolve) => this.opsIdle.push(resolve));
  }
}

function idleTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `work`, or whatever is done of it by `deadline` (real time, epoch ms). */
export function withDeadline(work: Promise<unknown>, deadline: number): Promise<boolean> {
  // Even past the deadline the work gets one turn: a store that closes at once still closes.
  const left = Math.max(0, deadline - Date.now());
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), left);
  });
  return Promise.race([work.then(() => true, () => true), expired]).finally(() => clearTimeout(timer));
}
