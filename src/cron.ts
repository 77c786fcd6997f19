/**
 * Time arithmetic for recurring jobs: which instants a cron expression or a fixed interval
 * fires at, and what to do with slots that were missed. Pure and clock-free: every function
 * takes the times it needs (epoch milliseconds) and never reads a clock; the scheduler's timer
 * loop lives elsewhere and calls in here.
 *
 * HOW: cron-parser parses and validates the expression and decides which calendar days match
 * (`L`, `#`, day-of-month OR day-of-week, names). The search itself runs here, in "wall time":
 * a local date and time written as if it were UTC, so it never meets a DST change. Walls are
 * then mapped to instants with the zone's offset table, built from `Intl` once per zone and
 * year (sampled every 12 h, transitions located to the millisecond).
 *
 * WHY not cron-parser's own iteration in the zone: its DST handling depends on where an
 * iteration starts (a slot seen from just before a spring-forward gap is not the slot seen
 * from inside it) and it runs a sub-hourly expression twice through a repeated hour. The
 * mapping below is one non-decreasing function from walls to instants, so "the next slot
 * after t" is the same answer however it is asked, and counting slots is counting walls.
 *
 * DST rules (SPEC §2: a slot runs once or not at all, never twice):
 * - Fall back: a wall time that occurs twice is a slot only at its first occurrence (the
 *   daylight-time one). Nothing runs during the repeated hour, so a sub-hourly expression
 *   pauses for it: `*\/5 * * * *` in New York runs at 01:55 EDT, then at 02:00 EST.
 * - Spring forward: wall times inside the gap do not exist; their slots run once, at the
 *   first instant after the gap, and merge with each other and with a slot at exactly that
 *   instant. A daily 02:30 job in New York runs at 03:00 EDT on the spring-forward day;
 *   an hourly job runs at 01:00 EST and 03:00 EDT.
 */

import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { ValidationError } from './errors.js';

/**
 * What to do with slots that passed without running.
 * - `'once'` (default): run one catch-up, for the most recent missed slot, then continue.
 * - `'skip'`: run none; continue at the next future slot.
 * - `'all'`: run every missed slot in order, at most the most recent {@link MISFIRE_ALL_CAP}.
 */
export type MisfirePolicy = 'skip' | 'once' | 'all';

/**
 * When a recurring job fires: exactly one of `cron` and `every`. All times are epoch ms.
 * Slots outside `[startAt, endAt]` do not exist.
 */
export interface RecurrenceSpec {
  /** 5 fields (minute first) or 6 (second first), or `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. */
  cron?: string | undefined;
  /** Interval in ms: a positive safe integer. */
  every?: number | undefined;
  /** IANA time zone the cron fields are read in (cron only). @default 'UTC' */
  tz?: string | undefined;
  /** First instant a slot may have (inclusive). */
  startAt?: number | undefined;
  /** Last instant a slot may have (inclusive). */
  endAt?: number | undefined;
  /**
   * `every` only: slots are `anchor + k × every` for integer k.
   * @default startAt ?? 0 (without either, slots are aligned to the Unix epoch)
   */
  anchor?: number | undefined;
}

/** What {@link planDue} decided for a due occurrence. */
export interface DuePlan {
  /**
   * The slot to run now (`<= now`, becomes `job.runAt`), a future slot to wait for (`> now`,
   * only with `'skip'`), or `undefined` when the schedule has no slot left (`endAt` passed).
   */
  runAt: number | undefined;
  /** Slots that will never run because of this decision (for the `misfired` event). */
  missed: number;
}

/** Input of {@link recurrenceSignature}: the declared schedule plus any other options that define it. */
export type RecurrenceDeclaration = RecurrenceSpec & {
  misfire?: MisfirePolicy | undefined;
  limit?: number | undefined;
  [option: string]: unknown;
};

