/**
 * `rateLimit` at the public boundary (the constructor's, scheduler-wide, and
 * register's, per job name): validation, and the limits a claim carries.
 * The windows live in the stores (store/rate-limits.ts, the Redis CLAIM
 * script), so a shared store shares them across processes.
 */
import { RateLimitError, ValidationError } from '../errors.js';
import type { ClaimRequest, RateLimit } from '../store/store.js';
import { checkDelay, checkOptionsObject, checkPositiveInt, show } from '../validate.js';

/** Longest window: beyond it a limit is a schedule, not a rate. */
const MAX_WINDOW_MS = 7 * 24 * 3_600_000;

/** Validates `{ max, durationMs }`. */
export function checkRateLimit(value: unknown, what: string): RateLimit {
  const o = checkOptionsObject(value, what);
  if (!o) throw new ValidationError(`Expected \`${what}\` to be { max, durationMs }, got undefined`);
  for (const key of Object.keys(o)) {
    if (key !== 'max' && key !== 'durationMs') throw new ValidationError(`Unknown option \`${what}.${key}\` (expected one of max, durationMs)`);
  }
  const max = checkPositiveInt(o.max, `${what}.max`);
  const durationMs = o.durationMs;
  if (typeof durationMs !== 'number' || !Number.isInteger(durationMs) || durationMs <= 0 || durationMs > MAX_WINDOW_MS) {
    throw new ValidationError(`Expected \`${what}.durationMs\` to be a whole number of ms from 1 to ${MAX_WINDOW_MS} (7 days), got ${show(durationMs)}`);
  }
  return { max, durationMs };
}

/** The scheduler's rate limits: one for every name together, one per registered name. */
export class RateLimits {
  global: RateLimit | undefined;
  private readonly byName = new Map<string, RateLimit>();
  private readonly lookup = (name: string): RateLimit | undefined => this.byName.get(name);

  set(name: string, limit: RateLimit | undefined): void {
    if (limit === undefined) this.byName.delete(name);
    else this.byName.set(name, limit);
  }

  /** Whether a claim of a job of `name` counts in some window (its name's, or the store-wide one). */
  counts(name: string): boolean {
    return this.global !== undefined || this.byName.has(name);
  }

  /** Adds the limits to a claim; a claim with none keeps the store's fast path. */
  apply(request: ClaimRequest): void {
    if (this.byName.size > 0) request.rateLimit = this.lookup;
    if (this.global !== undefined) request.globalRateLimit = this.global;
  }
}

/**
 * `job.rateLimit(ms)`: the remote side pushed back. Throws the RateLimitError
 * that ends the attempt (module-level, so a job context costs no closure).
 */
export function throwRateLimit(ms: number): never {
  throw new RateLimitError(Math.ceil(checkDelay(ms, 'ms')));
}

/** The push-back a handler's failure asks for, ms; undefined for an ordinary failure. */
export function pushBackOf(value: unknown): number | undefined {
  try {
    if (!(value instanceof RateLimitError)) return undefined;
    const ms = value.delayMs;
    return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? Math.ceil(ms) : 0;
  } catch {
    // A thrown Proxy whose traps throw: an ordinary failure (toError describes it).
    return undefined;
  }
}
