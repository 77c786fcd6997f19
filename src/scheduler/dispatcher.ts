/**
 * The dispatch loop of a Scheduler: one timer, the claim loop, clock steps.
 * The attempt lifecycle (run, timeout, settle, retry) is in attempt.ts.
 *
 * HOW
 * - ONE timer, armed for the store's earliest due time (`nextDueAt`). When it
 *   fires (or a handler finishes, a handler is registered, `resume()` is
 *   called) `dispatch` claims what is due: at most the free concurrency, per
 *   name at most the handler's free slots. Claimed jobs are `running` in the
 *   store before their handler starts; Attempts takes them from there.
 *
 * WHY
 * - Steps of the wall clock re-base delays in the store (`Store.shift`)
 *   before anything is claimed, so a delay keeps its elapsed length.
 * - The timer is not armed while every slot is busy: the next completion
 *   dispatches, so a due job that cannot start does not spin a timer.
 */
import { randomBytes } from 'node:crypto';
import { toError } from '../errors.js';
import type { ClockTimer } from '../clock.js';
import type { ClaimRequest, JobRecord, LostReason } from '../store/store.js';
import { shiftDue } from '../store/record.js';
import type { TraceHook } from './trace-hook.js';
import { Attempts, SETTLE_RETRY_FIRST, SETTLE_RETRY_MAX } from './attempt.js';
import { Calls, idleTurn, withDeadline } from './calls.js';
import type { DispatchHost } from './host.js';

const RESOLVED = Promise.resolve();
/** How long after a claim the store refused it is tried again. */
const CLAIM_RETRY_MS = 1000;

/** The earlier of two optional times. */
function earliest(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || (b !== undefined && b < a) ? b : a;
}

/**
 * Attempt tokens: a random per-scheduler prefix and a base-36 counter. A
 * token is only ever compared, so it may stay a rope (ids are joined flat
 * for IdIndex's parse; an array and a join a fire cost more than the rope).
 */
export function tokenFactory(): () => string {
  const prefix = randomBytes(9).toString('base64url');
  let counter = 0;
  return () => prefix + (counter++).toString(36);
}

export class Dispatcher {
  private readonly calls: Calls;
  private readonly attempts: Attempts;
  private readonly missingReported = new Set<string>();
  /** A clock step's re-base the store has not taken yet (retried with backoff). */
  private shiftOwed = 0;
  /** The re-base in flight. */
  private shiftTask: Promise<void> | undefined;
  /** The retry loop is running. */
  private reBasing = false;
  private active = false;
  private paused = false;
  /** The store-wide pause (`pause({ everywhere: true })`), as this process knows it. */
  private pausedEverywhere = false;
  /** Set by stop(): settle retries give up. */
  private halted = false;
  private timer: ClockTimer | undefined;
  private timerAt: number | undefined;
  private dispatching = false;
  private dispatchAgain = false;
  private dispatchQueued = false;
  /**
   * Set from a claim's call until its jobs have begun. A cancel or replace
   * landing then may have ended a job the claim took (the store answered
   * "running") before it had an attempt here to abort.
   */
  private claiming = false;
  /** Ids cancelled or replaced while `claiming` with no attempt to abort: their claimed record must not start (seed 197012713). */
  private readonly endedWhileClaiming = new Set<string>();
  /**
   * Clock steps (ms) taken while a claim was in flight on a local store: the
   * store's re-base moved the records it had claimed, but the claim answers
   * with the records as they were, so they are moved here before they start
   * (or their outcome would write the old frame over the re-base).
   */
  private stepWhileClaiming = 0;
  /** Writes in flight that may end a version running here (holdClaimsFor): no claim until they are told to it. */
  private claimHolds = 0;
  /** Due jobs wait for a rate limit until then (the last claim's `retryAt`): the timer wakes for it too. */
  private limitedUntil: number | undefined;
  /**
   * The store refused the last claim: it is tried again then, and the timer
   * wakes for it whatever else re-arms it. WHY: jobs the refused claim
   * readied stay in the store's ready queues, which `nextDueAt` does not
   * count; a re-arm for the due heap alone (a cancel, an insert) left them
   * waiting for the next due job in the heap (13 minutes in simulation seed
   * 299129367; forever with none).
   */
  private claimRetryAt: number | undefined;
  private release: (() => void) | undefined;
  private stepOff: (() => void) | undefined;
  private readonly newToken: () => string;

