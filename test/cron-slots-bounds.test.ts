// nextSlot, prevSlot, firstSlot and countSlots (src/cron/slots.ts) against a
// brute-force oracle: every slot of a small window enumerated one by one, then
// filtered by startAt and endAt. Random bounds, anchors, instants and ranges,
// for `every` specs and for cron specs in UTC and in a zone with a fixed
// non-hour offset (interval and fixed-time expressions).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type RecurrenceSpec, countSlots, firstSlot, nextSlot, prevSlot } from '../src/cron.js';
import { offsetAt } from './sim/cron-oracle.js';

/** What the four functions must say about `spec`, given all of its slots in a window that holds every answer. */
function checkAgainst(spec: RecurrenceSpec, slots: number[], t: number, u: number, cap: number): void {
  const inBounds = slots.filter((s) => (spec.startAt === undefined || s >= spec.startAt) && (spec.endAt === undefined || s <= spec.endAt));
  const ctx = JSON.stringify({ spec, t, u, cap });
  assert.equal(nextSlot(spec, t), inBounds.find((s) => s > t), `nextSlot ${ctx}`);
  assert.equal(firstSlot(spec, t), inBounds.find((s) => s >= t), `firstSlot ${ctx}`);
  assert.equal(prevSlot(spec, t), inBounds.findLast((s) => s < t), `prevSlot ${ctx}`);
  const count = inBounds.filter((s) => s > t && s <= u).length;
  assert.equal(countSlots(spec, t, u), count, `countSlots ${ctx}`);
  assert.equal(countSlots(spec, t, u, cap), Math.max(0, Math.min(cap, count)), `countSlots capped ${ctx}`);
}

const optional = (arb: fc.Arbitrary<number>): fc.Arbitrary<number | undefined> => fc.option(arb, { nil: undefined });

/** checkAgainst for `cron` in `tz` with random bounds, instants and ranges drawn from `instant`. */
function checkCron(cron: string, tz: string, slots: number[], instant: fc.Arbitrary<number>, numRuns: number): void {
  fc.assert(
    fc.property(optional(instant), optional(instant), instant, instant, fc.integer({ min: 0, max: 4 }), (startAt, endAt, t, u, cap) => {
      const spec: RecurrenceSpec = { cron, tz };
      if (startAt !== undefined) spec.startAt = startAt;
      if (endAt !== undefined) spec.endAt = endAt;
      checkAgainst(spec, slots, t, u, cap);
    }),
    { numRuns },
  );
}

describe('slots within startAt and endAt, against enumeration', () => {
  test('every: any anchor, bounds, instant and range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        optional(fc.integer({ min: -50, max: 50 })),
        optional(fc.integer({ min: -60, max: 60 })),
        optional(fc.integer({ min: -60, max: 60 })),
        fc.integer({ min: -80, max: 80 }),
        fc.integer({ min: -80, max: 80 }),
        fc.integer({ min: -1, max: 5 }),
        (every, anchor, startAt, endAt, t, u, cap) => {
          const spec: RecurrenceSpec = { every };
          if (anchor !== undefined) spec.anchor = anchor;
          if (startAt !== undefined) spec.startAt = startAt;
          if (endAt !== undefined) spec.endAt = endAt;
          const base = anchor ?? startAt ?? 0;
          const slots: number[] = [];
          for (let s = -300; s <= 300; s++) if ((((s - base) % every) + every) % every === 0) slots.push(s);
          checkAgainst(spec, slots, t, u, cap);
        },
      ),
      { numRuns: 400 },
    );
  });

  const MIN = 60_000;
  const T0 = Date.parse('2025-03-01T00:00:00Z');
  // Asia/Kolkata: UTC+05:30 all year (no DST), so a wall minute is instant + 330 min.
  const zones = [
    { tz: 'UTC', offsetMin: 0 },
    { tz: 'Asia/Kolkata', offsetMin: 330 },
  ];
  const crons = [
    { cron: '*/7 * * * *', matches: (minuteOfDay: number) => (minuteOfDay % 60) % 7 === 0 },
    { cron: '30 9,10 * * *', matches: (minuteOfDay: number) => minuteOfDay === 9 * 60 + 30 || minuteOfDay === 10 * 60 + 30 },
  ];

  for (const { tz, offsetMin } of zones) {
    for (const { cron, matches } of crons) {
      test(`cron '${cron}' in ${tz}: any bounds, instant and range`, () => {
        // Two days of minutes around T0, enumerated.
        const slots: number[] = [];
        for (let m = -2 * 1440; m <= 2 * 1440; m++) {
          const wall = m + offsetMin;
          if (matches(((wall % 1440) + 1440) % 1440)) slots.push(T0 + m * MIN);
        }
        // Instants within a day of T0 (whole minutes and between them): every answer lies in the
        // window, as a slot exists on both sides within it, for the second cron too (twice a day).
        checkCron(cron, tz, slots, fc.integer({ min: -1440 * 60, max: 1440 * 60 }).map((s) => T0 + s * 500), 150);
      });
    }
  }
});

