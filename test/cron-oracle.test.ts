/**
 * An independent oracle for cron slots: croner 11 (a separate implementation that follows the
 * same cronie DST rule) must fire at exactly the instants nextSlot/prevSlot give, for random
 * expressions, in zones with every kind of DST change, from random instants right around the
 * zones' transitions. countSlots is checked against the enumeration croner gives.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Cron, type CronOptions } from 'croner';
import { countSlots, nextSlot, prevSlot, validateRecurrence } from '../src/cron.js';
import { ValidationError } from '../src/errors.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Zones with 1-hour, 30-minute, negative (Dublin), 2-hour (Troll) and midnight DST changes, and none. */
const ZONES = [
  'America/New_York',
  'Europe/London',
  'Europe/Dublin',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'America/Sao_Paulo',
  'America/Santiago',
  'America/Havana',
  'Antarctica/Troll',
  'Asia/Kolkata',
  'UTC',
];

/** Offset changes of `tz` in [from, to), found with Intl alone (6-hourly samples, then bisection). */
function intlTransitions(tz: string, from: number, to: number): number[] {
  const format = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
  const offset = (t: number): string => format.format(t).split('GMT')[1] ?? '';
  const out: number[] = [];
  for (let t = from; t < to; t += 6 * HOUR) {
    if (offset(t) === offset(t + 6 * HOUR)) continue;
    let lo = t;
    let hi = t + 6 * HOUR;
    while (hi - lo > 1000) {
      const mid = Math.floor((lo + hi) / 2000) * 1000;
      if (offset(mid) === offset(t)) lo = mid;
      else hi = mid;
    }
    out.push(hi);
  }
  return out;
}

const FROM = Date.UTC(2017, 0, 1);
const TO = Date.UTC(2029, 0, 1);
const TRANSITIONS = new Map(ZONES.map((tz) => [tz, intlTransitions(tz, FROM, TO)]));

/** Our DST class (SPEC §2): interval when minute or hour starts with `*`, or seconds is not one number. */
function isInterval(fields: string[]): boolean {
  const [second, minute, hour] = fields.length === 6 ? fields : ['0', ...fields];
  return !/^\d+$/.test(second!) || minute!.startsWith('*') || hour!.startsWith('*');
}

/**
 * croner decides the class by its `fixedTimeRule`; pick the rule under which it agrees with
 * ours, or undefined when neither does (then the case is skipped, not compared wrongly).
 */
function cronerRule(fields: string[]): CronOptions['fixedTimeRule'] | undefined {
  const timeFields = fields.length === 6 ? fields.slice(0, 3) : ['0', ...fields.slice(0, 2)];
  const plain = timeFields.every((f) => !f.includes('*') && !f.includes('/'));
  const single = plain && timeFields.every((f) => /^\d+$/.test(f));
  const fixed = !isInterval(fields);
  if (fixed === plain) return 'no-wildcard';
  if (fixed === single) return 'single-value';
  return undefined;
}

const field = (options: string[]): fc.Arbitrary<string> => fc.constantFrom(...options);
const expression = fc
  .tuple(
    fc.option(field(['0', '30', '*/15', '0,30', '*/20', '*']), { nil: undefined, freq: 2 }),
    field(['*', '*/5', '*/15', '*/30', '0', '30', '0,30', '15-45/15', '5-10', '59']),
    field(['*', '*/2', '*/3', '0', '1', '2', '3', '0-3', '1,2,3', '9-17']),
    field(['*', '*', '*', '1', '15', 'L', '1,15', '29', '31']),
    field(['*', '*', '*', '3', '10,11', '2', '3-4,9-11']),
    field(['*', '*', '*', '0', '1-5', '5L', '1#2', 'SUN', 'MON-FRI', '6,0']),
  )
  .map(([second, ...rest]) => (second === undefined ? rest : [second, ...rest]));

const start = fc
  .tuple(fc.constantFrom(...ZONES), fc.nat(), fc.integer({ min: -3 * DAY, max: 3 * DAY }), fc.nat({ max: 59 }))
  .map(([tz, pick, shift, second]) => {
    const near = TRANSITIONS.get(tz)!;
    const base = near.length > 0 ? near[pick % near.length]! : FROM + (pick % (TO - FROM - 10 * DAY));
    // Whole seconds: croner works in seconds.
    return { tz, from: Math.floor((base + shift) / 60_000) * 60_000 + second * 1000 };
  });

