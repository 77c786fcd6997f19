/**
 * Checking a recurrence spec at the public boundary (`validateRecurrence`) and telling whether
 * two declarations describe the same schedule (`recurrenceSignature`). The slot arithmetic
 * behind both is in `slots.ts`; it trusts what passes here.
 */

import { ValidationError } from '../errors.js';
import type { MisfirePolicy } from '../types.js';
import { MAX_TIME } from '../validate.js';
import { compileCron } from './expression.js';
import { iso, quote } from './format.js';
import { firstSlot, type RecurrenceSpec } from './slots.js';
import { zoneOf } from './zone.js';

/** Input of {@link recurrenceSignature}: the declared schedule plus any other options that define it. */
export type RecurrenceDeclaration = RecurrenceSpec & {
  misfire?: MisfirePolicy | undefined;
  limit?: number | undefined;
  [option: string]: unknown;
};

/**
 * Zone names that are a fixed offset although people use them for a region that has daylight
 * saving time: `'EST'` is UTC−05:00 all year (tzdb links it to America/Panama), so a job meant
 * for New York would run an hour off from March to November. Rejected, with the zone to use.
 */
const FIXED_ABBREVIATIONS: Readonly<Record<string, { offset: string; region: string; fixed: string }>> = {
  EST: { offset: 'UTC−05:00', region: "'America/New_York' (Eastern time, with DST)", fixed: "'America/Panama'" },
  MST: { offset: 'UTC−07:00', region: "'America/Denver' (Mountain time, with DST)", fixed: "'America/Phoenix'" },
};

/**
 * Checks a spec before it is stored and returns its first slot at or after `max(now, startAt)`.
 * Throws `ValidationError` (whose message quotes the expression) for: neither or both of
 * `cron`/`every`; an `every` that is not a positive whole number of ms up to 8.64e15; an
 * expression that is unparseable, not 5 or 6 fields or a known `@name`, uses `H`, or never
 * fires (`'0 0 30 2 *'`); an unknown `tz`, or `'EST'`/`'MST'` (fixed offsets: use the region's
 * IANA name); `tz` or `anchor` on the wrong kind; times that are not safe integers; `endAt`
 * before `startAt`; no slot at or after `max(now, startAt)` up to `endAt`.
 */
export function validateRecurrence(spec: RecurrenceSpec, now: number): number {
  if (typeof spec !== 'object' || spec === null) {
    throw new ValidationError(`Expected a recurrence spec object, got ${String(spec)}`);
  }
  if ((spec.cron === undefined) === (spec.every === undefined)) {
    throw new ValidationError(
      `Expected exactly one of \`cron\` and \`every\`, got ${spec.cron === undefined ? 'neither' : `both (cron ${quote(spec.cron)}, every ${quote(spec.every)})`}`,
    );
  }
  // The interval first: a caller derives `anchor` from it, so a bad `every` would otherwise be
  // reported as a bad anchor the user never passed.
  if (spec.every !== undefined && (typeof spec.every !== 'number' || !Number.isSafeInteger(spec.every) || spec.every <= 0 || spec.every > MAX_TIME)) {
    throw new ValidationError(`Expected \`every\` to be a whole number of milliseconds from 1 to 8.64e15, got ${quote(spec.every)}`);
  }
  for (const key of ['startAt', 'endAt', 'anchor'] as const) {
    const value = spec[key];
    if (value !== undefined && !isTime(value)) {
      throw new ValidationError(
        key === 'anchor' && spec.every !== undefined
          ? `Expected the first slot of every ${spec.every} ms to be a date within ±8.64e15 ms, got ${quote(value)}`
          : `Expected \`${key}\` to be a safe integer of epoch milliseconds, got ${quote(value)}`,
      );
    }
  }
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new ValidationError(`Expected \`now\` to be epoch milliseconds, got ${quote(now)}`);
  if (spec.startAt !== undefined && spec.endAt !== undefined && spec.endAt < spec.startAt) {
    throw new ValidationError(
      `Expected \`endAt\` to be at or after \`startAt\` (${iso(spec.startAt)}), got ${iso(spec.endAt)} (${describe(spec)})`,
    );
  }
  if (spec.every !== undefined) {
    if (spec.tz !== undefined) {
      throw new ValidationError(`Expected \`tz\` only with \`cron\`, got tz ${quote(spec.tz)} with every ${spec.every} ms`);
    }
  } else {
    if (spec.anchor !== undefined) {
      throw new ValidationError(`Expected \`anchor\` only with \`every\`, got anchor ${quote(spec.anchor)} with cron ${quote(spec.cron)}`);
    }
    compileCron(spec.cron);
    checkZone(spec.tz, spec.cron);
  }
  const from = Math.max(now, spec.startAt ?? now);
  const first = firstSlot(spec, from);
  if (first === undefined) {
    throw new ValidationError(
      spec.endAt !== undefined
        ? `Expected ${describe(spec)} to fire between ${iso(from)} and endAt ${iso(spec.endAt)}, got no slot`
        : spec.cron !== undefined
          ? // Not "never fires": an expression whose days never occur is refused by compileCron
            // above, so here the next slot lies past the end of representable time.
            `Expected cron expression ${quote(spec.cron)} to fire after ${iso(from)}, got no slot before ${iso(MAX_TIME)} (the end of representable time)`
          : `Expected every ${spec.every} ms to fire before ${iso(MAX_TIME)}, got no slot after ${iso(from)}`,
    );
  }
  return first;
}