/** With `misfire: 'all'`, at most this many missed slots run; older ones are dropped. */
export const MISFIRE_ALL_CAP = 1000;

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** The Gregorian calendar repeats every 400 years: no match in that span means none ever. */
const CYCLE_DAYS = 146_097;
/** `new Date()` accepts ±8.64e15 ms. */
const MAX_TIME = 8.64e15;
const SAMPLE_STEP = 12 * HOUR;
const NAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Checks a spec before it is stored. Throws `ValidationError` (whose message quotes the
 * expression) for: neither or both of `cron`/`every`; an expression that is unparseable, not
 * 5 or 6 fields or a known `@name`, uses `H`, or never fires (`'0 0 30 2 *'`); an unknown
 * `tz`; `tz` or `anchor` on the wrong kind; times that are not safe integers; `endAt` before
 * `startAt`; no slot at or after `max(now, startAt)` up to `endAt`.
 */
export function validateRecurrence(spec: RecurrenceSpec, now: number): void {
  if (typeof spec !== 'object' || spec === null) {
    throw new ValidationError(`Expected a recurrence spec object, got ${String(spec)}`);
  }
  for (const key of ['startAt', 'endAt', 'anchor'] as const) {
    const value = spec[key];
    if (value !== undefined && !isTime(value)) {
      throw new ValidationError(`Expected \`${key}\` to be a safe integer of epoch milliseconds, got ${show(value)}`);
    }
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new ValidationError(`Expected \`now\` to be epoch milliseconds, got ${show(now)}`);
  if (spec.startAt !== undefined && spec.endAt !== undefined && spec.endAt < spec.startAt) {
    throw new ValidationError(
      `Expected \`endAt\` to be at or after \`startAt\` (${iso(spec.startAt)}), got ${iso(spec.endAt)} (${describeSpec(spec)})`,
    );
  }
  if ((spec.cron === undefined) === (spec.every === undefined)) {
    throw new ValidationError(
      `Expected exactly one of \`cron\` and \`every\`, got ${spec.cron === undefined ? 'neither' : `both (cron ${show(spec.cron)}, every ${show(spec.every)})`}`,
    );
  }
  if (spec.every !== undefined) {
    if (typeof spec.every !== 'number' || !Number.isSafeInteger(spec.every) || spec.every <= 0) {
      throw new ValidationError(`Expected \`every\` to be a positive integer of milliseconds, got ${show(spec.every)}`);
    }
    if (spec.tz !== undefined) {
      throw new ValidationError(`Expected \`tz\` only with \`cron\`, got tz ${show(spec.tz)} with every ${spec.every} ms`);
    }
  } else {
    if (spec.anchor !== undefined) {
      throw new ValidationError(`Expected \`anchor\` only with \`every\`, got anchor ${show(spec.anchor)} with cron ${show(spec.cron)}`);
    }
    compileCron(spec.cron);
    zoneOf(spec.tz, spec.cron);
  }
  const from = Math.max(now, spec.startAt ?? now);
  if (firstSlot(spec, from) === undefined) {
    throw new ValidationError(
      spec.endAt !== undefined
        ? `Expected ${describeSpec(spec)} to fire between ${iso(from)} and endAt ${iso(spec.endAt)}, got no slot`
        : `Expected cron expression ${show(spec.cron)} to fire at least once, got an expression that never fires`,
    );
  }
}

/** The first slot at or after `from` (`nextSlot(spec, from - 1)`), or `undefined`. */
export function firstSlot(spec: RecurrenceSpec, from: number): number | undefined {
  return nextSlot(spec, from - 1);
}

/**
 * The first slot strictly after `after`, within `[startAt, endAt]`; `undefined` when there is
 * none. Called with the previous slot (never with "now") so runs do not drift; see the file
 * header for the DST rules.
 */
export function nextSlot(spec: RecurrenceSpec, after: number): number | undefined {
  const lo = spec.startAt !== undefined && spec.startAt - 1 > after ? spec.startAt - 1 : after;
  if (spec.every !== undefined) {
    const anchor = anchorOf(spec);
    const t = anchor + Math.floor((lo - anchor) / spec.every + 1) * spec.every;
    // Float division can land one step off for huge values; settle on the exact slot.
    const exact = t <= lo ? t + spec.every : t - spec.every > lo ? t - spec.every : t;
    return spec.endAt !== undefined && exact > spec.endAt ? undefined : exact;
  }
  const cron = compileCron(spec.cron);
  const zone = zoneOf(spec.tz, spec.cron);
  const wall = wallCeil(cron, wallKey(zone, lo + 1), spec.endAt === undefined ? MAX_TIME : spec.endAt + 2 * DAY);
  if (wall === undefined) return undefined;
  const t = instantOfWall(zone, wall);
  return spec.endAt !== undefined && t > spec.endAt ? undefined : t;
}

/** The last slot strictly before `before`, within `[startAt, endAt]`; `undefined` when there is none. */
export function prevSlot(spec: RecurrenceSpec, before: number): number | undefined {
  const hi = spec.endAt !== undefined && spec.endAt + 1 < before ? spec.endAt + 1 : before;
  if (spec.every !== undefined) {
    const anchor = anchorOf(spec);
    const t = anchor + Math.floor((hi - 1 - anchor) / spec.every) * spec.every;
    const exact = t >= hi ? t - spec.every : t + spec.every < hi ? t + spec.every : t;
    return spec.startAt !== undefined && exact < spec.startAt ? undefined : exact;
  }
  const cron = compileCron(spec.cron);
  const zone = zoneOf(spec.tz, spec.cron);
  const wall = wallFloorBefore(cron, wallKey(zone, hi), spec.startAt === undefined ? -MAX_TIME : spec.startAt - 2 * DAY);
  if (wall === undefined) return undefined;
  const t = instantOfWall(zone, wall);
  return spec.startAt !== undefined && t < spec.startAt ? undefined : t;
}

/**
 * How many slots lie in `(fromExclusive, toInclusive]`, or `cap` if there are more. Exact and
 * cheap for long ranges: `every` is arithmetic, cron costs one step per calendar day.
 */
export function countSlots(spec: RecurrenceSpec, fromExclusive: number, toInclusive: number, cap = Infinity): number {
  const lo = spec.startAt !== undefined && spec.startAt - 1 > fromExclusive ? spec.startAt - 1 : fromExclusive;
  const hi = spec.endAt !== undefined && spec.endAt < toInclusive ? spec.endAt : toInclusive;
  if (!(hi > lo) || !(cap > 0)) return 0;
  if (spec.every !== undefined) {
    const first = nextSlot(spec, lo);
    const last = prevSlot(spec, hi + 1);
    if (first === undefined || last === undefined || last < first) return 0;
    return Math.min(cap, (last - first) / spec.every + 1);
  }
  const cron = compileCron(spec.cron);
  const zone = zoneOf(spec.tz, spec.cron);
  const from = wallKey(zone, lo + 1);
  const to = wallKey(zone, hi + 1);
  // Walls mapped onto one instant (a spring-forward gap and the wall right after it) are one slot.
  let merged = 0;
  for (const tr of transitionsBetween(zone, lo + 1, hi)) {
    if (tr.after > tr.before) {
      const n = countWalls(cron, tr.at + tr.before, tr.at + tr.after + 1, Infinity);
      if (n > 1) merged += n - 1;
    }
  }
  return Math.min(cap, countWalls(cron, from, to, cap + merged) - merged);
}

/**
 * Decides what to run for the occurrence at `slot` when it is due (`slot <= now`; a slot in
 * the future is returned unchanged). The slot is *missed* when
 * (a) `afterDowntime` and `slot < now` (it passed while the scheduler was stopped, no grace), or
 * (b) the slot after it is already due (`nextSlot(slot) <= now`: the scheduler was busy).
 * A slot that is not missed runs: `{ runAt: slot, missed: 0 }`. Otherwise, with M the slots
 * in `[slot, now]` (within `endAt`):
 * - `'skip'` → `{ runAt: nextSlot(now), missed: |M| }` (`undefined` if the schedule is over);
 * - `'once'` → `{ runAt: last of M, missed: |M| − 1 }`;
 * - `'all'` → `{ runAt: oldest of the last 1000 of M, missed: max(0, |M| − 1000) }`, and the
 *   caller runs the following slots one by one (each is then due and planned again).
 *
 * Idempotent: planning the returned `runAt` again with the same `now` gives the same `runAt`
 * with `missed: 0`, so a crash between planning and running never double-counts.
 */
export function planDue(spec: RecurrenceSpec, slot: number, now: number, policy: MisfirePolicy, afterDowntime: boolean): DuePlan {
  if (slot > now) return { runAt: slot, missed: 0 };
  const next = nextSlot(spec, slot);
  const missed = (afterDowntime && slot < now) || (next !== undefined && next <= now);
  if (!missed) return { runAt: slot, missed: 0 };
  // M = slot itself plus every slot after it up to now.
  const size = 1 + countSlots(spec, slot, now);
  switch (policy) {
    case 'skip':
      return { runAt: nextSlot(spec, now), missed: size };
    case 'once': {
      const last = prevSlot(spec, now + 1);
      return { runAt: last === undefined || last < slot ? slot : last, missed: size - 1 };
    }
    case 'all': {
      if (size <= MISFIRE_ALL_CAP) return { runAt: slot, missed: 0 };
      let oldest = prevSlot(spec, now + 1) ?? slot;
      if (spec.every !== undefined) {
        oldest -= (MISFIRE_ALL_CAP - 1) * spec.every;
      } else {
        for (let i = 1; i < MISFIRE_ALL_CAP; i++) oldest = prevSlot(spec, oldest) ?? slot;
      }
      return { runAt: oldest, missed: size - MISFIRE_ALL_CAP };
    }
    default:
      throw new ValidationError(`Expected misfire policy 'once', 'skip' or 'all', got ${show(policy)}`);
  }
}

/**
 * A canonical string of the options that define a schedule, to tell whether a re-declared
 * schedule with the same id is "the same" (SPEC §2 `onDuplicate`). Keys are sorted, `undefined`
 * values dropped, Dates become epoch ms, the expression's whitespace is collapsed, the zone
 * name is canonicalised and the defaults are filled in (`tz: 'UTC'` for cron, `misfire: 'once'`). `anchor` is left out: the
 * scheduler derives it from the time of the first declaration, so it differs at every start-up.
 */
export function recurrenceSignature(declaration: RecurrenceDeclaration): string {
  const { anchor: _anchor, ...rest } = declaration;
  const canonical: Record<string, unknown> = { ...rest, misfire: rest.misfire ?? 'once' };
  if (typeof rest.cron === 'string') {
    canonical.cron = rest.cron.trim().replace(/\s+/g, ' ');
    canonical.tz = canonicalZone(rest.tz);
  }
  return JSON.stringify(canonicalize(canonical, 'declaration'));
}

// ---------------------------------------------------------------------------------------------
// Helpers for the public API

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) <= MAX_TIME;
}

