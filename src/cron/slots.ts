/**
 * Slots: the instants a recurring job fires at. `every` is arithmetic; a cron expression is
 * searched in wall time (`walls.ts`) and mapped to instants with its zone's offsets
 * (`zone.ts`) by one of two DST rules, chosen by the expression's class (`expression.ts`).
 * Pure and clock-free: every function takes the times it needs, in epoch ms.
 *
 * DST rules, cronie's (croner 11 follows them too):
 * - An *interval* expression (minute or hour field starts with `*`, e.g. `*\/5 * * * *`,
 *   `0 * * * *`, `@hourly`; or a 6-field expression whose seconds field is not a single number)
 *   follows elapsed time: its slots are the instants whose local reading matches. It runs
 *   through a repeated hour (both passes, as distinct instants) and skips wall times inside a
 *   gap: `*\/5` in New York on 2026-11-01 fires every 5 minutes without a break, `30 *` on
 *   2026-03-08 fires at 01:30 EST and then 03:30 EDT.
 * - A *fixed-time* expression (`30 2 * * *`, `@daily`, `0 30 1 * * *`) names a time of day: a
 *   wall time that occurs twice runs once, at its first occurrence; a wall time inside a gap
 *   runs once, at the first instant after the gap, merged with every other gap wall time and
 *   with a slot at exactly that instant. Each matching wall time maps to one instant by a
 *   non-decreasing function, so "the next slot after t" is the same however it is asked.
 */

import { compileCron, type CompiledCron } from './expression.js';
import { MAX_TIME } from '../validate.js';
import { DAY, countWalls, wallCeil, wallFloor } from './walls.js';
import { MAX_OFFSET, offsetAt, periodAt, transitionsIn, zoneOf, type Zone } from './zone.js';

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

/** The first slot at or after `from` (`nextSlot(spec, from - 1)`), or `undefined`. */
export function firstSlot(spec: RecurrenceSpec, from: number): number | undefined {
  return nextSlot(spec, from - 1);
}

/**
 * The first slot strictly after `after`, within `[startAt, endAt]`; `undefined` when there is
 * none. Called with the previous slot (never with "now") so runs do not drift.
 */
export function nextSlot(spec: RecurrenceSpec, after: number): number | undefined {
  const lo = spec.startAt !== undefined && spec.startAt - 1 > after ? spec.startAt - 1 : after;
  const limit = spec.endAt ?? MAX_TIME;
  let t: number | undefined;
  if (spec.every !== undefined) {
    t = everyAfter(anchorOf(spec), spec.every, lo);
  } else {
    const cron = compileCron(spec.cron);
    const zone = zoneOf(spec.tz, spec.cron);
    if (!zone.format) t = wallCeil(cron, lo + 1, limit);
    else t = cron.interval ? nextElapsed(cron, zone, lo, limit) : instantOfWall(zone, wallCeil(cron, wallKey(zone, lo + 1), limit + MAX_OFFSET));
  }
  return t !== undefined && t <= limit ? t : undefined;
}

/** The last slot strictly before `before`, within `[startAt, endAt]`; `undefined` when there is none. */
export function prevSlot(spec: RecurrenceSpec, before: number): number | undefined {
  const hi = spec.endAt !== undefined && spec.endAt + 1 < before ? spec.endAt + 1 : before;
  const low = spec.startAt ?? -MAX_TIME;
  let t: number | undefined;
  if (spec.every !== undefined) {
    t = everyAfter(anchorOf(spec), spec.every, hi - 1, 1);
  } else {
    const cron = compileCron(spec.cron);
    const zone = zoneOf(spec.tz, spec.cron);
    if (!zone.format) t = wallFloor(cron, hi - 1, low);
    else t = cron.interval ? prevElapsed(cron, zone, hi, low) : instantOfWall(zone, wallFloor(cron, wallKey(zone, hi) - 1, low - MAX_OFFSET));
  }
  return t !== undefined && t >= low ? t : undefined;
}

