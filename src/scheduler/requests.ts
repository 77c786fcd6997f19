/**
 * Turns the public `schedule*` calls into store insert requests: validates
 * every argument at the boundary (the core trusts what passes here) and
 * builds one JobRecord per job, in one fixed shape on the hot path.
 */
import { randomBytes } from 'node:crypto';
import { firstSlot, nextSlot, recurrenceSignature, validateRecurrence, type RecurrenceSpec } from '../cron.js';
import { groupFields } from '../control/group-option.js';
import { checkDistinctWindows, dedupeRequest } from '../control/dedupe-option.js';
import { removePolicy, removes } from '../control/removal-option.js';
import { ValidationError } from '../errors.js';
import { validateRetry } from '../retry.js';
import { scheduledRecord } from '../store/record.js';
import type { DuplicateMode, InsertRequest, JobRecord, NewJobRecord, RecurrenceRecord, StoreFeatures } from '../store/store.js';
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
} from '../validate.js';

export const SCHEDULE_KEYS: ReadonlySet<string> = new Set(['id', 'retry', 'timeout', 'priority', 'onDuplicate', 'db', 'group', 'removeOnComplete', 'removeOnFail']);
export const EVERY_KEYS: ReadonlySet<string> = new Set([...SCHEDULE_KEYS, 'startAt', 'endAt', 'limit', 'misfire', 'misfireGraceMs']);
export const CRON_KEYS: ReadonlySet<string> = new Set([...EVERY_KEYS, 'tz']);
/** A one-off job's options: a schedule's, plus a dedupe window. */
const ONE_OFF_KEYS: ReadonlySet<string> = new Set([...SCHEDULE_KEYS, 'dedupe']);
const MANY_ITEM_KEYS: ReadonlySet<string> = new Set(['name', 'payload', 'delay', 'at', 'options']);
export const NO_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({});

/** RequestContext.checkHandler of a scheduler with `strict: true`: `name` must have a registered handler. */
export function checkRegistered(handlers: ReadonlyMap<string, unknown>, name: string, where: string): void {
  if (!handlers.has(name)) {
    throw new ValidationError(
      `Expected \`${where}\` to name a registered handler (strict: true), got ${show(name)}` +
        (handlers.size > 0 ? `; registered: ${[...handlers.keys()].slice(0, 10).join(', ')}` : '; none is registered'),
    );
  }
}

/** What building a request needs from the scheduler. */
export interface RequestContext {
  /** Job time now (the store's clock when it has one). */
  now(): number;
  newId(): string;
  maxPayloadBytes: number;
  /** Throws when the scheduler is strict and `name` has no handler. */
  checkHandler(name: string, where: string): void;
  /** The trace context to store with a new job (set by godelayq/otel, see trace-hook.ts). */
  trace?: (() => string | undefined) | undefined;
  /** Throws UnsupportedOptionError when the store lacks `feature` (option `what`). */
  checkFeature(feature: keyof StoreFeatures, what: string): void;
}

/** Stores the trace context the hook gives (godelayq/otel) with a new record. */
function addTrace(capture: () => string | undefined, record: { trace?: string }): void {
  const trace = capture();
  if (trace !== undefined) record.trace = trace;
}

/**
 * URL-safe unique ids: a random per-instance prefix plus a counter. Joined,
 * not concatenated: `a + b` of 13+ characters is a rope (two strings and a
 * 32-byte node, 48 B an id kept by a store); a join is one flat 24-32 B string.
 * One two-slot array serves every join: a new array an id cost about as much
 * CPU again as the join itself (bench/HISTORY.md, 6 December evening).
 */
export function idFactory(): IdFactory {
  const prefix = randomBytes(9).toString('base64url');
  const parts = [prefix, ''];
  let counter = 0;
  return Object.assign(
    () => {
      parts[1] = (counter++).toString(36);
      return parts.join('');
    },
    { prefix },
  );
}

/** A generator of ids `prefix` + a base-36 counter from 0 (see IdIndex). */
export type IdFactory = (() => string) & { readonly prefix: string };