function anchorOf(spec: RecurrenceSpec): number {
  return spec.anchor ?? spec.startAt ?? 0;
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

function iso(t: number): string {
  return Number.isFinite(t) && Math.abs(t) <= MAX_TIME ? new Date(t).toISOString() : String(t);
}

function describeSpec(spec: RecurrenceSpec): string {
  return spec.cron !== undefined ? `cron expression ${show(spec.cron)}` : `every ${show(spec.every)} ms`;
}

/** The zone's canonical name ('america/new_york' → 'America/New_York'), or the input if unknown. */
function canonicalZone(tz: unknown): unknown {
  try {
    return zoneOf(tz, undefined).name;
  } catch {
    return tz;
  }
}

function canonicalize(value: unknown, path: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(`Expected \`${path}\` to be a finite number, got ${value}`);
    return Object.is(value, -0) ? 0 : value;
  }
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map((item, i) => canonicalize(item === undefined ? null : item, `${path}[${i}]`));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) out[key] = canonicalize(item, `${path}.${key}`);
    }
    return out;
  }
  throw new ValidationError(`Expected \`${path}\` to be a JSON value, got a ${typeof value}`);
}

// ---------------------------------------------------------------------------------------------
// Compiled cron expressions: the fields as sorted numbers, day matching delegated to cron-parser

