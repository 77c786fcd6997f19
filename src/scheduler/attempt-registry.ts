/**
 * The running-attempt registry behind Attempts (attempt.ts, which extends
 * it with the attempt lifecycle): which attempts run here, the concurrency
 * slots they hold (in all and by name), and aborting one whose job the store
 * took away from it (lost, cancelled, replaced).
 */
import { GodelayqError, LeaseLostError } from '../errors.js';
import type { ClockTimer } from '../clock.js';
import type { JobRecord, LostReason } from '../store/store.js';
import type { Calls } from './calls.js';
import { abort, type ContextAttempt } from './context.js';
import type { DispatchHost, HandlerEntry } from './host.js';
import { IdTable } from './id-table.js';

export interface Attempt extends ContextAttempt {
  record: JobRecord;
  handler: HandlerEntry;
  startedAt: number;
  timer: ClockTimer | undefined;
  timeoutAt: number;
  /** The handler settled or timed out: later ends are ignored. */
  ended: boolean;
  /** Its outcome is recorded (or given up): stop() waits for this. */
  finished: boolean;
  /** stop()'s waiters for `finished`. */
  waiters: (() => void)[] | undefined;
  /** Cancelled, replaced or lost: its outcome is ignored. */
  cancelled: boolean;
  /**
   * Its handler ended and its outcome was being recorded when the store
   * handed the job to this process again (see Attempts.run): it gave up its
   * slot to the new attempt and waits, by token, for its settle's answer.
   */
  superseded: boolean;
  /** Given up by stop(): its outcome is ignored. */
  abandoned: boolean;
  /** The outcome's record while its settle is in flight or being retried. */
  pending: JobRecord | undefined;
  /** Started after every attempt with a lower number (`live` lists them in start order). */
  order: number;
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

export class AttemptRegistry {
  /** Running attempts by job id (id-table.ts says why not a Map). */
  protected readonly attempts = new IdTable<Attempt>();
  protected runningCount = 0;
  protected started = 0;
  /** Running attempts by name (a name stays at 0: see `attempts` for why entries are not deleted). */
  protected readonly runningByName = new Map<string, number>();
  /** Superseded attempts whose settle has not ended, by token (see Attempt.superseded). */
  protected readonly superseded = new Map<string, Attempt>();

  constructor(
    protected readonly host: DispatchHost,
    protected readonly loop: AttemptLoop,
  ) {}

  /** Attempts running (each holds a concurrency slot). */
  get running(): number {
    return this.runningCount;
  }

  /** The attempts running now, in the order they started. */
  protected live(): Attempt[] {
    return [...this.attempts.values()].sort((a, b) => a.order - b.order);
  }

  /** Free slots of `name` (its handler's limit less its running attempts); 0 without a handler. */
  capacity(name: string): number {
    const handler = this.host.handlers.get(name);
    if (!handler) return 0;
    return handler.concurrency - (this.runningByName.get(name) ?? 0);
  }

  /** Whether an attempt of job `id` runs (or is being settled) here. */
  runs(id: string): boolean {
    return this.attempts.get(id) !== undefined;
  }

  /** Frees the attempt's slot (once: a later call finds it gone). */
  protected releaseSlot(attempt: Attempt): void {
    if (!this.attempts.delete(attempt.record.id, attempt)) return;
    this.runningCount--;
    const name = attempt.record.name;
    this.runningByName.set(name, Math.max(0, (this.runningByName.get(name) ?? 1) - 1));
  }

  /** Resolves when every attempt running now has ended. */
  allDone(): Promise<unknown> {
    const waits: Promise<void>[] = [];
    for (const attempt of [...this.live(), ...this.superseded.values()]) {
      if (!attempt.finished) waits.push(new Promise<void>((resolve) => (attempt.waiters ??= []).push(resolve)));
    }
    return Promise.all(waits);
  }

  // ------------------------------------------------------------- losing attempts