function checkZone(tz: unknown, expression: unknown): void {
  const fixed = typeof tz === 'string' ? FIXED_ABBREVIATIONS[tz.toUpperCase()] : undefined;
  if (fixed) {
    throw new ValidationError(
      `Expected \`tz\` to be an IANA region name, got ${quote(tz)} (cron expression ${quote(expression)}): ${quote(tz)} is a fixed ${fixed.offset} ` +
        `offset with no daylight saving time; use ${fixed.region}, or ${fixed.fixed} for a fixed ${fixed.offset}`,
    );
  }
  zoneOf(tz, expression);
}

/**
 * A canonical string of the options that define a schedule, to tell whether a re-declared
 * schedule with the same id is "the same" (SPEC §2 `onDuplicate`). Keys are sorted, `undefined`
 * values dropped, Dates become epoch ms, the expression's whitespace is collapsed, the zone
 * name is canonicalised and the defaults are filled in (`tz: 'UTC'` for cron, `misfire: 'once'`). `anchor` is left out: the
 * scheduler derives it from the time of the first declaration, so it differs at every start-up.
 */
export function recurrenceSignature(declaration: RecurrenceDeclaration): string {
  const { anchor: _anchor, ...rest } = declaration;
  const canonical: Record<string, unknown> = { ...rest, misfire: rest.misfire ?? 'once' };
  if (typeof rest.cron === 'string') {
    canonical.cron = rest.cron.trim().replace(/\s+/g, ' ');
    canonical.tz = canonicalZone(rest.tz);
  }
  return JSON.stringify(canonicalize(canonical, 'declaration'));
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) <= MAX_TIME;
}

function describe(spec: RecurrenceSpec): string {
  return spec.cron !== undefined ? `cron expression ${quote(spec.cron)}` : `every ${quote(spec.every)} ms`;
}

/** The zone's canonical name ('america/new_york' → 'America/New_York'), or the input if unknown. */
function canonicalZone(tz: unknown): unknown {
  try {
    return zoneOf(tz, undefined).name;
  } catch {
    return tz;
  }
}

function canonicalize(value: unknown, path: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(`Expected \`${path}\` to be a finite number, got ${value}`);
    return Object.is(value, -0) ? 0 : value;
  }
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map((item, i) => canonicalize(item === undefined ? null : item, `${path}[${i}]`));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item !== undefined) out[key] = canonicalize(item, `${path}.${key}`);
    }
    return out;
  }
  throw new ValidationError(`Expected \`${path}\` to be a JSON value, got a ${typeof value}`);
}
