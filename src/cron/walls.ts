/**
 * The search over *wall times*: a local date and time written as if it were UTC epoch ms
 * (2026-11-01 01:30 local is `Date.UTC(2026, 10, 1, 1, 30)`). Wall time has no DST, so the
 * questions here are pure calendar: the first matching wall at or after w, the last at or
 * before w, how many lie in a range. `slots.ts` maps walls to instants with a zone's offsets.
 *
 * HOW: a month at a time. A month's matching days are one 31-bit mask (`dayMask`), the time of
 * day comes from the field tables of `CompiledCron`, so finding the next match costs one step
 * per month (a fifth Monday in February, 19 years away, is ~230 steps) and counting a range
 * costs one popcount per month. Civil dates are computed with integer arithmetic
 * (H. Hinnant's days-from-civil), without Date objects.
 */

import { MAX_TIME } from '../validate.js';
import { ALL_DAYS, type CompiledCron } from './expression.js';

export const SECOND = 1000;
export const DAY = 86_400_000;
/** The Gregorian calendar repeats every 400 years: an expression with no match in 401 years never matches. */
const CYCLE_YEARS = 401;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

/** Year of a day count (the inverse of `daysFromCivil`, year part). */
function civilYear(days: number): number {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  return yoe + era * 400 + (mp >= 10 ? 1 : 0);
}

/** Calendar position of a day count: year, month (1..12), day of month, and the month's first day count. */
interface MonthPos {
  year: number;
  month: number;
  day: number;
  monthStart: number;
}

function position(days: number): MonthPos {
  const year = civilYear(days);
  let month = Math.min(12, Math.floor((days - daysFromCivil(year, 1, 1)) / 29) + 1);
  let monthStart = daysFromCivil(year, month, 1);
  while (monthStart > days) monthStart = daysFromCivil(year, --month, 1);
  return { year, month, day: days - monthStart + 1, monthStart };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Bit d-1 set when day d of the month matches the expression's day fields (cron-parser's rules). */
