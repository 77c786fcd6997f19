import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
