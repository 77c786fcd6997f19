/**
 * Cron expressions: parse and validate them (cron-parser does the parsing), and compile the
 * result into lookup tables the wall-time search in `walls.ts` reads in O(1) per day or month.
 *
 * WHY our own tables rather than cron-parser's `includesDate`: the search asks "which days of
 * this month match?" thousands of times (a fifth Monday in February is 19 years away; a misfire
 * count spans years). A 31-bit day mask per month, built from masks made once per expression,
 * answers in a few integer operations instead of a Date and a field walk per day.
 *
 * Also decided here: whether an expression is an *interval* or a *fixed-time* one, which picks
 * its DST rule (cronie's, also croner 11's; see `slots.ts`).
 */

import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { ValidationError } from '../errors.js';
import { quote } from './format.js';

/** A parsed expression, ready for the wall-time search. Immutable and cached per expression string. */
export interface CompiledCron {
  readonly expression: string;
  /**
   * cronie's class: minute or hour field starts with `*`, or a 6-field expression whose seconds
   * field is not a single number. Interval expressions follow elapsed time across DST changes.
   */
  readonly interval: boolean;
  /** Bit m-1 set when month m matches. */
  readonly months: number;
  /** Bit d-1 set when day-of-month d is listed. */
  readonly domDays: number;
  /** `L` in day-of-month: the last day of each month. */
  readonly domLast: boolean;
  /** Day-of-month is not `*` / `?`. */
  readonly domRestricted: boolean;
  /** Day-of-week is not `*` / `?`. */
  readonly dowRestricted: boolean;
  /** Index: weekday of the month's 1st (0 = Sunday). Days whose weekday is listed (within the `#` week). */
  readonly dowPattern: Int32Array;
  /** Index as `dowPattern`: days whose weekday is listed with `L` (only the last week is kept, per month). */
  readonly dowLastPattern: Int32Array;
  readonly seconds: TimeField;
  readonly minutes: TimeField;
  readonly hours: TimeField;
  /** Seconds of the day of the first and last matching times. */
  readonly firstTime: number;
  readonly lastTime: number;
  /** Matching times per hour (minutes × seconds) and per day. */
  readonly perHour: number;
  readonly perDay: number;
}

/** One time-of-day field as lookup tables over 0..size (index `size` is a sentinel). */
export interface TimeField {
  /** Smallest allowed value >= v, or -1. */
  readonly next: Int8Array;
  /** Largest allowed value <= v, or -1. */
  readonly prev: Int8Array;
  /** Allowed values < v. */
  readonly before: Uint8Array;
  readonly first: number;
  readonly last: number;
  readonly count: number;
}

/** The `@name` shortcuts and the 6-field expressions they stand for. */
const CRON_NAMES: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

const WEEKDAY_OR_MONTH = /^(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|sun|mon|tue|wed|thu|fri|sat)$/i;
const cache = new Map<string, CompiledCron>();

/**
 * Parses, validates and compiles `expression` (cached). Throws `ValidationError`, quoting the
 * expression, for anything that is not 5 or 6 fields or a known `@name`, for hashed (`H`)
 * fields, for cron-parser's own complaints, and for day-of-month values that never occur in
 * the listed months (`0 0 30 2 *`).
 */
export function compileCron(expression: unknown): CompiledCron {
  if (typeof expression !== 'string') throw new ValidationError(`Expected \`cron\` to be a cron expression string, got ${quote(expression)}`);
  const cached = cache.get(expression);
  if (cached) return cached;
  const source = sixFields(expression);
  let parsed: CronExpression;
  try {
    parsed = CronExpressionParser.parse(source, { tz: 'UTC', currentDate: 0 });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (/explicit day of month/i.test(reason)) {
      throw new ValidationError(
        `Expected cron expression ${quote(expression)} to fire at least once, got days of month that never occur in its months (${reason})`,
        { cause: error },
      );
    }
    throw new ValidationError(`Expected \`cron\` to be ${EXPECTED}, got ${quote(expression)}: ${reason}`, { cause: error });
  }
  const compiled = build(expression, source, parsed);
  if (cache.size >= 512) cache.clear();
  cache.set(expression, compiled);
  return compiled;
}

const EXPECTED = `a 5- or 6-field cron expression or one of ${Object.keys(CRON_NAMES).join(', ')}`;