/** 8 hex chars of FNV-1a: short stable suffix for default schedule ids. */
function shortHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function duplicateMode(value: unknown, fallback: DuplicateMode, where: string): DuplicateMode {
  if (value === undefined) return fallback;
  if (value !== 'reject' && value !== 'keep' && value !== 'replace') {
    throw new ValidationError(`Expected \`${where}options.onDuplicate\` to be 'reject', 'keep' or 'replace', got ${show(value)}`);
  }
  return value;
}

type BaseRecord = Omit<NewJobRecord, 'id' | 'runAt'> & { id?: string };

/** `now`: the job time the caller read once (createdAt), so a delay and createdAt agree. */
function baseRecord(ctx: RequestContext, name: unknown, payload: unknown, o: Record<string, unknown>, where: string, now: number): BaseRecord {
  const jobName = checkName(name, `${where}name`);
  ctx.checkHandler(jobName, `${where}name`);
  const record: BaseRecord = {
    name: jobName,
    payload: toJsonValue(payload, `${where}payload`, ctx.maxPayloadBytes),
    state: 'scheduled',
    createdAt: now,
    attempt: 0,
    priority: o.priority === undefined ? 0 : checkFinite(o.priority, `${where}options.priority`),
  };
  if (ctx.trace) addTrace(ctx.trace, record);
  if (o.id !== undefined) record.id = checkId(o.id);
  if (o.retry !== undefined) {
    validateRetry(o.retry, `${where}options.retry`, false);
    record.retry = toJsonValue(o.retry, `${where}options.retry`) as unknown as NonNullable<JobRecord['retry']>;
  }
  if (o.timeout !== undefined) record.timeout = checkPositive(o.timeout, `${where}options.timeout`);
  if (o.group !== undefined) {
    ctx.checkFeature('groups', `${where}options.group`);
    const g = groupFields(o.group, where);
    record.group = g.group;
    if (g.groupConcurrency !== undefined) record.groupConcurrency = g.groupConcurrency;
  }
  if (o.removeOnComplete !== undefined || o.removeOnFail !== undefined) record.retain = retainOf(ctx, o, where);
  return record;
}

/** The job's own `removeOnComplete` / `removeOnFail`, validated; refused by a store without removal. */
function retainOf(ctx: RequestContext, o: Record<string, unknown>, where: string): NonNullable<JobRecord['retain']> {
  const retain: NonNullable<JobRecord['retain']> = {};
  if (o.removeOnComplete !== undefined) retain.complete = removePolicy(o.removeOnComplete, `${where}options.removeOnComplete`);
  if (o.removeOnFail !== undefined) retain.fail = removePolicy(o.removeOnFail, `${where}options.removeOnFail`);
  if (removes(retain.complete)) ctx.checkFeature('removal', `${where}options.removeOnComplete`);
  if (removes(retain.fail)) ctx.checkFeature('removal', `${where}options.removeOnFail`);
  return retain;
}

/**
 * A one-off job due at `runAt`. `relative`: `runAt` was computed from a
 * delay (elapsed time, re-based when the wall clock is stepped). `now`: the
 * job time the caller read (the record's createdAt; a delay was added to
 * it), read once a call (two reads were ~5% of a `scheduleIn`'s CPU).
 */
export function oneOffRequest(
  ctx: RequestContext,
  name: unknown,
  runAt: number,
  relative: boolean,
  payload: unknown,
  options: unknown,
  now: number,
  path?: string,
): InsertRequest {
  const where = path === undefined ? '' : `${path}.`;
  if (options === undefined) {
    // Hot path (no options): one record literal, one shape.
    const jobName = checkName(name, `${where}name`);
    ctx.checkHandler(jobName, `${where}name`);
    const value = toJsonValue(payload, `${where}payload`, ctx.maxPayloadBytes);
    const record = scheduledRecord(ctx.newId(), jobName, value, runAt, now, relative);
    if (ctx.trace) addTrace(ctx.trace, record);
    return { record, onDuplicate: 'reject' };
  }
  const o = checkOptionsObject(options, `${where}options`) ?? NO_OPTIONS;
  checkKeys(o, ONE_OFF_KEYS, `${where}options`);
  const base = baseRecord(ctx, name, payload, o, where, now);
  const record: NewJobRecord = { ...base, id: base.id ?? ctx.newId(), runAt };
  if (relative) record.relative = true;
  const request: InsertRequest = { record, onDuplicate: duplicateMode(o.onDuplicate, 'reject', where) };
  if (o.dedupe !== undefined) {
    ctx.checkFeature('dedupe', `${where}options.dedupe`);
    // The window decides what happens to an existing job; `onDuplicate` would contradict it.
    if (o.onDuplicate !== undefined) {
      throw new ValidationError(`Expected \`${where}options.onDuplicate\` to be left out with \`options.dedupe\` (the window decides), got ${show(o.onDuplicate)}`);
    }
    request.dedupe = dedupeRequest(o.dedupe, where);
  }
  return request;
}

