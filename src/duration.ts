/**
 * Durations as people write them in job files (SPEC §7 `delay`): a number of milliseconds, or
 * a string of number+unit parts from the largest unit down, such as '90s', '10m', '1h30m',
 * '2d' or '1d 2h 3m 4s'.
 */

import { ValidationError } from './errors.js';

const UNITS: Readonly<Record<string, number>> = {
  w: 604_800_000,
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
};
/** Largest first: each part must use a smaller unit than the one before it. */
const ORDER = ['w', 'd', 'h', 'm', 's', 'ms'];
const PART = /(\d+(?:\.\d+)?)\s*(ms|[wdhms])\s*/y;

/**
 * Milliseconds from a number (itself, which must be between 0 and `Number.MAX_SAFE_INTEGER`) or a string: digits alone
 * are milliseconds ('1500'); otherwise number+unit parts, units `w`, `d`, `h`, `m`, `s`, `ms`
 * from the largest down, each at most once, optionally separated by spaces; decimals are
 * allowed ('1.5h'). String results are rounded to whole milliseconds.
 * @throws {ValidationError} "Expected a duration ..., got ..." for anything else.
 * @example
 * parseDuration('1h30m'); // 5_400_000
 * parseDuration(250);     // 250
 */
export function parseDuration(input: number | string): number {
  if (typeof input === 'number') {
    // `+ 0` turns -0 into 0.
    if (input >= 0 && input <= Number.MAX_SAFE_INTEGER) return input + 0;
    return fail(input);
  }
  if (typeof input !== 'string') return fail(input);
  const text = input.trim();
  if (/^\d+$/.test(text)) return checked(Number(text), input);
  let total = 0;
  let rank = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const match = PART.exec(text);
    if (match === null || match.index !== start) return fail(input);
    const unit = match[2] as string;
    const unitRank = ORDER.indexOf(unit);
    if (unitRank <= rank) return fail(input);
    rank = unitRank;
    total += Number(match[1]) * (UNITS[unit] as number);
  }
  if (rank === -1) return fail(input);
  return checked(Math.round(total), input);
}

function checked(ms: number, input: unknown): number {
  return Number.isSafeInteger(ms) ? ms : fail(input);
}

function fail(input: unknown): never {
  let got: string;
  if (typeof input === 'string') got = JSON.stringify(input);
  else if (typeof input === 'number' || typeof input === 'bigint' || typeof input === 'boolean') got = String(input);
  else if (input === null || input === undefined) got = String(input);
  else got = `a ${typeof input}`;
  throw new ValidationError(
    `Expected a duration: milliseconds (a finite number >= 0) or a string like '500ms', '90s', '10m', '1h30m' or '2d', got ${got}`,
  );
}