  constructor(
    private readonly host: DispatchHost,
    newToken: () => string,
  ) {
    this.newToken = newToken;
    this.calls = new Calls(host.baseClock);
    this.attempts = new Attempts(host, {
      calls: this.calls,
      kick: () => this.kick(),
      checkDrained: () => this.checkDrained(),
      halted: () => this.halted,
      beforeWrite: () => (this.rebasing() ? this.beforeWrite() : undefined),
    });
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

  /** Whether this process starts nothing new: `local` = its own pause, `everywhere` = the store-wide one. */
  isPaused(which: 'local' | 'everywhere'): boolean {
    return which === 'local' ? this.paused : this.pausedEverywhere;
  }

  /** The store-wide pause as this process learned it; resuming kicks a dispatch. */
  setPausedEverywhere(paused: boolean): void {
    if (this.pausedEverywhere === paused) return;
    this.pausedEverywhere = paused;
    if (paused) this.clearTimer();
    else this.kick();
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
    if (this.attempts.running > 0) await this.waitOrExpire(this.attempts.allDone(), attemptsWait);
    await withDeadline(this.attempts.handBackAll(), deadline);
    this.halted = true;
    this.calls.wakeAll();
    await withDeadline(this.calls.settled(), deadline);
    this.release?.();
    this.release = undefined;
    this.paused = false;
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

  /** Installs the tracing seam of godelayq/otel around handler calls (trace-hook.ts). */
  setTraceHook(hook: TraceHook | undefined): void {
    this.attempts.traceHook = hook;
  }

  /** Lateness samples of recent starts, ms. */
  latenessSamples(): number[] {
    return this.attempts.latenessSamples();
  }

  /** True while one-off work remains (for VirtualClock.runAll). */
  hasPendingOneOff(): boolean {
    if (this.attempts.pending) return true;
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
    return this.attempts.current(record);
  }

  /** Counts a store call in flight (stop() waits for it). */
  track<T>(promise: Promise<T>): Promise<T> {
    return this.calls.track(promise);
  }

  // ------------------------------------------------------------- attempts the scheduler ends

  /** The store says this attempt no longer owns its job: abort it; its outcome is not recorded. */
  lost(id: string, token: string, reason: LostReason): void {
    if (!this.attempts.lost(id, token, reason) && (reason === 'cancelled' || reason === 'replaced')) this.endedBeforeStart(id);
  }

  /** Job `id` was cancelled here (`ended`: the record as cancelled): abort its attempt, if running that version. */
  cancelled(id: string, ended: JobRecord): void {
    if (!this.attempts.cancelled(id, ended)) this.endedBeforeStart(id);
  }

  /**
   * A cancel or replace of `id` is about to be written while an attempt of
   * it runs here: no claim starts until the caller has told that attempt
   * (cancelled / replaced) and calls the release this returns. The store
   * frees the job's group slot as it records the change; a claim between
   * that and the abort started the group's next job while the ended one was
   * still running, unaborted (local simulation seed 247032342). Undefined
   * when no attempt of `id` runs here.
   */
  holdClaimsFor(id: string): (() => void) | undefined {
    if (!this.attempts.runs(id)) return undefined;
    this.claimHolds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.claimHolds === 0) this.kick();
    };
  }

  /** A running job (`previous`) was replaced by a new one with its id. */
  replaced(id: string, previous: JobRecord): void {
    if (!this.attempts.replaced(id, previous)) this.endedBeforeStart(id);
  }

  /**
   * A cancel or replace found no attempt of `id` here: if a claim is in
   * flight (or its jobs are beginning) it may hold the ended version, which
   * must not start. Its record goes back, token-checked, instead of running:
   * the store refuses that when the version really ended, and a version the
   * claim took after the change (a new insert) is simply claimed again.
   */
  private endedBeforeStart(id: string): void {
    if (this.claiming) this.endedWhileClaiming.add(id);
  }

  // ------------------------------------------------------------- timer

  /**
   * Runs `dispatch` soon, coalescing many requests into one pass. A resolved
   * promise's `then`, not queueMicrotask (which makes an AsyncResource a call).
   */
  kick(): void {
    if (this.dispatchQueued) return;
    this.dispatchQueued = true;
    void RESOLVED.then(this.kicked);
  }

  private readonly kicked = (): void => {
    this.dispatchQueued = false;
    void this.dispatch();
  };