/** False when validation says the expression never fires (croner must then find no fire time). */
function firesAtAll(cron: string): boolean {
  try {
    validateRecurrence({ cron }, FROM);
    return true;
  } catch (error) {
    if (error instanceof ValidationError && /never|no slot before/.test(error.message)) return false;
    throw error;
  }
}

const iso = (t: number | undefined | null): string => (t === undefined || t === null ? String(t) : new Date(t).toISOString());

/** croner for `fields` in `tz`, with the fixed-time rule that matches ours (skips the case if none does). */
function oracleFor(fields: string[], tz: string): { cron: string; oracle: Cron } {
  const rule = cronerRule(fields);
  fc.pre(rule !== undefined);
  const cron = fields.join(' ');
  return { cron, oracle: new Cron(cron, { timezone: tz, paused: true, fixedTimeRule: rule }) };
}

/** The next `n` slots after `from` by nextSlot equal croner's `nextRun` chain. */
function sameNext(fields: string[], tz: string, from: number, n: number): void {
  const { cron, oracle } = oracleFor(fields, tz);
  if (!firesAtAll(cron)) {
    assert.equal(oracle.nextRun(new Date(from)), null, `${cron}: croner fires, we said never`);
    return;
  }
  let ours: number | undefined = from;
  let theirs: Date | null = new Date(from);
  for (let i = 0; i < n; i++) {
    theirs = oracle.nextRun(theirs);
    ours = nextSlot({ cron, tz }, ours);
    assert.equal(iso(ours), iso(theirs?.getTime()), `${cron} in ${tz}, slot ${i + 1} after ${iso(from)}`);
    if (ours === undefined || theirs === null) break;
  }
}

/** The previous `n` slots before `from` by prevSlot equal croner's `previousRuns`. */
function samePrev(fields: string[], tz: string, from: number, n: number): void {
  const { cron, oracle } = oracleFor(fields, tz);
  fc.pre(firesAtAll(cron));
  const theirs = oracle.previousRuns(n, new Date(from)).map((d) => iso(d.getTime()));
  const ours: string[] = [];
  let t: number | undefined = from;
  while (ours.length < theirs.length && (t = prevSlot({ cron, tz }, t)) !== undefined) ours.push(iso(t));
  assert.deepEqual(ours, theirs, `${cron} in ${tz} before ${iso(from)}`);
}

describe('cron slots agree with croner 11 (oracle)', () => {
  it('nextSlot: the same next 12 fire times, from random instants around DST changes', () => {
    fc.assert(
      fc.property(expression, start, (fields, { tz, from }) => sameNext(fields, tz, from, 12)),
      { numRuns: 400 },
    );
  });

  it('prevSlot: the same previous 6 fire times', () => {
    fc.assert(
      fc.property(expression, start, (fields, { tz, from }) => samePrev(fields, tz, from, 6)),
      { numRuns: 200 },
    );
  });

  it('nextSlot and prevSlot in any zone Node knows, 1900–2100 (local mean times, odd offsets)', () => {
    const anyZone = fc.constantFrom(...Intl.supportedValuesOf('timeZone'));
    const instant = fc.integer({ min: Date.UTC(1900, 0, 1) / 1000, max: Date.UTC(2100, 0, 1) / 1000 }).map((s) => s * 1000);
    fc.assert(
      fc.property(expression, anyZone, instant, (fields, tz, from) => {
        sameNext(fields, tz, from, 4);
        samePrev(fields, tz, from, 2);
      }),
      { numRuns: 300 },
    );
  });

  it('countSlots over 3 days around a DST change equals the number of croner fire times', () => {
    // Every day, at most one fire time a minute: croner enumerates them one by one.
    const daily = expression.filter((fields) => fields.length === 5 && fields.slice(2).every((f) => f === '*'));
    fc.assert(
      fc.property(daily, start, (fields, { tz, from }) => {
        const { cron, oracle } = oracleFor(fields, tz);
        const until = from + 3 * DAY;
        let n = 0;
        for (let d = oracle.nextRun(new Date(from)); d !== null && d.getTime() <= until; d = oracle.nextRun(d)) n++;
        assert.ok(n > 0);
        assert.equal(countSlots({ cron, tz }, from, until), n, `${cron} in ${tz} over (${iso(from)}, ${iso(until)}]`);
      }),
      { numRuns: 60 },
    );
  });
});
