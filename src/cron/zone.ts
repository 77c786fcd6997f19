/**
 * Time zones: the UTC offset in force at any instant and the instants where it changes, read
 * from `Intl` and cached per zone and UTC year. Everything else in the cron code sees a zone
 * only through `periodAt` (the constant-offset stretch around an instant) and `transitionsIn`.
 *
 * HOW: a year's table samples the offset every `SAMPLE_STEP` and bisects each change to the
 * second (tzdb transitions fall on whole seconds). One sample costs ~1 µs (`longOffset`
 * formatting gives the offset directly, seconds included), so a year (~110 samples) costs
 * ~0.15 ms, and only the years a question touches are built.
 *
 * WHY that step is safe: a change is missed only when the offset changes and changes back
 * within one step. The shortest stretch between two transitions in the tz database is 7 days
 * (Brazil's one-week DST of October 2000 in Recife; Gaza's predicted Ramadan breaks), found by
 * sampling every zone Node 20 knows (418, tz 2025c) every 4 h from 1900 to 2100; a 5-day step
 * always lands inside such a stretch. test/cron-zone.test.ts checks the one-week cases.
 */

import { ValidationError } from '../errors.js';
import { quote } from './format.js';
import { MAX_TIME } from '../validate.js';
import { DAY, SECOND, daysFromCivil } from './walls.js';

/** Sampling step of a year table (see the file header for why it is safe). */
const SAMPLE_STEP = 5 * DAY;
/** Larger than any UTC offset a zone has ever had (the largest, a local mean time, is under 16 h). */
export const MAX_OFFSET = DAY;

/** A change of offset. */
export interface Transition {
  /** First instant with the new offset. */
  readonly at: number;
  /** Offsets (wall − instant, ms) before and from `at`. */
  readonly before: number;
  readonly after: number;
}

interface YearTable {
  readonly start: number;
  readonly end: number;
  readonly startOffset: number;
  /** Transitions with `at` in (start, end], in order. */
  readonly transitions: readonly Transition[];
}

/** A zone: its canonical name and its offset source (none for UTC). */
export interface Zone {
  readonly name: string;
  readonly format: Intl.DateTimeFormat | undefined;
  readonly years: Map<number, YearTable>;
}

/** A stretch of constant offset: `[start, end)`. Its ends may be year boundaries where nothing changes. */
export interface Period {
  start: number;
  end: number;
  offset: number;
}

const UTC_ZONE: Zone = { name: 'UTC', format: undefined, years: new Map() };
const zones = new Map<string, Zone>([['UTC', UTC_ZONE]]);

/**
 * The zone named `tz` (an IANA name, any case, or an alias Intl knows), `UTC` when undefined.
 * Throws `ValidationError` naming `tz` and `expression` for an unknown zone.
 */
export function zoneOf(tz: unknown, expression: unknown): Zone {
  if (tz === undefined) return UTC_ZONE;
  const cached = typeof tz === 'string' ? zones.get(tz) : undefined;
  if (cached) return cached;
  let format: Intl.DateTimeFormat;
  try {
    if (typeof tz !== 'string' || tz === '') throw new RangeError('not a non-empty string');
    // The year alone beside the offset: the cheapest output that still carries it (~1.2 µs a call).
    format = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset', year: 'numeric' });
  } catch (error) {
    throw new ValidationError(
      `Expected \`tz\` to be an IANA time zone name such as 'Europe/London', got ${quote(tz)} (cron expression ${quote(expression)})`,
      { cause: error },
    );
  }
  const name = format.resolvedOptions().timeZone;
  const zone = name === 'UTC' ? UTC_ZONE : (zones.get(name) ?? { name, format, years: new Map() });
  if (zones.size >= 512) zones.clear();
  zones.set(name, zone);
  zones.set(tz, zone);
  return zone;
}

/** Offset (wall − instant, ms) at `t`, straight from Intl: parses the `GMT±hh:mm[:ss]` it prints. */
function intlOffset(format: Intl.DateTimeFormat, t: number): number {
  const text = format.format(Math.min(Math.max(t, -MAX_TIME), MAX_TIME));
  const i = text.lastIndexOf('GMT') + 3;
  if (i >= text.length) return 0;
  const sign = text.charCodeAt(i) === 45 /* - */ || text.charCodeAt(i) === 0x2212 /* − */ ? -1 : 1;
  let seconds = 0;
  let unit = 3600;
  let value = 0;
  for (let k = i + 1; k <= text.length; k++) {
    const c = k < text.length ? text.charCodeAt(k) - 48 : -1;
    if (c >= 0 && c <= 9) {
      value = value * 10 + c;
    } else {
      seconds += value * unit;
      value = 0;
      unit /= 60;
      if (k >= text.length || text.charCodeAt(k) !== 58 /* : */) break;
    }
  }
  return sign * seconds * SECOND;
}

/** UTC year of an instant. */
function yearOf(t: number): number {
  return new Date(t).getUTCFullYear();
}

function yearTable(zone: Zone, year: number): YearTable {
  const cached = zone.years.get(year);
  if (cached) return cached;
  const start = daysFromCivil(year, 1, 1) * DAY;
  const end = daysFromCivil(year + 1, 1, 1) * DAY;
  const format = zone.format;
  let table: YearTable;
  if (!format) {
    table = { start, end, startOffset: 0, transitions: [] };
  } else {
    const transitions: Transition[] = [];
    const startOffset = intlOffset(format, start);
    let from = start;
    let offset = startOffset;
    while (from < end) {
      const to = Math.min(from + SAMPLE_STEP, end);
      const sampled = intlOffset(format, to);
      if (sampled === offset) {
        from = to;
        continue;
      }
      // Bisect (in whole seconds) for the first instant whose offset differs; a second change
      // in the same step is found by the next turn of the loop, which starts from there.
      let lo = Math.floor(from / SECOND);
      let hi = Math.ceil(to / SECOND);
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (intlOffset(format, mid * SECOND) === offset) lo = mid;
        else hi = mid;
      }
      const at = hi * SECOND;
      const after = intlOffset(format, at);
      transitions.push({ at, before: offset, after });
      from = at;
      offset = after;
    }
    table = { start, end, startOffset, transitions };
  }
  if (zone.years.size >= 1024) zone.years.clear();
  zone.years.set(year, table);
  return table;
}

/** The constant-offset stretch that contains `t`, cut at UTC year boundaries. */
export function periodAt(zone: Zone, t: number): Period {
  if (!zone.format) return { start: -Infinity, end: Infinity, offset: 0 };
  const table = yearTable(zone, yearOf(t));
  const period: Period = { start: table.start, end: table.end, offset: table.startOffset };
  for (const tr of table.transitions) {
    if (tr.at > t) {
      period.end = tr.at;
      break;
    }
    period.start = tr.at;
    period.offset = tr.after;
  }
  return period;
}

/** Offset (wall − instant, ms) in force at `t`. */
export function offsetAt(zone: Zone, t: number): number {
  return zone.format ? periodAt(zone, t).offset : 0;
}

/** Transitions with `at` in `[from, to]`, in order. */
export function transitionsIn(zone: Zone, from: number, to: number): Transition[] {
  if (!zone.format || !(to >= from)) return [];
  const out: Transition[] = [];
  const last = yearOf(Math.min(to, MAX_TIME));
  for (let year = yearOf(Math.max(from, -MAX_TIME)) - 1; year <= last; year++) {
    for (const tr of yearTable(zone, year).transitions) if (tr.at >= from && tr.at <= to) out.push(tr);
  }
  return out;
}
