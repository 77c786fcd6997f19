/**
 * `listSchedules()` and `nextRuns()`: the schedules a store holds, each with
 * its expression, time zone, next runs and the outcome of its last
 * occurrence; and previews of when a schedule or a cron expression fires.
 *
 * The last outcome is kept in the schedule's recurrence (`recur.last`,
 * written with each occurrence's outcome), so every store keeps it without
 * a change of its own, and any process sharing the store sees it.
 */
import { nextSlot, validateRecurrence, type RecurrenceSpec } from '../cron.js';
import { ValidationError } from '../errors.js';
import type { JobRecord, Store } from '../store/store.js';
import { checkKeys, checkName, checkOptionsObject, checkTime, show } from '../validate.js';
import { specOf } from './info.js';

/** A schedule as `listSchedules()` describes it. */
export interface ScheduleInfo<Name extends string = string> {
  /** The schedule's job id. */
  id: string;
  name: Name;
  /** The cron expression (cron schedules). */
  expression?: string;
  /** The interval, ms (`scheduleEvery`). */
  every?: number;
  /** The time zone the expression is read in (cron schedules). */
  tz?: string;
  /** 'running' while an occurrence runs. */
  state: 'scheduled' | 'running';
  /** The next runs, earliest first (at most `options.runs`; fewer when the schedule ends). */
  nextRuns: Date[];
  /** Occurrences finished so far. */
  runs: number;
  /** The schedule's `limit` of occurrences, if any. */
  limit?: number;
  /** The outcome of its last finished occurrence (none before the first). */
  lastOutcome?: {
    state: 'completed' | 'dead';
    /** The occurrence's slot. */
    slot: Date;
    /** When it finished. */
    at: Date;
    /** Its last attempt's error (dead). */
    error?: { name: string; message: string };
  };
}

/** Options of `listSchedules()`. */
export interface ListSchedulesOptions {
  /** Only schedules of this job name. */
  name?: string;
  /** How many next runs to give each schedule, 0..1000. @default 5 */
  runs?: number;
}

/** Options of `nextRuns()`. */
export interface NextRunsOptions {
  /** With a cron expression: the IANA time zone it is read in. @default 'UTC' */
  tz?: string;
  /** With a cron expression: runs after this instant. @default now */
  from?: Date | number;
}

const LIST_KEYS = new Set(['name', 'runs']);
const NEXT_KEYS = new Set(['tz', 'from']);
const MAX_RUNS = 1000;

function checkRuns(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_RUNS) {
    throw new ValidationError(`Expected \`${what}\` to be an integer from ${min} to ${MAX_RUNS}, got ${show(value)}`);
  }
  return value;
}

/** The next `n` runs of a schedule's record: its pending occurrence, then the slots after it (within limit and endAt). */
export function upcomingRuns(record: JobRecord, n: number): number[] {
  const recur = record.recur;
  if (!recur || n <= 0) return [];
  const spec = specOf(recur);
  const out: number[] = [];
  // Occurrences left, the pending or running one included (count goes up when one finishes).
  let left = recur.limit === undefined ? Infinity : recur.limit - recur.count;
  if (record.state === 'scheduled' && left > 0) out.push(record.runAt);
  if (record.state === 'scheduled' || record.state === 'running') left--;
  else return [];
  let slot = recur.slot;
  while (out.length < n && left > 0) {
    const next = nextSlot(spec, slot);
    if (next === undefined) break;
    out.push(next);
    slot = next;
    left--;
  }
  return out.slice(0, n);
}

/** The ScheduleInfo of a schedule's record. */
export function scheduleInfo(record: JobRecord, runs: number): ScheduleInfo {
  const recur = record.recur as NonNullable<JobRecord['recur']>;
  const info: ScheduleInfo = {
    id: record.id,
    name: record.name,
    state: record.state === 'running' ? 'running' : 'scheduled',
    nextRuns: upcomingRuns(record, runs).map((t) => new Date(t)),
    runs: recur.count,
  };
  if (recur.cron !== undefined) {
    info.expression = recur.cron;
    info.tz = recur.tz ?? 'UTC';
  }
  if (recur.every !== undefined) info.every = recur.every;
  if (recur.limit !== undefined) info.limit = recur.limit;
  const last = recur.last;
  if (last) {
    info.lastOutcome = { state: last.state, slot: new Date(last.slot), at: new Date(last.at) };
    if (last.state === 'dead' && record.lastError) info.lastOutcome.error = record.lastError;
  }
  return info;
}

/** Every active schedule of the store (scheduled or running), ordered by next run. */
export async function listSchedules(store: Store, options: unknown, current: (record: JobRecord) => JobRecord): Promise<ScheduleInfo[]> {
  const o = checkOptionsObject(options, 'options') ?? {};
  checkKeys(o, LIST_KEYS, 'options');
  const runs = o.runs === undefined ? 5 : checkRuns(o.runs, 'options.runs', 0);
  const filter: Parameters<Store['list']>[0] = { states: ['scheduled', 'running'], recurring: true };
  if (o.name !== undefined) filter.name = checkName(o.name, 'options.name');
  const records = await store.list(filter);
  const out: ScheduleInfo[] = [];
  for (const r of records) if (r.recur) out.push(scheduleInfo(current(r), runs));
  return out;
}

/**
 * The next `n` runs of the schedule with id `idOrExpression`, or of the
 * cron expression `idOrExpression` (read in `options.tz`) after
 * `options.from` (default `now`).
 */
export async function nextRuns(store: Store, idOrExpression: unknown, n: unknown, options: unknown, now: number, current: (record: JobRecord) => JobRecord): Promise<Date[]> {
  if (typeof idOrExpression !== 'string' || idOrExpression.length === 0) {
    throw new ValidationError(`Expected \`idOrExpression\` to be a schedule id or a cron expression, got ${show(idOrExpression)}`);
  }
  const count = checkRuns(n, 'n', 1);
  const o = checkOptionsObject(options, 'options') ?? {};
  checkKeys(o, NEXT_KEYS, 'options');
  const record = idOrExpression.length <= 512 ? await store.get(idOrExpression) : undefined;
  if (record) {
    if (!record.recur) throw new ValidationError(`Expected \`idOrExpression\` to be a schedule id or a cron expression, got the id of the one-off job \`${record.id}\``);
    if (o.tz !== undefined || o.from !== undefined) {
      throw new ValidationError(`Expected \`options.tz\` and \`options.from\` only with a cron expression, got them with the schedule \`${record.id}\` (it keeps its own)`);
    }
    return upcomingRuns(current(record), count).map((t) => new Date(t));
  }
  if (o.tz !== undefined && typeof o.tz !== 'string') throw new ValidationError(`Expected \`options.tz\` to be an IANA time zone name, got ${show(o.tz)}`);
  const from = o.from === undefined ? now : checkTime(o.from, 'options.from');
  const spec: RecurrenceSpec = { cron: idOrExpression };
  if (o.tz !== undefined) spec.tz = o.tz as string;
  try {
    validateRecurrence(spec, from);
  } catch (error) {
    throw new ValidationError(`Expected \`idOrExpression\` to be a schedule id or a cron expression, got ${show(idOrExpression)}: no job has that id, and as an expression: ${(error as Error).message}`, { cause: error });
  }
  const out: Date[] = [];
  let t: number | undefined = from;
  while (out.length < count && (t = nextSlot(spec, t)) !== undefined) out.push(new Date(t));
  return out;
}