function dayMask(cron: CompiledCron, year: number, month: number, monthStart: number): number {
  if ((cron.months & (1 << (month - 1))) === 0) return 0;
  const n = daysInMonth(year, month);
  const full = n === 31 ? ALL_DAYS : (1 << n) - 1;
  const dom = cron.domLast ? cron.domDays | (1 << (n - 1)) : cron.domDays;
  if (!cron.dowRestricted) return dom & full;
  const w0 = (((monthStart + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  const lastWeek = full & ~((1 << (n - 7)) - 1);
  const dow = (cron.dowPattern[w0] as number) | ((cron.dowLastPattern[w0] as number) & lastWeek);
  return (cron.domRestricted ? dom | dow : dow) & full;
}

function lowestBit(mask: number): number {
  return 31 - Math.clz32(mask & -mask);
}

function highestBit(mask: number): number {
  return 31 - Math.clz32(mask);
}

function popcount(mask: number): number {
  let x = mask - ((mask >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** First matching time of day (seconds) at or after `time`, or -1. */
function timeAtOrAfter(cron: CompiledCron, time: number): number {
  const h = Math.floor(time / 3600);
  const m = Math.floor(time / 60) % 60;
  const s = time % 60;
  let hour = cron.hours.next[h] as number;
  if (hour === h) {
    let minute = cron.minutes.next[m] as number;
    if (minute === m) {
      const second = cron.seconds.next[s] as number;
      if (second >= 0) return h * 3600 + m * 60 + second;
      minute = cron.minutes.next[m + 1] as number;
    }
    if (minute >= 0) return h * 3600 + minute * 60 + cron.seconds.first;
    hour = cron.hours.next[h + 1] as number;
  }
  return hour < 0 ? -1 : hour * 3600 + cron.minutes.first * 60 + cron.seconds.first;
}

/** Last matching time of day (seconds) at or before `time`, or -1. */
function timeAtOrBefore(cron: CompiledCron, time: number): number {
  const h = Math.floor(time / 3600);
  const m = Math.floor(time / 60) % 60;
  const s = time % 60;
  let hour = cron.hours.prev[h] as number;
  if (hour === h) {
    let minute = cron.minutes.prev[m] as number;
    if (minute === m) {
      const second = cron.seconds.prev[s] as number;
      if (second >= 0) return h * 3600 + m * 60 + second;
      minute = m > 0 ? (cron.minutes.prev[m - 1] as number) : -1;
    }
    if (minute >= 0) return h * 3600 + minute * 60 + cron.seconds.last;
    hour = h > 0 ? (cron.hours.prev[h - 1] as number) : -1;
  }
  return hour < 0 ? -1 : hour * 3600 + cron.minutes.last * 60 + cron.seconds.last;
}

/** Matching times of day strictly before `time` (seconds, 0..86400). */
function timesBefore(cron: CompiledCron, time: number): number {
  if (time >= 86_400) return cron.perDay;
  const h = Math.floor(time / 3600);
  const m = Math.floor(time / 60) % 60;
  let n = (cron.hours.before[h] as number) * cron.perHour;
  if (cron.hours.next[h] === h) {
    n += (cron.minutes.before[m] as number) * cron.seconds.count;
    if (cron.minutes.next[m] === m) n += cron.seconds.before[time % 60] as number;
  }
  return n;
}

/** The first matching wall at or after `wall` and at most `limit`, or undefined. */
export function wallCeil(cron: CompiledCron, wall: number, limit: number): number | undefined {
  const start = Math.ceil(wall / SECOND) * SECOND;
  if (!(start <= limit) || start > MAX_TIME) return undefined;
  const startDay = Math.floor(start / DAY);
  let time = (start - startDay * DAY) / SECOND;
  let { year, month, day, monthStart } = position(startDay);
  const lastDay = Math.floor(Math.min(limit, MAX_TIME) / DAY);
  const lastYear = year + CYCLE_YEARS;
  for (;;) {
    let mask = dayMask(cron, year, month, monthStart) & ~((1 << (day - 1)) - 1);
    while (mask !== 0) {
      const d = lowestBit(mask) + 1;
      const found = d === day ? timeAtOrAfter(cron, time) : cron.firstTime;
      if (found >= 0) {
        const result = (monthStart + d - 1) * DAY + found * SECOND;
        return result <= limit ? result : undefined;
      }
      mask &= mask - 1;
    }
    if (++month > 12) {
      month = 1;
      if (++year > lastYear) return undefined;
    }
    monthStart = daysFromCivil(year, month, 1);
    if (monthStart > lastDay) return undefined;
    day = 1;
    time = 0;
  }
}

/** The last matching wall at or before `wall` and at least `limit`, or undefined. */
export function wallFloor(cron: CompiledCron, wall: number, limit: number): number | undefined {
  const start = Math.floor(wall / SECOND) * SECOND;
  if (!(start >= limit) || start < -MAX_TIME) return undefined;
  const startDay = Math.floor(start / DAY);
  let time = (start - startDay * DAY) / SECOND;
  let { year, month, day, monthStart } = position(startDay);
  const firstDay = Math.floor(Math.max(limit, -MAX_TIME) / DAY);
  const firstYear = year - CYCLE_YEARS;
  for (;;) {
    let mask = dayMask(cron, year, month, monthStart) & (day >= 31 ? ALL_DAYS : (1 << day) - 1);
    while (mask !== 0) {
      const d = highestBit(mask) + 1;
      const found = d === day ? timeAtOrBefore(cron, time) : cron.lastTime;
      if (found >= 0) {
        const result = (monthStart + d - 1) * DAY + found * SECOND;
        return result >= limit ? result : undefined;
      }
      mask &= ~(1 << (d - 1));
    }
    if (--month < 1) {
      month = 12;
      if (--year < firstYear) return undefined;
    }
    monthStart = daysFromCivil(year, month, 1);
    day = daysInMonth(year, month);
    if (monthStart + day - 1 < firstDay) return undefined;
    time = 86_399;
  }
}

/** Matching walls in `[from, to)`: one step per month. */
export function countWalls(cron: CompiledCron, from: number, to: number): number {
  const start = Math.ceil(Math.max(from, -MAX_TIME) / SECOND) * SECOND;
  const end = Math.ceil(Math.min(to, MAX_TIME + SECOND) / SECOND) * SECOND;
  if (!(end > start)) return 0;
  const startDay = Math.floor(start / DAY);
  const endDay = Math.floor((end - 1) / DAY); // inclusive
  const startTime = (start - startDay * DAY) / SECOND;
  const endTime = (end - endDay * DAY) / SECOND; // 1..86400
  let { year, month, day, monthStart } = position(startDay);
  let n = 0;
  for (;;) {
    const length = daysInMonth(year, month);
    const monthEnd = monthStart + length - 1;
    let mask = dayMask(cron, year, month, monthStart) & ~((1 << (day - 1)) - 1);
    if (endDay < monthEnd) mask &= (1 << (endDay - monthStart + 1)) - 1;
    if (mask !== 0) {
      let days = popcount(mask);
      const firstBit = 1 << (startDay - monthStart);
      const lastBit = 1 << (endDay - monthStart);
      if (startDay >= monthStart && mask & firstBit) {
        days--;
        const until = startDay === endDay ? timesBefore(cron, endTime) : cron.perDay;
        n += until - timesBefore(cron, startTime);
      }
      if (endDay <= monthEnd && endDay !== startDay && mask & lastBit) {
        days--;
        n += timesBefore(cron, endTime);
      }
      n += days * cron.perDay;
    }
    if (endDay <= monthEnd) return n;
    if (++month > 12) {
      month = 1;
      year++;
    }
    monthStart = monthEnd + 1;
    day = 1;
  }
}
