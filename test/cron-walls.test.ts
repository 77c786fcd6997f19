/**
 * The wall-time search (src/cron/walls.ts) on its own, against oracles that share none of its
 * code: civil dates against `Date.UTC`, and wallCeil / wallFloor / countWalls against a scan of
 * every second of a short window with cron-parser's own matcher (`includesDate`, UTC). The
 * windows sit where the table lookups turn over: the last seconds of a minute, of an hour, of a
 * day and of a month, in years from 1900 to 2100 (1900 and 2100 are not leap years, 2000 is).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CronExpressionParser } from 'cron-parser';
import { compileCron } from '../src/cron/expression.js';
import { countWalls, daysFromCivil, wallCeil, wallFloor } from '../src/cron/walls.js';

const SECOND = 1000;
const DAY = 86_400_000;
const iso = (t: number | undefined): string => (t === undefined ? 'undefined' : new Date(t).toISOString());

describe('civil dates', () => {
  it('daysFromCivil agrees with Date.UTC across the whole Date range', () => {
    fc.assert(
      fc.property(fc.integer({ min: -271_000, max: 275_000 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), (year, month, day) => {
        const t = new Date(0);
        t.setUTCFullYear(year, month - 1, day);
        fc.pre(t.getUTCDate() === day); // a real date (no 31 April)
        assert.equal(daysFromCivil(year, month, day), t.getTime() / DAY, `${year}-${month}-${day}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('February 29 exists in 2000, not in 1900 or 2100', () => {
    const cron = compileCron('0 0 29 2 *');
    assert.equal(iso(wallCeil(cron, Date.UTC(1896, 2, 1), Date.UTC(2200, 0, 1))), '1904-02-29T00:00:00.000Z');
    assert.equal(iso(wallCeil(cron, Date.UTC(1997, 0, 1), Date.UTC(2200, 0, 1))), '2000-02-29T00:00:00.000Z');
    assert.equal(iso(wallCeil(cron, Date.UTC(2096, 2, 1), Date.UTC(2200, 0, 1))), '2104-02-29T00:00:00.000Z');
    assert.equal(iso(wallFloor(cron, Date.UTC(2104, 0, 1), Date.UTC(1800, 0, 1))), '2096-02-29T00:00:00.000Z');
    assert.equal(iso(wallFloor(cron, Date.UTC(1904, 0, 1), Date.UTC(1800, 0, 1))), '1896-02-29T00:00:00.000Z');
    const last = compileCron('0 0 L 2 *');
    for (const [year, day] of [
      [1900, 28],
      [2000, 29],
      [2100, 28],
    ] as const) {
      assert.equal(iso(wallCeil(last, Date.UTC(year, 1, 1), Date.UTC(year, 11, 31))), iso(Date.UTC(year, 1, day)), String(year));
    }
    // Matching days between 1 February and 1 March of each year: 28 or 29.
    const daily = compileCron('0 0 * * *');
    for (const [year, days] of [
      [1900, 28],
      [2000, 29],
      [2100, 28],
      [2024, 29],
    ] as const) {
      assert.equal(countWalls(daily, Date.UTC(year, 1, 1), Date.UTC(year, 2, 1)), days, String(year));
    }
  });
});

describe('wall search edges, by hand', () => {
  it('day 31 skips every 30-day month (no 31 April, June, September or November)', () => {
    const cron = compileCron('0 0 31 * *');
    for (const [from, want] of [
      [Date.UTC(2026, 3, 1), '2026-05-31T00:00:00.000Z'],
      [Date.UTC(2026, 5, 1), '2026-07-31T00:00:00.000Z'],
      [Date.UTC(2026, 8, 1), '2026-10-31T00:00:00.000Z'],
      [Date.UTC(2026, 10, 1), '2026-12-31T00:00:00.000Z'],
    ] as const) {
      assert.equal(iso(wallCeil(cron, from, Date.UTC(2028, 0, 1))), want);
    }
    assert.equal(iso(wallFloor(cron, Date.UTC(2026, 11, 1), Date.UTC(2025, 0, 1))), '2026-10-31T00:00:00.000Z');
  });

  it('the first time of a later hour keeps its seconds; the last time of an earlier minute keeps its own', () => {
    assert.equal(iso(wallCeil(compileCron('30 0 5 * * *'), Date.UTC(2026, 0, 1, 4), Date.UTC(2027, 0, 1))), '2026-01-01T05:00:30.000Z');
    assert.equal(iso(wallFloor(compileCron('30 * * * * *'), Date.UTC(2026, 0, 1, 10, 5, 10), Date.UTC(2025, 0, 1))), '2026-01-01T10:04:30.000Z');
    assert.equal(iso(wallFloor(compileCron('10,20 7 * * * *'), Date.UTC(2026, 0, 1, 10, 7, 5), Date.UTC(2025, 0, 1))), '2026-01-01T09:07:20.000Z');
  });
});

/** 6-field expressions whose fields turn over at the edges the windows below sit on. */
const expression = fc
  .tuple(
    fc.constantFrom('0', '59', '*/20', '0,30', '*', '58-59'),
    fc.constantFrom('0', '59', '*/15', '58-59', '*'),
    fc.constantFrom('0', '23', '*', '22-23', '*/6', '0,12'),
    fc.constantFrom('*', '*', 'L', '1', '31', '28-31', '1,15'),
    fc.constantFrom('*', '*', '2', '12', '1,3', '3-12'),
    fc.constantFrom('*', '*', '0', '1-5', '6L', '0#1', '5#5'),
  )
  .map((fields) => fields.join(' '));