interface CompiledCron {
  readonly expression: string;
  /** Parsed in UTC: only its day matching (`includesDate`) is used, on wall days. */
  readonly parsed: CronExpression;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  /** Index 1..12. */
  readonly months: readonly boolean[];
  /** Seconds of the day of the first time of day that matches: probes day matching. */
  readonly firstTime: number;
  readonly perHour: number;
  readonly perDay: number;
}

const compiledCache = new Map<string, CompiledCron>();

function compileCron(expression: unknown): CompiledCron {
  if (typeof expression !== 'string') throw new ValidationError(`Expected \`cron\` to be a cron expression string, got ${show(expression)}`);
  const cached = compiledCache.get(expression);
  if (cached) return cached;
  const text = expression.trim();
  const expected = `a 5- or 6-field cron expression or one of ${Object.keys(NAMES).join(', ')}`;
  let source: string;
  if (text.startsWith('@')) {
    const named = NAMES[text.toLowerCase()];
    if (named === undefined) throw new ValidationError(`Expected \`cron\` to be ${expected}, got ${show(expression)}`);
    source = named;
  } else {
    const fields = text === '' ? [] : text.split(/\s+/);
    if (fields.length !== 5 && fields.length !== 6) {
      throw new ValidationError(`Expected \`cron\` to be ${expected}, got ${show(expression)} (${fields.length} fields)`);
    }
    if (/h/i.test(text.replace(/[a-z]{3}/gi, (word) => (/^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)$/i.test(word) ? '' : word)))) {
      throw new ValidationError(
        `Expected \`cron\` without hashed (H) fields, got ${show(expression)}: a hashed schedule would change between restarts`,
      );
    }
    source = fields.length === 5 ? `0 ${fields.join(' ')}` : fields.join(' ');
  }
  let parsed: CronExpression;
  try {
    parsed = CronExpressionParser.parse(source, { tz: 'UTC', currentDate: 0 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (/explicit day of month/i.test(reason)) {
      throw new ValidationError(
        `Expected cron expression ${show(expression)} to fire at least once, got days of month that never occur in its months (${reason})`,
        { cause: error },
      );
    }
    throw new ValidationError(`Expected \`cron\` to be ${expected}, got ${show(expression)}: ${reason}`, { cause: error });
  }
  const { second, minute, hour, month } = parsed.fields;
  const sorted = (values: readonly unknown[]): number[] => [...new Set(values.map(Number))].sort((a, b) => a - b);
  const seconds = sorted(second.values);
  const minutes = sorted(minute.values);
  const hours = sorted(hour.values);
  const months = Array.from({ length: 13 }, () => false);
  for (const m of month.values) months[Number(m)] = true;
  const compiled: CompiledCron = {
    expression,
    parsed,
    seconds,
    minutes,
    hours,
    months,
    firstTime: (hours[0] ?? 0) * 3600 + (minutes[0] ?? 0) * 60 + (seconds[0] ?? 0),
    perHour: minutes.length * seconds.length,
    perDay: hours.length * minutes.length * seconds.length,
  };
  if (compiledCache.size >= 512) compiledCache.clear();
  compiledCache.set(expression, compiled);
  return compiled;
}

function monthOf(day: number): number {
  return new Date(day * DAY).getUTCMonth() + 1;
}

function dayMatches(cron: CompiledCron, day: number): boolean {
  return cron.parsed.includesDate(new Date(day * DAY + cron.firstTime * SECOND));
}

/** First matching time of day at or after `time` (seconds), or undefined. */
function timeAtOrAfter(cron: CompiledCron, time: number): number | undefined {
  const h = Math.floor(time / 3600);
  const m = Math.floor((time % 3600) / 60);
  const s = time % 60;
  for (const hour of cron.hours) {
    if (hour < h) continue;
    if (hour > h) return hour * 3600 + (cron.minutes[0] ?? 0) * 60 + (cron.seconds[0] ?? 0);
    for (const minute of cron.minutes) {
      if (minute < m) continue;
      if (minute > m) return hour * 3600 + minute * 60 + (cron.seconds[0] ?? 0);
      for (const second of cron.seconds) if (second >= s) return hour * 3600 + minute * 60 + second;
    }
  }
  return undefined;
}

/** Last matching time of day at or before `time` (seconds), or undefined. */
function timeAtOrBefore(cron: CompiledCron, time: number): number | undefined {
  const h = Math.floor(time / 3600);
  const m = Math.floor((time % 3600) / 60);
  const s = time % 60;
  const lastMinute = cron.minutes[cron.minutes.length - 1] ?? 0;
  const lastSecond = cron.seconds[cron.seconds.length - 1] ?? 0;
  for (let i = cron.hours.length - 1; i >= 0; i--) {
    const hour = cron.hours[i] as number;
    if (hour > h) continue;
    if (hour < h) return hour * 3600 + lastMinute * 60 + lastSecond;
    for (let j = cron.minutes.length - 1; j >= 0; j--) {
      const minute = cron.minutes[j] as number;
      if (minute > m) continue;
      if (minute < m) return hour * 3600 + minute * 60 + lastSecond;
      for (let k = cron.seconds.length - 1; k >= 0; k--) {
        const second = cron.seconds[k] as number;
        if (second <= s) return hour * 3600 + minute * 60 + second;
      }
    }
  }
  return undefined;
}

/** Matching times of day strictly before `time` (seconds, 0..86400). */
function timesBefore(cron: CompiledCron, time: number): number {
  if (time >= 86_400) return cron.perDay;
  const h = Math.floor(time / 3600);
  const m = Math.floor((time % 3600) / 60);
  const s = time % 60;
  let n = 0;
  for (const hour of cron.hours) {
    if (hour < h) n += cron.perHour;
    else if (hour === h) {
      for (const minute of cron.minutes) {
        if (minute < m) n += cron.seconds.length;
        else if (minute === m) for (const second of cron.seconds) if (second < s) n++;
      }
    }
  }
  return n;
}

/** First matching wall at or after `wall`, not beyond `limit`. */
function wallCeil(cron: CompiledCron, wall: number, limit: number): number | undefined {
  const start = Math.ceil(wall / SECOND) * SECOND;
  let day = Math.floor(start / DAY);
  let time = (start - day * DAY) / SECOND;
  const lastDay = Math.min(Math.floor(Math.min(limit, MAX_TIME) / DAY), day + CYCLE_DAYS + 31);
  while (day <= lastDay) {
    const month = monthOf(day);
    if (!cron.months[month]) {
      const d = new Date(day * DAY);
      day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / DAY;
      time = 0;
      continue;
    }
    if (dayMatches(cron, day)) {
      const found = timeAtOrAfter(cron, time);
      if (found !== undefined) {
        const result = day * DAY + found * SECOND;
        return result <= limit ? result : undefined;
      }
    }
    day++;
    time = 0;
  }
  return undefined;
}

/** Last matching wall strictly before `wall`, not before `limit`. */
function wallFloorBefore(cron: CompiledCron, wall: number, limit: number): number | undefined {
  const start = Math.ceil(wall / SECOND) * SECOND - SECOND;
  let day = Math.floor(start / DAY);
  let time = (start - day * DAY) / SECOND;
  const firstDay = Math.max(Math.floor(Math.max(limit, -MAX_TIME) / DAY), day - CYCLE_DAYS - 31);
  while (day >= firstDay) {
    const month = monthOf(day);
    if (!cron.months[month]) {
      const d = new Date(day * DAY);
      day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY - 1;
      time = 86_399;
      continue;
    }
    if (dayMatches(cron, day)) {
      const found = timeAtOrBefore(cron, time);
      if (found !== undefined) {
        const result = day * DAY + found * SECOND;
        return result >= limit ? result : undefined;
      }
    }
    day--;
    time = 86_399;
  }
  return undefined;
}

/** Matching walls in `[from, to)`, counted a day at a time; stops early past `cap`. */
function countWalls(cron: CompiledCron, from: number, to: number, cap: number): number {
  const start = Math.ceil(from / SECOND) * SECOND;
  const end = Math.ceil(to / SECOND) * SECOND;
  if (end <= start) return 0;
  let n = 0;
  const lastDay = Math.floor((end - 1) / DAY);
  for (let day = Math.floor(start / DAY); day <= lastDay && n < cap; day++) {
    if (!cron.months[monthOf(day)]) {
      const d = new Date(day * DAY);
      day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / DAY - 1;
      continue;
    }
    if (!dayMatches(cron, day)) continue;
    const base = day * DAY;
    const a = Math.max(start, base);
    const b = Math.min(end, base + DAY);
    n += timesBefore(cron, (b - base) / SECOND) - timesBefore(cron, (a - base) / SECOND);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Zones: offsets and transitions from Intl, cached per zone and UTC year

interface Transition {
  /** First instant with the new offset. */
  readonly at: number;
  /** Offsets (wall − instant, ms) before and from `at`. */
  readonly before: number;
  readonly after: number;
}

interface YearTable {
  readonly startOffset: number;
  /** Transitions with `at` in (Jan 1, next Jan 1], in order. */
  readonly transitions: readonly Transition[];
}

interface Zone {
  readonly name: string;
  readonly format: Intl.DateTimeFormat | undefined;
  readonly years: Map<number, YearTable>;
}

const UTC_ZONE: Zone = { name: 'UTC', format: undefined, years: new Map() };
const zoneCache = new Map<string, Zone>([['UTC', UTC_ZONE]]);

function zoneOf(tz: unknown, expression: unknown): Zone {
  if (tz === undefined) return UTC_ZONE;
  const cached = typeof tz === 'string' ? zoneCache.get(tz) : undefined;
  if (cached) return cached;
  let format: Intl.DateTimeFormat;
  try {
    if (typeof tz !== 'string' || tz === '') throw new RangeError('not a non-empty string');
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch (error) {
    throw new ValidationError(
      `Expected \`tz\` to be an IANA time zone name such as 'Europe/London', got ${show(tz)} (cron expression ${show(expression)})`,
      { cause: error },
    );
  }
  const name = format.resolvedOptions().timeZone;
  const zone = name === 'UTC' ? UTC_ZONE : (zoneCache.get(name) ?? { name, format, years: new Map() });
  if (zoneCache.size >= 512) zoneCache.clear();
  zoneCache.set(name, zone);
  zoneCache.set(tz, zone);
  return zone;
}

/** Offset (wall − instant) at `t`, straight from Intl. */
function intlOffset(format: Intl.DateTimeFormat, t: number): number {
  let year = 1970;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  for (const part of format.formatToParts(t)) {
    switch (part.type) {
      case 'year':
        year = Number(part.value);
        break;
      case 'month':
        month = Number(part.value);
        break;
      case 'day':
        day = Number(part.value);
        break;
      case 'hour':
        hour = Number(part.value);
        break;
      case 'minute':
        minute = Number(part.value);
        break;
      case 'second':
        second = Number(part.value);
        break;
    }
  }
  const wall = new Date(0);
  wall.setUTCFullYear(year, month - 1, day);
  wall.setUTCHours(hour, minute, second, 0);
  return wall.getTime() - Math.floor(t / SECOND) * SECOND;
}

function yearTable(zone: Zone, year: number): YearTable {
  const cached = zone.years.get(year);
  if (cached) return cached;
  const format = zone.format;
  let table: YearTable;
  if (!format) {
    table = { startOffset: 0, transitions: [] };
  } else {
    const start = Date.UTC(year, 0, 1);
    const end = Date.UTC(year + 1, 0, 1);
    const transitions: Transition[] = [];
    const startOffset = intlOffset(format, start);
    let prevT = start;
    let prevOffset = startOffset;
    while (prevT < end) {
      const t = Math.min(prevT + SAMPLE_STEP, end);
      const offset = intlOffset(format, t);
      if (offset !== prevOffset) {
        let lo = prevT;
        let hi = t;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (intlOffset(format, mid) === prevOffset) lo = mid;
          else hi = mid;
        }
        transitions.push({ at: hi, before: prevOffset, after: offset });
      }
      prevT = t;
      prevOffset = offset;
    }
    table = { startOffset, transitions };
  }
  zone.years.set(year, table);
  return table;
}

function offsetAt(zone: Zone, t: number): number {
  if (!zone.format) return 0;
  const table = yearTable(zone, new Date(t).getUTCFullYear());
  let offset = table.startOffset;
  for (const tr of table.transitions) {
    if (tr.at > t) break;
    offset = tr.after;
  }
  return offset;
}

/** Transitions with `at` in `[from, to]`, in order. */
function transitionsBetween(zone: Zone, from: number, to: number): Transition[] {
  if (!zone.format) return [];
  const out: Transition[] = [];
  const last = new Date(Math.min(to, MAX_TIME)).getUTCFullYear();
  for (let year = new Date(Math.max(from, -MAX_TIME)).getUTCFullYear() - 1; year <= last; year++) {
    for (const tr of yearTable(zone, year).transitions) if (tr.at >= from && tr.at <= to) out.push(tr);
  }
  return out;
}

/**
 * The slot instant of a wall: its only instant, the earlier of two (fall back), or the end of
 * the gap it falls in (spring forward). Non-decreasing in `wall`.
 */
function instantOfWall(zone: Zone, wall: number): number {
  if (!zone.format) return wall;
  const near = transitionsBetween(zone, wall - 2 * DAY, wall + 2 * DAY);
  if (near.length === 0) return wall - offsetAt(zone, wall);
  let best: number | undefined;
  for (const offset of new Set([offsetAt(zone, wall - 2 * DAY), ...near.map((tr) => tr.after)])) {
    const t = wall - offset;
    if (offsetAt(zone, t) === offset && (best === undefined || t < best)) best = t;
  }
  if (best !== undefined) return best;
  for (const tr of near) {
    if (tr.after > tr.before && wall >= tr.at + tr.before && wall < tr.at + tr.after) return tr.at;
  }
  return wall - offsetAt(zone, wall);
}

/**
 * The smallest wall whose slot instant is `>= t`: walls below it map before `t`. Usually the
 * wall reading at `t`; the end of the repeated hour when `t` is in its second pass; the start
 * of the gap when `t` is the instant right after a spring-forward gap.
 */
function wallKey(zone: Zone, t: number): number {
  if (!zone.format) return t;
  for (const tr of transitionsBetween(zone, t - 2 * DAY, t)) {
    if (tr.before > tr.after && t >= tr.at && t < tr.at + (tr.before - tr.after)) return tr.at + tr.before;
    if (tr.before < tr.after && t === tr.at) return t + tr.before;
  }
  return t + offsetAt(zone, t);
}
