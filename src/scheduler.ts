/**
 * Scheduler<Jobs>: the public API, a facade. It validates every call at the
 * boundary and hands the work to the modules of src/scheduler/:
 * - requests.ts turns `schedule*` calls into store insert requests, and
 *   inserts.ts sends them to the store and answers with JobInfo;
 *   call-checks.ts checks the arguments of register, the recurring and
 *   batch `schedule*` calls and the write calls;
 * - dispatcher.ts runs the timer and the claim loop, attempt.ts the attempt
 *   lifecycle (run, timeout, settle, retry) over attempt-registry.ts's
 *   running attempts;
 * - settings.ts checks the constructor's options, lifecycle.ts starts and
 *   stops (store open and close, signals);
 * - pause.ts applies pause/resume, here and store-wide;
 * - event-hub.ts sends events to listeners, streams and other processes;
 * - options.ts, schedules.ts, wait-for.ts, info.ts: option checks, schedule
 *   views, `waitFor`, JobInfo.
 *
 * HOW
 * - Jobs live in a Store. Local stores index scheduled jobs in a 4-ary heap
 *   keyed by due time; the scheduler keeps ONE timer, armed for the store's
 *   earliest due time, never one timer per job.
 * - Every `schedule*`, `cancel`, `reschedule` resolves only once the store
 *   has durably recorded the change; events follow the store, never lead it.
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
import type { Clock } from './clock.js';
import { GodelayqError, UnsupportedOptionError } from './errors.js';
import type { EventStream, EventStreamOptions, JobInfoOf, SchedulerEvent, SchedulerEventType, SchedulerEvents } from './events.js';
import { Dispatcher, tokenFactory } from './scheduler/dispatcher.js';
import { EventHub, type Emitter } from './scheduler/event-hub.js';
import type { DispatchHost, HandlerEntry } from './scheduler/host.js';
import { jobInfo } from './scheduler/info.js';
import { checkRegistered, dueAfter, idFactory, oneOffRequest, type RequestContext } from './scheduler/requests.js';
import { cronCall, everyCall, handlerEntry, manyCall, retryAt, writeCall } from './scheduler/call-checks.js';
import { Inserts } from './scheduler/inserts.js';
import { Lifecycle } from './scheduler/lifecycle.js';
import {
  listQuery,
  schedulerStats,
  writeOptions,
  type Handler,
  type RegisterOptions,
  type ScheduleManyItem,
  type SchedulerOptions,
  type SignalOptions,
  type StopOptions,
} from './scheduler/options.js';
import { listSchedules, nextRuns, type ListSchedulesOptions, type NextRunsOptions, type ScheduleInfo } from './scheduler/schedules.js';
import { TRACE_HOOK, type TraceHook } from './scheduler/trace-hook.js';
import { requireFeature, resolveSettings, type Settings } from './scheduler/settings.js';
import { PauseControl, type PauseOptions } from './scheduler/pause.js';
import { Waiters, subscribeFinals, type FinalEvents, type WaitForOptions, type WaitResult } from './scheduler/wait-for.js';
import { GENERATED_IDS, type GeneratedIds } from './store/id-index.js';
import type { JobRecord, Store, StoreWriteOptions } from './store/store.js';
import { RateLimits } from './control/rate-limit-option.js';
import { withRemoval } from './control/removal-option.js';
import type {
  CronOptions,
  EveryOptions,
  HandlerRetryOptions,
  JobInfo,
  JobMap,
  ListFilter,
  ResultMap,
  ResultOf,
  ScheduleOptions,
  SchedulerStats,
  StoredResult,
  WriteOptions,
} from './types.js';
import { checkId, checkTime } from './validate.js';

export type { SchedulerOptions, RegisterOptions, Handler, ScheduleManyItem, StopOptions, SignalOptions } from './scheduler/options.js';
export type { PauseOptions } from './scheduler/pause.js';

/** The store options of a call without `db`. */
const NO_WRITE: StoreWriteOptions = Object.freeze({});