/** The expression as 6 fields (seconds first), after the shape checks cron-parser does not make. */
function sixFields(expression: string): string {
  const text = expression.trim();
  if (text.startsWith('@')) {
    const named = CRON_NAMES[text.toLowerCase()];
    if (named === undefined) throw new ValidationError(`Expected \`cron\` to be ${EXPECTED}, got ${quote(expression)}`);
    return named;
  }
  const fields = text === '' ? [] : text.split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new ValidationError(`Expected \`cron\` to be ${EXPECTED}, got ${quote(expression)} (${fields.length} fields)`);
  }
  if (/h/i.test(text.replace(/[a-z]{3}/gi, (word) => (WEEKDAY_OR_MONTH.test(word) ? '' : word)))) {
    throw new ValidationError(`Expected \`cron\` without hashed (H) fields, got ${quote(expression)}: a hashed schedule would change between restarts`);
  }
  return fields.length === 5 ? `0 ${fields.join(' ')}` : fields.join(' ');
}

function build(expression: string, source: string, parsed: CronExpression): CompiledCron {
  const [secondText = '', minuteText = '', hourText = ''] = source.split(' ');
  const { second, minute, hour, month, dayOfMonth, dayOfWeek } = parsed.fields;
  const seconds = timeField(second.values, 60);
  const minutes = timeField(minute.values, 60);
  const hours = timeField(hour.values, 24);
  let months = 0;
  for (const m of month.values) months |= 1 << (Number(m) - 1);
  let domDays = 0;
  let domLast = false;
  for (const d of dayOfMonth.values) {
    if (d === 'L') domLast = true;
    else domDays |= 1 << (Number(d) - 1);
  }
  // cron-parser's rules: a listed weekday matches (within the `#` week if any); `nL` matches
  // weekday n in the month's last 7 days.
  let weekdays = 0;
  let lastWeekdays = 0;
  for (const d of dayOfWeek.values) {
    if (typeof d === 'string' && d.endsWith('L')) lastWeekdays |= 1 << (Number.parseInt(d, 10) % 7);
    else weekdays |= 1 << (Number(d) % 7);
  }
  const nth = dayOfWeek.nthDay;
  const nthWindow = nth > 0 ? (0x7f << (7 * (nth - 1))) & ALL_DAYS : ALL_DAYS;
  const dowPattern = new Int32Array(7);
  const dowLastPattern = new Int32Array(7);
  for (let w0 = 0; w0 < 7; w0++) {
    let listed = 0;
    let last = 0;
    for (let d = 1; d <= 31; d++) {
      const weekday = 1 << ((w0 + d - 1) % 7);
      if (weekdays & weekday) listed |= 1 << (d - 1);
      if (lastWeekdays & weekday) last |= 1 << (d - 1);
    }
    dowPattern[w0] = listed & nthWindow;
    dowLastPattern[w0] = last;
  }
  return {
    expression,
    interval: !/^\d+$/.test(secondText) || minuteText.startsWith('*') || hourText.startsWith('*'),
    months,
    domDays,
    domLast,
    domRestricted: !dayOfMonth.isWildcard,
    dowRestricted: !dayOfWeek.isWildcard,
    dowPattern,
    dowLastPattern,
    seconds,
    minutes,
    hours,
    firstTime: hours.first * 3600 + minutes.first * 60 + seconds.first,
    lastTime: hours.last * 3600 + minutes.last * 60 + seconds.last,
    perHour: minutes.count * seconds.count,
    perDay: hours.count * minutes.count * seconds.count,
  };
}

/** Bits 0..30: days 1..31. */
export const ALL_DAYS = 0x7fffffff;

function timeField(values: readonly unknown[], size: number): TimeField {
  const allowed = new Uint8Array(size);
  for (const v of values) allowed[Number(v)] = 1;
  const next = new Int8Array(size + 1).fill(-1);
  const prev = new Int8Array(size + 1).fill(-1);
  const before = new Uint8Array(size + 1);
  for (let v = size - 1; v >= 0; v--) next[v] = allowed[v] ? v : (next[v + 1] as number);
  let count = 0;
  for (let v = 0; v <= size; v++) {
    before[v] = count;
    if (v < size) {
      prev[v] = allowed[v] ? v : v > 0 ? (prev[v - 1] as number) : -1;
      count += allowed[v] as number;
    }
  }
  prev[size] = prev[size - 1] as number;
  return { next, prev, before, first: next[0] as number, last: prev[size - 1] as number, count };
}
