/**
 * How the cron modules quote values in their `ValidationError` messages: expressions and zone
 * names in single quotes (`'0 0 30 2 *'`), as users write them in code.
 */

import { MAX_TIME } from '../validate.js';

/** A value as it would appear in the user's code, for messages. */
export function quote(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  // NaN and ±Infinity as written (JSON would say null); booleans, null and undefined come out of JSON.stringify as written too.
  if (typeof value === 'number') return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/** An instant as ISO 8601, or the raw number when it is not a valid date. */
export function iso(t: number): string {
  return Number.isFinite(t) && Math.abs(t) <= MAX_TIME ? new Date(t).toISOString() : String(t);
}
