/**
 * Cron and `every` slots where no DST is involved: field syntax, `@names`, `L` and `#`, bounds,
 * and `every` arithmetic. Expected instants are written out by hand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { countSlots, firstSlot, nextSlot, prevSlot, validateRecurrence, type RecurrenceSpec } from '../src/cron.js';

const at = (iso: string): number => Date.parse(iso);
const MIN = 60_000;

/** Slots strictly after `from`, up to `until` (inclusive) or `max` of them, as ISO strings. */
function slots(spec: RecurrenceSpec, from: string, until: string, max = 100): string[] {
  const out: string[] = [];
  let t: number | undefined = at(from);
  while (out.length < max && (t = nextSlot(spec, t)) !== undefined && t <= at(until)) out.push(new Date(t).toISOString());
  return out;
}

/** Slots walking back from `before` down to `until` (exclusive), oldest first. */
function slotsBack(spec: RecurrenceSpec, before: string, until: string): string[] {
  const out: string[] = [];
  let t: number | undefined = at(before);
  while ((t = prevSlot(spec, t)) !== undefined && t > at(until)) out.unshift(new Date(t).toISOString());
  return out;
}

describe('cron slots', () => {
  it('six fields: every 5 seconds for a minute', () => {
    const spec = { cron: '*/5 * * * * *' };
    const expected = Array.from({ length: 12 }, (_, i) => new Date(at('2025-01-01T00:00:00Z') + (i + 1) * 5000).toISOString());
    assert.deepEqual(slots(spec, '2025-01-01T00:00:00Z', '2025-01-01T00:01:00Z'), expected);
    assert.equal(expected[11], '2025-01-01T00:01:00.000Z');
    assert.deepEqual(slotsBack(spec, '2025-01-01T00:01:00.001Z', '2025-01-01T00:00:00Z'), expected);
    assert.equal(countSlots(spec, at('2025-01-01T00:00:00Z'), at('2025-01-01T00:01:00Z')), 12);
  });

  it('five fields have an implicit second 0; the slot is strictly after `after`', () => {
    assert.equal(nextSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:05:00Z')), at('2025-01-01T00:10:00Z'));
    assert.equal(nextSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:04:59.999Z')), at('2025-01-01T00:05:00Z'));
    assert.equal(prevSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:05:00Z')), at('2025-01-01T00:00:00Z'));
    assert.equal(prevSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:05:00.001Z')), at('2025-01-01T00:05:00Z'));
    assert.equal(firstSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:05:00Z')), at('2025-01-01T00:05:00Z'));
  });

  it('weekdays at 09:00 in Asia/Shanghai across a week', () => {
    // 2025-06-01 is a Sunday; Shanghai is UTC+8 all year.
    assert.deepEqual(slots({ cron: '0 9 * * 1-5', tz: 'Asia/Shanghai' }, '2025-05-31T16:00:00Z', '2025-06-08T15:59:59Z'), [
      '2025-06-02T01:00:00.000Z',
      '2025-06-03T01:00:00.000Z',
      '2025-06-04T01:00:00.000Z',
      '2025-06-05T01:00:00.000Z',
      '2025-06-06T01:00:00.000Z',
    ]);
    assert.deepEqual(slots({ cron: '0 0 9 * * MON-FRI', tz: 'Asia/Shanghai' }, '2025-06-06T01:00:00Z', '2025-06-10T00:00:00Z'), [
      '2025-06-09T01:00:00.000Z',
    ]);
  });

  it('`L` and `#`', () => {
    assert.deepEqual(slots({ cron: '0 0 L * *' }, '2024-01-01T00:00:00Z', '2024-04-30T23:00:00Z'), [
      '2024-01-31T00:00:00.000Z',
      '2024-02-29T00:00:00.000Z',
      '2024-03-31T00:00:00.000Z',
      '2024-04-30T00:00:00.000Z',
    ]);
    assert.deepEqual(slots({ cron: '0 0 L 2 *' }, '2025-01-01T00:00:00Z', '2028-12-31T00:00:00Z'), [
      '2025-02-28T00:00:00.000Z',
      '2026-02-28T00:00:00.000Z',
      '2027-02-28T00:00:00.000Z',
      '2028-02-29T00:00:00.000Z',
    ]);
    // Second Monday of each month.
    assert.deepEqual(slots({ cron: '0 12 * * 1#2' }, '2025-01-01T00:00:00Z', '2025-03-31T00:00:00Z'), [
      '2025-01-13T12:00:00.000Z',
      '2025-02-10T12:00:00.000Z',
      '2025-03-10T12:00:00.000Z',
    ]);
    // Last Friday of each month.
    assert.deepEqual(slots({ cron: '0 0 * * 5L' }, '2025-01-01T00:00:00Z', '2025-03-31T00:00:00Z'), [
      '2025-01-31T00:00:00.000Z',
      '2025-02-28T00:00:00.000Z',
      '2025-03-28T00:00:00.000Z',
    ]);
    // A fifth Monday in a February only happens in leap years starting on a Monday.
    assert.deepEqual(slots({ cron: '0 0 * 2 1#5' }, '2025-01-01T00:00:00Z', '2100-01-01T00:00:00Z'), [
      '2044-02-29T00:00:00.000Z',
      '2072-02-29T00:00:00.000Z',
    ]);
    assert.equal(prevSlot({ cron: '0 0 * 2 1#5' }, at('2044-02-29T00:00:00Z')), at('2016-02-29T00:00:00Z'));
    assert.equal(countSlots({ cron: '0 0 * 2 1#5' }, at('1900-01-01T00:00:00Z'), at('2100-01-01T00:00:00Z')), 7);
  });

  it('day-of-month and day-of-week combine with OR when both are restricted', () => {
    // September 2025: the 1st is a Monday; the 2nd a Tuesday. The 1st or any Monday:
    assert.deepEqual(slots({ cron: '0 0 1 * MON' }, '2025-08-31T00:00:00Z', '2025-09-30T00:00:00Z'), [
      '2025-09-01T00:00:00.000Z',
      '2025-09-08T00:00:00.000Z',
      '2025-09-15T00:00:00.000Z',
      '2025-09-22T00:00:00.000Z',
      '2025-09-29T00:00:00.000Z',
    ]);
    // The 2nd or any Monday:
    assert.deepEqual(slots({ cron: '0 0 2 * MON' }, '2025-08-31T00:00:00Z', '2025-09-10T00:00:00Z'), [
      '2025-09-01T00:00:00.000Z',
      '2025-09-02T00:00:00.000Z',
      '2025-09-08T00:00:00.000Z',
    ]);
    // A step from `*` is a restriction too (cronie would AND it): odd days or Mondays.
    assert.deepEqual(slots({ cron: '0 0 */2 * MON' }, '2025-08-31T00:00:00Z', '2025-09-10T00:00:00Z'), [
      '2025-09-01T00:00:00.000Z',
      '2025-09-03T00:00:00.000Z',
      '2025-09-05T00:00:00.000Z',
      '2025-09-07T00:00:00.000Z',
      '2025-09-08T00:00:00.000Z',
      '2025-09-09T00:00:00.000Z',
    ]);
    // With `*` in one of them only the other one counts.
    assert.deepEqual(slots({ cron: '0 0 * * MON' }, '2025-08-31T00:00:00Z', '2025-09-10T00:00:00Z'), ['2025-09-01T00:00:00.000Z', '2025-09-08T00:00:00.000Z']);
    assert.deepEqual(slots({ cron: '0 0 2 * *' }, '2025-08-31T00:00:00Z', '2025-09-10T00:00:00Z'), ['2025-09-02T00:00:00.000Z']);
  });

  it('@daily-style names', () => {
    const from = at('2025-01-01T00:00:00Z'); // a Wednesday
    const cases: [string, string][] = [
      ['@yearly', '2026-01-01T00:00:00Z'],
      ['@annually', '2026-01-01T00:00:00Z'],
      ['@monthly', '2025-02-01T00:00:00Z'],
      ['@weekly', '2025-01-05T00:00:00Z'],
      ['@daily', '2025-01-02T00:00:00Z'],
      ['@midnight', '2025-01-02T00:00:00Z'],
      ['@hourly', '2025-01-01T01:00:00Z'],
    ];
    for (const [cron, expected] of cases) {
      assert.equal(nextSlot({ cron }, from), at(expected), cron);
      // validateRecurrence returns the first slot at or after `now`.
      assert.equal(validateRecurrence({ cron }, from + 1), at(expected), cron);
    }
    assert.deepEqual(slots({ cron: '@daily', tz: 'Europe/Paris' }, '2025-07-01T00:00:00Z', '2025-07-03T00:00:00Z'), [
      '2025-07-01T22:00:00.000Z',
      '2025-07-02T22:00:00.000Z',
    ]);
  });

  it('startAt and endAt are inclusive bounds', () => {
    const spec = { cron: '0 * * * *', startAt: at('2025-01-01T10:30:00Z'), endAt: at('2025-01-01T13:00:00Z') };
    assert.deepEqual(slots(spec, '2025-01-01T00:00:00Z', '2030-01-01T00:00:00Z'), [
      '2025-01-01T11:00:00.000Z',
      '2025-01-01T12:00:00.000Z',
      '2025-01-01T13:00:00.000Z',
    ]);
    assert.equal(nextSlot(spec, at('2025-01-01T13:00:00Z')), undefined);
    assert.equal(prevSlot(spec, at('2030-01-01T00:00:00Z')), at('2025-01-01T13:00:00Z'));
    assert.equal(prevSlot(spec, at('2025-01-01T11:00:00Z')), undefined);
    assert.equal(countSlots(spec, 0, at('2030-01-01T00:00:00Z')), 3);
    const exact = { cron: '0 * * * *', startAt: at('2025-01-01T11:00:00Z'), endAt: at('2025-01-01T11:00:00Z') };
    assert.equal(firstSlot(exact, 0), at('2025-01-01T11:00:00Z'));
    assert.equal(nextSlot(exact, at('2025-01-01T11:00:00Z')), undefined);
  });
});

describe('every', () => {
  it('slots are anchor + k × every, within bounds', () => {
    const spec = { every: 10 * MIN, anchor: at('2025-01-01T00:03:00Z') };
    assert.deepEqual(slots(spec, '2025-01-01T00:00:00Z', '2025-01-01T00:30:00Z'), [
      '2025-01-01T00:03:00.000Z',
      '2025-01-01T00:13:00.000Z',
      '2025-01-01T00:23:00.000Z',
    ]);
    assert.equal(nextSlot(spec, at('2025-01-01T00:13:00Z')), at('2025-01-01T00:23:00Z'));
    assert.equal(prevSlot(spec, at('2025-01-01T00:13:00Z')), at('2025-01-01T00:03:00Z'));
    assert.equal(prevSlot(spec, at('2025-01-01T00:13:00.001Z')), at('2025-01-01T00:13:00Z'));
    // Slots before the anchor exist too (the anchor fixes the phase, not the start).
    assert.equal(prevSlot(spec, at('2025-01-01T00:03:00Z')), at('2024-12-31T23:53:00Z'));
    assert.equal(countSlots(spec, at('2025-01-01T00:03:00Z'), at('2025-01-02T00:03:00Z')), 144);
  });

  it('defaults the anchor to startAt, then to the epoch', () => {
    const started = { every: 15 * MIN, startAt: at('2025-01-01T10:07:00Z'), endAt: at('2025-01-01T10:40:00Z') };
    assert.equal(firstSlot(started, 0), at('2025-01-01T10:07:00Z'));
    assert.deepEqual(slots(started, '2025-01-01T10:07:00Z', '2030-01-01T00:00:00Z'), [
      '2025-01-01T10:22:00.000Z',
      '2025-01-01T10:37:00.000Z',
    ]);
    assert.equal(prevSlot(started, at('2025-01-01T10:07:00Z')), undefined);
    assert.equal(nextSlot({ every: 15 * MIN }, at('2025-01-01T10:07:00Z')), at('2025-01-01T10:15:00Z'));
  });
});

describe('every: exact arithmetic at the ends of the time range (property)', () => {
  // The oracle counts in BigInt: anchor + k × every, no float division.
  const exactNext = (anchor: number, every: number, after: number): bigint => {
    const d = BigInt(after) - BigInt(anchor);
    const k = d >= 0n ? d / BigInt(every) + 1n : -((-d - 1n) / BigInt(every));
    return BigInt(anchor) + k * BigInt(every);
  };
  const big = fc.integer({ min: -8.64e15, max: 8.64e15 });
  const every = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 8.64e15 }), fc.constantFrom(3, 7, 86_400_000, 999_999_937));

  it('nextSlot is the first anchor + k × every after `after`, prevSlot the last before `before`', () => {
    fc.assert(
      fc.property(big, every, big, (anchor, step, t) => {
        const spec = { every: step, anchor };
        const next = exactNext(anchor, step, t);
        const got = nextSlot(spec, t);
        if (next <= 8_640_000_000_000_000n) assert.equal(got, Number(next), `next after ${t}`);
        else assert.equal(got, undefined);
        const prev = exactNext(anchor, step, t - 1) - BigInt(step);
        const back = prevSlot(spec, t);
        if (prev >= -8_640_000_000_000_000n) assert.equal(back, Number(prev), `prev before ${t}`);
        else assert.equal(back, undefined);
      }),
      { numRuns: 3000 },
    );
  });

  it('a slot past 2^53 on the way to the answer does not round it: prevSlot stays exact', () => {
    // The first slot after 8.64e15 - 1 is 5 × (2e15 + 1) = 1e16 + 5, which has no exact double
    // (float arithmetic lands on 1e16 + 4 and would answer 8e15 + 3); the answer, 4 × every, has one.
    const every = 2e15 + 1;
    assert.equal(prevSlot({ every, anchor: 0 }, 8.64e15), 8_000_000_000_000_004);
    assert.equal(prevSlot({ every, anchor: 0 }, 8_000_000_000_000_004), 6_000_000_000_000_003);
  });

  it('the float path settles on the exact slot when its quotient rounds up a step', () => {
    // 8 × every − 1 is inside the float path's guard, but (8 − 1/every) + 1 rounds to exactly 9
    // (double rounding), a step past the answer: the correction brings it back. Expected values
    // are k × every, written out (k = 8 and 7).
    const every = 874_582_239_961_169;
    const spec = { every, anchor: 0 };
    assert.equal(nextSlot(spec, 6_996_657_919_689_351), 6_996_657_919_689_352);
    assert.equal(prevSlot(spec, 6_996_657_919_689_352), 6_122_075_679_728_183);
    assert.equal(countSlots(spec, 0, 6_996_657_919_689_352), 8);
  });

  it('countSlots of an empty or reversed range, or with cap 0, is 0', () => {
    const spec = { every: 1000, anchor: 0 };
    assert.equal(countSlots(spec, 5000, 5000), 0);
    assert.equal(countSlots(spec, 5000, 1000), 0);
    assert.equal(countSlots(spec, 0, 10_000, 0), 0);
    assert.equal(countSlots(spec, 0, 10_000, 3), 3);
    assert.equal(countSlots(spec, 0, 10_000), 10);
    assert.equal(countSlots({ cron: '* * * * *' }, at('2027-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z')), 0);
  });
});

describe('edges the random enumerations rarely draw', () => {
  it('countSlots from exactly startAt leaves out the slot at startAt (the range is open at its start)', () => {
    // Slots 0, 10, …, 100; (0, 100] holds 10 of them.
    assert.equal(countSlots({ every: 10, startAt: 0 }, 0, 100), 10);
    const startAt = at('2025-01-01T10:00:00Z');
    assert.equal(countSlots({ cron: '0 * * * *', startAt }, startAt, at('2025-01-01T13:00:00Z')), 3);
  });

  it('countSlots of a range with a NaN end is 0, not a throw', () => {
    for (const spec of [{ every: 1000 }, { cron: '0 * * * *' }, { cron: '30 2 * * *', tz: 'America/New_York' }] as RecurrenceSpec[]) {
      assert.equal(countSlots(spec, Number.NaN, at('2025-01-02T00:00:00Z')), 0, JSON.stringify(spec));
      assert.equal(countSlots(spec, at('2025-01-01T00:00:00Z'), Number.NaN), 0, JSON.stringify(spec));
    }
  });

  it('every: the slot right after `after` when `after` is itself a slot, in exact (BigInt) arithmetic', () => {
    // 0 + 0 + 2 × 5e15 is past 2^53, so these take the exact path; `after` on a slot is the
    // distance-0 case the random property almost never draws.
    const spec = { every: 5e15, anchor: 0 };
    assert.equal(nextSlot(spec, 0), 5e15);
    assert.equal(nextSlot(spec, -5e15), 0);
    assert.equal(prevSlot(spec, 1), 0);
    assert.equal(prevSlot(spec, 5e15 + 1), 5e15);
  });

  it('prevSlot finds a slot at exactly startAt, in a zone with DST', () => {
    // 10:00 EST; an interval expression (elapsed-time search).
    const startAt = at('2026-01-15T15:00:00Z');
    assert.equal(prevSlot({ cron: '0 * * * *', tz: 'America/New_York', startAt }, startAt + 1), startAt);
    assert.equal(prevSlot({ cron: '0 * * * *', tz: 'America/New_York', startAt }, startAt), undefined);
  });

  it('prevSlot looks back across a spring-forward gap to a slot less than a day after startAt', () => {
    // New York 2026-03-08: 07:00Z is 03:00 EDT (02:00-02:59 do not exist). `30 * 8 3 *` (an
    // interval expression: every hour of March 8 only) ran at 01:30 EST = 06:30Z; nothing matches
    // from 07:00Z to 07:00:00.000Z, so the search looks back for a wall in the period before, and
    // the walls from startAt's wall to a day past it are the only ones it may find there.
    const spec = { cron: '30 * 8 3 *', tz: 'America/New_York', startAt: at('2026-03-08T06:00:00Z') };
    assert.equal(prevSlot(spec, at('2026-03-08T07:00:00.001Z')), at('2026-03-08T06:30:00Z'));
    assert.equal(prevSlot({ ...spec, startAt: at('2026-03-08T06:31:00Z') }, at('2026-03-08T07:00:00.001Z')), undefined);
  });
});
