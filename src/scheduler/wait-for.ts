/**
 * `scheduler.waitFor(id)`: a promise for a job's final outcome — its stored
 * result when it completes, a JobFailedError when it ends dead, a
 * JobCancelledError when it is cancelled.
 *
 * HOW
 * - The waiter listens first, then reads the job once: a job already final
 *   answers at once, and one that finishes between the two is still seen.
 * - Jobs finished by this process are seen through the scheduler's own
 *   `completed` / `dead` / `cancelled` events (no extra store reads).
 * - On a shared store (Redis, PostgreSQL) another process may finish the
 *   job: one poll loop for all waiters reads each waited job every
 *   POLL_MS on the scheduler's clock, while anyone waits.
 *
 * WHY
 * - The answer is the same whichever process finished the job: the stored
 *   result (`JobInfo.result`) and the stored `lastError`; locally the error
 *   is the thrown one itself, remotely one with the same name and message.
 * - Nothing is read or listened to while nobody waits, so the hot paths pay
 *   nothing for the feature.
 */
import type { Clock, ClockTimer } from '../clock.js';
import { JobCancelledError, JobFailedError, JobNotFoundError, SchedulerStoppedError, ValidationError, WaitTimeoutError } from '../errors.js';
import type { JobRecord } from '../store/store.js';
import type { JobInfo, JsonValue } from '../types.js';
import { checkDelay, checkKeys, checkOptionsObject, show } from '../validate.js';

/** Options of `waitFor()`. */
export interface WaitForOptions {
  /**
   * Reject with WaitTimeoutError after this many ms (on the scheduler's
   * clock) if the job has not finished. The job itself is not touched.
   * Default: wait as long as it takes.
   */
  timeout?: number;
  /** Reject with the signal's reason when it aborts (the job itself is not touched). */
  signal?: AbortSignal;
}

/**
 * What `waitFor` resolves with for a job whose handler returns `R`: `R`
 * when the result map declares it, else any stored JSON (or undefined when
 * the handler returned nothing).
 */
export type WaitResult<R> = unknown extends R ? JsonValue | undefined : R;

/** A final outcome seen in this process (from the scheduler's events). */
export interface FinalOutcome {
  id: string;
  state: 'completed' | 'dead' | 'cancelled';
  result?: unknown;
  /** The error the last attempt failed with (dead). */
  error?: Error;
  attempt: number;
  /** A schedule's occurrence: not the end of the job. */
  recurring: boolean;
}

/** What waiting needs from its Scheduler. */
export interface WaitHost {
  /** The job as this process knows it now. */
  get(id: string): Promise<JobRecord | undefined>;
  /** Calls `listener` for each final outcome in this process until the returned function is called. */
  subscribe(listener: (outcome: FinalOutcome) => void): () => void;
  /** Timeouts and polls run on it. */
  readonly clock: Clock;
  /** Other processes may finish jobs: poll. */
  readonly shared: boolean;
}

/** A job finished in another process is seen within this many ms. */
export const POLL_MS = 250;

const WAIT_KEYS = new Set(['timeout', 'signal']);

interface Waiter {
  id: string;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: ClockTimer | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The waiters of one Scheduler. */
export class Waiters {
  private readonly byId = new Map<string, Set<Waiter>>();
  private unsubscribe: (() => void) | undefined;
  private pollTimer: ClockTimer | undefined;
  private polling = false;

  constructor(private readonly host: WaitHost) {}

  /** Validates `options` (throws ValidationError synchronously, before anything waits). */
  static check(options: unknown): WaitForOptions {
    const o = checkOptionsObject(options, 'options') ?? {};
    checkKeys(o, WAIT_KEYS, 'options');
    const out: WaitForOptions = {};
    if (o.timeout !== undefined) out.timeout = checkDelay(o.timeout, 'options.timeout');
    if (o.signal !== undefined) {
      if (!(o.signal instanceof AbortSignal)) throw new ValidationError(`Expected \`options.signal\` to be an AbortSignal, got ${show(o.signal)}`);
      out.signal = o.signal;
    }
    return out;
  }

