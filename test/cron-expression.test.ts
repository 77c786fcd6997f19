/**
 * Cron expressions: parsing errors, the interval / fixed-time class that picks the DST rule,
 * and the calendar search (day masks, `L`, `#`, day-of-month OR day-of-week) checked against
 * cron-parser's own matcher (`includesDate`) and iterator, in UTC where no DST is involved.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CronExpressionParser } from 'cron-parser';
import { compileCron } from '../src/cron/expression.js';
import { countSlots, nextSlot, prevSlot } from '../src/cron.js';
import { ValidationError } from '../src/errors.js';

const MIN = 60_000;
const DAY = 86_400_000;

describe('interval or fixed-time (cronie: minute or hour starts with `*`; seconds not one number)', () => {
  it('classifies', () => {
    const interval = ['*/5 * * * *', '0 * * * *', '* 9 * * *', '*/15 9 * * *', '0 */2 * * *', '@hourly', '*/10 30 2 * * *', '0,30 30 2 * * *', '* 0 0 * * *', '0 0 * * * *'];
    const fixed = ['30 2 * * *', '0 0-3 * * *', '0,30 2 * * *', '15-45/15 2 * * *', '@daily', '@weekly', '@monthly', '@yearly', '0 30 2 * * *', '45 30 2 * * *', '5 0,30 9 * * 1-5'];
    for (const cron of interval) assert.equal(compileCron(cron).interval, true, cron);
    for (const cron of fixed) assert.equal(compileCron(cron).interval, false, cron);
  });

  it("says which kind of refusal it is, and keeps cron-parser's error as the cause", () => {
    const refusal = (cron: string): ValidationError => {
      try {
        compileCron(cron);
      } catch (error) {
        assert.ok(error instanceof ValidationError, cron);
        return error;
      }
      assert.fail(`${cron} was accepted`);
    };
    const bad = refusal('61 * * * *');
    assert.ok(bad.message.startsWith('Expected `cron` to be a 5- or 6-field cron expression or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, got'), bad.message);
    assert.ok(bad.cause instanceof Error && bad.message.endsWith(bad.cause.message), bad.message);
    const never = refusal('0 0 30 2 *');
    assert.ok(never.message.startsWith("Expected cron expression '0 0 30 2 *' to fire at least once"), never.message);
    assert.ok(never.cause instanceof Error && never.message.includes(never.cause.message), never.message);
  });

  it('rejects what is not an expression, quoting it', () => {
    for (const [cron, fragment] of [
      ['61 * * * *', "'61 * * * *'"],
      ['* * *', '3 fields'],
      ['0 0 * * * * 2030', '7 fields'],
      ['@weekdays', '@daily'],
      ['H 9 * * *', 'hashed'],
      ['0 0 30 2 *', 'never occur'],
    ] as const) {
      assert.throws(
        () => compileCron(cron),
        (e: unknown) => e instanceof ValidationError && e.message.startsWith('Expected') && e.message.includes(fragment),
        cron,
      );
    }
  });
});

const field = (options: string[]): fc.Arbitrary<string> => fc.constantFrom(...options);
/** 5-field expressions: few times of day, every day-field feature cron-parser has. */
const dayExpression = fc
  .tuple(
    field(['0', '30', '0,45', '*/20']),
    field(['0', '12', '23', '6-8', '*/8']),
    field(['*', '*', '1', '15', 'L', '1,L', '29', '31', '*/10', '10-20', '?']),
    field(['*', '*', '2', '1-3', '2,8', '*/4', 'JAN,FEB']),
    field(['*', '*', '0', '7', '1-5', '5L', '0L', '1#1', '3#5', 'MON-FRI', '6,0', '1,5L', '?', '*/2']),
  )
  .map((fields) => fields.join(' '));

const iso = (t: number | undefined): string => (t === undefined ? 'undefined' : new Date(t).toISOString());

describe('the calendar search agrees with cron-parser (UTC)', () => {
  it('the same matching minutes over 2 days: forwards, backwards, counted', () => {
    fc.assert(
      fc.property(dayExpression, fc.integer({ min: Date.UTC(1960, 0, 1) / DAY, max: Date.UTC(2090, 0, 1) / DAY }), (cron, day) => {
        let parsed;
        try {
          parsed = CronExpressionParser.parse(cron, { tz: 'UTC' });
        } catch {
          fc.pre(false);
          return;
        }
        const from = day * DAY - 1;
        const to = from + 2 * DAY;
        const expected: string[] = [];
        for (let t = from + 1; t <= to; t += MIN) if (parsed.includesDate(new Date(t))) expected.push(iso(t));
        const forward: string[] = [];
        for (let t = nextSlot({ cron }, from); t !== undefined && t <= to; t = nextSlot({ cron }, t)) forward.push(iso(t));
        assert.deepEqual(forward, expected, `${cron} from ${iso(from)}`);
        const backward: string[] = [];
        for (let t = prevSlot({ cron }, to + 1); t !== undefined && t > from; t = prevSlot({ cron }, t)) backward.unshift(iso(t));
        assert.deepEqual(backward, expected, `${cron} back from ${iso(to)}`);
        assert.equal(countSlots({ cron }, from, to), expected.length, `${cron} counted`);
      }),
      { numRuns: 150 },
    );
  });

  it('the same next fire time months or years away', () => {
    fc.assert(
      fc.property(dayExpression, fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2060, 0, 1) }), (cron, from) => {
        let parsed;
        try {
          parsed = CronExpressionParser.parse(cron, { tz: 'UTC', currentDate: new Date(from) });
        } catch {
          fc.pre(false);
          return;
        }
        // cron-parser walks a day at a time: only expressions that fire within a few years.
        const ours = nextSlot({ cron }, from);
        fc.pre(ours !== undefined && ours < from + 5 * 366 * DAY);
        assert.equal(iso(ours), parsed.next().toISOString(), `${cron} after ${iso(from)}`);
      }),
      { numRuns: 150 },
    );
  });
});

