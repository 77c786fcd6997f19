/**
 * The argument checks the Scheduler's public calls make before they touch
 * the store, and what they build from them: register()'s handler entry, the
 * requests of scheduleMany, scheduleCron and scheduleEvery (requests.ts
 * builds the records), and the store options of a write call (`db`). Kept
 * out of scheduler.ts so the class stays the API: check, hand on, answer.
 */
import type { RateLimit, InsertRequest, Store, StoreWriteOptions } from '../store/store.js';
import { ValidationError } from '../errors.js';
import { validateRetry } from '../retry.js';
import { checkKeys, checkName, checkOptionsObject, checkPositive, checkPositiveInt, checkTime, show } from '../validate.js';
import { checkRateLimit } from '../control/rate-limit-option.js';
import type { HandlerEntry } from './host.js';
import { REGISTER_KEYS, WRITE_KEYS, writeOptions, type RegisterOptions } from './options.js';
import { checkKeepLogs } from './progress.js';
import { CRON_KEYS, EVERY_KEYS, NO_OPTIONS, manyRequests, recurringRequest, type RequestContext } from './requests.js';
import { removalPolicies, requireFeature } from './settings.js';

/** register()'s arguments checked: the handler's entry and its name's start-rate limit. */
export function handlerEntry(store: Store, name: unknown, handler: unknown, options: RegisterOptions): { entry: HandlerEntry; rateLimit: RateLimit | undefined } {
  checkName(name);
  if (typeof handler !== 'function') throw new ValidationError(`Expected \`handler\` to be a function, got ${show(handler)}`);
  const o = checkOptionsObject(options, 'register options') ?? {};
  checkKeys(o, REGISTER_KEYS, 'register options');
  if (options.retry !== undefined) validateRetry(options.retry, 'register options.retry', true);
  const rateLimit = options.rateLimit === undefined ? undefined : checkRateLimit(options.rateLimit, 'register options.rateLimit');
  if (rateLimit !== undefined) requireFeature(store, 'rateLimits', 'register options.rateLimit');
  const removal = removalPolicies(store, o, 'register options');
  const entry: HandlerEntry = {
    fn: handler as HandlerEntry['fn'],
    concurrency: options.concurrency === undefined ? Infinity : checkPositiveInt(options.concurrency, 'register options.concurrency'),
    retry: options.retry,
    timeout: options.timeout === undefined ? undefined : checkPositive(options.timeout, 'register options.timeout'),
    keepLogs: options.keepLogs === undefined ? undefined : checkKeepLogs(options.keepLogs, 'register options.keepLogs', store),
    removal,
  };
  return { entry, rateLimit };
}

/** The store options of a write call (cancel, reschedule, scheduleMany): its options object holds `db` at most. */
export function writeCall(store: Store, options: unknown): StoreWriteOptions {
  const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
  checkKeys(o, WRITE_KEYS, 'options');
  return writeOptions(store, o);
}

/** scheduleMany's requests and store options; `db` is given once, for the whole call. */
export function manyCall(ctx: RequestContext, store: Store, items: unknown, options: unknown): [requests: InsertRequest[], write: StoreWriteOptions] {
  const write = writeCall(store, options);
  const requests = manyRequests(ctx, items);
  if (Array.isArray(items) && items.some((item) => (item as { options?: { db?: unknown } } | undefined)?.options?.db !== undefined)) {
    throw new ValidationError('Expected `items[i].options.db` to be left out (pass `db` once, as scheduleMany(items, { db })), got one');
  }
  return [requests, write];
}

/** scheduleCron's request and store options. */
export function cronCall(ctx: RequestContext, store: Store, name: unknown, expression: unknown, payload: unknown, options: unknown): [request: InsertRequest, write: StoreWriteOptions] {
  if (typeof expression !== 'string') throw new ValidationError(`Expected \`expression\` to be a cron string, got ${show(expression)}`);
  const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
  checkKeys(o, CRON_KEYS, 'options');
  if (o.tz !== undefined && typeof o.tz !== 'string') throw new ValidationError(`Expected \`options.tz\` to be an IANA time zone name, got ${show(o.tz)}`);
  const request = recurringRequest(ctx, name, { cron: expression, ...(o.tz === undefined ? {} : { tz: o.tz as string }) }, payload, o);
  return [request, writeOptions(store, o)];
}

/** scheduleEvery's request and store options. */
export function everyCall(ctx: RequestContext, store: Store, name: unknown, interval: unknown, payload: unknown, options: unknown): [request: InsertRequest, write: StoreWriteOptions] {
  const every = checkPositive(interval, 'interval');
  if (!Number.isSafeInteger(every)) {
    throw new ValidationError(`Expected \`interval\` to be a whole number of ms up to 2^53 − 1, got ${show(interval)}`);
  }
  const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
  checkKeys(o, EVERY_KEYS, 'options');
  const request = recurringRequest(ctx, name, { every }, payload, o);
  return [request, writeOptions(store, o)];
}

/** retry()'s due time: `options.at`, or `now`. */
export function retryAt(options: unknown, now: number): number {
  const o = checkOptionsObject(options, 'options') ?? NO_OPTIONS;
  checkKeys(o, new Set(['at']), 'options');
  return o.at === undefined ? now : checkTime(o.at, 'options.at');
}