/** `scheduleIn`'s due time: now + delay, whole ms, never early. */
export function dueAfter(now: number, delay: unknown, what = 'delay'): number {
  const runAt = Math.ceil(now + checkDelay(delay, what));
  if (runAt > MAX_TIME) throw new ValidationError(`Expected \`${what}\` to end before ±8.64e15 ms, got ${show(delay)}`);
  return runAt;
}

/** The requests of `scheduleMany`: every item validated before anything is written. */
export function manyRequests(ctx: RequestContext, items: unknown): InsertRequest[] {
  if (!Array.isArray(items)) throw new ValidationError(`Expected \`items\` to be an array, got ${show(items)}`);
  const now = ctx.now();
  const requests = items.map((item: unknown, i) => {
    const it = checkOptionsObject(item, `items[${i}]`);
    if (!it) throw new ValidationError(`Expected \`items[${i}]\` to be { name, payload, delay | at, options? }, got undefined`);
    checkKeys(it, MANY_ITEM_KEYS, `items[${i}]`);
    if ((it.delay === undefined) === (it.at === undefined)) {
      throw new ValidationError(`Expected \`items[${i}]\` to have exactly one of \`delay\` or \`at\`, got ${it.delay === undefined ? 'neither' : 'both'}`);
    }
    const relative = it.delay !== undefined;
    const runAt = relative ? dueAfter(now, it.delay, `items[${i}].delay`) : checkTime(it.at, `items[${i}].at`);
    return oneOffRequest(ctx, it.name, runAt, relative, it.payload, it.options, now, `items[${i}]`);
  });
  checkDistinctWindows(requests);
  return requests;
}

/** A schedule (`cron` or `every`), one record for its whole life. */
export function recurringRequest(
  ctx: RequestContext,
  name: unknown,
  what: { cron?: string; every?: number; tz?: string },
  payload: unknown,
  o: Record<string, unknown>,
): InsertRequest {
  const now = ctx.now();
  const base = baseRecord(ctx, name, payload, o, '', now);
  const misfire = o.misfire ?? 'once';
  if (misfire !== 'once' && misfire !== 'skip' && misfire !== 'all') {
    throw new ValidationError(`Expected \`options.misfire\` to be 'once', 'skip' or 'all', got ${show(misfire)}`);
  }
  const grace = o.misfireGraceMs === undefined ? undefined : checkNonNegativeInt(o.misfireGraceMs, 'options.misfireGraceMs');
  const spec: RecurrenceSpec = { ...what };
  if (o.startAt !== undefined) spec.startAt = checkTime(o.startAt, 'options.startAt');
  if (o.endAt !== undefined) spec.endAt = checkTime(o.endAt, 'options.endAt');
  if (what.every !== undefined && Number.isSafeInteger(what.every)) spec.anchor = spec.startAt ?? now + what.every;
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
    ...(grace === undefined ? {} : { misfireGraceMs: grace }),
    ...(base.retry === undefined ? {} : { retry: base.retry }),
    ...(base.timeout === undefined ? {} : { timeout: base.timeout }),
    ...(base.group === undefined ? {} : { group: base.group, groupConcurrency: base.groupConcurrency ?? 1 }),
    ...(base.retain === undefined ? {} : { retain: base.retain }),
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
  if (grace !== undefined) recur.grace = grace;
  // Default id: the same declaration gets the same id at every start-up.
  const id =
    base.id ??
    `${base.name}:${what.cron === undefined ? 'every' : 'cron'}:${shortHash(JSON.stringify([what.cron ?? what.every, spec.tz ?? null, base.payload]))}`;
  const record: NewJobRecord = { ...base, id, runAt: first, recur };
  return { record, onDuplicate: duplicateMode(o.onDuplicate, 'keepIfSame', '') };
}
