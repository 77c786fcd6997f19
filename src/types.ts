/**
 * Public types of godelayq.
 *
 * Terminology
 * - job: one named unit of work with a JSON payload, stored under a unique id.
 * - handler: the async function registered for a job name.
 * - attempt: one run of a handler for a job; a failed attempt may be retried.
 * - schedule: a recurring job (cron expression or fixed interval); one id for
 *   its whole life, one occurrence per slot.
 * - slot: the instant an occurrence of a schedule is due.
 * - misfire: a slot that passed without running (scheduler stopped or busy).
 * - store: where jobs are kept (memory, a JSON file, Redis).
 */

/** A value that survives `JSON.stringify` + `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Map of job name to payload type, the generic parameter of `Scheduler`. */
export type JobMap = Record<string, unknown>;

/**
 * Optional map of job name to the type its handler returns, the second
 * generic parameter of `Scheduler`: handlers must return it, and the
 * `completed` event and `JobInfo.result` carry it. Names left out return
 * `unknown`.
 * @example
 * new Scheduler<{ 'report.daily': { day: string } }, { 'report.daily': { rows: number } }>()
 */
export type ResultMap<Jobs extends JobMap = JobMap> = { [N in keyof Jobs]?: unknown };

/** The result type of job `N` in `Results` (unknown when not declared). */
export type ResultOf<Results, N> = N extends keyof Results ? Exclude<Results[N], undefined> : unknown;

/** The type of a stored result: the declared one, or any JSON value. */
export type StoredResult<R> = unknown extends R ? JsonValue : R;

/** Life-cycle state of a job. */
export type JobState = 'scheduled' | 'running' | 'completed' | 'dead' | 'cancelled';

/** Backoff that can be stored with a job (JSON). */
export type Backoff =
  | { type: 'fixed'; delay: number }
  | {
      type: 'exponential';
      delay: number;
      /** @default 2 */
      factor?: number;
      /** Upper bound of a single wait, ms. */
      maxDelay?: number;
      /** 0..1: the wait is multiplied by a uniform random value in [1 - jitter, 1]. @default 0 */
      jitter?: number;
    };

/** A custom backoff: `attempt` is the retry number (1 before the 2nd attempt). Returns ms. */
export type BackoffFunction = (attempt: number, error: Error) => number;

/** Retry policy stored with a job: JSON only. */
export interface RetryOptions {
  /** Retries after the first attempt. 0 = never retry. */
  maxRetries: number;
  backoff: Backoff;
}

/** Retry policy given to the constructor or `register`: may use a backoff function. */
export interface HandlerRetryOptions {
  maxRetries: number;
  backoff: Backoff | BackoffFunction;
}

/** What to do when a job with the same id already exists. */
export type OnDuplicate = 'reject' | 'keep' | 'replace';

/** What to do with the slots of a schedule that passed without running. */
export type MisfirePolicy = 'skip' | 'once' | 'all';

/**
 * A database client inside an open transaction, for a store that joins
 * transactions (PostgresStore: a `pg` Client or PoolClient after `BEGIN`).
 */
export interface TransactionClient {
  query(...args: never[]): unknown;
}

/** Options of `cancel` / `reschedule` (and the second argument of `scheduleMany`). */
export interface WriteOptions {
  /**
   * Make the change inside this open transaction (stores with
   * `transactional: true`, e.g. PostgresStore): it becomes visible, and wakes
   * the workers, only when the transaction commits, and a rollback undoes it.
   * Other stores reject it.
   */
  db?: TransactionClient;
}

/** Options of `scheduleIn` / `scheduleAt` / `scheduleMany`. */
export interface ScheduleOptions extends WriteOptions {
  /** Your own id (idempotency key). Default: a generated URL-safe id. */
  id?: string;
  /** Overrides the handler's and the scheduler's retry policy for this job. */
  retry?: RetryOptions;
  /** Per-attempt time limit, ms. */
  timeout?: number;
  /** Higher runs first among jobs due at the same moment. @default 0 */
  priority?: number;
  /** @default 'reject' */
  onDuplicate?: OnDuplicate;
  /**
   * Run this job in a group: jobs of one group start in order (priority,
   * then runAt, then insertion), at most `concurrency` at once (default 1),
   * also across processes on a shared store; waiting groups take turns
   * (round robin). A string is `{ id }`.
   * @example { group: 'customer:42' }
   * @example { group: { id: 'tenant:7', concurrency: 3 } }
   */
  group?: string | GroupOption;
  /**
   * A dedupe window (one-off jobs only; a job's `key` is scoped to its name).
   * `'throttle'` (default): while the window of the last job created with
   * this key is open (`ttlMs` from its creation), a call creates nothing and
   * resolves with that job. `'debounce'`: a call inside the window replaces
   * the payload and due time of that job while it is still `scheduled`, and
   * restarts the window; once it started, a new job is created. The returned
   * JobInfo's `dedupe` says which happened. Not with `onDuplicate`.
   * @example { dedupe: { key: 'user:42', ttlMs: 60_000 } }
   * @example { dedupe: { key: 'reindex', ttlMs: 5_000, mode: 'debounce' } }
   */
  dedupe?: DedupeOptions;
  /**
   * Remove this job once it completed: `true` at once, `{ count }` keeping
   * the newest `count` completed jobs of its name that have a count, `{ ageMs }`
   * once it finished that long ago (removed when a later job finishes).
   * Over `register`'s and the scheduler's; `false` turns theirs off for this
   * job. A schedule is one job: its policy applies when the schedule ends.
   * @example { removeOnComplete: true }
   */
  removeOnComplete?: RemovePolicy;
  /** As `removeOnComplete`, for a job that ends `dead`. @example { removeOnFail: { ageMs: 7 * 86_400_000 } } */
  removeOnFail?: RemovePolicy;
}

