/**
 * The option types of the Scheduler's public calls, the key sets each call
 * accepts, and the checks of the constructor's store, of a call's `db` and
 * of `list()`'s filter; `stats()`'s percentiles.
 */
import type { Store, StoreCounts, StoreWriteOptions } from '../store/store.js';
import type { HandlerRetryOptions, JobContext, JobMap, JobState, ListFilter, RemovePolicy, ResultOf, ScheduleOptions, SchedulerStats } from '../types.js';
import type { Clock } from '../clock.js';
import { ValidationError } from '../errors.js';
import { checkKeys, checkName, checkNonNegativeInt, checkOptionsObject, show } from '../validate.js';

/** Options of `new Scheduler()`. */
export interface SchedulerOptions {
  /** Where jobs are kept. @default new MemoryStore() */
  store?: Store;
  /** Handlers running at once, all names together. @default 10 */
  concurrency?: number;
  /** Default retry policy. @default { maxRetries: 3, backoff: { type: 'exponential', delay: 1000 } } */
  retry?: HandlerRetryOptions;
  /** Default per-attempt time limit, ms, on the scheduler's clock. Default: none. */
  timeout?: number;
  /** Time source. @default the system clock */
  clock?: Clock;
  /** Finished (completed or cancelled) jobs kept for get()/list(). @default 1000 */
  keepCompleted?: number;
  /** Dead jobs kept. @default 10000 */
  keepDead?: number;
  /**
   * `false`: a started scheduler keeps the process alive while any job is
   * scheduled or running, until `stop()` (as croner, node-schedule, BullMQ
   * and Agenda do). `true`: it never does (the process may exit with jobs
   * still waiting). @default false
   */
  unref?: boolean;
  /** A schedule's slot late by at most this is not missed (Quartz's misfireThreshold), ms. @default 60000 */
  misfireGraceMs?: number;
  /** Reject `schedule*` calls for names with no registered handler (catches typos). @default false */
  strict?: boolean;
  /** Payloads and handler results larger than this (UTF-8 JSON) are a ValidationError, bytes. @default 1048576 (1 MiB) */
  maxPayloadBytes?: number;
  /** Lines of `job.log()` kept per job (the newest), 0..1000000; 0 keeps none. @default 100 */
  keepLogs?: number;
  /**
   * At most `max` attempts of all names together start in any `durationMs`
   * window; jobs over it wait, in order. Shared by every process of a
   * RedisStore. Default: none.
   * @example { max: 100, durationMs: 1000 }
   */
  rateLimit?: RateLimitOptions;
  /**
   * Also emit the `completed`, `failed`, `dead` and `progress` events of
   * jobs that ran in other processes sharing the store, marked `origin:
   * 'remote'` (RedisStore only; other stores refuse it). At most once: an
   * event published while this process is disconnected is lost.
   * @default false
   */
  remoteEvents?: boolean;
  /** Default removal of completed jobs (see ScheduleOptions.removeOnComplete), under `register`'s and the job's. Default: none (only `keepCompleted`). */
  removeOnComplete?: RemovePolicy;
  /** Default removal of dead jobs (see ScheduleOptions.removeOnFail). Default: none (only `keepDead`). */
  removeOnFail?: RemovePolicy;
}

/** A start-rate limit: at most `max` starts in any `durationMs` window (sliding). */
export interface RateLimitOptions {
  max: number;
  durationMs: number;
}

/** Options of `register()`. */
export interface RegisterOptions {
  /** Attempts of this name running at once (also bounded by the scheduler's). Default: no own limit. */
  concurrency?: number;
  retry?: HandlerRetryOptions;
  timeout?: number;
  /** Lines of `job.log()` kept per job of this name. @default the scheduler's `keepLogs` (100) */
  keepLogs?: number;
  /**
   * At most `max` attempts of this name start in any `durationMs` window;
   * jobs over it wait (they do not fail), in order. Shared by every process
   * of a RedisStore (each should register the same limit). Default: none.
   * @example { max: 10, durationMs: 1000 }
   */
  rateLimit?: RateLimitOptions;
  /** Removal of this name's completed jobs (see ScheduleOptions.removeOnComplete), under the job's own, over the scheduler's. */
  removeOnComplete?: RemovePolicy;
  /** Removal of this name's dead jobs, as `removeOnComplete`. */
  removeOnFail?: RemovePolicy;
}

/** A handler for job name `N`. Its return value is the `completed` event's `result` (typed by the result map, if any). */
export type Handler<Jobs extends JobMap, N extends keyof Jobs & string, Results = object> = (
  job: JobContext<Jobs[N], N>,
) => ResultOf<Results, N> | PromiseLike<ResultOf<Results, N>>;