/** Days from 1900 to 2100: any day, or the last day of a month (February included). */
const day = fc.oneof(
  fc.integer({ min: Date.UTC(1900, 0, 1) / DAY, max: Date.UTC(2100, 11, 31) / DAY }),
  fc.tuple(fc.integer({ min: 1900, max: 2100 }), fc.integer({ min: 1, max: 12 })).map(([y, m]) => Date.UTC(y, m, 0) / DAY),
);

/** A window start: seconds before the end of a minute, an hour or the day, plus a fraction of a second. */
const windowStart = fc
  .tuple(day, fc.constantFrom(60, 3600, 86_400), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 999 }))
  .map(([d, unit, k, before, ms]) => {
    const edge = unit === 86_400 ? 86_400 : unit === 3600 ? (k + 1) * 3600 : k * 3600 + 3600 - 60 * (k % 3);
    return d * DAY + (edge - before) * SECOND - ms;
  });

describe('wallCeil, wallFloor and countWalls against a scan of every second (cron-parser, UTC)', () => {
  it('the same first, last and number of matching walls in a 7-minute window', () => {
    fc.assert(
      fc.property(expression, windowStart, (text, from) => {
        let parsed;
        try {
          parsed = CronExpressionParser.parse(text, { tz: 'UTC' });
        } catch {
          fc.pre(false);
          return;
        }
        const cron = compileCron(text);
        const to = from + 420 * SECOND;
        const matches: number[] = [];
        for (let s = Math.ceil(from / SECOND) * SECOND; s <= to; s += SECOND) if (parsed.includesDate(new Date(s))) matches.push(s);
        const ctx = `${text} in [${iso(from)}, ${iso(to)}]`;
        assert.equal(iso(wallCeil(cron, from, to)), iso(matches[0]), `wallCeil ${ctx}`);
        assert.equal(iso(wallFloor(cron, to, from)), iso(matches.at(-1)), `wallFloor ${ctx}`);
        assert.equal(countWalls(cron, from, to), matches.filter((s) => s < to).length, `countWalls ${ctx}`);
        const mid = from + 200 * SECOND + 500;
        assert.equal(countWalls(cron, mid, to + 1), matches.filter((s) => s >= mid).length, `countWalls from the middle ${ctx}`);
        assert.equal(countWalls(cron, from, mid), matches.filter((s) => s < mid).length, `countWalls to the middle ${ctx}`);
      }),
      { numRuns: 150 },
    );
  });
});
