/**
 * backoffDelay against the formula of SPEC §2, with its injectable random
 * source (issue 19: a halved jitter range survived every other test).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { backoffDelay } from '../src/retry.js';
import { ValidationError } from '../src/errors.js';

const boom = new Error('boom');

describe('backoffDelay', () => {
  it('jitter multiplies by a uniform value in [1 − jitter, 1]: random 0 gives the full wait, random → 1 gives (1 − jitter) of it', () => {
    const backoff = { type: 'exponential' as const, delay: 1000, jitter: 0.5 };
    assert.equal(backoffDelay(backoff, 1, boom, () => 0), 1000);
    assert.equal(backoffDelay(backoff, 1, boom, () => 0.999999), 501);
    assert.equal(backoffDelay(backoff, 1, boom, () => 0.5), 750);
    assert.equal(backoffDelay(backoff, 3, boom, () => 0.5), 3000, '1000 × 2² × 0.75');
  });

  it('matches the SPEC formula for every exponential policy (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 20 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (delay, factor, maxDelay, jitter, n, r) => {
          const backoff = { type: 'exponential' as const, delay, factor, jitter, ...(maxDelay === undefined ? {} : { maxDelay }) };
          const base = Math.min(maxDelay ?? Infinity, delay * factor ** (n - 1));
          const expected = Math.ceil(base * (1 - jitter * r));
          const got = backoffDelay(backoff, n, boom, () => r);
          assert.equal(got, expected);
          assert.ok(got >= Math.floor(base * (1 - jitter)) && got <= Math.ceil(base));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('fixed waits its delay; a function gets (retry, error) and is rounded up to whole ms', () => {
    assert.equal(backoffDelay({ type: 'fixed', delay: 250 }, 7, boom, () => 0.9), 250);
    const seen: [number, string][] = [];
    assert.equal(
      backoffDelay((n, e) => (seen.push([n, e.message]), 10.2), 2, boom),
      11,
    );
    assert.deepEqual(seen, [[2, 'boom']]);
    assert.equal(backoffDelay(() => 0, 1, boom), 0, 'no wait is a valid answer');
  });

  it('a function returning NaN, a negative or a non-number is a ValidationError', () => {
    for (const bad of [Number.NaN, -1, Infinity, '5' as unknown as number]) {
      assert.throws(() => backoffDelay(() => bad, 1, boom), ValidationError);
    }
  });
});