  /** Waits for job `id` to finish; see the file header. `options` were checked by `check`. */
  wait(id: string, options: WaitForOptions): Promise<unknown> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { id, resolve, reject, timer: undefined, signal: options.signal, onAbort: undefined };
      this.add(waiter);
      if (options.timeout !== undefined) {
        const timeout = options.timeout;
        waiter.timer = this.host.clock.setTimer(this.host.clock.now() + timeout, () => this.finish(waiter, false, new WaitTimeoutError(id, timeout)));
      }
      if (options.signal) {
        const signal = options.signal;
        waiter.onAbort = () => this.finish(waiter, false, signal.reason);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      // Listening already: a job that finishes while this read is in flight is seen either way.
      this.host.get(id).then(
        (record) => this.check(waiter, record, true),
        (error: unknown) => this.finish(waiter, false, error),
      );
    });
  }

  /** The scheduler stops: every waiter rejects. */
  stopAll(): void {
    for (const set of [...this.byId.values()]) {
      for (const waiter of [...set]) this.finish(waiter, false, new SchedulerStoppedError(`Expected job \`${waiter.id}\` to finish before the scheduler stopped, got it unfinished`));
    }
  }

  /** Waiters right now (tests check nothing is left behind). */
  get size(): number {
    let n = 0;
    for (const set of this.byId.values()) n += set.size;
    return n;
  }

  private add(waiter: Waiter): void {
    let set = this.byId.get(waiter.id);
    if (!set) this.byId.set(waiter.id, (set = new Set()));
    set.add(waiter);
    this.unsubscribe ??= this.host.subscribe((outcome) => this.seen(outcome));
    if (this.host.shared) this.armPoll();
  }

  /** Settles `waiter` once and forgets it. */
  private finish(waiter: Waiter, ok: boolean, value: unknown): void {
    const set = this.byId.get(waiter.id);
    if (!set?.delete(waiter)) return;
    if (set.size === 0) this.byId.delete(waiter.id);
    waiter.timer?.clear();
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (this.byId.size === 0) {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
      this.pollTimer?.clear();
      this.pollTimer = undefined;
    }
    if (ok) waiter.resolve(value);
    else waiter.reject(value);
  }

  /** A final outcome in this process. */
  private seen(outcome: FinalOutcome): void {
    if (outcome.recurring) return;
    const set = this.byId.get(outcome.id);
    if (!set) return;
    for (const waiter of [...set]) {
      if (outcome.state === 'completed') this.finish(waiter, true, outcome.result);
      else if (outcome.state === 'cancelled') this.finish(waiter, false, new JobCancelledError(outcome.id));
      else this.finish(waiter, false, new JobFailedError(outcome.id, outcome.attempt, outcome.error ?? new Error('unknown failure')));
    }
  }

  /**
   * Answers `waiter` from a read of its job when that read shows it final.
   * `first`: the read made when the wait began (a missing job or a schedule
   * is refused then; later a missing job finished and was not kept).
   */
  private check(waiter: Waiter, record: JobRecord | undefined, first: boolean): void {
    const id = waiter.id;
    if (!record) {
      this.finish(
        waiter,
        false,
        first ? new JobNotFoundError(id) : new JobNotFoundError(id, `Expected job \`${id}\` to be kept until waitFor saw it finish, got it gone (finished and dropped by keepCompleted/keepDead, or removed)`),
      );
      return;
    }
    if (record.recur) {
      this.finish(
        waiter,
        false,
        new ValidationError(`Expected \`id\` to name a one-off job, got the schedule \`${id}\` (a schedule does not finish: listen for its \`completed\` events)`),
      );
      return;
    }
    if (record.state === 'completed') this.finish(waiter, true, record.result);
    else if (record.state === 'cancelled') this.finish(waiter, false, new JobCancelledError(id));
    else if (record.state === 'dead') this.finish(waiter, false, new JobFailedError(id, record.attempt, storedError(record)));
  }

  private armPoll(): void {
    if (this.pollTimer || this.polling) return;
    this.pollTimer = this.host.clock.setTimer(this.host.clock.now() + POLL_MS, () => {
      this.pollTimer = undefined;
      void this.poll();
    });
  }

  /** Reads every waited job once (another process may have finished it). A failed read waits for the next poll. */
  private async poll(): Promise<void> {
    this.polling = true;
    try {
      await Promise.all(
        [...this.byId.keys()].map(async (id) => {
          let record: JobRecord | undefined;
          try {
            record = await this.host.get(id);
          } catch {
            return; // the store is unreachable for now: the next poll asks again (a timeout bounds the wait)
          }
          for (const waiter of [...(this.byId.get(id) ?? [])]) this.check(waiter, record, false);
        }),
      );
    } finally {
      this.polling = false;
    }
    if (this.byId.size > 0) this.armPoll();
  }
}

/** The stored `lastError` of a dead job as an Error (same name and message). */
function storedError(record: JobRecord): Error {
  const error = new Error(record.lastError?.message ?? 'unknown failure');
  error.name = record.lastError?.name ?? 'Error';
  return error;
}

/** The part of a Scheduler's emitter that final outcomes come from. */
export interface FinalEvents {
  on(type: 'completed' | 'dead' | 'cancelled', fn: (event: { job: JobInfo; error?: Error }) => void): unknown;
  off(type: 'completed' | 'dead' | 'cancelled', fn: (event: { job: JobInfo; error?: Error }) => void): unknown;
}

/** `WaitHost.subscribe` over a Scheduler's own events. */
export function subscribeFinals(events: FinalEvents, listener: (outcome: FinalOutcome) => void): () => void {
  const make =
    (state: FinalOutcome['state']) =>
    (event: { job: JobInfo; error?: Error }): void => {
      const job = event.job;
      const outcome: FinalOutcome = { id: job.id, state, attempt: job.attempt, recurring: job.cron !== undefined || job.every !== undefined };
      if (job.result !== undefined) outcome.result = job.result;
      if (event.error !== undefined) outcome.error = event.error;
      listener(outcome);
    };
  const handlers = { completed: make('completed'), dead: make('dead'), cancelled: make('cancelled') };
  for (const [type, fn] of Object.entries(handlers)) events.on(type as FinalOutcome['state'], fn);
  return () => {
    for (const [type, fn] of Object.entries(handlers)) events.off(type as FinalOutcome['state'], fn);
  };
}