/** eventemitter3's event map: each event has one payload argument. */
type EmitterMap<Jobs extends JobMap, Results> = { [K in keyof SchedulerEvents<Jobs, Results>]: [SchedulerEvents<Jobs, Results>[K]] };

/**
 * Runs delayed, timed and recurring jobs inside this process.
 * @example
 * type Jobs = { 'order.cancel': { orderId: string } };
 * const scheduler = new Scheduler<Jobs>({ store: new JsonFileStore('./jobs') });
 * scheduler.register('order.cancel', async (job) => cancelOrder(job.payload.orderId));
 * await scheduler.start();
 * await scheduler.scheduleIn('order.cancel', 30 * 60_000, { orderId: 'A1' });
 */
export class Scheduler<Jobs extends JobMap = JobMap, Results extends ResultMap<Jobs> = object> extends EventEmitter<EmitterMap<Jobs, Results>> {
  private readonly store: Store;
  /** Job times (the store's clock when it has one, see storeClock). */
  private readonly times: Clock;
  /** The Clock the user gave (or the system clock): what stores wait on. */
  private readonly baseClock: Clock;
  /** The constructor's options, checked and resolved (scheduler/settings.ts). */
  private readonly settings: Settings;
  private readonly handlers = new Map<string, HandlerEntry>();
  /** Some constructor or register call gave a removal policy: finished records are checked against them. */
  private removalInUse = false;
  private readonly rateLimits = new RateLimits();
  private readonly streams = new Set<EventStream<SchedulerEvent<Jobs, Results>>>();
  private readonly dispatcher: Dispatcher;
  private readonly requests: RequestContext;
  private readonly waiters: Waiters;
  /** Listeners, streams and other processes (scheduler/event-hub.ts). */
  private readonly hub: EventHub<Jobs, Results>;
  /** start / stop (scheduler/lifecycle.ts). */
  private readonly life: Lifecycle;
  private readonly inserts: Inserts<Jobs, Results>;
  private readonly pauses: PauseControl;

  constructor(options: SchedulerOptions = {}) {
    super();
    const settings = resolveSettings(options);
    this.settings = settings;
    this.store = settings.store;
    this.baseClock = settings.baseClock;
    this.times = settings.times;
    if (settings.rateLimit !== undefined) this.rateLimits.global = settings.rateLimit;
    this.removalInUse = settings.removal !== undefined;
    const removalDefaults = settings.removal ?? {};
    this.hub = new EventHub<Jobs, Results>(this as unknown as Emitter<SchedulerEvents<Jobs, Results>>, this.streams, this.store, settings.remoteOut);
    const host: DispatchHost = {
      store: this.store,
      clock: this.times,
      baseClock: this.baseClock,
      concurrency: settings.concurrency,
      timeoutDefault: settings.timeoutDefault,
      misfireGraceMs: settings.misfireGraceMs,
      maxPayloadBytes: settings.maxPayloadBytes,
      holdProcess: settings.holdProcess,
      handlers: this.handlers,
      rateLimits: this.rateLimits,
      retryPolicy: (record, handler) => this.retryPolicy(record, handler),
      emit: (type, make) => this.hub.publish(type as keyof SchedulerEvents<Jobs, Results>, make as () => SchedulerEvents<Jobs, Results>[keyof SchedulerEvents<Jobs, Results>]),
      view: (record, nextRunAt) => this.info(record, nextRunAt),
      keepLogs: (name) => this.handlers.get(name)?.keepLogs ?? settings.keepLogs,
      // No policy anywhere (the usual case): the finished record goes as it is.
      finished: (record) =>
        record.retain === undefined && !this.removalInUse ? record : withRemoval(record, this.handlers.get(record.name)?.removal, removalDefaults),
      wants: (type) => this.hub.wants(type as keyof SchedulerEvents<Jobs, Results>),
    };
    this.dispatcher = new Dispatcher(host, tokenFactory());
    this.waiters = new Waiters({
      get: async (id) => {
        const record = await this.store.get(id);
        return record && this.dispatcher.current(record);
      },
      subscribe: (listener) => subscribeFinals(this as unknown as FinalEvents, listener),
      clock: this.baseClock,
      shared: this.store.shared === true,
    });
    const newId = idFactory();
    // A local store keeps this scheduler's ids in an array by counter, not a Map entry each (store/id-index.ts).
    (this.store as Partial<GeneratedIds>)[GENERATED_IDS]?.(newId.prefix);
    this.requests = {
      now: () => this.times.now(),
      newId,
      maxPayloadBytes: settings.maxPayloadBytes,
      checkFeature: (feature, what) => requireFeature(this.store, feature, what),
      checkHandler: (name, where) => {
        if (settings.strict) checkRegistered(this.handlers, name, where);
      },
    };
    const publish = this.hub.publish.bind(this.hub);
    this.life = new Lifecycle({
      store: this.store,
      times: this.times,
      dispatcher: this.dispatcher,
      open: () => this.openStore(),
      stopped: () => {
        this.hub.endStreams();
        this.waiters.stopAll();
      },
      error: (make) => publish('error', () => ({ error: make() })),
    });
    this.inserts = new Inserts<Jobs, Results>({ store: this.store, dispatcher: this.dispatcher, hub: this.hub, info: (record) => this.info(record) });
    this.pauses = new PauseControl({
      store: this.store,
      dispatcher: this.dispatcher,
      publish,
      requireFeature: (feature, what) => requireFeature(this.store, feature, what),
      assertStarted: () => this.life.assertStarted(),
    });
  }

