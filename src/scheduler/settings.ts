/**
 * What `new Scheduler(options)` runs with: every constructor option checked
 * (in one fixed order, so a call with several bad options always names the
 * same one) and resolved to its value or default; and the store feature
 * checks behind options a store may not support (an option is never
 * silently ignored).
 */
import { SystemClock, type Clock } from '../clock.js';
import { UnsupportedOptionError, ValidationError } from '../errors.js';
import { DEFAULT_RETRY, validateRetry } from '../retry.js';
import { MemoryStore } from '../store/memory.js';
import type { RateLimit, Store, StoreFeatures } from '../store/store.js';
import type { HandlerRetryOptions } from '../types.js';
import { MAX_PAYLOAD_LIMIT, checkKeys, checkNonNegativeInt, checkOptionsObject, checkPositive, checkPositiveInt, show } from '../validate.js';
import { checkRateLimit } from '../control/rate-limit-option.js';
import { removePolicy, removes, type RemovalPolicies } from '../control/removal-option.js';
import { CONSTRUCTOR_KEYS, checkStore, type SchedulerOptions } from './options.js';
import { DEFAULT_KEEP_LOGS, checkKeepLogs } from './progress.js';
import { NO_OPTIONS } from './requests.js';
import { storeClock } from './store-clock.js';

/** The constructor's options, checked and resolved. */
export interface Settings {
  readonly store: Store;
  /** The Clock the user gave (or the system clock): what stores wait on. */
  readonly baseClock: Clock;
  /** Job times (the store's clock when it has one, see storeClock). */
  readonly times: Clock;
  readonly retryDefault: HandlerRetryOptions;
  readonly keepCompleted: number;
  readonly keepDead: number;
  readonly strict: boolean;
  readonly holdProcess: boolean;
  readonly maxPayloadBytes: number;
  /** Lines of `job.log()` kept when the handler's register options say nothing. */
  readonly keepLogs: number;
  /** The scheduler-wide start-rate limit. */
  readonly rateLimit: RateLimit | undefined;
  /** `remoteEvents: true`: emit the events other processes publish (remote-events.ts). */
  readonly remoteIn: boolean;
  /** The store can carry events to other processes: publish ours while some process listens. */
  readonly remoteOut: boolean;
  /** The scheduler's `removeOnComplete` / `removeOnFail`, when given. */
  readonly removal: RemovalPolicies | undefined;
  readonly concurrency: number;
  readonly timeoutDefault: number | undefined;
  readonly misfireGraceMs: number;
}

/** Checks and resolves `new Scheduler(options)`; throws ValidationError or UnsupportedOptionError. */
export function resolveSettings(options: SchedulerOptions): Settings {
  const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
  checkKeys(o, CONSTRUCTOR_KEYS, 'options');
  const store: Store = o.store === undefined ? new MemoryStore() : checkStore(o.store);
  const baseClock = options.clock ?? new SystemClock();
  const times = storeClock(store, baseClock);
  if (options.retry !== undefined) validateRetry(options.retry, 'options.retry', true);
  const retryDefault = options.retry ?? DEFAULT_RETRY;
  const keepCompleted = options.keepCompleted === undefined ? 1000 : checkNonNegativeInt(options.keepCompleted, 'options.keepCompleted');
  const keepDead = options.keepDead === undefined ? 10000 : checkNonNegativeInt(options.keepDead, 'options.keepDead');
  if (o.unref !== undefined && typeof o.unref !== 'boolean') throw new ValidationError(`Expected \`options.unref\` to be a boolean, got ${show(o.unref)}`);
  if (o.strict !== undefined && typeof o.strict !== 'boolean') throw new ValidationError(`Expected \`options.strict\` to be a boolean, got ${show(o.strict)}`);
  const strict = o.strict === true;
  const holdProcess = o.unref !== true;
  const maxPayloadBytes = o.maxPayloadBytes === undefined ? 1 << 20 : checkPositiveInt(o.maxPayloadBytes, 'options.maxPayloadBytes');
  if (maxPayloadBytes > MAX_PAYLOAD_LIMIT) {
    throw new ValidationError(`Expected \`options.maxPayloadBytes\` to be at most ${MAX_PAYLOAD_LIMIT} (256 MiB), got ${maxPayloadBytes}`);
  }
  const keepLogs = o.keepLogs === undefined ? DEFAULT_KEEP_LOGS : checkKeepLogs(o.keepLogs, 'options.keepLogs', store);
  let rateLimit: RateLimit | undefined;
  if (o.rateLimit !== undefined) {
    rateLimit = checkRateLimit(o.rateLimit, 'options.rateLimit');
    requireFeature(store, 'rateLimits', 'options.rateLimit');
  }
  if (o.remoteEvents !== undefined && typeof o.remoteEvents !== 'boolean') {
    throw new ValidationError(`Expected \`options.remoteEvents\` to be a boolean, got ${show(o.remoteEvents)}`);
  }
  const remoteIn = o.remoteEvents === true;
  if (remoteIn) requireFeature(store, 'remoteEvents', 'options.remoteEvents: true', 'RedisStore, PostgresStore');
  const remoteOut = store.features?.remoteEvents === true && typeof store.publishEvent === 'function' && typeof store.eventListeners === 'function';
  const removal = removalPolicies(store, o, 'options');
  return {
    store,
    baseClock,
    times,
    retryDefault,
    keepCompleted,
    keepDead,
    strict,
    holdProcess,
    maxPayloadBytes,
    keepLogs,
    rateLimit,
    remoteIn,
    remoteOut,
    removal,
    concurrency: options.concurrency === undefined ? 10 : checkPositiveInt(options.concurrency, 'options.concurrency'),
    timeoutDefault: options.timeout === undefined ? undefined : checkPositive(options.timeout, 'options.timeout'),
    misfireGraceMs: o.misfireGraceMs === undefined ? 60_000 : checkNonNegativeInt(o.misfireGraceMs, 'options.misfireGraceMs'),
  };
}

/** `removeOnComplete` / `removeOnFail` of constructor or register options `o`, validated; refused by a store without removal. */
export function removalPolicies(store: Store, o: Record<string, unknown>, what: string): RemovalPolicies | undefined {
  if (o.removeOnComplete === undefined && o.removeOnFail === undefined) return undefined;
  const policies: RemovalPolicies = {};
  if (o.removeOnComplete !== undefined) policies.complete = removePolicy(o.removeOnComplete, `${what}.removeOnComplete`);
  if (o.removeOnFail !== undefined) policies.fail = removePolicy(o.removeOnFail, `${what}.removeOnFail`);
  if (removes(policies.complete) || removes(policies.fail)) requireFeature(store, 'removal', `${what}.${removes(policies.complete) ? 'removeOnComplete' : 'removeOnFail'}`);
  return policies;
}

/** Throws UnsupportedOptionError when the store lacks `feature` (option `what`): an option is never silently ignored. */
export function requireFeature(store: Store, feature: keyof StoreFeatures, what: string, stores = 'MemoryStore, JsonFileStore, RedisStore, PostgresStore'): void {
  if (store.features?.[feature] !== true) {
    throw new UnsupportedOptionError(`Expected \`${what}\` only with a store that supports ${feature} (${stores}), got it with ${store.constructor.name}`);
  }
}
