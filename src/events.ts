/**
 * Scheduler events: the typed map for `scheduler.on(...)`, and the filtered,
 * bounded async stream behind `scheduler.events(...)`.
 *
 * WHY a ring buffer: a consumer that never reads must not grow memory or slow
 * dispatch. Each subscription holds at most `bufferSize` events; past that
 * the overflow policy drops the oldest, drops the newest, or ends the stream
 * with an error. Publishing is O(1) per subscription.
 */
import { GodelayqError } from './errors.js';
import type { LostReason } from './store/store.js';
import type { JobInfo, JobMap, JsonValue, ResultOf, StoredResult } from './types.js';

/** A JobInfo whose name, payload (and result, with a result map) are tied together by the job map. */
export type JobInfoOf<Jobs extends JobMap, Results = object> = {
  [N in keyof Jobs & string]: JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>;
}[keyof Jobs & string];

/** `completed` for each name: `result` typed by the result map; narrow on `name`. */
type CompletedEvent<Jobs extends JobMap, Results> = {
  [N in keyof Jobs & string]: {
    /** The job's name (= `job.name`), to narrow `result` by. */
    name: N;
    job: JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>;
    result: ResultOf<Results, N>;
    durationMs: number;
    nextRunAt?: Date;
    /** `'remote'`: it happened in another process sharing the store (`remoteEvents: true`); absent: in this one. */
    origin?: 'remote';
  };
}[keyof Jobs & string];

/** Where a pause came from: `'local'` = a call in this process; `'remote'` = the store (another process, or a pause older than this start). */
export type PauseOrigin = 'local' | 'remote';

/** Event name → payload (one object each, so fields can be added later). */
export interface SchedulerEvents<Jobs extends JobMap = JobMap, Results = object> {
  scheduled: { job: JobInfoOf<Jobs, Results> };
  rescheduled: { job: JobInfoOf<Jobs, Results>; previousRunAt: Date };
  /** `lateness`: ms between the due time and the start. */
  started: { job: JobInfoOf<Jobs, Results>; lateness: number };
  /**
   * An attempt succeeded. `job` is the occurrence that finished (for a
   * schedule: its slot as `runAt`, its attempt, state 'completed', the stored
   * `result`); `nextRunAt` is when a schedule runs next.
   */
  completed: CompletedEvent<Jobs, Results>;
  /**
   * Every failed attempt, including one lost with its process (ProcessCrashError)
   * or its lease (LeaseLostError). `job` is the occurrence that failed (its due
   * time or slot as `runAt`, its attempt, `lastError`); `nextRunAt` is when the
   * job runs next (its retry, or a schedule's next slot).
   */
  failed: { job: JobInfoOf<Jobs, Results>; error: Error; willRetry: boolean; nextRunAt?: Date; origin?: 'remote' };
  retrying: { job: JobInfoOf<Jobs, Results>; attempt: number; delay: number; nextRunAt: Date };
  /**
   * A handler said the remote side pushed back (`job.rateLimit(ms)` or a
   * RateLimitError): the job waits, this attempt not counted, and no job of
   * its name starts before `until` (in every process of a shared store).
   */
  rateLimited: { job: JobInfoOf<Jobs, Results>; delayMs: number; until: Date };
  /** An occurrence failed for good (a schedule goes on to its next slot). */
  dead: { job: JobInfoOf<Jobs, Results>; error: Error; origin?: 'remote' };
  /**
   * A running attempt no longer owns its job: cancelled or replaced by another
   * process, its lease lapsed (another process may run it), or the store lost
   * its lock. Its signal is aborted and its outcome will not be recorded.
   */
  lost: { job: JobInfoOf<Jobs, Results>; reason: LostReason; error: Error };
  /** A running attempt's `job.progress(value)` was stored: `job` shows it. */
  progress: { job: JobInfoOf<Jobs, Results>; progress: JsonValue; origin?: 'remote' };
  /**
   * This process stopped starting new attempts (running ones go on):
   * `pause()` (`everywhere: false`), or the store-wide pause of
   * `pause({ everywhere: true })` (`origin`: this process's call, or heard
   * from the store — another process paused, or the store was paused when
   * this scheduler started).
   */
  paused: { everywhere: boolean; origin: PauseOrigin };
  /** The pause `paused` reported ended (`resume()`, or `resume({ everywhere: true })` from any process). */
  resumed: { everywhere: boolean; origin: PauseOrigin };
  /** The system clock was stepped by `deltaMs`; delays were re-based, dates and cron slots kept. */
  clockChanged: { deltaMs: number };
  cancelled: { job: JobInfoOf<Jobs, Results> };
  /**
   * Slots of a schedule that will never run (`missed`); `runAt` is the slot
   * that runs now as the catch-up, or the next future slot ('skip'), or
   * undefined when the schedule has ended.
   */
  misfired: { job: JobInfoOf<Jobs, Results>; missed: number; runAt: Date | undefined };
  /** A job is due but no handler is registered for its name (once per name until registered). */
  missingHandler: { name: string };
  /** Nothing due, nothing running, nothing waiting to be recorded. */
  drained: Record<string, never>;
  /** The library's own failures (e.g. a store write that failed after retries). */
  error: { error: Error; jobId?: string };
}