  // ---------------------------------------------------------------- handlers

  /**
   * Registers the handler for `name`. Registering a taken name replaces the
   * handler (hot update); attempts already running finish on the old one.
   */
  register<N extends keyof Jobs & string>(name: N, handler: Handler<Jobs, N, Results>, options: RegisterOptions = {}): this {
    const { entry, rateLimit } = handlerEntry(this.store, name, handler, options);
    if (entry.removal !== undefined) this.removalInUse = true;
    this.handlers.set(name, entry);
    this.rateLimits.set(name, rateLimit);
    this.dispatcher.handlerRegistered(name);
    return this;
  }

  /** Removes the handler of `name`; due jobs of that name wait. Returns whether one was registered. */
  unregister(name: keyof Jobs & string): boolean {
    this.rateLimits.set(name, undefined);
    return this.handlers.delete(name);
  }

  // --------------------------------------------------------------- lifecycle

  /** Opens the store, recovers jobs, starts dispatching. Idempotent. */
  start(): Promise<void> {
    return this.life.start();
  }

  /** Opens the store with this scheduler's context; paused everywhere before this start: stay paused. */
  private async openStore(): Promise<void> {
    await this.store.open({
      now: () => this.times.now(),
      clock: this.baseClock,
      wake: () => this.dispatcher.kick(),
      keepCompleted: this.settings.keepCompleted,
      keepDead: this.settings.keepDead,
      maxPayloadBytes: this.settings.maxPayloadBytes,
      warn: (message) => this.hub.publish('error', () => ({ error: new GodelayqError(message) })),
      lost: (id, token, reason) => this.dispatcher.lost(id, token, reason),
      pauseChanged: (state) => this.pauses.apply(state.paused, 'remote'),
      ...(this.settings.remoteIn ? { remoteEvent: (message: string) => this.hub.receiveRemote(message) } : {}),
    });
    // Dispatching starts after this (lifecycle.ts).
    const pause = this.store.pauseState?.();
    if (pause) this.pauses.apply(pause.paused, 'remote');
  }

