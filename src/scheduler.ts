/**
 * Scheduler<Jobs>: the public API. It validates every call at the boundary,
 * turns it into store operations (scheduler/requests.ts), and leaves the
 * timer, the claim loop and the attempt lifecycle to the Dispatcher
 * (scheduler/dispatcher.ts).
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
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { SystemClock, type Clock } from './clock.js';
import { GodelayqError, SchedulerStoppedError, UnsupportedOptionError, ValidationError, toError } from './errors.js';
import {
  EventStream,
  type EventStreamOptions,
  type JobInfoOf,
  type PauseOrigin,
  type SchedulerEvent,
  type SchedulerEventType,
  type SchedulerEvents,
} from './events.js';
import { DEFAULT_RETRY, validateRetry } from './retry.js';
import { withDeadline } from './scheduler/calls.js';
import { Dispatcher, tokenFactory } from './scheduler/dispatcher.js';
import type { DispatchHost, HandlerEntry } from './scheduler/host.js';
import { jobInfo } from './scheduler/info.js';
import {
  CRON_KEYS,
  EVERY_KEYS,
  NO_OPTIONS,
  dueAfter,
  idFactory,
  manyRequests,
  oneOffRequest,
  recurringRequest,
  type RequestContext,
} from './scheduler/requests.js';
import {
  CONSTRUCTOR_KEYS,
  EVENTS_KEYS,
  LIST_KEYS,
  REGISTER_KEYS,
  SIGNAL_KEYS,
  STATES,
  STOP_KEYS,
  WRITE_KEYS,
  checkStore,
  percentile,
  writeOptions,
  type Handler,
  type RegisterOptions,
  type ScheduleManyItem,
  type SchedulerOptions,
  type SignalOptions,
  type StopOptions,
} from './scheduler/options.js';
import { storeClock } from './scheduler/store-clock.js';
import { listSchedules, nextRuns, type ListSchedulesOptions, type NextRunsOptions, type ScheduleInfo } from './scheduler/schedules.js';
import { TRACE_HOOK, type TraceHook } from './scheduler/trace-hook.js';
import { DEFAULT_KEEP_LOGS, checkKeepLogs } from './scheduler/progress.js';
import { asksEverywhere, checkPauseOptions, type PauseOptions } from './scheduler/pause.js';
import { REMOTE_TYPES, decodeRemote, encodeRemote, type LocalPayload } from './scheduler/remote-events.js';
import { Waiters, subscribeFinals, type FinalEvents, type WaitForOptions, type WaitResult } from './scheduler/wait-for.js';
import { MemoryStore } from './store/memory.js';
import { GENERATED_IDS, type GeneratedIds } from './store/id-index.js';
import type { InsertRequest, InsertResult, JobRecord, Store, StoreFeatures, StoreWriteOptions } from './store/store.js';
import { RateLimits, checkRateLimit } from './control/rate-limit-option.js';
import { removePolicy, removes, withRemoval, type RemovalPolicies } from './control/removal-option.js';
import type {
  CronOptions,
  EveryOptions,
  HandlerRetryOptions,
  JobInfo,
  JobMap,
  JobState,
  ListFilter,
  ResultMap,
  ResultOf,
  ScheduleOptions,
  SchedulerStats,
  StoredResult,
  WriteOptions,
} from './types.js';
import {
  MAX_PAYLOAD_LIMIT,
  checkDelay,
  checkId,
  checkKeys,
  checkName,
  checkNonNegativeInt,
  checkOptionsObject,
  checkPositive,
  checkPositiveInt,
  checkTime,
  show,
} from './validate.js';

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
  private readonly retryDefault: HandlerRetryOptions;
  private readonly keepCompleted: number;
  private readonly keepDead: number;
  private readonly maxPayloadBytes: number;
  private readonly strict: boolean;
  private readonly holdProcess: boolean;
  private readonly handlers = new Map<string, HandlerEntry>();
  /** The scheduler's `removeOnComplete` / `removeOnFail` (constructor options). */
  private readonly removalDefaults: RemovalPolicies;
  /** Some constructor or register call gave a removal policy: finished records are checked against them. */
  private removalInUse = false;
  private readonly rateLimits = new RateLimits();
  private readonly streams = new Set<EventStream<SchedulerEvent<Jobs, Results>>>();
  private readonly dispatcher: Dispatcher;
  private readonly requests: RequestContext;
  private readonly waiters: Waiters;
  private status: 'idle' | 'starting' | 'started' | 'stopping' = 'idle';
  /** Once stopped, say so (not "not started") when called. */
  private stoppedOnce = false;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  /** A store close that outlived its stop() deadline; the next start waits for it. */
  private closing: Promise<unknown> | undefined;
  private removeProbe: (() => void) | undefined;
  /** `remoteEvents: true`: emit the events other processes publish (scheduler/remote-events.ts). */
  private readonly remoteIn: boolean;
  /** The store can carry events to other processes: publish ours while some process listens. */
  private readonly remoteOut: boolean;
  /** Names this scheduler's published events, so it never emits its own twice. */
  private readonly senderId = randomBytes(9).toString('base64url');

  constructor(options: SchedulerOptions = {}) {
    super();
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, CONSTRUCTOR_KEYS, 'options');
    this.store = o.store === undefined ? new MemoryStore() : checkStore(o.store);
    this.baseClock = options.clock ?? new SystemClock();
    this.times = storeClock(this.store, this.baseClock);
    if (options.retry !== undefined) validateRetry(options.retry, 'options.retry', true);
    this.retryDefault = options.retry ?? DEFAULT_RETRY;
    this.keepCompleted = options.keepCompleted === undefined ? 1000 : checkNonNegativeInt(options.keepCompleted, 'options.keepCompleted');
    this.keepDead = options.keepDead === undefined ? 10000 : checkNonNegativeInt(options.keepDead, 'options.keepDead');
    if (o.unref !== undefined && typeof o.unref !== 'boolean') throw new ValidationError(`Expected \`options.unref\` to be a boolean, got ${show(o.unref)}`);
    if (o.strict !== undefined && typeof o.strict !== 'boolean') throw new ValidationError(`Expected \`options.strict\` to be a boolean, got ${show(o.strict)}`);
    this.strict = o.strict === true;
    this.holdProcess = o.unref !== true;
    this.maxPayloadBytes = o.maxPayloadBytes === undefined ? 1 << 20 : checkPositiveInt(o.maxPayloadBytes, 'options.maxPayloadBytes');
    if (this.maxPayloadBytes > MAX_PAYLOAD_LIMIT) {
      throw new ValidationError(`Expected \`options.maxPayloadBytes\` to be at most ${MAX_PAYLOAD_LIMIT} (256 MiB), got ${this.maxPayloadBytes}`);
    }
    const keepLogs = o.keepLogs === undefined ? DEFAULT_KEEP_LOGS : checkKeepLogs(o.keepLogs, 'options.keepLogs', this.store);
    if (o.rateLimit !== undefined) {
      this.rateLimits.global = checkRateLimit(o.rateLimit, 'options.rateLimit');
      this.requireFeature('rateLimits', 'options.rateLimit');
    }
    if (o.remoteEvents !== undefined && typeof o.remoteEvents !== 'boolean') {
      throw new ValidationError(`Expected \`options.remoteEvents\` to be a boolean, got ${show(o.remoteEvents)}`);
    }
    this.remoteIn = o.remoteEvents === true;
    if (this.remoteIn) this.requireFeature('remoteEvents', 'options.remoteEvents: true', 'RedisStore, PostgresStore');
    this.remoteOut = this.store.features?.remoteEvents === true && typeof this.store.publishEvent === 'function' && typeof this.store.eventListeners === 'function';
    this.removalDefaults = this.removalPolicies(o, 'options') ?? {};
    const host: DispatchHost = {
      store: this.store,
      clock: this.times,
      baseClock: this.baseClock,
      concurrency: options.concurrency === undefined ? 10 : checkPositiveInt(options.concurrency, 'options.concurrency'),
      timeoutDefault: options.timeout === undefined ? undefined : checkPositive(options.timeout, 'options.timeout'),
      misfireGraceMs: o.misfireGraceMs === undefined ? 60_000 : checkNonNegativeInt(o.misfireGraceMs, 'options.misfireGraceMs'),
      maxPayloadBytes: this.maxPayloadBytes,
      holdProcess: this.holdProcess,
      handlers: this.handlers,
      rateLimits: this.rateLimits,
      retryPolicy: (record, handler) => this.retryPolicy(record, handler),
      emit: (type, make) => this.publish(type as keyof SchedulerEvents<Jobs, Results>, make as () => SchedulerEvents<Jobs, Results>[keyof SchedulerEvents<Jobs, Results>]),
      view: (record, nextRunAt) => this.info(record, nextRunAt),
      keepLogs: (name) => this.handlers.get(name)?.keepLogs ?? keepLogs,
      // No policy anywhere (the usual case): the finished record goes as it is.
      finished: (record) =>
        record.retain === undefined && !this.removalInUse ? record : withRemoval(record, this.handlers.get(record.name)?.removal, this.removalDefaults),
      wants: (type) => this.wants(type as keyof SchedulerEvents<Jobs, Results>),
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
      maxPayloadBytes: this.maxPayloadBytes,
      checkFeature: (feature, what) => this.requireFeature(feature, what),
      checkHandler: (name, where) => {
        if (this.strict && !this.handlers.has(name)) {
          throw new ValidationError(
            `Expected \`${where}\` to name a registered handler (strict: true), got ${show(name)}` +
              (this.handlers.size > 0 ? `; registered: ${[...this.handlers.keys()].slice(0, 10).join(', ')}` : '; none is registered'),
          );
        }
      },
    };
  }

  /** `removeOnComplete` / `removeOnFail` of constructor or register options `o`, validated; refused by a store without removal. */
  private removalPolicies(o: Record<string, unknown>, what: string): RemovalPolicies | undefined {
    if (o.removeOnComplete === undefined && o.removeOnFail === undefined) return undefined;
    const policies: RemovalPolicies = {};
    if (o.removeOnComplete !== undefined) policies.complete = removePolicy(o.removeOnComplete, `${what}.removeOnComplete`);
    if (o.removeOnFail !== undefined) policies.fail = removePolicy(o.removeOnFail, `${what}.removeOnFail`);
    if (removes(policies.complete) || removes(policies.fail)) this.requireFeature('removal', `${what}.${removes(policies.complete) ? 'removeOnComplete' : 'removeOnFail'}`);
    this.removalInUse = true;
    return policies;
  }

  /** Throws UnsupportedOptionError when the store lacks `feature` (option `what`): an option is never silently ignored. */
  private requireFeature(feature: keyof StoreFeatures, what: string, stores = 'MemoryStore, JsonFileStore, RedisStore, PostgresStore'): void {
    if (this.store.features?.[feature] !== true) {
      throw new UnsupportedOptionError(`Expected \`${what}\` only with a store that supports ${feature} (${stores}), got it with ${this.store.constructor.name}`);
    }
  }

  // ---------------------------------------------------------------- handlers

  /**
   * Registers the handler for `name`. Registering a taken name replaces the
   * handler (hot update); attempts already running finish on the old one.
   */
  register<N extends keyof Jobs & string>(name: N, handler: Handler<Jobs, N, Results>, options: RegisterOptions = {}): this {
    checkName(name);
    if (typeof handler !== 'function') throw new ValidationError(`Expected \`handler\` to be a function, got ${show(handler)}`);
    const o = checkOptionsObject(options, 'register options') ?? {};
    checkKeys(o, REGISTER_KEYS, 'register options');
    if (options.retry !== undefined) validateRetry(options.retry, 'register options.retry', true);
    const rateLimit = options.rateLimit === undefined ? undefined : checkRateLimit(options.rateLimit, 'register options.rateLimit');
    if (rateLimit !== undefined) this.requireFeature('rateLimits', 'register options.rateLimit');
    const removal = this.removalPolicies(o, 'register options');
    this.handlers.set(name, {
      fn: handler as HandlerEntry['fn'],
      concurrency: options.concurrency === undefined ? Infinity : checkPositiveInt(options.concurrency, 'register options.concurrency'),
      retry: options.retry,
      timeout: options.timeout === undefined ? undefined : checkPositive(options.timeout, 'register options.timeout'),
      keepLogs: options.keepLogs === undefined ? undefined : checkKeepLogs(options.keepLogs, 'register options.keepLogs', this.store),
      removal,
    });
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
    if (this.status === 'started') return Promise.resolve();
    if (this.starting) return this.starting;
    if (this.status === 'stopping') return Promise.reject(new SchedulerStoppedError('Expected a stopped scheduler to start, got one still stopping'));
    this.status = 'starting';
    this.starting = (async () => {
      try {
        if (this.closing) await this.closing;
        await this.store.open({
          now: () => this.times.now(),
          clock: this.baseClock,
          wake: () => this.dispatcher.kick(),
          keepCompleted: this.keepCompleted,
          keepDead: this.keepDead,
          maxPayloadBytes: this.maxPayloadBytes,
          warn: (message) => this.publish('error', () => ({ error: new GodelayqError(message) })),
          lost: (id, token, reason) => this.dispatcher.lost(id, token, reason),
          pauseChanged: (state) => this.applyPause(state.paused, 'remote'),
          ...(this.remoteIn ? { remoteEvent: (message: string) => this.receiveRemote(message) } : {}),
        });
        // Paused everywhere before this start: stay paused (dispatching starts below).
        const pause = this.store.pauseState?.();
        if (pause) this.applyPause(pause.paused, 'remote');
      } catch (error) {
        this.status = 'idle';
        throw error;
      }
      this.status = 'started';
      this.removeProbe = this.times.addPendingProbe?.(() => this.dispatcher.hasPendingOneOff());
      this.dispatcher.start();
    })().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /**
   * Stops dispatching, waits for running attempts, aborts the rest and hands
   * them back (they run again after the next start, their attempt not
   * counted), waits for store writes in flight and closes the store, all
   * within `timeout`. Idempotent.
   */
  stop(options: StopOptions = {}): Promise<void> {
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, STOP_KEYS, 'options');
    const timeout = o.timeout === undefined ? 30_000 : checkDelay(o.timeout, 'options.timeout');
    if (this.stopping) return this.stopping;
    if (this.status === 'idle') return Promise.resolve();
    const deadline = Date.now() + timeout;
    this.stopping = (async () => {
      if (this.starting) await withDeadline(this.starting.catch(() => undefined), deadline);
      if (this.status !== 'started') return;
      this.status = 'stopping';
      this.stoppedOnce = true;
      // A fifth of the time (at most 2 s) is kept for handing back and closing.
      await this.dispatcher.stop(timeout - Math.min(timeout / 5, 2000), deadline);
      this.removeProbe?.();
      this.removeProbe = undefined;
      const close = this.store.close();
      let closeError: unknown;
      const closed = await withDeadline(
        close.catch((error: unknown) => {
          closeError = error;
        }),
        deadline,
      );
      this.status = 'idle';
      for (const stream of [...this.streams]) stream.end();
      this.waiters.stopAll();
      if (!closed) {
        this.closing = close.catch(() => undefined).finally(() => {
          this.closing = undefined;
        });
        this.publish('error', () => ({ error: new GodelayqError(`The store did not close within stop()'s timeout (${timeout} ms); it goes on closing`) }));
      } else if (closeError !== undefined) throw closeError;
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
    return this.pauseCall(true, options);
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
    return this.pauseCall(false, options);
  }

  /**
   * Whether this process starts no new attempts: its own `pause()` or the
   * store-wide pause (as last heard). `{ everywhere: true }`: the store-wide
   * pause only; `{ everywhere: false }`: this process's own only.
   */
  isPaused(options?: PauseOptions): boolean {
    if (options !== undefined) checkPauseOptions(options);
    const everywhere = options?.everywhere;
    const local = this.dispatcher.isPaused('local');
    const shared = this.dispatcher.isPaused('everywhere');
    return everywhere === undefined ? local || shared : everywhere ? shared : local;
  }

  private pauseCall(paused: boolean, options: PauseOptions | undefined): void | Promise<void> {
    let everywhere: boolean;
    try {
      everywhere = checkPauseOptions(options);
    } catch (error) {
      if (asksEverywhere(options)) return Promise.reject(error as Error);
      throw error;
    }
    if (everywhere) return this.setPausedEverywhere(paused);
    if (this.dispatcher.isPaused('local') === paused) return;
    if (paused) this.dispatcher.pause();
    else this.dispatcher.resume();
    this.publish(paused ? 'paused' : 'resumed', () => ({ everywhere: false, origin: 'local' }));
  }

  private async setPausedEverywhere(paused: boolean): Promise<void> {
    this.requireFeature('pauseEverywhere', 'options.everywhere: true');
    this.assertStarted();
    const setPaused = this.store.setPaused as NonNullable<Store['setPaused']>;
    const state = await this.dispatcher.track(setPaused.call(this.store, paused));
    this.applyPause(state.paused, 'local');
  }

  /** The store-wide pause as this process learned it (its own call, or the store). */
  private applyPause(paused: boolean, origin: PauseOrigin): void {
    if (this.dispatcher.isPaused('everywhere') === paused) return;
    this.dispatcher.setPausedEverywhere(paused);
    this.publish(paused ? 'paused' : 'resumed', () => ({ everywhere: true, origin }));
  }

  /** An event another process published (remoteEvents: true): emitted here with `origin: 'remote'`. */
  private receiveRemote(message: string): void {
    const event = decodeRemote(this.senderId, message);
    if (!event) return;
    const type = event.type as keyof SchedulerEvents<Jobs, Results>;
    this.publish(type, () => event.payload as unknown as SchedulerEvents<Jobs, Results>[typeof type], false);
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
      const request = oneOffRequest(this.requests, name, dueAfter(this.times.now(), delay), true, payload, options);
      return this.insertOne(request, options === undefined ? NO_WRITE : writeOptions(this.store, options)) as unknown as Promise<
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
      const request = oneOffRequest(this.requests, name, checkTime(at, 'at'), false, payload, options);
      return this.insertOne(request, options === undefined ? NO_WRITE : writeOptions(this.store, options)) as unknown as Promise<
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
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, WRITE_KEYS, 'options');
    const write = writeOptions(this.store, o);
    const requests = manyRequests(this.requests, items);
    if (Array.isArray(items) && items.some((item) => (item as { options?: { db?: unknown } } | undefined)?.options?.db !== undefined)) {
      throw new ValidationError('Expected `items[i].options.db` to be left out (pass `db` once, as scheduleMany(items, { db })), got one');
    }
    let results: InsertResult[];
    try {
      if (this.dispatcher.rebasing()) await this.dispatcher.beforeWrite(); // rare: a clock step the store has not taken yet
      results = await this.dispatcher.track(this.store.insert(requests, write));
    } finally {
      this.dispatcher.arm();
    }
    return results.map((result, i) => this.afterInsert(result, write, requests[i]?.dedupe !== undefined));
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
    if (typeof expression !== 'string') throw new ValidationError(`Expected \`expression\` to be a cron string, got ${show(expression)}`);
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, CRON_KEYS, 'options');
    if (o.tz !== undefined && typeof o.tz !== 'string') throw new ValidationError(`Expected \`options.tz\` to be an IANA time zone name, got ${show(o.tz)}`);
    const request = recurringRequest(this.requests, name, { cron: expression, ...(o.tz === undefined ? {} : { tz: o.tz as string }) }, payload, o);
    return this.insertOne(request, writeOptions(this.store, o)) as unknown as Promise<JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>>;
  }

  /** A recurring job every `interval` ms; slots are start + k × interval, never drifting with run time. */
  async scheduleEvery<N extends keyof Jobs & string>(
    name: N,
    interval: number,
    payload: Jobs[N],
    options?: EveryOptions,
  ): Promise<JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>> {
    this.assertStarted();
    const every = checkPositive(interval, 'interval');
    if (!Number.isSafeInteger(every)) {
      throw new ValidationError(`Expected \`interval\` to be a whole number of ms up to 2^53 − 1, got ${show(interval)}`);
    }
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, EVERY_KEYS, 'options');
    const request = recurringRequest(this.requests, name, { every }, payload, o);
    return this.insertOne(request, writeOptions(this.store, o)) as unknown as Promise<JobInfo<N, Jobs[N], StoredResult<ResultOf<Results, N>>>>;
  }

  /** Inserts one request; throws (synchronously) only for what a store that inserts at once refuses. */
  private insertOne(request: InsertRequest, write: StoreWriteOptions): Promise<JobInfoOf<Jobs, Results>> {
    const insertSync = this.store.insertSync;
    if (insertSync !== undefined && write.db === undefined && !this.dispatcher.rebasing()) {
      // Nothing to wait for: the job is recorded (and indexed) before this returns.
      const result = insertSync.call(this.store, [request])[0] as InsertResult;
      this.dispatcher.arm();
      return Promise.resolve(this.afterInsert(result, write, request.dedupe !== undefined));
    }
    return this.insertAsync(request, write);
  }

  private async insertAsync(request: InsertRequest, write: StoreWriteOptions): Promise<JobInfoOf<Jobs, Results>> {
    let results: InsertResult[];
    try {
      if (this.dispatcher.rebasing()) await this.dispatcher.beforeWrite(); // rare: a clock step the store has not taken yet
      results = await this.dispatcher.track(write.db ? this.store.insert([request], write) : this.store.insert([request]));
    } finally {
      this.dispatcher.arm();
    }
    return this.afterInsert(results[0] as InsertResult, write, request.dedupe !== undefined);
  }

  private afterInsert(result: InsertResult, write: StoreWriteOptions, dedupe = false): JobInfoOf<Jobs, Results> {
    if (dedupe) return this.afterDedupe(result);
    // In a transaction the replaced attempt is told when it commits (a rollback keeps it).
    if (result.previous?.state === 'running' && !write.db) this.dispatcher.replaced(result.previous.id);
    if (result.outcome === 'kept') {
      // A kept schedule may be mid-claim (its misfires being planned): answer with the record as it is after that.
      return this.info(this.dispatcher.current(result.record));
    }
    if (this.wants('scheduled')) this.publish('scheduled', () => ({ job: this.info(result.record) }));
    return this.info(result.record);
  }

  /** What a call with a dedupe window resolves with: the job, and `dedupe` saying what the window did. */
  private afterDedupe(result: InsertResult): JobInfoOf<Jobs, Results> {
    const record = result.record;
    if (result.outcome === 'debounced') {
      const previousRunAt = new Date(result.previous?.runAt ?? record.runAt);
      this.publish('rescheduled', () => ({ job: this.info(record), previousRunAt }));
    } else if (result.outcome !== 'throttled' && this.wants('scheduled')) this.publish('scheduled', () => ({ job: this.info(record) }));
    const info = this.info(result.outcome === 'throttled' ? this.dispatcher.current(record) : record);
    info.dedupe = result.outcome === 'throttled' || result.outcome === 'debounced' ? result.outcome : 'created';
    return info;
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
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, WRITE_KEYS, 'options');
    const write = writeOptions(this.store, o);
    const record = await this.dispatcher.track(write.db ? this.store.cancel(id, this.times.now(), write) : this.store.cancel(id, this.times.now()));
    if (!record) return false;
    if (!write.db) this.dispatcher.cancelled(id);
    this.publish('cancelled', () => ({ job: this.info(record) }));
    this.dispatcher.arm();
    return true;
  }

  /** Moves a scheduled job (or a schedule's next slot) to `when`. `options.db`: inside that transaction. */
  async reschedule(id: string, when: Date | number, options?: WriteOptions): Promise<JobInfoOf<Jobs, Results>> {
    this.assertStarted();
    checkId(id);
    const runAt = checkTime(when, 'when');
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, WRITE_KEYS, 'options');
    const write = writeOptions(this.store, o);
    const before = await this.store.get(id);
    const record = await this.dispatcher.track(write.db ? this.store.reschedule(id, runAt, write) : this.store.reschedule(id, runAt));
    this.publish('rescheduled', () => ({ job: this.info(record), previousRunAt: new Date(before?.runAt ?? runAt) }));
    this.dispatcher.arm();
    return this.info(record);
  }

  /** Puts a dead (or cancelled) job back to `scheduled`, attempts reset, at `at` (default now). */
  async retry(id: string, options: { at?: Date | number } = {}): Promise<JobInfoOf<Jobs, Results>> {
    this.assertStarted();
    checkId(id);
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, new Set(['at']), 'options');
    const runAt = o.at === undefined ? this.times.now() : checkTime(o.at, 'options.at');
    const record = await this.dispatcher.track(this.store.revive(id, runAt));
    this.publish('scheduled', () => ({ job: this.info(record) }));
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
    const c = this.store.counts();
    const sorted = this.dispatcher.latenessSamples().sort((a, b) => a - b);
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
  ): AsyncIterableIterator<Extract<SchedulerEvent<Jobs, Results>, { type: T }>> {
    const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
    checkKeys(o, EVENTS_KEYS, 'options');
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
    const hold = this.holdProcess ? this.baseClock.hold?.bind(this.baseClock) : undefined;
    const stream = new EventStream<SchedulerEvent<Jobs, Results>>(options, (s) => this.streams.delete(s), hold);
    this.streams.add(stream);
    // The stream only lets through events whose type is in `types`.
    return stream as unknown as AsyncIterableIterator<Extract<SchedulerEvent<Jobs, Results>, { type: T }>>;
  }

  // ---------------------------------------------------------------- helpers

  private assertStarted(): void {
    if (this.status !== 'started') {
      throw new SchedulerStoppedError(
        this.status === 'stopping'
          ? 'Expected a running scheduler, got one that is stopping'
          : this.stoppedOnce
            ? 'Expected a started scheduler, got one that was stopped (call start() again to reuse it)'
            : 'Expected a started scheduler, got one not started (await scheduler.start() first)',
      );
    }
  }

  private retryPolicy(record: JobRecord, handler: HandlerEntry | undefined): HandlerRetryOptions {
    return record.retry ?? handler?.retry ?? this.retryDefault;
  }

  /** Whether anyone listens for `type` (to skip building event payloads). */
  private wants(type: keyof SchedulerEvents<Jobs, Results>): boolean {
    return this.streams.size > 0 || this.listenerCount(type) > 0 || this.relays(type);
  }

  /** Whether an event of `type` goes to other processes too: some process listens (remote-events.ts). */
  private relays(type: keyof SchedulerEvents<Jobs, Results>): boolean {
    return this.remoteOut && REMOTE_TYPES.has(type) && (this.store.eventListeners as () => boolean).call(this.store);
  }

  /** Emits `type` to listeners and streams; `relay`: and to other processes, when one listens. */
  private publish<K extends keyof SchedulerEvents<Jobs, Results>>(type: K, make: () => SchedulerEvents<Jobs, Results>[K], relay = true): void {
    const listeners = this.listenerCount(type);
    const remote = relay && this.relays(type);
    if (listeners === 0 && this.streams.size === 0 && !remote) return;
    const payload = make();
    if (remote) {
      try {
        (this.store.publishEvent as (message: string) => void).call(this.store, encodeRemote(this.senderId, type, payload as unknown as LocalPayload));
      } catch (error) {
        this.publish('error', () => ({ error: toError(error) }), false);
      }
    }
    if (listeners > 0) {
      try {
        (this.emit as (t: K, p: SchedulerEvents<Jobs, Results>[K]) => boolean)(type, payload);
      } catch (error) {
        // A throwing listener must not break dispatch; report it unless it was the error listener.
        if (type !== 'error') this.publish('error', () => ({ error: toError(error) }));
      }
    }
    if (this.streams.size > 0) {
      const event = { type, ...payload } as unknown as SchedulerEvent<Jobs, Results>;
      for (const stream of this.streams) stream.push(event);
    }
  }

  private info(record: JobRecord, nextRunAt?: Date | null): JobInfoOf<Jobs, Results> {
    const maxRetries = this.retryPolicy(record, this.handlers.get(record.name)).maxRetries;
    return jobInfo(record, maxRetries, nextRunAt) as JobInfoOf<Jobs, Results>;
  }
}