/** Event type names. */
export type SchedulerEventType = keyof SchedulerEvents;

/** One event as yielded by `scheduler.events()`: a discriminated union on `type`. */
export type SchedulerEvent<Jobs extends JobMap = JobMap, Results = object> = {
  [K in SchedulerEventType]: { type: K } & SchedulerEvents<Jobs, Results>[K];
}[SchedulerEventType];

/** Filter and buffering of `scheduler.events()`. */
export interface EventStreamOptions {
  /** Only these event types. Default: all. */
  types?: readonly SchedulerEventType[];
  /** Only events of jobs with these names: exact, or `prefix.*`. */
  names?: readonly string[];
  /** Only events of these job ids. */
  ids?: readonly string[];
  /** Events held for a slow consumer. @default 1024 */
  bufferSize?: number;
  /** What a full buffer does with a new event. @default 'dropOldest' */
  overflow?: 'dropOldest' | 'dropNewest' | 'error';
}

/** Ended the event stream because its buffer overflowed with `overflow: 'error'`. */
export class EventOverflowError extends GodelayqError {
  constructor(bufferSize: number) {
    super(`Expected the consumer to keep up with at most ${bufferSize} buffered events, got more (overflow: 'error')`);
  }
}

/** `'a.*'` matches `a.b` and `a.b.c`; anything else is an exact name. */
export function nameMatcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if (p.endsWith('.*')) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (name) => exact.has(name) || prefixes.some((prefix) => name.startsWith(prefix));
}

type AnyEvent = { type: string; job?: { id: string; name: string }; name?: string };

/**
 * One subscription: a bounded queue plus an async iterator. `push` never
 * blocks and never allocates beyond the buffer.
 */
export class EventStream<E extends AnyEvent> implements AsyncIterableIterator<E> {
  private readonly buffer: (E | undefined)[];
  private head = 0;
  private count = 0;
  private waiter: { resolve: (r: IteratorResult<E>) => void; reject: (e: unknown) => void } | undefined;
  private ended = false;
  private failure: Error | undefined;
  private readonly accept: (event: E) => boolean;
  private readonly overflow: 'dropOldest' | 'dropNewest' | 'error';
  /** Events dropped by the overflow policy. */
  dropped = 0;

  /** Releases the process hold taken while a reader waits. */
  private release: (() => void) | undefined;

  /**
   * @param hold keeps the process alive while a reader awaits the next event
   *   (a script's `for await` loop is its work until the scheduler stops).
   */
  constructor(
    options: EventStreamOptions,
    private readonly onClose: (stream: EventStream<E>) => void,
    private readonly hold?: () => () => void,
  ) {
    const size = options.bufferSize ?? 1024;
    this.buffer = new Array<E | undefined>(size);
    this.overflow = options.overflow ?? 'dropOldest';
    const types = options.types ? new Set<string>(options.types) : undefined;
    const names = options.names ? nameMatcher(options.names) : undefined;
    const ids = options.ids ? new Set(options.ids) : undefined;
    this.accept = (event) => {
      if (types && !types.has(event.type)) return false;
      if (names) {
        const name = event.job?.name ?? event.name;
        if (name === undefined || !names(name)) return false;
      }
      if (ids && (event.job === undefined || !ids.has(event.job.id))) return false;
      return true;
    };
  }

  /** Offers an event; filtered, buffered or handed to a waiting reader. */
  push(event: E): void {
    if (this.ended || !this.accept(event)) return;
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      this.letGo();
      resolve({ value: event, done: false });
      return;
    }
    const size = this.buffer.length;
    if (this.count === size) {
      this.dropped++;
      if (this.overflow === 'dropNewest') return;
      if (this.overflow === 'error') {
        this.end(new EventOverflowError(size));
        return;
      }
      this.buffer[this.head] = undefined;
      this.head = (this.head + 1) % size;
      this.count--;
    }
    this.buffer[(this.head + this.count) % size] = event;
    this.count++;
  }

  /** Ends the stream: buffered events are still delivered, then done (or the error). */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    this.onClose(this);
    if (this.waiter && this.count === 0) {
      const { resolve, reject } = this.waiter;
      this.waiter = undefined;
      this.letGo();
      if (error) reject(error);
      else resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<E>> {
    if (this.count > 0) {
      const event = this.buffer[this.head] as E;
      this.buffer[this.head] = undefined;
      this.head = (this.head + 1) % this.buffer.length;
      this.count--;
      return Promise.resolve({ value: event, done: false });
    }
    if (this.ended) {
      if (this.failure) {
        const failure = this.failure;
        this.failure = undefined;
        return Promise.reject(failure);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.release ??= this.hold?.();
    });
  }

  private letGo(): void {
    this.release?.();
    this.release = undefined;
  }

  return(): Promise<IteratorResult<E>> {
    this.end();
    this.count = 0;
    this.buffer.fill(undefined);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<E> {
    return this;
  }
}