  /**
   * Stops dispatching, waits for running attempts, aborts the rest and hands
   * them back (they run again after the next start, their attempt not
   * counted), waits for store writes in flight and closes the store, all
   * within `timeout`. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    return this.life.stop(options);
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
    return this.life.stopOnSignals(options, (o) => this.stop(o));
  }

  /**
   * Stops starting new attempts; running ones continue. With `{ everywhere:
   * true }` the store keeps the pause and no process sharing it starts a new
   * attempt (RedisStore: the claim itself refuses, so even a process that
   * missed the notice cannot) until `resume({ everywhere: true })` from any
   * process; a process that starts meanwhile stays paused. It then returns a
   * promise that resolves once the store recorded the pause. Emits `paused`.
   * @example
   * await scheduler.pause({ everywhere: true }); // e.g. during a migration
   * await scheduler.resume({ everywhere: true });
   */
  pause(options?: PauseOptions & { everywhere?: false }): void;
  pause(options: PauseOptions & { everywhere: true }): Promise<void>;
  pause(options?: PauseOptions): void | Promise<void>;
  pause(options?: PauseOptions): void | Promise<void> {
    return this.pauses.call(true, options);
  }

  /**
   * Starts dispatching again after `pause()`. With `{ everywhere: true }`:
   * ends the store-wide pause for every process sharing the store (whichever
   * paused it); returns a promise that resolves once the store recorded it.
   * A process's own `pause()` and the store-wide pause are separate: each is
   * ended by its own `resume`. Emits `resumed`.
   */
  resume(options?: PauseOptions & { everywhere?: false }): void;
  resume(options: PauseOptions & { everywhere: true }): Promise<void>;
  resume(options?: PauseOptions): void | Promise<void>;
  resume(options?: PauseOptions): void | Promise<void> {
    return this.pauses.call(false, options);
  }

  /**
   * Whether this process starts no new attempts: its own `pause()` or the
   * store-wide pause (as last heard). `{ everywhere: true }`: the store-wide
   * pause only; `{ everywhere: false }`: this process's own only.
   */
  isPaused(options?: PauseOptions): boolean {
    return this.pauses.isPaused(options);
  }

  // ---------------------------------------------------------------- schedule

