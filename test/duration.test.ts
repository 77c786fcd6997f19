import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDuration } from '../src/duration.js';
import { ValidationError } from '../src/errors.js';

describe('parseDuration', () => {
  it('returns milliseconds for numbers', () => {
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration(250), 250);
    assert.equal(parseDuration(1.5), 1.5);
    assert.ok(Object.is(parseDuration(-0), 0));
    assert.equal(parseDuration(2 ** 40), 2 ** 40);
  });

  it('parses unit strings', () => {
    const cases: [string, number][] = [
      ['500ms', 500],
      ['90s', 90_000],
      ['10m', 600_000],
      ['1h30m', 5_400_000],
      ['2d', 172_800_000],
      ['1w', 604_800_000],
      ['1d2h3m4s', 93_784_000],
      ['1d2h3m4s5ms', 93_784_005],
      ['1s500ms', 1500],
      ['1h 30m', 5_400_000],
      ['  45s  ', 45_000],
      ['1.5h', 5_400_000],
      ['0.25s', 250],
      ['1.0005s', 1001],
      ['0s', 0],
      ['1500', 1500],
      ['0', 0],
    ];
    for (const [input, expected] of cases) assert.equal(parseDuration(input), expected, input);
  });

  it('rejects anything else with "Expected ... got ..."', () => {
    const bad: unknown[] = [
      -1,
      Number.NaN,
      Infinity,
      -Infinity,
      2 ** 60,
      '',
      '   ',
      '1x',
      '1.5.2h',
      '-5s',
      '+5s',
      '1h1h',
      '30m1h',
      '1ms5s',
      'h',
      '1 h x',
      '1m30',
      '1H',
      '.5s',
      '5.s',
      '1e3',
      '99999999999999999999',
      '9999999999999999d',
      null,
      undefined,
      true,
      {},
      [],
    ];
    for (const input of bad) {
      assert.throws(
        () => parseDuration(input as string),
        (error: unknown) =>
          error instanceof ValidationError && error.code === 'ERR_VALIDATION' && /^Expected a duration.*, got .+$/.test(error.message),
        `accepted ${String(input)}`,
      );
    }
    assert.throws(() => parseDuration('1.5.2h'), { message: /got "1\.5\.2h"$/ });
    assert.throws(() => parseDuration(-1), { message: /got -1$/ });
  });
});

describe('parseDuration (property)', () => {
  const UNIT_MS: [string, number][] = [
    ['w', 604_800_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ];
  /** A number as written in a file: digits, optionally with a fraction. */
  const amount = fc.tuple(fc.integer({ min: 0, max: 9_999 }), fc.option(fc.integer({ min: 0, max: 999 }), { nil: undefined })).map(([whole, frac]) => ({
    text: frac === undefined ? String(whole) : `${whole}.${String(frac).padStart(3, '0')}`,
    value: frac === undefined ? whole : whole + frac / 1000,
  }));
  const space = fc.constantFrom('', ' ', '  ');

  it('any parts, largest unit first, each at most once: the sum of amount × unit, rounded to whole ms', () => {
    fc.assert(
      fc.property(fc.subarray(UNIT_MS, { minLength: 1 }), fc.array(fc.tuple(amount, space, space), { minLength: 6, maxLength: 6 }), space, (units, parts, lead) => {
        let text = lead;
        let exact = 0;
        units.forEach(([unit, ms], i) => {
          const [{ text: n, value }, gap, after] = parts[i]!;
          text += `${n}${gap}${unit}${after}`;
          exact += value * ms;
        });
        assert.equal(parseDuration(text), Math.round(exact), text);
      }),
      { numRuns: 500 },
    );
  });

  it('a unit repeated or out of order is a ValidationError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 99 }), (a, b, n) => {
        fc.pre(a >= b);
        // The first part's unit is no larger than the second's.
        const text = `${n}${UNIT_MS[a]![0]}${n}${UNIT_MS[b]![0]}`;
        assert.throws(() => parseDuration(text), ValidationError, text);
      }),
      { numRuns: 200 },
    );
  });

  it('digits alone are milliseconds; a number is itself', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ms) => {
        assert.equal(parseDuration(String(ms)), ms);
        assert.equal(parseDuration(ms), ms);
      }),
    );
  });
});
