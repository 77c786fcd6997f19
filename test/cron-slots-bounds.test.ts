// nextSlot, prevSlot, firstSlot and countSlots (src/cron/slots.ts) against a
// brute-force oracle: every slot of a small window enumerated one by one, then
// filtered by startAt and endAt. Random bounds, anchors, instants and ranges,
// for `every` specs and for cron specs in UTC and in a zone with a fixed
// non-hour offset (interval and fixed-time expressions).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type RecurrenceSpec, countSlots, firstSlot, nextSlot, prevSlot } from '../src/cron.js';

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
        // Instants within a day of T0 (whole minutes and between them): every answer lies in the window.
        const instant = fc.integer({ min: -1440 * 60, max: 1440 * 60 }).map((s) => T0 + s * 500);
        fc.assert(
          fc.property(optional(instant), optional(instant), instant, instant, fc.integer({ min: 0, max: 4 }), (startAt, endAt, t, u, cap) => {
            const spec: RecurrenceSpec = { cron, tz };
            if (startAt !== undefined) spec.startAt = startAt;
            if (endAt !== undefined) spec.endAt = endAt;
            // Within a day of T0 a slot always exists on both sides inside the window, for the second cron too (twice a day).
            checkAgainst(spec, slots, t, u, cap);
          }),
          { numRuns: 150 },
        );
      });
    }
  }
});