  /** Runs job `name` once, `delay` ms from now. Resolves once the store has recorded it. */
  scheduleIn<N extends keyof Jobs & string>(
    name: N,
    delay: number,
    payload: Jobs[N],
    options?: ScheduleOptions,
  ): Promise<JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>> {
    // Not `async`: a MemoryStore insert completes here, and one settled
    // promise is all this call allocates beyond the job (a third of its time
    // went to promise hops). Every throw below still becomes a rejection.
    try {
      this.assertStarted();
      const now = this.times.now();
      const request = oneOffRequest(this.requests, name, dueAfter(now, delay), true, payload, options, now);
      return this.inserts.one(request, options === undefined ? NO_WRITE : writeOptions(this.store, options)) as unknown as Promise<
        JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>
      >;
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Runs job `name` once at `at` (Date or epoch ms); a past time runs at once. */
  scheduleAt<N extends keyof Jobs & string>(
    name: N,
    at: Date | number,
    payload: Jobs[N],
    options?: ScheduleOptions,
  ): Promise<JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>> {
    try {
      this.assertStarted();
      const request = oneOffRequest(this.requests, name, checkTime(at, 'at'), false, payload, options, this.times.now());
      return this.inserts.one(request, options === undefined ? NO_WRITE : writeOptions(this.store, options)) as unknown as Promise<
        JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>
      >;
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * Schedules several one-off jobs: all or none, in one store write.
   * Each item gives `delay` (ms) or `at`. `options.db`: inside that transaction.
   */
  async scheduleMany(items: readonly ScheduleManyItem<Jobs>[], options?: WriteOptions): Promise<JobInfoOf<Jobs, Results>[]> {
    this.assertStarted();
    const [requests, write] = manyCall(this.requests, this.store, items, options);
    return this.inserts.many(requests, write);
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
  ): Promise<JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>> {
    this.assertStarted();
    const [request, write] = cronCall(this.requests, this.store, name, expression, payload, options);
    return this.inserts.one(request, write) as unknown as Promise<JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>>;
  }

  /** A recurring job every `interval` ms; slots are start + k × interval, never drifting with run time. */
  async scheduleEvery<N extends keyof Jobs & string>(
    name: N,
    interval: number,
    payload: Jobs[N],
    options?: EveryOptions,
  ): Promise<JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>> {
    this.assertStarted();
    const [request, write] = everyCall(this.requests, this.store, name, interval, payload, options);
    return this.inserts.one(request, write) as unknown as Promise<JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>>;
  }

  // ------------------------------------------------------------- operations

  /**
   * Cancels a scheduled or running job (a running one is aborted and never
   * retried). Resolves false when there is no such job or it already ended.
   * `options.db`: inside that transaction (a running attempt is aborted when it commits).
   */
  async cancel(id: string, options?: WriteOptions): Promise<boolean> {
    this.assertStarted();
    checkId(id);
    const write = writeCall(this.store, options);
    // Behind calls waiting for an owed clock-step re-base (inserts): calls reach the store in call order.
    if (this.dispatcher.rebasing()) await this.dispatcher.afterRebase();
    // Running here: its abort comes before any claim the freed slot (its group's) allows.
    const release = write.db ? undefined : this.dispatcher.holdClaimsFor(id);
    try {
      const record = await this.dispatcher.track(write.db ? this.store.cancel(id, this.times.now(), write) : this.store.cancel(id, this.times.now()));
      if (!record) return false;
      if (!write.db) this.dispatcher.cancelled(id, record);
      this.hub.publish('cancelled', () => ({ job: this.info(record) }));
      this.dispatcher.arm();
      return true;
    } finally {
      release?.();
    }
  }

  /** Moves a scheduled job (or a schedule's next slot) to `when`. `options.db`: inside that transaction. */
  async reschedule(id: string, when: Date | number, options?: WriteOptions): Promise<JobInfoOf<Jobs, Results>> {
    this.assertStarted();
    checkId(id);
    const runAt = checkTime(when, 'when');
    const write = writeCall(this.store, options);
    if (this.dispatcher.rebasing()) await this.dispatcher.afterRebase();
    // The read (for previousRunAt) goes with the write, not before it: a call made after this one must not reach the store first.
    const before = this.store.get(id).catch(() => undefined);
    const record = await this.dispatcher.track(write.db ? this.store.reschedule(id, runAt, write) : this.store.reschedule(id, runAt));
    const previous = await before;
    this.hub.publish('rescheduled', () => ({ job: this.info(record), previousRunAt: new Date(previous?.runAt ?? runAt) }));
    this.dispatcher.arm();
    return this.info(record);
  }

  /** Puts a dead (or cancelled) job back to `scheduled`, attempts reset, at `at` (default now). */
  async retry(id: string, options: { at?: Date | number } = {}): Promise<JobInfoOf<Jobs, Results>> {
    this.assertStarted();
    checkId(id);
    const runAt = retryAt(options, this.times.now());
    if (this.dispatcher.rebasing()) await this.dispatcher.afterRebase();
    const record = await this.dispatcher.track(this.store.revive(id, runAt));
    this.hub.publish('scheduled', () => ({ job: this.info(record) }));
    this.dispatcher.arm();
    return this.info(record);
  }

  /** The job with this id, if the store still has it. */
  async get(id: string): Promise<JobInfoOf<Jobs, Results> | undefined> {
    this.assertStarted();
    checkId(id);
    const record = await this.store.get(id);
    return record && this.info(this.dispatcher.current(record));
  }

  /** Jobs ordered by runAt; no limit = every match. */
  async list(filter: ListFilter = {}): Promise<JobInfoOf<Jobs, Results>[]> {
    this.assertStarted();
    const query = listQuery(filter);
    const records = await this.store.list(query);
    return records.map((r) => this.info(this.dispatcher.current(r)));
  }

  /**
   * Waits for job `id` (a one-off job; pass the JobInfo `schedule*` returned
   * to type the result by its name) to finish: resolves with its stored
   * result when it completes, rejects with JobFailedError (cause: its last
   * error) when it ends dead, JobCancelledError when cancelled — also when
   * another process sharing the store finished it. A job already finished
   * answers at once (while the store keeps it, see `keepCompleted`).
   * @example
   * const job = await scheduler.scheduleIn('report.build', 0, { day: '2027-01-01' });
   * const { rows } = await scheduler.waitFor(job, { timeout: 60_000 });
   */
  waitFor<N extends keyof Jobs & string = keyof Jobs & string>(
    job: string | { readonly id: string; readonly name: N },
    options?: WaitForOptions,
  ): Promise<WaitResult<ResultOf<Results, N>>> {
    try {
      this.assertStarted();
      const id = checkId(typeof job === 'object' && job !== null ? (job as { id: unknown }).id : job);
      return this.waiters.wait(id, Waiters.check(options)) as Promise<WaitResult<ResultOf<Results, N>>>;
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /**
   * The active schedules (cron and every), ordered by next run: id,
   * expression, tz, the next `options.runs` runs (default 5) and the outcome
   * of the last occurrence. Reads every scheduled job of the store.
   */
  async listSchedules(options?: ListSchedulesOptions): Promise<ScheduleInfo<keyof Jobs & string>[]> {
    this.assertStarted();
    return (await listSchedules(this.store, options, (r) => this.dispatcher.current(r))) as ScheduleInfo<keyof Jobs & string>[];
  }

  /**
   * The next `n` runs (1..1000) of the schedule with this id, or a preview
   * of a cron expression in `options.tz` (default UTC) after
   * `options.from` (default now).
   * @example
   * await scheduler.nextRuns('0 9 * * 1-5', 3, { tz: 'Europe/Paris' });
   */
  async nextRuns(idOrExpression: string, n: number, options?: NextRunsOptions): Promise<Date[]> {
    this.assertStarted();
    return nextRuns(this.store, idOrExpression, n, options, this.times.now(), (r) => this.dispatcher.current(r));
  }

  /**
   * Installs (or removes) the tracing seam godelayq/otel uses. Internal:
   * call `instrument()` from 'godelayq/otel' instead.
   * @internal
   */
  [TRACE_HOOK](hook: TraceHook | undefined): void {
    if (hook?.capture && typeof this.store.progress !== 'function') {
      throw new UnsupportedOptionError(
        `Expected a store that keeps a job's trace context (MemoryStore, JsonFileStore, RedisStore, PostgresStore), got ${this.store.constructor.name}; instrument with { link: false } to trace attempts without linking them to where they were scheduled`,
      );
    }
    this.requests.trace = hook?.capture?.bind(hook);
    this.dispatcher.setTraceHook(hook);
  }

  /** Current counts and start lateness percentiles (ms). */
  stats(): SchedulerStats {
    return schedulerStats(this.store.counts(), this.dispatcher.latenessSamples());
  }

  /**
   * Async iterator over events, filtered by type, job name (`prefix.*`) and
   * id, with a bounded buffer. Ends when the loop exits or the scheduler stops.
   */
  events<T extends SchedulerEventType = SchedulerEventType>(
    options: EventStreamOptions & { types?: readonly T[] } = {},
  ): AsyncIterableIterator<Extract<SchedulerEvent<Jobs, Results>, { type: T }>> {
    return this.hub.open(options, this.settings.holdProcess ? this.baseClock.hold?.bind(this.baseClock) : undefined);
  }

  // ---------------------------------------------------------------- helpers

  private assertStarted(): void {
    this.life.assertStarted();
  }

  private retryPolicy(record: JobRecord, handler: HandlerEntry | undefined): HandlerRetryOptions {
    return record.retry ?? handler?.retry ?? this.settings.retryDefault;
  }

  private info(record: JobRecord, nextRunAt?: Date | null): JobInfoOf<Jobs, Results> {
    const maxRetries = this.retryPolicy(record, this.handlers.get(record.name)).maxRetries;
    return jobInfo(record, maxRetries, nextRunAt) as JobInfoOf<Jobs, Results>;
  }
}