/** One item of `scheduleMany`: give `delay` (ms) or `at`. */
export type ScheduleManyItem<Jobs extends JobMap> = {
  [N in keyof Jobs & string]: {
    name: N;
    payload: Jobs[N];
    delay?: number;
    at?: Date | number;
    options?: ScheduleOptions;
  };
}[keyof Jobs & string];

/** Options of `stop()`. */
export interface StopOptions {
  /**
   * `stop()` resolves within this many ms: it waits for running attempts
   * (on the scheduler's clock or in real time, whichever ends first, so a
   * VirtualClock nobody advances cannot hang it), keeping a fifth of the
   * time (at most 2 s) to hand unfinished attempts back and close the store.
   * @default 30000
   */
  timeout?: number;
}

/** Options of `stopOnSignals()`. */
export interface SignalOptions extends StopOptions {
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
}


export const CONSTRUCTOR_KEYS = new Set([
  'store',
  'concurrency',
  'retry',
  'timeout',
  'clock',
  'keepCompleted',
  'keepDead',
  'unref',
  'misfireGraceMs',
  'strict',
  'maxPayloadBytes',
  'keepLogs',
  'rateLimit',
  'remoteEvents',
  'removeOnComplete',
  'removeOnFail',
]);
export const REGISTER_KEYS = new Set(['concurrency', 'retry', 'timeout', 'keepLogs', 'rateLimit', 'removeOnComplete', 'removeOnFail']);
export const LIST_KEYS = new Set(['name', 'state', 'limit', 'offset']);
export const STOP_KEYS = new Set(['timeout']);
export const WRITE_KEYS = new Set(['db']);
export const SIGNAL_KEYS = new Set(['signals', 'timeout']);
export const EVENTS_KEYS = new Set(['types', 'names', 'ids', 'bufferSize', 'overflow']);
export const STATES: ReadonlySet<string> = new Set(['scheduled', 'running', 'completed', 'dead', 'cancelled']);
export const STORE_METHODS = ['open', 'close', 'insert', 'get', 'list', 'cancel', 'reschedule', 'revive', 'claim', 'settle', 'nextDueAt', 'counts'] as const;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function checkStore(value: unknown): Store {
  const missing = typeof value === 'object' && value !== null ? STORE_METHODS.filter((m) => typeof (value as Record<string, unknown>)[m] !== 'function') : STORE_METHODS;
  if (missing.length > 0) {
    const hint = typeof value === 'string' ? ` (for a folder, pass \`new JsonFileStore(${JSON.stringify(value)})\`)` : '';
    throw new ValidationError(
      `Expected \`options.store\` to be a Store (MemoryStore, JsonFileStore, RedisStore), got ${show(value)}${hint}` +
        (typeof value === 'object' && value !== null ? ` without ${missing.join(', ')}` : ''),
    );
  }
  return value as Store;
}

/** The store options of a call's `db` (its transaction), refused by a store that cannot join one. */
export function writeOptions(store: Store, options: unknown, what = 'options'): StoreWriteOptions {
  const db = (options as { db?: unknown } | undefined)?.db;
  if (db === undefined) return {};
  if (!store.transactional) {
    throw new ValidationError(`Expected \`${what}.db\` only with a store that joins transactions (PostgresStore), got it with ${store.constructor.name}`);
  }
  if (typeof db !== 'object' || db === null || typeof (db as { query?: unknown }).query !== 'function') {
    throw new ValidationError(`Expected \`${what}.db\` to be a database client inside an open transaction, got ${show(db)}`);
  }
  return { db: db as NonNullable<StoreWriteOptions['db']> };
}

/** The store query of `list(filter)`, the filter checked. */
export function listQuery(filter: ListFilter): Parameters<Store['list']>[0] {
  const f = checkOptionsObject(filter, 'filter') ?? {};
  checkKeys(f, LIST_KEYS, 'filter');
  const states = f.state === undefined ? undefined : Array.isArray(f.state) ? f.state : [f.state];
  for (const s of states ?? []) {
    if (!STATES.has(s as string)) throw new ValidationError(`Expected \`filter.state\` to be a job state, got ${show(s)}`);
  }
  const query: Parameters<Store['list']>[0] = {};
  if (f.name !== undefined) query.name = checkName(f.name, 'filter.name');
  if (states) query.states = states as JobState[];
  if (f.limit !== undefined) query.limit = checkNonNegativeInt(f.limit, 'filter.limit');
  if (f.offset !== undefined) query.offset = checkNonNegativeInt(f.offset, 'filter.offset');
  return query;
}

/** `stats()`: the store's counts and the start lateness percentiles of `lateness` (ms, unsorted). */
export function schedulerStats(c: StoreCounts, lateness: number[]): SchedulerStats {
  const sorted = lateness.sort((a, b) => a - b);
  return {
    scheduled: c.scheduled,
    running: c.running,
    completed: c.completed,
    dead: c.dead,
    cancelled: c.cancelled,
    heapSize: c.indexed,
    lateness: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) },
  };
}
