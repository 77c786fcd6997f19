/**
 * Scheduler<Jobs>: the public API, the dispatch loop and concurrency.
 *
 * HOW
 * - Jobs live in a Store. Local stores index scheduled jobs in a 4-ary heap
 *   keyed by due time; the scheduler keeps ONE timer, armed for the store's
 *   earliest due time (`nextDueAt`), never one timer per job.
 * - When the timer fires (or a handler finishes, or a handler is registered,
 *   or `resume()` is called) `dispatch` asks the store to `claim` what is due,
 *   at most the free concurrency, per name at most the handler's free slots.
 *   Claimed jobs are `running` in the store before their handler starts.
 * - An attempt ends in `settle`: completed, scheduled again (retry with
 *   backoff, or a schedule's next slot), or dead. Events are emitted only
 *   after the store has durably recorded the change.
 *
 * WHY
 * - Time comes from a Clock so tests run on a VirtualClock without sleeping,
 *   and the system clock's capped, re-checked waits mean nothing fires early.
 * - The store, not the scheduler, owns the due index, so a shared store
 *   (Redis) can be the index for many processes without a local copy.
 * - A schedule's next slot is computed from its slot, never from completion
 *   time or "now", so a backwards clock jump cannot run a slot twice.
 */
import { EventEmitter } from 'eventemitter3';
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { SystemClock, type Clock, type ClockTimer } from './clock.js';
import { firstSlot, nextSlot, planDue, recurrenceSignature, validateRecurrence, type RecurrenceSpec } from './cron.js';
import {
  GodelayqError,
  JobTimeoutError,
  SchedulerStoppedError,
  UnrecoverableError,
  ValidationError,
  errorSummary,
  toError,
} from './errors.js';
import {
  EventStream,
  type EventStreamOptions,
  type JobInfoOf,
  type SchedulerEvent,
  type SchedulerEventType,
  type SchedulerEvents,
} from './events.js';
import { DEFAULT_RETRY, backoffDelay, validateRetry } from './retry.js';
import { MemoryStore } from './store/memory.js';
import { patchRecord } from './store/local.js';
import type { DuplicateMode, InsertRequest, InsertResult, JobRecord, NewJobRecord, RecurrenceRecord, Store } from './store/store.js';
import type {
  CronOptions,
  EveryOptions,
  HandlerRetryOptions,
  JobContext,
  JobInfo,
  JobMap,
  JobState,
  JsonValue,
  ListFilter,
  ScheduleOptions,
  SchedulerStats,
} from './types.js';
import {
  MAX_TIME,
  checkDelay,
  checkFinite,
  checkId,
  checkKeys,
  checkName,
  checkNonNegativeInt,
  checkOptionsObject,
  checkPositive,
  checkPositiveInt,
  checkTime,
  show,
  toJsonValue,
} from './validate.js';

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
}

/** Options of `register()`. */
export interface RegisterOptions {
  /** Attempts of this name running at once (also bounded by the scheduler's). Default: no own limit. */
  concurrency?: number;
  retry?: HandlerRetryOptions;
  timeout?: number;
}

/** A handler for job name `N`. Its return value is the `completed` event's `result`. */
export type Handler<Jobs extends JobMap, N extends keyof Jobs & string> = (job: JobContext<Jobs[N], N>) => unknown;

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
   * How long to wait for running attempts before aborting them, ms: on the
   * scheduler's clock or in real time, whichever ends first (so a VirtualClock
   * nobody advances cannot hang `stop()`). @default 30000
   */
  timeout?: number;
}

