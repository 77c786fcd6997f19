/**
 * backoffDelay against the formula of SPEC §2, with its injectable random
 * source (issue 19: a halved jitter range survived every other test).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_RETRY, backoffDelay, validateRetry } from '../src/retry.js';
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

  it('a function returning NaN, a negative or a non-number is a ValidationError saying what it returned', () => {
    for (const bad of [Number.NaN, -1, Infinity, '5' as unknown as number]) {
      assert.throws(
        () => backoffDelay(() => bad, 1, boom),
        (e: unknown) => e instanceof ValidationError && e.message === `Expected the backoff function to return a finite number >= 0, got ${String(bad)}`,
      );
    }
  });

  it('the default policy is the SPEC one: 3 retries, exponential from 1 s, doubling, no jitter', () => {
    assert.equal(DEFAULT_RETRY.maxRetries, 3);
    validateRetry(DEFAULT_RETRY, 'retry', false);
    const waits = [1, 2, 3].map((n) => backoffDelay(DEFAULT_RETRY.backoff, n, boom, () => 0.999));
    assert.deepEqual(waits, [1000, 2000, 4000]);
  });
});

describe('validateRetry', () => {
  // SPEC §6: a clear message in the "Expected `x` to be …, got …" shape, naming the option.
  const refused: [string, unknown, string][] = [
    ['not an object', 3, 'Expected `retry` to be { maxRetries, backoff }, got 3'],
    ['null', null, 'Expected `retry` to be { maxRetries, backoff }, got null'],
    ['unknown key', { maxRetries: 1, backoff: { type: 'fixed', delay: 1 }, attempts: 3 }, 'Unknown option `retry.attempts` (expected maxRetries, backoff)'],
    ['negative maxRetries', { maxRetries: -1, backoff: { type: 'fixed', delay: 1 } }, 'Expected `retry.maxRetries` to be an integer >= 0, got -1'],
    ['fractional maxRetries', { maxRetries: 1.5, backoff: { type: 'fixed', delay: 1 } }, 'Expected `retry.maxRetries` to be an integer >= 0, got 1.5'],
    ['missing maxRetries', { backoff: { type: 'fixed', delay: 1 } }, 'Expected `retry.maxRetries` to be an integer >= 0, got undefined'],
    ['missing backoff', { maxRetries: 1 }, "Expected `retry.backoff` to be { type: 'fixed' | 'exponential', delay }, got undefined"],
    ['null backoff', { maxRetries: 1, backoff: null }, "Expected `retry.backoff` to be { type: 'fixed' | 'exponential', delay }, got null"],
    ['unknown type', { maxRetries: 1, backoff: { type: 'linear', delay: 1 } }, "Expected `retry.backoff.type` to be 'fixed' or 'exponential', got linear"],
    ['type not a string', { maxRetries: 1, backoff: { type: 7, delay: 1 } }, "Expected `retry.backoff.type` to be 'fixed' or 'exponential', got 7"],
    ['type in an array', { maxRetries: 1, backoff: { type: ['fixed'], delay: 1 } }, "Expected `retry.backoff.type` to be 'fixed' or 'exponential', got fixed"],
    ['inherited type name', { maxRetries: 1, backoff: { type: 'toString', delay: 1 } }, "Expected `retry.backoff.type` to be 'fixed' or 'exponential', got toString"],
    ['jitter on fixed', { maxRetries: 1, backoff: { type: 'fixed', delay: 1, jitter: 0.5 } }, "Unknown option `retry.backoff.jitter` for type 'fixed'"],
    ['negative delay', { maxRetries: 1, backoff: { type: 'fixed', delay: -1 } }, 'Expected `retry.backoff.delay` to be a finite number >= 0, got -1'],
    ['infinite delay', { maxRetries: 1, backoff: { type: 'fixed', delay: Infinity } }, 'Expected `retry.backoff.delay` to be a finite number >= 0, got Infinity'],
    ['string delay', { maxRetries: 1, backoff: { type: 'fixed', delay: '5' } }, 'Expected `retry.backoff.delay` to be a finite number >= 0, got 5'],
    ['factor below 1', { maxRetries: 1, backoff: { type: 'exponential', delay: 1, factor: 0.5 } }, 'Expected `retry.backoff.factor` to be a finite number >= 1, got 0.5'],
    ['NaN factor', { maxRetries: 1, backoff: { type: 'exponential', delay: 1, factor: Number.NaN } }, 'Expected `retry.backoff.factor` to be a finite number >= 1, got NaN'],
    ['negative maxDelay', { maxRetries: 1, backoff: { type: 'exponential', delay: 1, maxDelay: -1 } }, 'Expected `retry.backoff.maxDelay` to be a finite number >= 0, got -1'],
    ['jitter above 1', { maxRetries: 1, backoff: { type: 'exponential', delay: 1, jitter: 1.01 } }, 'Expected `retry.backoff.jitter` to be a number in [0, 1], got 1.01'],
    ['negative jitter', { maxRetries: 1, backoff: { type: 'exponential', delay: 1, jitter: -0.1 } }, 'Expected `retry.backoff.jitter` to be a number in [0, 1], got -0.1'],
  ];

  for (const [label, value, message] of refused) {
    it(`refuses ${label} with a message naming the option`, () => {
      assert.throws(
        () => validateRetry(value, 'retry', true),
        (e: unknown) => e instanceof ValidationError && e.message === message,
      );
    });
  }

  it('a backoff function is refused where options are stored with a job, accepted where they are not', () => {
    const retry = { maxRetries: 1, backoff: () => 10 };
    assert.throws(
      () => validateRetry(retry, 'options.retry', false),
      (e: unknown) => e instanceof ValidationError && e.message === 'Expected `options.retry.backoff` to be JSON (a function cannot be stored with a job; pass it to register() instead)',
    );
    assert.doesNotThrow(() => validateRetry(retry, 'options.retry', true));
  });

  it('accepts every limit value: no retries, zero delays, factor 1, jitter 0 and 1', () => {
    const good: unknown[] = [
      { maxRetries: 0, backoff: { type: 'fixed', delay: 0 } },
      { maxRetries: 5, backoff: { type: 'exponential', delay: 0, factor: 1, maxDelay: 0, jitter: 0 } },
      { maxRetries: 1, backoff: { type: 'exponential', delay: 10, jitter: 1 } },
      { maxRetries: 1, backoff: { type: 'exponential', delay: 10 } },
    ];
    for (const retry of good) {
      // A refusal would throw; an accepted policy must also compute a wait.
      validateRetry(retry, 'retry', false);
      const { backoff } = retry as { backoff: Parameters<typeof backoffDelay>[0] };
      assert.ok(Number.isFinite(backoffDelay(backoff, 2, boom, () => 0.5)), JSON.stringify(retry));
    }
  });
});
