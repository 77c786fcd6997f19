/**
 * Backoff arithmetic. Retry n (n = 1 before the 2nd attempt) waits:
 * fixed: `delay`; exponential: `min(maxDelay ?? ∞, delay × factor^(n−1))`;
 * then times a uniform random value in [1 − jitter, 1]. Custom functions get
 * (n, error) and return ms.
 */
import { ValidationError } from './errors.js';
import type { Backoff, BackoffFunction, HandlerRetryOptions, RetryOptions } from './types.js';

/** The scheduler's default retry policy. */
export const DEFAULT_RETRY: RetryOptions = { maxRetries: 3, backoff: { type: 'exponential', delay: 1000 } };

/** Wait before retry `retry` (1-based), ms. `random` is injectable for tests. */
export function backoffDelay(
  backoff: Backoff | BackoffFunction,
  retry: number,
  error: Error,
  random: () => number = Math.random,
): number {
  let ms: number;
  if (typeof backoff === 'function') {
    ms = backoff(retry, error);
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new ValidationError(`Expected the backoff function to return a finite number >= 0, got ${String(ms)}`);
    }
    return Math.ceil(ms);
  }
  if (backoff.type === 'fixed') {
    ms = backoff.delay;
  } else {
    ms = backoff.delay * Math.pow(backoff.factor ?? 2, retry - 1);
    if (backoff.maxDelay !== undefined) ms = Math.min(backoff.maxDelay, ms);
    const jitter = backoff.jitter ?? 0;
    if (jitter > 0) ms *= 1 - jitter * random();
  }
  // Whole milliseconds, rounded up: due times are whole ms and never early.
  return Math.ceil(ms);
}

function isNonNegativeFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

const BACKOFF_KEYS: Record<string, readonly string[]> = {
  fixed: ['type', 'delay'],
  exponential: ['type', 'delay', 'factor', 'maxDelay', 'jitter'],
};

/**
 * Validates retry options. `allowFunction` is true for options given to the
 * constructor or `register` (not stored with a job).
 */
export function validateRetry(value: unknown, where: string, allowFunction: boolean): asserts value is HandlerRetryOptions {
  if (typeof value !== 'object' || value === null) {
    throw new ValidationError(`Expected \`${where}\` to be { maxRetries, backoff }, got ${String(value)}`);
  }
  const r = value as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (key !== 'maxRetries' && key !== 'backoff') throw new ValidationError(`Unknown option \`${where}.${key}\` (expected maxRetries, backoff)`);
  }
  if (!Number.isInteger(r.maxRetries) || (r.maxRetries as number) < 0) {
    throw new ValidationError(`Expected \`${where}.maxRetries\` to be an integer >= 0, got ${String(r.maxRetries)}`);
  }
  const b = r.backoff;
  if (typeof b === 'function') {
    if (!allowFunction) throw new ValidationError(`Expected \`${where}.backoff\` to be JSON (a function cannot be stored with a job; pass it to register() instead)`);
    return;
  }
  if (typeof b !== 'object' || b === null) {
    throw new ValidationError(`Expected \`${where}.backoff\` to be { type: 'fixed' | 'exponential', delay }, got ${String(b)}`);
  }
  const bo = b as Record<string, unknown>;
  // Own keys only: a type such as 'toString' must not find Object.prototype's.
  const allowed = typeof bo.type === 'string' && Object.hasOwn(BACKOFF_KEYS, bo.type) ? BACKOFF_KEYS[bo.type] : undefined;
  if (!allowed) throw new ValidationError(`Expected \`${where}.backoff.type\` to be 'fixed' or 'exponential', got ${String(bo.type)}`);
  for (const key of Object.keys(bo)) {
    if (!allowed.includes(key)) throw new ValidationError(`Unknown option \`${where}.backoff.${key}\` for type '${String(bo.type)}'`);
  }
  if (!isNonNegativeFinite(bo.delay)) throw new ValidationError(`Expected \`${where}.backoff.delay\` to be a finite number >= 0, got ${String(bo.delay)}`);
  if (bo.factor !== undefined && (!isNonNegativeFinite(bo.factor) || bo.factor < 1)) {
    throw new ValidationError(`Expected \`${where}.backoff.factor\` to be a finite number >= 1, got ${String(bo.factor)}`);
  }
  if (bo.maxDelay !== undefined && !isNonNegativeFinite(bo.maxDelay)) {
    throw new ValidationError(`Expected \`${where}.backoff.maxDelay\` to be a finite number >= 0, got ${String(bo.maxDelay)}`);
  }
  if (bo.jitter !== undefined && (!isNonNegativeFinite(bo.jitter) || bo.jitter > 1)) {
    throw new ValidationError(`Expected \`${where}.backoff.jitter\` to be a number in [0, 1], got ${String(bo.jitter)}`);
  }
}