describe('parsing details', () => {
  it('compiles an expression once: the same string gives the same tables', () => {
    assert.equal(compileCron('17 4 * * 2'), compileCron('17 4 * * 2'));
  });

  it('@names are read in any case', () => {
    const from = Date.UTC(2025, 0, 1, 0, 30);
    assert.equal(nextSlot({ cron: '@DAILY' }, from), Date.UTC(2025, 0, 2));
    assert.equal(nextSlot({ cron: '@Hourly' }, from), Date.UTC(2025, 0, 1, 1));
  });

  it("weekday and month names are not hashed fields, though 'thu' has an h", () => {
    // 2025-01-01 is a Wednesday: the next Thursday 09:00 is 2025-01-02.
    for (const cron of ['0 9 * * THU', '0 9 * * thu', '0 9 * * Thu-Sat', '0 9 * JAN-MAR thu']) {
      assert.equal(nextSlot({ cron }, Date.UTC(2025, 0, 1)), Date.UTC(2025, 0, 2, 9), cron);
    }
    assert.throws(() => compileCron('0 H * * THU'), (e: unknown) => e instanceof ValidationError && e.message.includes('hashed'));
  });

  it('`7L` is the last Sunday of the month, like `0L`', () => {
    // Last Sundays of 2025: January 26, February 23, March 30.
    for (const cron of ['0 0 * * 7L', '0 0 * * 0L']) {
      const got: number[] = [];
      for (let t = nextSlot({ cron }, Date.UTC(2025, 0, 1)); t !== undefined && got.length < 3; t = nextSlot({ cron }, t)) got.push(t);
      assert.deepEqual(got.map(iso), ['2025-01-26T00:00:00.000Z', '2025-02-23T00:00:00.000Z', '2025-03-30T00:00:00.000Z'], cron);
    }
  });
});

describe('time-of-day tables with seconds, counted across hours and days', () => {
  // Expected counts and instants written out by hand.
  it('the first and last time of a day include the seconds field', () => {
    // Daily at 09:00:30: found on another day than the search starts from.
    assert.equal(nextSlot({ cron: '30 0 9 * * *' }, Date.UTC(2025, 0, 1, 12)), Date.UTC(2025, 0, 2, 9, 0, 30));
    assert.equal(prevSlot({ cron: '30 0 9 * * *' }, Date.UTC(2025, 0, 2, 8)), Date.UTC(2025, 0, 1, 9, 0, 30));
  });

  it('several seconds per minute: per hour and per day', () => {
    // :00:00, :00:30, :30:00, :30:30 every hour; (00:10, 02:10] holds the 8 from 00:30:00 to 02:00:30.
    const t = Date.UTC(2025, 0, 1, 0, 10);
    assert.equal(countSlots({ cron: '0,30 0,30 * * * *' }, t, t + 2 * 3_600_000), 8);
    // 00:00:00 and 00:00:30 each day: 10 days hold 20.
    assert.equal(countSlots({ cron: '0,30 0 0 * * *' }, Date.UTC(2025, 0, 1, 12), Date.UTC(2025, 0, 11, 12)), 20);
  });

  it('ranges that start or end in the last hour of a day or the last minute of an hour', () => {
    // Hourly: (23:30, next day 23:30] holds 24; (10:59:30, 12:59:30] holds 11:00 and 12:00.
    assert.equal(countSlots({ cron: '0 * * * *' }, Date.UTC(2025, 0, 1, 23, 30), Date.UTC(2025, 0, 2, 23, 30)), 24);
    assert.equal(countSlots({ cron: '0 * * * *' }, Date.UTC(2025, 0, 1, 10, 59, 30), Date.UTC(2025, 0, 1, 12, 59, 30)), 2);
    assert.equal(countSlots({ cron: '* * * * *' }, Date.UTC(2025, 0, 1, 10, 59, 30), Date.UTC(2025, 0, 1, 11, 59, 30)), 60);
  });
});

describe('the compile cache', () => {
  it('is bounded: after 600 other expressions, the first one is compiled afresh', () => {
    const first = compileCron('1 2 3 4 *');
    assert.equal(compileCron('1 2 3 4 *'), first);
    for (let i = 0; i < 600; i++) compileCron(`${i % 60} ${Math.floor(i / 60)} * * 1`);
    assert.notEqual(compileCron('1 2 3 4 *'), first);
  });
});