/**
 * Per-job retention (`removeOnComplete` / `removeOnFail`): `true` removes the
 * job when it finishes; `{ count }` keeps the newest `count` finished jobs of
 * its name that have a count policy; `{ ageMs }` removes it once it finished
 * `ageMs` ago; both keys: whichever comes first. `false`: no per-job removal
 * (only `keepCompleted` / `keepDead`).
 */
export type RemovePolicy = boolean | { count: number; ageMs?: number } | { count?: number; ageMs: number };

/** `options.dedupe`: see ScheduleOptions.dedupe. */
export interface DedupeOptions {
  /** Calls with the same key (and job name) share a window; 1 to 256 characters. */
  key: string;
  /** Window length, ms (a whole number > 0). */
  ttlMs: number;
  /** @default 'throttle' */
  mode?: DedupeMode;
}

/** How a dedupe window treats a call inside it. */
export type DedupeMode = 'throttle' | 'debounce';

/** What a `schedule*` call with `options.dedupe` did: created a job, or returned (`throttled`) or updated (`debounced`) the window's job. */
export type DedupeOutcome = 'created' | 'throttled' | 'debounced';

/** `options.group` as an object. */
export interface GroupOption {
  id: string;
  /** Most jobs of this group running at once; the limit of the group's next job applies. @default 1 */
  concurrency?: number;
}

/** Options of `scheduleEvery`. */
export interface EveryOptions extends Omit<ScheduleOptions, 'dedupe'> {
  /** First slot not before this instant. Default: now + interval. */
  startAt?: Date | number;
  /** No slot after this instant. */
  endAt?: Date | number;
  /** Stop after this many occurrences. */
  limit?: number;
  /** @default 'once' */
  misfire?: MisfirePolicy;
  /** A slot late by at most this is not missed, ms. @default the scheduler's `misfireGraceMs` (60000) */
  misfireGraceMs?: number;
}

/** Options of `scheduleCron`. */
export interface CronOptions extends EveryOptions {
  /** IANA time zone the expression is read in. @default 'UTC' */
  tz?: string;
}

/** Public, read-only view of a job. */
export interface JobInfo<Name extends string = string, Payload = unknown, Result = JsonValue> {
  id: string;
  name: Name;
  payload: Payload;
  state: JobState;
  /** When the job (or the next occurrence of a schedule) is due. */
  runAt: Date;
  /** When the job was scheduled: for `scheduleIn`, the instant its delay counts from (as scheduled, `runAt - createdAt` is the delay; a step of the wall clock re-bases `runAt`). */
  createdAt: Date;
  /** Attempts started for the current run (1-based once started; 0 before). */
  attempt: number;
  maxRetries: number;
  priority: number;
  lastError?: { name: string; message: string };
  cron?: { expression: string; tz?: string; nextRunAt: Date | undefined };
  every?: { interval: number; nextRunAt: Date | undefined };
  /** The handler's return value, stored when it is JSON within `maxPayloadBytes`. */
  result?: Result;
  /** The last value reported with `job.progress()`. */
  progress?: JsonValue;
  /** The newest lines written with `job.log()`, oldest first. */
  logs?: string[];
  /** The job's group (`options.group`). */
  group?: { id: string; concurrency: number };
  /** Set on what a `schedule*` call with `options.dedupe` resolves with (never stored). */
  dedupe?: DedupeOutcome;
}

/** What a handler receives. */
export interface JobContext<Payload = unknown, Name extends string = string> {
  readonly id: string;
  readonly name: Name;
  readonly payload: Payload;
  /** 1-based attempt number. */
  readonly attempt: number;
  /** The instant this run was due (for a schedule: its slot). */
  readonly runAt: Date;
  /**
   * Identifies this attempt (unique per claim). A store refuses the outcome
   * of an attempt whose token is no longer the job's; pass it (with
   * `attempt`) to downstream systems as a fencing token, so a stale attempt
   * that lost its lease cannot overwrite the work of the one that took over.
   */
  readonly token: string;
  /** Aborted on timeout, cancel, a lost lease or lock, or when `stop()` gives up waiting. */
  readonly signal: AbortSignal;
  /**
   * Stores `value` (any JSON, e.g. a percentage) as the job's `progress`
   * (`get()`/`list()`, from any process on a shared store) and emits a
   * `progress` event. Resolves once stored; rejects with ValidationError for
   * a value that is not JSON, UnsupportedOptionError on a store that cannot
   * keep it.
   */
  progress(value: JsonValue): Promise<void>;
  /**
   * Appends `line` to the job's `logs` (the newest `keepLogs` lines are
   * kept). Resolves once stored; UnsupportedOptionError on a store that cannot keep it.
   */
  log(line: string): Promise<void>;
  /**
   * The remote side pushed back (HTTP 429 and the like): throws a
   * RateLimitError that ends this attempt. The job runs again after `ms`,
   * this attempt not counted, and no job of this name starts before then
   * (in every process of a shared store).
   * @example if (res.status === 429) job.rateLimit(Number(res.headers.get('retry-after')) * 1000);
   */
  rateLimit(ms: number): never;
}

/** Filter of `list()`. */
export interface ListFilter {
  name?: string;
  state?: JobState | JobState[];
  /** No limit = every match. */
  limit?: number;
  offset?: number;
}

/** Snapshot of counts from `stats()`. */
export interface SchedulerStats {
  scheduled: number;
  running: number;
  completed: number;
  dead: number;
  cancelled: number;
  heapSize: number;
  /** How late jobs started, ms, over the recent window. */
  lateness: { p50: number; p95: number; p99: number };
}