/** Options of `stopOnSignals()`. */
export interface SignalOptions extends StopOptions {
  /** @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
}

interface HandlerEntry {
  fn: (job: JobContext<unknown, string>) => unknown;
  concurrency: number;
  retry: HandlerRetryOptions | undefined;
  timeout: number | undefined;
}

interface Attempt {
  record: JobRecord;
  handler: HandlerEntry;
  controller: AbortController;
  startedAt: number;
  timer: ClockTimer | undefined;
  done: Promise<void>;
  cancelled: boolean;
  abandoned: boolean;
}

type EmitterMap<Jobs extends JobMap> = { [K in keyof SchedulerEvents<Jobs>]: [SchedulerEvents<Jobs>[K]] };

const SCHEDULE_KEYS = new Set(['id', 'retry', 'timeout', 'priority', 'onDuplicate']);
const EVERY_KEYS = new Set([...SCHEDULE_KEYS, 'startAt', 'endAt', 'limit', 'misfire']);
const CRON_KEYS = new Set([...EVERY_KEYS, 'tz']);
const CONSTRUCTOR_KEYS = new Set(['store', 'concurrency', 'retry', 'timeout', 'clock', 'keepCompleted', 'keepDead']);
const REGISTER_KEYS = new Set(['concurrency', 'retry', 'timeout']);
const LIST_KEYS = new Set(['name', 'state', 'limit', 'offset']);
const STOP_KEYS = new Set(['timeout']);
const SIGNAL_KEYS = new Set(['signals', 'timeout']);
const STATES: ReadonlySet<string> = new Set(['scheduled', 'running', 'completed', 'dead', 'cancelled']);
const LATENESS_WINDOW = 1024;
const NO_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({});

/** URL-safe unique ids: a random per-instance prefix plus a counter. */
function idFactory(): () => string {
  const prefix = randomBytes(9).toString('base64url');
  let counter = 0;
  return () => `${prefix}${(counter++).toString(36)}`;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

function specOf(recur: RecurrenceRecord): RecurrenceSpec {
  const spec: RecurrenceSpec = {};
  if (recur.cron !== undefined) spec.cron = recur.cron;
  if (recur.every !== undefined) spec.every = recur.every;
  if (recur.tz !== undefined) spec.tz = recur.tz;
  if (recur.startAt !== undefined) spec.startAt = recur.startAt;
  if (recur.endAt !== undefined) spec.endAt = recur.endAt;
  if (recur.anchor !== undefined) spec.anchor = recur.anchor;
  return spec;
}

/**
 * The clock a scheduler runs on. When the store has its own clock (a shared
 * store: its server's), every job time comes from it (runAt, slots, retries,
 * claim's `now`, finishedAt, lateness) and the given Clock only waits: a
 * timer for store instant `at` waits `at - store.now()` on the Clock and
 * re-checks the store's clock when it fires, so a fast, slow or jumping local
 * clock can neither fire it early nor stamp a job in another frame.
 */
function storeClock(store: Store, clock: Clock): Clock {
  if (typeof store.now !== 'function') return clock;
  const storeNow = (): number => (store.now as () => number).call(store);
  const wrapped: Clock = {
    now: storeNow,
    setTimer(at: number, fn: () => void): ClockTimer {
      let inner: ClockTimer | undefined;
      let cleared = false;
      const arm = (): void => {
        inner = clock.setTimer(clock.now() + Math.max(0, at - storeNow()), () => {
          if (cleared) return;
          if (storeNow() >= at) fn();
          else arm();
        });
      };
      arm();
      return {
        clear(): void {
          cleared = true;
          inner?.clear();
        },
      };
    },
  };
  const probe = clock.addPendingProbe?.bind(clock);
  if (probe) wrapped.addPendingProbe = probe;
  return wrapped;
}

/**
 * Runs delayed, timed and recurring jobs inside this process.
 * @example
 * type Jobs = { 'order.cancel': { orderId: string } };
 * const scheduler = new Scheduler<Jobs>({ store: new JsonFileStore('./jobs') });
 * scheduler.register('order.cancel', async (job) => cancelOrder(job.payload.orderId));
 * await scheduler.start();
 * await scheduler.scheduleIn('order.cancel', 30 * 60_000, { orderId: 'A1' });
 */
export class Scheduler<Jobs extends JobMap = JobMap> extends EventEmitter<EmitterMap<Jobs>> {
  private readonly store: Store;
  /** Job times (the store's clock when it has one, see storeClock). */
  private readonly clock: Clock;
  /** The Clock the user gave (or the system clock): what stores wait on. */
  private readonly baseClock: Clock;
  private readonly concurrency: number;
  private readonly retryDefault: HandlerRetryOptions;
  private readonly timeoutDefault: number | undefined;
  private readonly keepCompleted: number;
  private readonly keepDead: number;
  private readonly maxPayloadBytes: number = 1 << 20;
  private readonly handlers = new Map<string, HandlerEntry>();
  private readonly runningByName = new Map<string, number>();
  private readonly attempts = new Map<string, Attempt>();
  private readonly streams = new Set<EventStream<SchedulerEvent<Jobs>>>();
  private readonly missingReported = new Set<string>();
  private pendingOps = 0;
  private readonly opsIdle: (() => void)[] = [];
  private readonly lateness: number[] = [];
  private latenessNext = 0;
  private readonly newId = idFactory();
  private readonly newToken = idFactory();
  private status: 'idle' | 'starting' | 'started' | 'stopping' = 'idle';
  private paused = false;
  private startedAt = 0;
  private timer: ClockTimer | undefined;
  private timerAt: number | undefined;
  private dispatching = false;
  private dispatchAgain = false;
  private dispatchQueued = false;
  private busy = false;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private removeProbe: (() => void) | undefined;

  constructor(options: SchedulerOptions = {}) {
    super();
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, CONSTRUCTOR_KEYS, 'options');
    this.store = options.store ?? new MemoryStore();
    this.baseClock = options.clock ?? new SystemClock();
    this.clock = storeClock(this.store, this.baseClock);
    this.concurrency = options.concurrency === undefined ? 10 : checkPositiveInt(options.concurrency, 'options.concurrency');
    if (options.retry !== undefined) validateRetry(options.retry, 'options.retry', true);
    this.retryDefault = options.retry ?? DEFAULT_RETRY;
    this.timeoutDefault = options.timeout === undefined ? undefined : checkPositive(options.timeout, 'options.timeout');
    this.keepCompleted = options.keepCompleted === undefined ? 1000 : checkNonNegativeInt(options.keepCompleted, 'options.keepCompleted');
    this.keepDead = options.keepDead === undefined ? 10000 : checkNonNegativeInt(options.keepDead, 'options.keepDead');
  }

  // ---------------------------------------------------------------- handlers

  /**
   * Registers the handler for `name`. Registering a taken name replaces the
   * handler (hot update); attempts already running finish on the old one.
   */
  register<N extends keyof Jobs & string>(name: N, handler: Handler<Jobs, N>, options: RegisterOptions = {}): this {
    checkName(name);
    if (typeof handler !== 'function') throw new ValidationError(`Expected \`handler\` to be a function, got ${show(handler)}`);
    const o = checkOptionsObject(options, 'register options') ?? {};
    checkKeys(o, REGISTER_KEYS, 'register options');
    if (options.retry !== undefined) validateRetry(options.retry, 'register options.retry', true);
    this.handlers.set(name, {
      fn: handler as HandlerEntry['fn'],
      concurrency: options.concurrency === undefined ? Infinity : checkPositiveInt(options.concurrency, 'register options.concurrency'),
      retry: options.retry,
      timeout: options.timeout === undefined ? undefined : checkPositive(options.timeout, 'register options.timeout'),
    });
    this.missingReported.delete(name);
    this.kick();
    return this;
  }

  /** Removes the handler of `name`; due jobs of that name wait. Returns whether one was registered. */
  unregister(name: keyof Jobs & string): boolean {
    return this.handlers.delete(name);
  }

  // --------------------------------------------------------------- lifecycle

  /** Opens the store, recovers jobs, starts dispatching. Idempotent. */
  start(): Promise<void> {
    if (this.status === 'started') return Promise.resolve();
    if (this.starting) return this.starting;
    if (this.status === 'stopping') return Promise.reject(new SchedulerStoppedError('Expected a stopped scheduler to start, got one still stopping'));
    this.status = 'starting';
    this.starting = (async () => {
      try {
        await this.store.open({
          now: () => this.clock.now(),
          clock: this.baseClock,
          wake: () => this.kick(),
          keepCompleted: this.keepCompleted,
          keepDead: this.keepDead,
          maxPayloadBytes: this.maxPayloadBytes,
          warn: (message) => this.publish('error', () => ({ error: new GodelayqError(message) })),
          lost: (id, token) => this.lostAttempt(id, token),
        });
      } catch (error) {
        this.status = 'idle';
        throw error;
      }
      this.startedAt = this.clock.now();
      this.status = 'started';
      this.removeProbe = this.clock.addPendingProbe?.(() => this.hasPendingOneOff());
      this.kick();
    })().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /**
   * Stops dispatching, waits for running attempts up to `timeout` (on the
   * scheduler's clock), aborts the rest (they run again after the next
   * start), waits for pending store writes and closes the store. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, STOP_KEYS, 'options');
    const timeout = o.timeout === undefined ? 30_000 : checkDelay(o.timeout, 'options.timeout');
    if (this.stopping) return this.stopping;
    if (this.status === 'idle') return Promise.resolve();
    this.stopping = (async () => {
      if (this.starting) await this.starting.catch(() => undefined);
      if (this.status !== 'started') return;
      this.status = 'stopping';
      this.clearTimer();
      while (this.dispatching) await this.idleTurn();
      const running = [...this.attempts.values()];
      if (running.length > 0) {
        // The wait ends on the scheduler's clock or in real time, whichever
        // comes first: a VirtualClock nobody advances must not hang stop().
        let expire: ClockTimer | undefined;
        let realTimer: NodeJS.Timeout | undefined;
        const expired = new Promise<void>((resolve) => {
          expire = this.clock.setTimer(this.clock.now() + timeout, resolve);
          realTimer = setTimeout(resolve, timeout);
        });
        await Promise.race([Promise.all(running.map((a) => a.done)), expired]);
        expire?.clear();
        clearTimeout(realTimer);
        for (const attempt of this.attempts.values()) {
          attempt.abandoned = true;
          attempt.timer?.clear();
          attempt.controller.abort(new SchedulerStoppedError('Attempt aborted: the scheduler stopped before it finished'));
        }
        this.attempts.clear();
        this.runningByName.clear();
      }
      await this.opsSettled();
      this.removeProbe?.();
      this.removeProbe = undefined;
      try {
        await this.store.close();
      } finally {
        this.status = 'idle';
        this.paused = false;
        for (const stream of [...this.streams]) stream.end();
      }
    })().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** `await using scheduler = …` stops it gracefully. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Opt-in: stop gracefully on SIGTERM/SIGINT, then re-raise the signal so
   * the process ends as it would have. Returns a function that removes the
   * listeners.
   */
  stopOnSignals(options: SignalOptions = {}): () => void {
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, SIGNAL_KEYS, 'options');
    const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    if (!Array.isArray(signals) || signals.length === 0 || signals.some((x) => typeof x !== 'string' || !Object.hasOwn(osConstants.signals, x))) {
      throw new ValidationError(`Expected \`options.signals\` to be a non-empty array of signal names, got ${show(signals)}`);
    }
    const stopOptions: StopOptions = options.timeout === undefined ? {} : { timeout: checkDelay(options.timeout, 'options.timeout') };
    const remove = (): void => {
      for (const s of signals) process.removeListener(s, onSignal);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      remove();
      this.stop(stopOptions)
        .catch((error: unknown) => this.publish('error', () => ({ error: toError(error) })))
        .finally(() => process.kill(process.pid, signal));
    };
    for (const s of signals) process.once(s, onSignal);
    return remove;
  }

  /** Stops starting new attempts; running ones continue. */
  pause(): void {
    this.paused = true;
    this.clearTimer();
  }

  /** Starts dispatching again after `pause()`. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.kick();
  }

  // ---------------------------------------------------------------- schedule

  /** Runs job `name` once, `delay` ms from now. Resolves once the store has recorded it. */
  async scheduleIn<N extends keyof Jobs & string>(
    name: N,
    delay: number,
    payload: Jobs[N],
    options?: ScheduleOptions,
  ): Promise<JobInfo<N, Jobs[N]>> {
    this.assertStarted();
    const runAt = Math.ceil(this.clock.now() + checkDelay(delay));
    if (runAt > MAX_TIME) throw new ValidationError(`Expected \`delay\` to end before ±8.64e15 ms, got ${show(delay)}`);
    const request = this.oneOff(name, runAt, payload, options);
    return this.insertOne(request) as Promise<JobInfo<N, Jobs[N]>>;
  }

  /** Runs job `name` once at `at` (Date or epoch ms); a past time runs at once. */
  async scheduleAt<N extends keyof Jobs & string>(
    name: N,
    at: Date | number,
    payload: Jobs[N],
    options?: ScheduleOptions,
  ): Promise<JobInfo<N, Jobs[N]>> {
    this.assertStarted();
    const request = this.oneOff(name, checkTime(at, 'at'), payload, options);
    return this.insertOne(request) as Promise<JobInfo<N, Jobs[N]>>;
  }

  /**
   * Schedules several one-off jobs: all or none, in one store write.
   * Each item gives `delay` (ms) or `at`.
   */
  async scheduleMany(items: readonly ScheduleManyItem<Jobs>[]): Promise<JobInfoOf<Jobs>[]> {
    this.assertStarted();
    if (!Array.isArray(items)) throw new ValidationError(`Expected \`items\` to be an array, got ${show(items)}`);
    const now = this.clock.now();
    const requests = items.map((item: unknown, i) => {
      const it = checkOptionsObject(item, `items[${i}]`);
      if (!it) throw new ValidationError(`Expected \`items[${i}]\` to be { name, payload, delay | at, options? }, got undefined`);
      checkKeys(it, new Set(['name', 'payload', 'delay', 'at', 'options']), `items[${i}]`);
      if ((it.delay === undefined) === (it.at === undefined)) {
        throw new ValidationError(`Expected \`items[${i}]\` to have exactly one of \`delay\` or \`at\`, got ${it.delay === undefined ? 'neither' : 'both'}`);
      }
      const runAt = it.delay !== undefined ? Math.ceil(now + checkDelay(it.delay, `items[${i}].delay`)) : checkTime(it.at, `items[${i}].at`);
      if (runAt > MAX_TIME) throw new ValidationError(`Expected \`items[${i}].delay\` to end before ±8.64e15 ms, got ${show(it.delay)}`);
      return this.oneOff(it.name, runAt, it.payload, it.options as ScheduleOptions | undefined, `items[${i}]`);
    });
    return this.insertMany(requests);
  }

  /**
   * A recurring job on a cron expression (5 or 6 fields, or `@daily`-style),
   * read in `options.tz` (default UTC). One schedule = one job id. Re-declaring
   * the same schedule (same id, expression and options) keeps the existing one.
   */
  async scheduleCron<N extends keyof Jobs & string>(
    name: N,
    expression: string,
    payload: Jobs[N],
    options?: CronOptions,
  ): Promise<JobInfo<N, Jobs[N]>> {
    this.assertStarted();
    if (typeof expression !== 'string') throw new ValidationError(`Expected \`expression\` to be a cron string, got ${show(expression)}`);
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, CRON_KEYS, 'options');
    if (o.tz !== undefined && typeof o.tz !== 'string') throw new ValidationError(`Expected \`options.tz\` to be an IANA time zone name, got ${show(o.tz)}`);
    const request = this.recurring(name, { cron: expression, ...(o.tz === undefined ? {} : { tz: o.tz as string }) }, payload, o);
    return this.insertOne(request) as Promise<JobInfo<N, Jobs[N]>>;
  }