/**
 * How many slots lie in `(fromExclusive, toInclusive]`, or `cap` if there are more. Exact and
 * cheap for long ranges: `every` is arithmetic, cron costs one step per month and per DST change.
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
  if (!zone.format) return Math.min(cap, countWalls(cron, lo + 1, hi + 1));
  return Math.min(cap, cron.interval ? countElapsed(cron, zone, lo, hi, cap) : countFixed(cron, zone, lo, hi));
}

function anchorOf(spec: RecurrenceSpec): number {
  return spec.anchor ?? spec.startAt ?? 0;
}

/** The first `anchor + k × every` strictly after `after`, less `back` steps of `every`. */
function everyAfter(anchor: number, every: number, after: number, back: 0 | 1 = 0): number {
  const distance = after - anchor;
  if (!(Math.abs(anchor) + Math.abs(distance) + 2 * every <= Number.MAX_SAFE_INTEGER)) {
    // Near the ends of the time range the distance or the slots past it have no exact double.
    const d = BigInt(after) - BigInt(anchor);
    const k = (d >= 0n ? d / BigInt(every) + 1n : -((-d - 1n) / BigInt(every))) - BigInt(back);
    return Number(BigInt(anchor) + k * BigInt(every));
  }
  const guess = anchor + Math.floor(distance / every + 1) * every;
  // Float division can land one step off for huge values; settle on the exact slot.
  const first = guess <= after ? guess + every : guess - every > after ? guess - every : guess;
  return first - back * every;
}

// ---------------------------------------------------------------------------------------------
// Interval expressions: slots are the instants whose wall reading matches.

/**
 * First slot after `after`, up to `limit`: searched one constant-offset period at a time. When
 * a period holds none, the next matching wall at all tells how far to jump: no instant earlier
 * than that wall minus the largest offset can read it.
 */
function nextElapsed(cron: CompiledCron, zone: Zone, after: number, limit: number): number | undefined {
  let t = after + 1;
  while (t <= limit) {
    const p = periodAt(zone, t);
    const w = wallCeil(cron, t + p.offset, Math.min(p.end - 1, limit) + p.offset);
    if (w !== undefined) return w - p.offset;
    if (p.end > limit) return undefined;
    const ahead = wallCeil(cron, p.end - MAX_OFFSET, limit + MAX_OFFSET);
    if (ahead === undefined) return undefined;
    t = Math.max(p.end, ahead - MAX_OFFSET);
  }
  return undefined;
}

/** Last slot before `before`, at least `low`: `nextElapsed` run backwards. */
function prevElapsed(cron: CompiledCron, zone: Zone, before: number, low: number): number | undefined {
  let t = before - 1;
  while (t >= low) {
    const p = periodAt(zone, t);
    const w = wallFloor(cron, t + p.offset, Math.max(p.start, low) + p.offset);
    if (w !== undefined) return w - p.offset;
    if (p.start <= low) return undefined;
    const behind = wallFloor(cron, p.start - 1 + MAX_OFFSET, low - MAX_OFFSET);
    if (behind === undefined) return undefined;
    t = Math.min(p.start - 1, behind + MAX_OFFSET);
  }
  return undefined;
}

function countElapsed(cron: CompiledCron, zone: Zone, lo: number, hi: number, cap: number): number {
  let n = 0;
  for (let t = lo + 1; t <= hi && n < cap; ) {
    const p = periodAt(zone, t);
    n += countWalls(cron, t + p.offset, Math.min(p.end, hi + 1) + p.offset);
    t = p.end;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Fixed-time expressions: each matching wall maps to one instant (`instantOfWall`).

/** Slots in `(lo, hi]`: walls between the two keys, less the walls merged at the end of a gap. */
function countFixed(cron: CompiledCron, zone: Zone, lo: number, hi: number): number {
  let merged = 0;
  for (const tr of transitionsIn(zone, lo + 1, hi)) {
    if (tr.after > tr.before) {
      const n = countWalls(cron, tr.at + tr.before, tr.at + tr.after + 1);
      if (n > 1) merged += n - 1;
    }
  }
  return countWalls(cron, wallKey(zone, lo + 1), wallKey(zone, hi + 1)) - merged;
}

/**
 * The slot instant of a wall: its only instant, the earlier of two (fall back), or the end of
 * the gap it falls in (spring forward). Non-decreasing in `wall`.
 */
function instantOfWall(zone: Zone, wall: number | undefined): number | undefined {
  if (wall === undefined) return undefined;
  const near = transitionsIn(zone, wall - 2 * DAY, wall + 2 * DAY);
  if (near.length === 0) return wall - offsetAt(zone, wall);
  let best: number | undefined;
  for (const offset of [offsetAt(zone, wall - 2 * DAY), ...near.map((tr) => tr.after)]) {
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
  for (const tr of transitionsIn(zone, t - 2 * DAY, t)) {
    if (tr.before > tr.after && t >= tr.at && t < tr.at + (tr.before - tr.after)) return tr.at + tr.before;
    if (tr.before < tr.after && t === tr.at) return t + tr.before;
  }
  return t + offsetAt(zone, t);
}