// Across DST changes the oracle reads each minute's wall time with Intl
// (test/sim/cron-oracle.ts, not src/cron/zone.ts) and applies SPEC §2's two rules by itself:
// - interval: every instant whose wall reading matches;
// - fixed-time: the instant t is a slot when a matching wall lies in
//   (the latest wall read before t, the wall read at t]: a repeated wall was
//   read already (first occurrence only), and the walls a spring-forward gap
//   skips fall to the first instant after it, merged into one slot.
describe('slots within startAt and endAt across DST changes, against an Intl enumeration', () => {
  const MIN = 60_000;
  const HOUR = 60 * MIN;
  const transitions = [
    // New York: spring forward (02:00 EST -> 03:00 EDT), fall back (02:00 EDT -> 01:00 EST).
    { tz: 'America/New_York', at: '2026-03-08T07:00:00Z' },
    { tz: 'America/New_York', at: '2026-11-01T06:00:00Z' },
    // Lord Howe: 30-minute changes.
    { tz: 'Australia/Lord_Howe', at: '2026-10-03T15:30:00Z' },
    { tz: 'Australia/Lord_Howe', at: '2026-04-04T15:00:00Z' },
    // São Paulo 2018: midnight did not exist (the gap crosses the day).
    { tz: 'America/Sao_Paulo', at: '2018-11-04T03:00:00Z' },
  ];
  // Predicates over the wall's hour and minute, written independently of the expressions.
  const crons = [
    { cron: '*/20 * * * *', matches: (_h: number, m: number) => m % 20 === 0 },
    { cron: '0 * * * *', matches: (_h: number, m: number) => m === 0 },
    { cron: '30 * * * *', matches: (_h: number, m: number) => m === 30 },
    { cron: '30 1 * * *', matches: (h: number, m: number) => h === 1 && m === 30 },
    { cron: '0,30 0-2 * * *', matches: (h: number, m: number) => h <= 2 && (m === 0 || m === 30) },
    { cron: '15 2,3 * * *', matches: (h: number, m: number) => (h === 2 || h === 3) && m === 15 },
  ];

  for (const { tz, at } of transitions) {
    const wallOf = (t: number): number => t + offsetAt(tz, t);
    const T0 = Date.parse(at);
    const minutes: number[] = [];
    for (let t = T0 - 3 * 24 * HOUR; t <= T0 + 3 * 24 * HOUR; t += MIN) minutes.push(t);
    const walls = minutes.map(wallOf);
    for (const { cron, matches } of crons) {
      test(`cron '${cron}' in ${tz} around ${at}: any bounds, instant and range`, () => {
        const wallMatches = (wall: number): boolean => matches(Math.floor((wall % (24 * HOUR)) / HOUR), Math.floor((wall % HOUR) / MIN));
        // The expression's DST class as SPEC §2 defines it: minute or hour field starting with '*'.
        const interval = /^\*|^\S+ \*/.test(cron);
        const slots: number[] = [];
        let latest = walls[0]! - MIN;
        for (let i = 0; i < minutes.length; i++) {
          const wall = walls[i]!;
          if (interval) {
            if (wallMatches(wall)) slots.push(minutes[i]!);
          } else {
            for (let w = latest + MIN; w <= wall; w += MIN) {
              if (wallMatches(w)) {
                slots.push(minutes[i]!);
                break;
              }
            }
          }
          latest = Math.max(latest, wall);
        }
        // Instants within a day of the change, on whole minutes and between them.
        checkCron(cron, tz, slots, fc.integer({ min: -24 * 120, max: 24 * 120 }).map((k) => T0 + k * 30_000), 100);
      });
    }
  }
});