  /** A recurring job every `interval` ms; slots are start + k × interval, never drifting with run time. */
  async scheduleEvery<N extends keyof Jobs & string>(
    name: N,
    interval: number,
    payload: Jobs[N],
    options?: EveryOptions,
  ): Promise<JobInfo<N, Jobs[N]>> {
    this.assertStarted();
    const every = checkPositive(interval, 'interval');
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, EVERY_KEYS, 'options');
    const request = this.recurring(name, { every }, payload, o);
    return this.insertOne(request) as Promise<JobInfo<N, Jobs[N]>>;
  }

  private baseRecord(name: unknown, payload: unknown, o: Record<string, unknown>, where: string): Omit<NewJobRecord, 'id' | 'runAt'> & { id?: string } {
    checkName(name, `${where}name`);
    const record: Omit<NewJobRecord, 'id' | 'runAt'> & { id?: string } = {
      name: name as string,
      payload: toJsonValue(payload, `${where}payload`),
      state: 'scheduled',
      createdAt: this.clock.now(),
      attempt: 0,
      priority: o.priority === undefined ? 0 : checkFinite(o.priority, `${where}options.priority`),
    };
    if (o.id !== undefined) record.id = checkId(o.id);
    if (o.retry !== undefined) {
      validateRetry(o.retry, `${where}options.retry`, false);
      record.retry = toJsonValue(o.retry, `${where}options.retry`) as unknown as NonNullable<JobRecord['retry']>;
    }
    if (o.timeout !== undefined) record.timeout = checkPositive(o.timeout, `${where}options.timeout`);
    return record;
  }

  private duplicateMode(value: unknown, fallback: DuplicateMode, where: string): DuplicateMode {
    if (value === undefined) return fallback;
    if (value !== 'reject' && value !== 'keep' && value !== 'replace') {
      throw new ValidationError(`Expected \`${where}options.onDuplicate\` to be 'reject', 'keep' or 'replace', got ${show(value)}`);
    }
    return value;
  }

  private oneOff(name: unknown, runAt: number, payload: unknown, options: unknown, path?: string): InsertRequest {
    const where = path === undefined ? '' : `${path}.`;
    if (options === undefined) {
      // Hot path (no options): one record literal, one shape.
      checkName(name, `${where}name`);
      const record: NewJobRecord = {
        id: this.newId(),
        name: name as string,
        payload: toJsonValue(payload, `${where}payload`),
        state: 'scheduled',
        runAt,
        createdAt: this.clock.now(),
        attempt: 0,
        priority: 0,
        seq: 0, // assigned by the store; present so the record keeps this shape (adding it later costs 40 B a job)
      } as NewJobRecord;
      return { record, onDuplicate: 'reject' };
    }
    const o = checkOptionsObject(options, `${where}options`) ?? NO_OPTIONS;
    checkKeys(o, SCHEDULE_KEYS, `${where}options`);
    const base = this.baseRecord(name, payload, o, where);
    const record: NewJobRecord = { ...base, id: base.id ?? this.newId(), runAt };
    return { record, onDuplicate: this.duplicateMode(o.onDuplicate, 'reject', where) };
  }

  private recurring(name: unknown, what: { cron?: string; every?: number; tz?: string }, payload: unknown, o: Record<string, unknown>): InsertRequest {
    const now = this.clock.now();
    const base = this.baseRecord(name, payload, o, '');
    const misfire = o.misfire ?? 'once';
    if (misfire !== 'once' && misfire !== 'skip' && misfire !== 'all') {
      throw new ValidationError(`Expected \`options.misfire\` to be 'once', 'skip' or 'all', got ${show(misfire)}`);
    }
    const spec: RecurrenceSpec = { ...what };
    if (o.startAt !== undefined) spec.startAt = checkTime(o.startAt, 'options.startAt');
    if (o.endAt !== undefined) spec.endAt = checkTime(o.endAt, 'options.endAt');
    if (what.every !== undefined) spec.anchor = spec.startAt ?? now + what.every;
    const limit = o.limit === undefined ? undefined : checkPositiveInt(o.limit, 'options.limit');
    validateRecurrence(spec, now);
    // An explicit startAt that is not in the past may itself be the first slot.
    const first =
      what.every !== undefined && spec.startAt === undefined
        ? spec.anchor
        : spec.startAt !== undefined && spec.startAt >= now
          ? firstSlot(spec, spec.startAt)
          : nextSlot(spec, now);
    if (first === undefined) {
      throw new ValidationError(`Expected schedule ${what.cron === undefined ? `every ${what.every} ms` : `'${what.cron}'`} to fire after now, got no slot before endAt`);
    }
    const signature = recurrenceSignature({
      ...spec,
      ...(limit === undefined ? {} : { limit }),
      misfire,
      ...(base.retry === undefined ? {} : { retry: base.retry }),
      ...(base.timeout === undefined ? {} : { timeout: base.timeout }),
      priority: base.priority,
      name: base.name,
    });
    const recur: RecurrenceRecord = { misfire, slot: first, count: 0, signature };
    if (what.cron !== undefined) recur.cron = what.cron;
    if (what.every !== undefined) recur.every = what.every;
    if (spec.tz !== undefined) recur.tz = spec.tz;
    if (spec.startAt !== undefined) recur.startAt = spec.startAt;
    if (spec.endAt !== undefined) recur.endAt = spec.endAt;
    if (spec.anchor !== undefined) recur.anchor = spec.anchor;
    if (limit !== undefined) recur.limit = limit;
    // Default id: the same declaration gets the same id at every start-up.
    const id =
      base.id ??
      `${base.name}:${what.cron === undefined ? 'every' : 'cron'}:${shortHash(JSON.stringify([what.cron ?? what.every, spec.tz ?? null, base.payload]))}`;
    const record: NewJobRecord = { ...base, id, runAt: first, recur };
    return { record, onDuplicate: this.duplicateMode(o.onDuplicate, 'keepIfSame', '') };
  }

  private async insertOne(request: InsertRequest): Promise<JobInfoOf<Jobs>> {
    this.opStarted();
    let results: InsertResult[];
    try {
      results = await this.store.insert([request]);
    } finally {
      this.opEnded();
    }
    return this.afterInsert(results[0] as InsertResult);
  }

  private async insertMany(requests: InsertRequest[]): Promise<JobInfoOf<Jobs>[]> {
    this.opStarted();
    let results: InsertResult[];
    try {
      results = await this.store.insert(requests);
    } finally {
      this.opEnded();
    }
    return results.map((result) => this.afterInsert(result));
  }

  private afterInsert(result: InsertResult): JobInfoOf<Jobs> {
    if (result.previous?.state === 'running') this.abortReplaced(result.previous.id);
    if (result.outcome !== 'kept' && this.wants('scheduled')) this.publish('scheduled', () => ({ job: this.info(result.record) }));
    this.arm();
    return this.info(result.record);
  }

  // ------------------------------------------------------------- operations

  /**
   * Cancels a scheduled or running job (a running one is aborted and never
   * retried). Resolves false when there is no such job or it already ended.
   */
  async cancel(id: string): Promise<boolean> {
    this.assertStarted();
    checkId(id);
    const record = await this.track(this.store.cancel(id, this.clock.now()));
    if (!record) return false;
    const attempt = this.attempts.get(id);
    if (attempt) this.abandonAttempt(attempt, new GodelayqError(`Job ${id} was cancelled`));
    this.publish('cancelled', () => ({ job: this.info(record) }));
    this.arm();
    return true;
  }

  /** Moves a scheduled job (or a schedule's next slot) to `when`. */
  async reschedule(id: string, when: Date | number): Promise<JobInfoOf<Jobs>> {
    this.assertStarted();
    checkId(id);
    const runAt = checkTime(when, 'when');
    const before = await this.store.get(id);
    const record = await this.track(this.store.reschedule(id, runAt));
    this.publish('rescheduled', () => ({ job: this.info(record), previousRunAt: new Date(before?.runAt ?? runAt) }));
    this.arm();
    return this.info(record);
  }

  /** Puts a dead (or cancelled) job back to `scheduled`, attempts reset, at `at` (default now). */
  async retry(id: string, options: { at?: Date | number } = {}): Promise<JobInfoOf<Jobs>> {
    this.assertStarted();
    checkId(id);
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, new Set(['at']), 'options');
    const runAt = o.at === undefined ? this.clock.now() : checkTime(o.at, 'options.at');
    const record = await this.track(this.store.revive(id, runAt));
    this.publish('scheduled', () => ({ job: this.info(record) }));
    this.arm();
    return this.info(record);
  }

  /** The job with this id, if the store still has it. */
  async get(id: string): Promise<JobInfoOf<Jobs> | undefined> {
    this.assertStarted();
    checkId(id);
    const record = await this.store.get(id);
    return record && this.info(record);
  }

  /** Jobs ordered by runAt; no limit = every match. */
  async list(filter: ListFilter = {}): Promise<JobInfoOf<Jobs>[]> {
    this.assertStarted();
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
    const records = await this.store.list(query);
    return records.map((r) => this.info(r));
  }

  /** Current counts and start lateness percentiles (ms). */
  stats(): SchedulerStats {
    const c = this.store.counts();
    const sorted = this.lateness.slice().sort((a, b) => a - b);
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

  /**
   * Async iterator over events, filtered by type, job name (`prefix.*`) and
   * id, with a bounded buffer. Ends when the loop exits or the scheduler stops.
   */
  events<T extends SchedulerEventType = SchedulerEventType>(
    options: EventStreamOptions & { types?: readonly T[] } = {},
  ): AsyncIterableIterator<Extract<SchedulerEvent<Jobs>, { type: T }>> {
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, new Set(['types', 'names', 'ids', 'bufferSize', 'overflow']), 'options');
    if (options.bufferSize !== undefined) checkPositiveInt(options.bufferSize, 'options.bufferSize');
    if (options.overflow !== undefined && !['dropOldest', 'dropNewest', 'error'].includes(options.overflow)) {
      throw new ValidationError(`Expected \`options.overflow\` to be 'dropOldest', 'dropNewest' or 'error', got ${show(options.overflow)}`);
    }
    for (const key of ['types', 'names', 'ids'] as const) {
      const list: unknown = options[key];
      if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== 'string'))) {
        throw new ValidationError(`Expected \`options.${key}\` to be an array of strings, got ${show(list)}`);
      }
    }
    const stream = new EventStream<SchedulerEvent<Jobs>>(options, (s) => this.streams.delete(s));
    this.streams.add(stream);
    // The stream only lets through events whose type is in `types`.
    return stream as unknown as AsyncIterableIterator<Extract<SchedulerEvent<Jobs>, { type: T }>>;
  }

  // ---------------------------------------------------------------- dispatch

  private assertStarted(): void {
    if (this.status !== 'started') {
      throw new SchedulerStoppedError(
        this.status === 'stopping'
          ? 'Expected a running scheduler, got one that is stopping'
          : 'Expected a started scheduler, got one not started (await scheduler.start() first)',
      );
    }
  }

  /** Store operations in flight are counted so `stop()` can wait for them without per-call allocations. */
  private opStarted(): void {
    this.pendingOps++;
  }

  private opEnded(): void {
    if (--this.pendingOps === 0 && this.opsIdle.length > 0) {
      for (const resolve of this.opsIdle.splice(0)) resolve();
    }
  }

  private async track<T>(promise: Promise<T>): Promise<T> {
    this.opStarted();
    try {
      return await promise;
    } finally {
      this.opEnded();
    }
  }

  private opsSettled(): Promise<void> {
    if (this.pendingOps === 0) return Promise.resolve();
    return new Promise((resolve) => this.opsIdle.push(resolve));
  }

  private idleTurn(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }

  /** Runs `dispatch` soon, coalescing many requests into one pass. */
  private kick(): void {
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

  /** Keeps the one timer armed for the earliest due time. */
  private arm(): void {
    if (this.status !== 'started' || this.paused) return;
    if (this.attempts.size >= this.concurrency) {
      // Every slot is busy: the next completion dispatches. Arming now would
      // spin on a timer for a job that is already due but cannot start.
      this.clearTimer();
      return;
    }
    const at = this.store.nextDueAt();
    if (at === undefined) {
      this.clearTimer();
      return;
    }
    if (this.timerAt === at && this.timer) return;
    this.armAt(at);
  }

  /** (Re)arms the scheduler's one timer for `at`; it dispatches when it fires. */
  private armAt(at: number): void {
    this.clearTimer();
    this.timerAt = at;
    this.timer = this.clock.setTimer(at, () => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.kick();
    });
  }

  private capacity(name: string): number {
    const handler = this.handlers.get(name);
    if (!handler) return 0;
    return handler.concurrency - (this.runningByName.get(name) ?? 0);
  }

  private async dispatch(): Promise<void> {
    if (this.status !== 'started' || this.paused) return;
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    let retryAt: number | undefined;
    let waiting: string[] = [];
    try {
      for (;;) {
        this.dispatchAgain = false;
        const free = this.concurrency - this.attempts.size;
        if (free <= 0 || this.status !== 'started' || this.paused) break;
        const now = this.clock.now();
        const claimed = await this.track(
          this.store.claim({ now, limit: free, capacity: (name) => this.capacity(name), token: this.newToken }),
        );
        waiting = claimed.waiting;
        for (const record of claimed.jobs) this.begin(record, now);
        if (claimed.jobs.length < free && !this.dispatchAgain) break;
      }
    } catch (error) {
      this.publish('error', () => ({ error: toError(error) }));
      retryAt = this.clock.now() + 1000;
    } finally {
      this.dispatching = false;
    }
    for (const name of waiting) {
      if (!this.handlers.has(name) && !this.missingReported.has(name)) {
        this.missingReported.add(name);
        this.publish('missingHandler', () => ({ name }));
      }
    }
    if (retryAt !== undefined && this.status === 'started') {
      this.armAt(retryAt);
      return;
    }
    if (this.dispatchAgain) this.kick();
    this.arm();
    this.checkDrained();
  }

  private checkDrained(): void {
    if (!this.busy || this.attempts.size > 0 || this.status !== 'started') return;
    const next = this.store.nextDueAt();
    if (next !== undefined && next <= this.clock.now()) return;
    this.busy = false;
    this.publish('drained', () => ({}));
  }

  /** True while one-off work remains (for VirtualClock.runAll). */
  private hasPendingOneOff(): boolean {
    if (this.attempts.size > 0) return true;
    const c = this.store.counts();
    // Schedules alone do not count as pending work.
    return c.scheduled > c.recurring;
  }

  /** Starts (or re-plans, for a misfired schedule) a claimed job. */
  private begin(claimed: JobRecord, now: number): void {
    let record = claimed;
    if (record.recur && record.attempt === 1) {
      const recur = record.recur;
      const afterDowntime = this.store.shared !== true && recur.slot < this.startedAt;
      const plan = planDue(specOf(recur), recur.slot, now, recur.misfire, afterDowntime);
      if (plan.missed > 0) {
        const runAt = plan.runAt === undefined ? undefined : new Date(plan.runAt);
        this.publish('misfired', () => ({ job: this.info(record), missed: plan.missed, runAt }));
      }
      if (plan.runAt === undefined || plan.runAt > now) {
        // Skip to a future slot (or the schedule ended) without running.
        const next: JobRecord =
          plan.runAt === undefined
            ? patchRecord(record, { state: 'completed', finishedAt: now, attempt: 0, token: undefined })
            : patchRecord(record, { state: 'scheduled', runAt: plan.runAt, attempt: 0, token: undefined, recur: { ...recur, slot: plan.runAt } });
        void this.finishSettle(claimed, next, () => undefined);
        return;
      }
      if (plan.runAt !== recur.slot) record = patchRecord(record, { runAt: plan.runAt, recur: { ...recur, slot: plan.runAt } });
    }
    const handler = this.handlers.get(record.name);
    if (!handler) {
      // Unregistered between claim and start: put it back as it was.
      void this.finishSettle(claimed, patchRecord(claimed, { state: 'scheduled', attempt: claimed.attempt - 1, token: undefined }), () => undefined);
      return;
    }
    this.busy = true;
    this.runningByName.set(record.name, (this.runningByName.get(record.name) ?? 0) + 1);
    const controller = new AbortController();
    const slot = record.recur ? record.recur.slot : record.runAt;
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
      done: new Promise<void>((resolve) => {
        resolveDone = resolve;
      }),
      cancelled: false,
      abandoned: false,
    };
    this.attempts.set(record.id, attempt);
    this.publish('started', () => ({ job: this.info(record), lateness }));

    let ended = false;
    const end = (ok: boolean, value: unknown): void => {
      if (ended) return;
      ended = true;
      attempt.timer?.clear();
      void this.afterAttempt(attempt, ok, value).finally(resolveDone);
    };
    const timeout = record.timeout ?? handler.timeout ?? this.timeoutDefault;
    if (timeout !== undefined) {
      attempt.timer = this.clock.setTimer(now + timeout, () => {
        const error = new JobTimeoutError(timeout);
        controller.abort(error);
        end(false, error);
      });
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
      runAt: new Date(slot),
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

  private releaseSlot(attempt: Attempt): void {
    if (this.attempts.get(attempt.record.id) !== attempt) return;
    this.attempts.delete(attempt.record.id);
    const name = attempt.record.name;
    const n = (this.runningByName.get(name) ?? 1) - 1;
    if (n <= 0) this.runningByName.delete(name);
    else this.runningByName.set(name, n);
  }

  private retryPolicy(record: JobRecord, handler: HandlerEntry): HandlerRetryOptions {
    return record.retry ?? handler.retry ?? this.retryDefault;
  }

  private async afterAttempt(attempt: Attempt, ok: boolean, value: unknown): Promise<void> {
    const { record, handler } = attempt;
    if (attempt.abandoned) return;
    if (attempt.cancelled) {
      this.releaseSlot(attempt);
      this.kick();
      return;
    }
    const now = this.clock.now();
    const durationMs = now - attempt.startedAt;
    const base = patchRecord(record, { token: undefined });
    if (ok) {
      let result: JsonValue | undefined;
      try {
        result = value === undefined ? undefined : toJsonValue(value, 'result');
      } catch {
        result = undefined; // not JSON: kept in the event only
      }
      const next = this.afterOccurrence(base, now, result === undefined ? {} : { result });
      await this.finishSettle(record, next, (settled) => {
        this.publish('completed', () => ({ job: this.info(settled), result: value, durationMs }));
      });
    } else {
      const error = toError(value);
      const summary = errorSummary(error);
      const policy = this.retryPolicy(record, handler);
      let delay: number | undefined;
      if (!(error instanceof UnrecoverableError) && record.attempt <= policy.maxRetries) {
        try {
          delay = backoffDelay(policy.backoff, record.attempt, error);
        } catch (backoffError) {
          this.publish('error', () => ({ error: toError(backoffError), jobId: record.id }));
        }
      }
      if (delay !== undefined) {
        const runAt = Math.min(MAX_TIME, now + delay);
        const next = patchRecord(base, { state: 'scheduled', runAt, lastError: summary });
        await this.finishSettle(record, next, (settled) => {
          this.publish('failed', () => ({ job: this.info(settled), error, willRetry: true, nextRunAt: new Date(runAt) }));
          this.publish('retrying', () => ({ job: this.info(settled), attempt: record.attempt + 1, delay, nextRunAt: new Date(runAt) }));
        });
      } else {
        const next = record.recur
          ? this.afterOccurrence(patchRecord(base, { lastError: summary }), now, {})
          : patchRecord(base, { state: 'dead', finishedAt: now, lastError: summary });
        await this.finishSettle(record, next, (settled) => {
          const dead = this.info(patchRecord(record, { state: 'dead', lastError: summary }));
          this.publish('failed', () => ({
            job: this.info(settled),
            error,
            willRetry: false,
            ...(settled.state === 'scheduled' ? { nextRunAt: new Date(settled.runAt) } : {}),
          }));
          this.publish('dead', () => ({ job: dead, error }));
        });
      }
    }
  }

  /** The record after a finished occurrence: a schedule's next slot, or completed. */
  private afterOccurrence(base: JobRecord, now: number, extra: { result?: JsonValue }): JobRecord {
    const recur = base.recur;
    if (!recur) return patchRecord(base, { ...extra, state: 'completed', finishedAt: now });
    const count = recur.count + 1;
    const next = recur.limit !== undefined && count >= recur.limit ? undefined : nextSlot(specOf(recur), recur.slot);
    if (next === undefined) return patchRecord(base, { ...extra, state: 'completed', finishedAt: now, recur: { ...recur, count } });
    return patchRecord(base, { ...extra, state: 'scheduled', runAt: next, attempt: 0, recur: { ...recur, count, slot: next } });
  }

  /**
   * Records an attempt's outcome (retrying a failed store write twice),
   * frees its slot, then emits through `emit` once durable.
   */
  private async finishSettle(claimed: JobRecord, next: JobRecord, emit: (settled: JobRecord) => void): Promise<void> {
    const token = claimed.token as string;
    let settled = false;
    let lastError: unknown;
    for (let i = 0; i < 3; i++) {
      try {
        settled = await this.track(this.store.settle(claimed.id, token, next));
        lastError = undefined;
        break;
      } catch (error) {
        lastError = error;
      }
    }
    const attempt = this.attempts.get(claimed.id);
    if (attempt) this.releaseSlot(attempt);
    if (lastError !== undefined) {
      this.publish('error', () => ({ error: toError(lastError), jobId: claimed.id }));
    } else if (settled) {
      emit(next);
    }
    this.kick();
  }

  /** The store says this attempt no longer owns its job (cancelled or replaced in another process, or its lease lapsed): abort it; its outcome is not recorded. */
  private lostAttempt(id: string, token: string): void {
    const attempt = this.attempts.get(id);
    if (!attempt || attempt.record.token !== token || attempt.cancelled) return;
    this.abandonAttempt(attempt, new GodelayqError(`Job ${id} was cancelled, replaced or taken over by another process`));
  }

  private abortReplaced(id: string): void {
    const attempt = this.attempts.get(id);
    if (attempt) this.abandonAttempt(attempt, new GodelayqError(`Job ${id} was replaced`));
  }

  /**
   * A cancelled or replaced attempt: abort its signal and free its slot now,
   * so a handler that ignores the signal and never settles cannot hold a
   * concurrency slot forever. Its eventual outcome is ignored.
   */
  private abandonAttempt(attempt: Attempt, reason: Error): void {
    attempt.cancelled = true;
    attempt.timer?.clear();
    attempt.controller.abort(reason);
    this.releaseSlot(attempt);
    this.kick();
  }

  // ------------------------------------------------------------------ events

  /** Whether anyone listens for `type` (to skip building event payloads). */
  private wants(type: keyof SchedulerEvents<Jobs>): boolean {
    return this.streams.size > 0 || this.listenerCount(type) > 0;
  }

  private publish<K extends keyof SchedulerEvents<Jobs>>(type: K, make: () => SchedulerEvents<Jobs>[K]): void {
    const listeners = this.listenerCount(type);
    if (listeners === 0 && this.streams.size === 0) return;
    const payload = make();
    if (listeners > 0) {
      try {
        (this.emit as (t: K, p: SchedulerEvents<Jobs>[K]) => boolean)(type, payload);
      } catch (error) {
        // A throwing listener must not break dispatch; report it unless it was the error listener.
        if (type !== 'error') this.publish('error', () => ({ error: toError(error) }));
      }
    }
    if (this.streams.size > 0) {
      const event = { type, ...payload } as unknown as SchedulerEvent<Jobs>;
      for (const stream of this.streams) stream.push(event);
    }
  }

  private info(record: JobRecord): JobInfoOf<Jobs> {
    const handler = this.handlers.get(record.name);
    const info: JobInfo = {
      id: record.id,
      name: record.name,
      payload: record.payload,
      state: record.state,
      runAt: new Date(record.runAt),
      createdAt: new Date(record.createdAt),
      attempt: record.attempt,
      maxRetries: (record.retry ?? handler?.retry ?? this.retryDefault).maxRetries,
      priority: record.priority,
    };
    if (record.lastError) info.lastError = record.lastError;
    if (record.result !== undefined) info.result = record.result;
    const recur = record.recur;
    if (recur) {
      let nextRunAt: Date | undefined;
      if (record.state === 'scheduled') nextRunAt = new Date(record.runAt);
      else if (record.state === 'running') {
        // While an occurrence runs, the next one is the slot after it.
        const next = recur.limit !== undefined && recur.count + 1 >= recur.limit ? undefined : nextSlot(specOf(recur), recur.slot);
        nextRunAt = next === undefined ? undefined : new Date(next);
      }
      if (recur.cron !== undefined) info.cron = { expression: recur.cron, ...(recur.tz === undefined ? {} : { tz: recur.tz }), nextRunAt };
      if (recur.every !== undefined) info.every = { interval: recur.every, nextRunAt };
    }
    return info as JobInfoOf<Jobs>;
  }
}

/** 8 hex chars of FNV-1a: short stable suffix for default schedule ids. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