  private clearTimer(): void {
    this.timer?.clear();
    this.timer = undefined;
    this.timerAt = undefined;
  }

  /** Keeps the one timer armed for the earliest due time, and the process held while there is work. */
  arm(): void {
    this.updateHold();
    if (!this.active || this.paused || this.pausedEverywhere) return;
    if (this.attempts.running >= this.host.concurrency) {
      // Every slot is busy: the next completion dispatches. Arming now would
      // spin on a timer for a job that is already due but cannot start.
      this.clearTimer();
      return;
    }
    // Until a re-base lands, delays may sit at their old wall-clock due times: claim nothing (reBase kicks when done).
    const rebasing = this.rebasing();
    let at = rebasing ? undefined : this.host.store.nextDueAt();
    if (!rebasing) at = earliest(earliest(at, this.limitedUntil), this.claimRetryAt);
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
      this.active && (this.attempts.pending || store.nextDueAt() !== undefined || store.counts().scheduled > 0);
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
      if (this.claiming) this.stepWhileClaiming += deltaMs;
      this.shiftOwed += deltaMs;
      void this.reBase();
    }
    // A settle retry waits elapsed time: it moves with the step rather than wait the step out.
    this.calls.step(deltaMs);
    this.attempts.step(deltaMs, local);
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
          await this.calls.sleep(wait);
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

  /**
   * For a call that writes while a re-base is owed: settles once the re-base
   * lands (undefined) or is refused (`{ error }`), never rejecting. Every
   * such call waits on it, inserts and cancels alike, so they reach the
   * store in call order: a cancel must not overtake an insert of the same
   * id that waits for the re-base (seed 206001968).
   */
  afterRebase(): Promise<{ error: unknown } | undefined> {
    return this.shiftOnce().then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
  }

  // ------------------------------------------------------------- dispatch

  private async dispatch(): Promise<void> {
    if (!this.active || this.paused || this.pausedEverywhere) return;
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    this.host.baseClock.checkStep?.();
    let refused = false;
    let waiting: string[] = [];
    try {
      for (;;) {
        this.dispatchAgain = false;
        const free = this.host.concurrency - this.attempts.running;
        if (free <= 0 || !this.active || this.paused || this.pausedEverywhere || this.rebasing() || this.claimHolds > 0) break;
        const now = this.host.clock.now();
        const request: ClaimRequest = { now, limit: free, capacity: (name) => this.attempts.capacity(name), token: this.newToken, ahead: true };
        this.host.rateLimits.apply(request);
        this.claiming = true;
        const claimed = await this.track(this.host.store.claim(request));
        this.claimRetryAt = undefined;
        waiting = claimed.waiting;
        // Jobs waiting for a rate limit: claim again when the first may start.
        this.limitedUntil = claimed.retryAt;
        const ended = this.endedWhileClaiming;
        const moved = this.stepWhileClaiming;
        this.stepWhileClaiming = 0;
        const at = moved === 0 ? now : this.host.clock.now();
        for (const claimedRecord of claimed.jobs) {
          const record = moved === 0 ? claimedRecord : shiftDue(claimedRecord, moved);
          if (ended.size > 0 && ended.has(record.id)) this.attempts.putBack(record);
          else this.attempts.begin(record, at);
        }
        this.claiming = false;
        ended.clear();
        if (claimed.jobs.length < free && !this.dispatchAgain) break;
      }
    } catch (error) {
      this.host.emit('error', () => ({ error: toError(error) }));
      this.claimRetryAt = this.host.clock.now() + CLAIM_RETRY_MS;
      refused = true;
    } finally {
      this.dispatching = false;
      this.claiming = false;
      this.stepWhileClaiming = 0;
      this.endedWhileClaiming.clear();
    }
    for (const name of waiting) {
      if (!this.host.handlers.has(name) && !this.missingReported.has(name)) {
        this.missingReported.add(name);
        this.host.emit('missingHandler', () => ({ name }));
      }
    }
    if (refused && this.active) {
      this.armAt(this.claimRetryAt as number);
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
    if (!this.attempts.busy || this.attempts.pending || !this.active || this.dispatching) return;
    // Due jobs wait for a rate limit: not drained.
    if (this.limitedUntil !== undefined) return;
    const next = this.host.store.nextDueAt();
    if (next !== undefined && next <= this.host.clock.now()) return;
    this.attempts.busy = false;
    this.host.emit('drained', () => ({}));
  }
}