  /** The store says this attempt no longer owns its job: abort it; its outcome is not recorded. */
  /** Returns false when no attempt of `id` runs here (nothing to abort). */
  lost(id: string, token: string, reason: LostReason): boolean {
    const old = this.superseded.get(token);
    if (old !== undefined) {
      // Its handler has ended: nothing to abort, no slot to free; its outcome will not be recorded.
      this.superseded.delete(token);
      if (old.cancelled) return true;
      old.cancelled = true;
      const error = lostError(old, id, reason);
      this.host.emit('lost', () => ({ job: this.host.view(old.record), reason, error }));
      return true;
    }
    const attempt = this.attempts.get(id);
    if (!attempt) return false;
    if (attempt.record.token !== token || attempt.cancelled) return true;
    const error = lostError(attempt, id, reason);
    this.abandon(attempt, error);
    this.host.emit('lost', () => ({ job: this.host.view(attempt.record), reason, error }));
    return true;
  }

  /**
   * The store handed job `previous.record.id` to this process again while
   * `previous`, its handler ended, was having its outcome recorded. Either
   * that outcome landed first (a schedule's next run, claimed with the
   * settle or just after it) or the lease had lapsed (the settle is refused,
   * and the store reports the loss by token: see lost). Until the answer
   * comes nothing is lost, so nothing is aborted or reported now; the slot
   * goes to the new attempt.
   */
  protected supersede(previous: Attempt): void {
    previous.superseded = true;
    if (previous.record.token !== undefined) this.superseded.set(previous.record.token, previous);
    this.releaseSlot(previous);
  }

  /** A superseded attempt's settle ended (its answer, whatever it was, is in). */
  protected settledSuperseded(attempt: Attempt): void {
    const token = attempt.record.token;
    if (token !== undefined && this.superseded.get(token) === attempt) this.superseded.delete(token);
  }

  /**
   * Job `id` was cancelled here (`ended`: the record the store cancelled):
   * abort its attempt, if one runs that version. Returns false when none
   * does. WHY the version check: the cancel waited for the store, and a job
   * inserted meanwhile under the same id (onDuplicate 'replace') may already
   * run here; it is not the job that was cancelled.
   */
  cancelled(id: string, ended: JobRecord): boolean {
    const attempt = this.attempts.get(id);
    if (!attempt || attempt.record.seq !== ended.seq) return false;
    this.abandon(attempt, new GodelayqError(`Job ${id} was cancelled`));
    return true;
  }

  /**
   * A running job (`previous`, as the store replaced it) was replaced by a
   * new one with its id. Returns false when no attempt of that version runs
   * here (the new version may already run: see cancelled).
   */
  replaced(id: string, previous: JobRecord): boolean {
    const attempt = this.attempts.get(id);
    if (!attempt || attempt.record.seq !== previous.seq) return false;
    const error = new GodelayqError(`Job ${id} was replaced`);
    this.abandon(attempt, error);
    this.host.emit('lost', () => ({ job: this.host.view(attempt.record), reason: 'replaced', error }));
    return true;
  }

  /**
   * Abort the attempt's signal and free its slot now, so a handler that
   * ignores the signal and never settles cannot hold a slot forever.
   */
  private abandon(attempt: Attempt, reason: Error): void {
    attempt.cancelled = true;
    attempt.timer?.clear();
    abort(attempt, reason);
    this.releaseSlot(attempt);
    this.loop.kick();
  }
}

/** Why an attempt of job `id` no longer owns it, as the `lost` event says. */
function lostError(attempt: Attempt, id: string, reason: LostReason): Error {
  return reason === 'lease'
    ? new LeaseLostError(`Attempt ${attempt.record.attempt} of job ${id} lost its lease; another process may run the job`)
    : new GodelayqError(
        reason === 'lock'
          ? `Attempt ${attempt.record.attempt} of job ${id} lost the store's lock; its outcome cannot be recorded`
          : `Job ${id} was ${reason} by another process`,
      );
}
