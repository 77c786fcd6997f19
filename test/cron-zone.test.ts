/**
 * Zone offsets and transitions (src/cron/zone.ts), checked against an independent scan of
 * Intl: sampled every 2 hours and bisected, where zone.ts samples every 5 days.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { offsetAt, periodAt, transitionsIn, zoneOf } from '../src/cron/zone.js';
import { ValidationError } from '../src/errors.js';

const HOUR = 3_600_000;

/** Offset changes in [from, to) from Intl alone, as ISO instants with "before -> after" offset text. */
function intlScan(tz: string, from: number, to: number, step = 2 * HOUR): string[] {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
  const text = (t: number): string => format.format(t).split('GMT')[1] || '+00:00';
  const out: string[] = [];
  for (let t = from; t < to; t += step) {
    if (text(t) === text(t + step)) continue;
    let lo = t;
    let hi = t + step;
    while (hi - lo > 1000) {
      const mid = Math.floor((lo + hi) / 2000) * 1000;
      if (text(mid) === text(t)) lo = mid;
      else hi = mid;
    }
    out.push(`${new Date(hi).toISOString()} ${text(lo)} -> ${text(hi)}`);
  }
  return out;
}

function ours(tz: string, from: number, to: number): string[] {
  const show = (ms: number): string => {
    const sign = ms < 0 ? '-' : '+';
    const s = Math.abs(ms) / 1000;
    const hh = String(Math.floor(s / 3600)).padStart(2, '0');
    const mm = String(Math.floor(s / 60) % 60).padStart(2, '0');
    const ss = s % 60 === 0 ? '' : `:${String(s % 60).padStart(2, '0')}`;
    return `${sign}${hh}:${mm}${ss}`;
  };
  return transitionsIn(zoneOf(tz, ''), from, to - 1).map((tr) => `${new Date(tr.at).toISOString()} ${show(tr.before)} -> ${show(tr.after)}`);
}

describe('zone transitions', () => {
  it('finds one-week DST periods (the shortest in the tz database)', () => {
    const cases: [string, number][] = [
      ['America/Recife', 2000],
      ['America/Noronha', 2000],
      ['Asia/Gaza', 2040],
      ['Asia/Gaza', 2054],
    ];
    for (const [tz, year] of cases) {
      const from = Date.UTC(year, 0, 1);
      const to = Date.UTC(year + 1, 0, 1);
      const expected = intlScan(tz, from, to);
      assert.ok(expected.length >= 2, `${tz} ${year}: ${expected.join(', ')}`);
      assert.deepEqual(ours(tz, from, to), expected, `${tz} ${year}`);
    }
  });

  it('matches the independent scan in every 8th zone Node knows, 1999–2001 and 2024–2027', () => {
    const zones = Intl.supportedValuesOf('timeZone').filter((_, i) => i % 8 === 0);
    for (const tz of zones) {
      for (const [a, b] of [
        [1999, 2002],
        [2024, 2028],
      ] as const) {
        const from = Date.UTC(a, 0, 1);
        const to = Date.UTC(b, 0, 1);
        assert.deepEqual(ours(tz, from, to), intlScan(tz, from, to, 6 * HOUR), `${tz} ${a}–${b - 1}`);
      }
    }
  });

  it('reads offsets with seconds (local mean time) and 15-minute ones', () => {
    // São Paulo kept local mean time, −03:06:28, until 1914.
    assert.equal(offsetAt(zoneOf('America/Sao_Paulo', ''), Date.UTC(1900, 5, 1)), -(3 * 3600 + 6 * 60 + 28) * 1000);
    assert.equal(offsetAt(zoneOf('Asia/Kathmandu', ''), Date.UTC(2025, 5, 1)), (5 * 60 + 45) * 60_000);
    assert.equal(offsetAt(zoneOf('Pacific/Chatham', ''), Date.UTC(2025, 0, 1)), (13 * 60 + 45) * 60_000);
    assert.equal(offsetAt(zoneOf('America/St_Johns', ''), Date.UTC(2025, 0, 1)), -(3 * 60 + 30) * 60_000);
  });

  it('canonicalises names and rejects unknown ones, naming the expression', () => {
    assert.equal(zoneOf('america/new_york', '').name, 'America/New_York');
    assert.equal(zoneOf('US/Eastern', '').name, 'America/New_York');
    assert.equal(zoneOf(undefined, '').name, 'UTC');
    assert.equal(zoneOf('Etc/UTC', '').name, 'UTC');
    for (const tz of ['Mars/Olympus', '', 42]) {
      assert.throws(
        () => zoneOf(tz, '0 9 * * *'),
        (e: unknown) => e instanceof ValidationError && e.message.startsWith('Expected `tz` to be an IANA time zone name') && e.message.includes("'0 9 * * *'"),
        String(tz),
      );
    }
  });
});

describe('zone edges (each kills a Stryker survivor of zone.ts)', () => {
  const HOUR = 3_600_000;
  // New York 2021, from the tz database: EST (−5 h) to EDT (−4 h) at 2021-03-14 07:00 UTC, back at 2021-11-07 06:00 UTC.
  const SPRING = Date.UTC(2021, 2, 14, 7);
  const FALL = Date.UTC(2021, 10, 7, 6);

  it('a zone name that is not a string is refused, even one whose toString names a real zone; the cause is Intl-independent', () => {
    const sneaky = { toString: () => 'Europe/London' };
    assert.throws(
      () => zoneOf(sneaky, '0 * * * *'),
      (error: unknown) => error instanceof ValidationError && error.cause instanceof RangeError,
    );
    assert.throws(() => zoneOf('', '0 * * * *'), (error: unknown) => error instanceof ValidationError && error.cause instanceof RangeError);
  });

  it('an alias of UTC is the UTC zone itself: no offset source, one endless period', () => {
    const utc = zoneOf(undefined, '0 * * * *');
    assert.equal(zoneOf('Etc/UTC', '0 * * * *'), utc);
    assert.equal(utc.format, undefined);
    assert.deepEqual(periodAt(utc, Date.UTC(2021, 5, 1)), { start: -Infinity, end: Infinity, offset: 0 });
    assert.deepEqual(transitionsIn(utc, Date.UTC(2021, 0, 1), Date.UTC(2022, 0, 1)), []);
  });

  it("transitionsIn lists a year's changes with their offsets, and a range of one instant holds the change at that instant", () => {
    const ny = zoneOf('America/New_York', '0 * * * *');
    assert.deepEqual(transitionsIn(ny, Date.UTC(2021, 0, 1), Date.UTC(2022, 0, 1)), [
      { at: SPRING, before: -5 * HOUR, after: -4 * HOUR },
      { at: FALL, before: -4 * HOUR, after: -5 * HOUR },
    ]);
    assert.deepEqual(transitionsIn(ny, SPRING, SPRING), [{ at: SPRING, before: -5 * HOUR, after: -4 * HOUR }]);
    assert.deepEqual(transitionsIn(ny, SPRING + 1, FALL - 1), []);
    assert.deepEqual(transitionsIn(ny, FALL, SPRING), [], 'an empty range');
    const summer = periodAt(ny, Date.UTC(2021, 6, 1));
    assert.deepEqual(summer, { start: SPRING, end: FALL, offset: -4 * HOUR });
  });
});
