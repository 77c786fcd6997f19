import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MISFIRE_ALL_CAP,
  countSlots,
  firstSlot,
  nextSlot,
  planDue,
  prevSlot,
  recurrenceSignature,
  validateRecurrence,
  type RecurrenceSpec,
} from '../src/cron.js';
import { ValidationError } from '../src/errors.js';

const at = (iso: string): number => Date.parse(iso);
const MIN = 60_000;

/** Slots strictly after `from`, up to `until` (inclusive) or `max` of them, as ISO strings. */
function slots(spec: RecurrenceSpec, from: string, until: string, max = 100): string[] {
  const out: string[] = [];
  let t: number | undefined = at(from);
  while (out.length < max && (t = nextSlot(spec, t)) !== undefined && t <= at(until)) out.push(new Date(t).toISOString());
  return out;
}

/** Slots walking back from `before` down to `until` (exclusive), oldest first. */
function slotsBack(spec: RecurrenceSpec, before: string, until: string): string[] {
  const out: string[] = [];
  let t: number | undefined = at(before);
  while ((t = prevSlot(spec, t)) !== undefined && t > at(until)) out.unshift(new Date(t).toISOString());
  return out;
}

function wallClock(t: number, tz: string): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone: tz, dateStyle: 'short', timeStyle: 'medium' }).format(t);
}

function rejects(spec: RecurrenceSpec, now: number, ...fragments: (string | RegExp)[]): void {
  assert.throws(
    () => validateRecurrence(spec, now),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError, `expected ValidationError, got ${String(error)}`);
      assert.equal(error.code, 'ERR_VALIDATION');
      assert.match(error.message, /^Expected /);
      for (const f of fragments) {
        if (typeof f === 'string') assert.ok(error.message.includes(f), `message ${JSON.stringify(error.message)} lacks ${f}`);
        else assert.match(error.message, f);
      }
      return true;
    },
  );
}

describe('cron slots', () => {
  it('six fields: every 5 seconds for a minute', () => {
    const spec = { cron: '*/5 * * * * *' };
    const expected = Array.from({ length: 12 }, (_, i) => new Date(at('2025-01-01T00:00:00Z') + (i + 1) * 5000).toISOString());
    assert.deepEqual(slots(spec, '2025-01-01T00:00:00Z', '2025-01-01T00:01:00Z'), expected);
    assert.equal(expected[11], '2025-01-01T00:01:00.000Z');
    assert.deepEqual(slotsBack(spec, '2025-01-01T00:01:00.001Z', '2025-01-01T00:00:00Z'), expected);
    assert.equal(countSlots(spec, at('2025-01-01T00:00:00Z'), at('2025-01-01T00:01:00Z')), 12);
  });

  it('five fields have an implicit second 0; the slot is strictly after `after`', () => {
    assert.equal(nextSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:05:00Z')), at('2025-01-01T00:10:00Z'));
    assert.equal(nextSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:04:59.999Z')), at('2025-01-01T00:05:00Z'));
    assert.equal(prevSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:05:00Z')), at('2025-01-01T00:00:00Z'));
    assert.equal(prevSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:05:00.001Z')), at('2025-01-01T00:05:00Z'));
    assert.equal(firstSlot({ cron: '*/5 * * * *' }, at('2025-01-01T00:05:00Z')), at('2025-01-01T00:05:00Z'));
  });

  it('weekdays at 09:00 in Asia/Shanghai across a week', () => {
    // 2025-06-01 is a Sunday; Shanghai is UTC+8 all year.
    assert.deepEqual(slots({ cron: '0 9 * * 1-5', tz: 'Asia/Shanghai' }, '2025-05-31T16:00:00Z', '2025-06-08T15:59:59Z'), [
      '2025-06-02T01:00:00.000Z',
      '2025-06-03T01:00:00.000Z',
      '2025-06-04T01:00:00.000Z',
      '2025-06-05T01:00:00.000Z',
      '2025-06-06T01:00:00.000Z',
    ]);
    assert.deepEqual(slots({ cron: '0 0 9 * * MON-FRI', tz: 'Asia/Shanghai' }, '2025-06-06T01:00:00Z', '2025-06-10T00:00:00Z'), [
      '2025-06-09T01:00:00.000Z',
    ]);
  });

  it('`L` and `#`', () => {
    assert.deepEqual(slots({ cron: '0 0 L * *' }, '2024-01-01T00:00:00Z', '2024-04-30T23:00:00Z'), [
      '2024-01-31T00:00:00.000Z',
      '2024-02-29T00:00:00.000Z',
      '2024-03-31T00:00:00.000Z',
      '2024-04-30T00:00:00.000Z',
    ]);
    assert.deepEqual(slots({ cron: '0 0 L 2 *' }, '2025-01-01T00:00:00Z', '2028-12-31T00:00:00Z'), [
      '2025-02-28T00:00:00.000Z',
      '2026-02-28T00:00:00.000Z',
      '2027-02-28T00:00:00.000Z',
      '2028-02-29T00:00:00.000Z',
    ]);
    // Second Monday of each month.
    assert.deepEqual(slots({ cron: '0 12 * * 1#2' }, '2025-01-01T00:00:00Z', '2025-03-31T00:00:00Z'), [
      '2025-01-13T12:00:00.000Z',
      '2025-02-10T12:00:00.000Z',
      '2025-03-10T12:00:00.000Z',
    ]);
    // Last Friday of each month.
    assert.deepEqual(slots({ cron: '0 0 * * 5L' }, '2025-01-01T00:00:00Z', '2025-03-31T00:00:00Z'), [
      '2025-01-31T00:00:00.000Z',
      '2025-02-28T00:00:00.000Z',
      '2025-03-28T00:00:00.000Z',
    ]);
    // A fifth Monday in a February only happens in leap years starting on a Monday.
    assert.equal(nextSlot({ cron: '0 0 * 2 1#5' }, at('2025-01-01T00:00:00Z')), at('2044-02-29T00:00:00Z'));
  });

  it('@daily-style names', () => {
    const from = at('2025-01-01T00:00:00Z'); // a Wednesday
    const cases: [string, string][] = [
      ['@yearly', '2026-01-01T00:00:00Z'],
      ['@annually', '2026-01-01T00:00:00Z'],
      ['@monthly', '2025-02-01T00:00:00Z'],
      ['@weekly', '2025-01-05T00:00:00Z'],
      ['@daily', '2025-01-02T00:00:00Z'],
      ['@midnight', '2025-01-02T00:00:00Z'],
      ['@hourly', '2025-01-01T01:00:00Z'],
    ];
    for (const [cron, expected] of cases) {
      validateRecurrence({ cron }, from);
      assert.equal(nextSlot({ cron }, from), at(expected), cron);
    }
    assert.deepEqual(slots({ cron: '@daily', tz: 'Europe/Paris' }, '2025-07-01T00:00:00Z', '2025-07-03T00:00:00Z'), [
      '2025-07-01T22:00:00.000Z',
      '2025-07-02T22:00:00.000Z',
    ]);
  });

  it('startAt and endAt are inclusive bounds', () => {
    const spec = { cron: '0 * * * *', startAt: at('2025-01-01T10:30:00Z'), endAt: at('2025-01-01T13:00:00Z') };
    assert.deepEqual(slots(spec, '2025-01-01T00:00:00Z', '2030-01-01T00:00:00Z'), [
      '2025-01-01T11:00:00.000Z',
      '2025-01-01T12:00:00.000Z',
      '2025-01-01T13:00:00.000Z',
    ]);
    assert.equal(nextSlot(spec, at('2025-01-01T13:00:00Z')), undefined);
    assert.equal(prevSlot(spec, at('2030-01-01T00:00:00Z')), at('2025-01-01T13:00:00Z'));
    assert.equal(prevSlot(spec, at('2025-01-01T11:00:00Z')), undefined);
    assert.equal(countSlots(spec, 0, at('2030-01-01T00:00:00Z')), 3);
    const exact = { cron: '0 * * * *', startAt: at('2025-01-01T11:00:00Z'), endAt: at('2025-01-01T11:00:00Z') };
    assert.equal(firstSlot(exact, 0), at('2025-01-01T11:00:00Z'));
    assert.equal(nextSlot(exact, at('2025-01-01T11:00:00Z')), undefined);
  });
});

describe('DST: a slot runs once or not at all, never twice', () => {
  it('America/New_York spring forward (2025-03-09, 02:00 EST -> 03:00 EDT)', () => {
    // A daily 02:30 job runs once, at the first instant after the gap (03:00 EDT).
    assert.deepEqual(slots({ cron: '30 2 * * *', tz: 'America/New_York' }, '2025-03-08T00:00:00Z', '2025-03-10T23:00:00Z'), [
      '2025-03-08T07:30:00.000Z',
      '2025-03-09T07:00:00.000Z',
      '2025-03-10T06:30:00.000Z',
    ]);
    // Hourly: 01:00 EST, then 03:00 EDT once (02:00 does not exist and merges with 03:00).
    assert.deepEqual(slots({ cron: '0 * * * *', tz: 'America/New_York' }, '2025-03-09T04:30:00Z', '2025-03-09T09:00:00Z'), [
      '2025-03-09T05:00:00.000Z',
      '2025-03-09T06:00:00.000Z',
      '2025-03-09T07:00:00.000Z',
      '2025-03-09T08:00:00.000Z',
      '2025-03-09T09:00:00.000Z',
    ]);
    // 02:00, 02:30 and 03:00 are one slot; 03:30 is its own.
    assert.deepEqual(slots({ cron: '0 0,30 2,3 * * *', tz: 'America/New_York' }, '2025-03-09T00:00:00Z', '2025-03-09T12:00:00Z'), [
      '2025-03-09T07:00:00.000Z',
      '2025-03-09T07:30:00.000Z',
    ]);
    // Asked from inside the landing hour, the answer does not change.
    assert.equal(nextSlot({ cron: '30 2 * * *', tz: 'America/New_York' }, at('2025-03-09T06:59:59.999Z')), at('2025-03-09T07:00:00Z'));
    assert.equal(nextSlot({ cron: '30 2 * * *', tz: 'America/New_York' }, at('2025-03-09T07:00:00Z')), at('2025-03-10T06:30:00Z'));
  });

  it('America/New_York fall back (2025-11-02, 02:00 EDT -> 01:00 EST)', () => {
    assert.deepEqual(slots({ cron: '30 2 * * *', tz: 'America/New_York' }, '2025-11-01T00:00:00Z', '2025-11-03T23:00:00Z'), [
      '2025-11-01T06:30:00.000Z',
      '2025-11-02T07:30:00.000Z',
      '2025-11-03T07:30:00.000Z',
    ]);
    // The repeated 01:30 runs once, at its first (EDT) occurrence.
    assert.deepEqual(slots({ cron: '0 30 1 * * *', tz: 'America/New_York' }, '2025-11-01T00:00:00Z', '2025-11-03T23:00:00Z'), [
      '2025-11-01T05:30:00.000Z',
      '2025-11-02T05:30:00.000Z',
      '2025-11-03T06:30:00.000Z',
    ]);
    // Hourly: 00:00 EDT, 01:00 EDT, (01:00 EST is the same wall time: skipped), 02:00 EST.
    assert.deepEqual(slots({ cron: '0 * * * *', tz: 'America/New_York' }, '2025-11-02T03:30:00Z', '2025-11-02T08:00:00Z'), [
      '2025-11-02T04:00:00.000Z',
      '2025-11-02T05:00:00.000Z',
      '2025-11-02T07:00:00.000Z',
      '2025-11-02T08:00:00.000Z',
    ]);
    // From inside the repeated hour, the next slot is the first one after it.
    assert.equal(nextSlot({ cron: '*/5 * * * *', tz: 'America/New_York' }, at('2025-11-02T06:20:00Z')), at('2025-11-02T07:00:00Z'));
    assert.equal(prevSlot({ cron: '*/5 * * * *', tz: 'America/New_York' }, at('2025-11-02T06:20:00Z')), at('2025-11-02T05:55:00Z'));
  });

  it('Europe/London spring forward (2025-03-30, 01:00 GMT -> 02:00 BST)', () => {
    assert.deepEqual(slots({ cron: '30 1 * * *', tz: 'Europe/London' }, '2025-03-29T00:00:00Z', '2025-03-31T23:00:00Z'), [
      '2025-03-29T01:30:00.000Z',
      '2025-03-30T01:00:00.000Z',
      '2025-03-31T00:30:00.000Z',
    ]);
    assert.deepEqual(slots({ cron: '0 * * * *', tz: 'Europe/London' }, '2025-03-29T23:30:00Z', '2025-03-30T03:00:00Z'), [
      '2025-03-30T00:00:00.000Z',
      '2025-03-30T01:00:00.000Z',
      '2025-03-30T02:00:00.000Z',
      '2025-03-30T03:00:00.000Z',
    ]);
  });

  it('Europe/London fall back (2025-10-26, 02:00 BST -> 01:00 GMT)', () => {
    assert.deepEqual(slots({ cron: '30 1 * * *', tz: 'Europe/London' }, '2025-10-25T00:00:00Z', '2025-10-27T23:00:00Z'), [
      '2025-10-25T00:30:00.000Z',
      '2025-10-26T00:30:00.000Z',
      '2025-10-27T01:30:00.000Z',
    ]);
    assert.deepEqual(slots({ cron: '0 * * * *', tz: 'Europe/London' }, '2025-10-25T22:30:00Z', '2025-10-26T03:00:00Z'), [
      '2025-10-25T23:00:00.000Z',
      '2025-10-26T00:00:00.000Z',
      '2025-10-26T02:00:00.000Z',
      '2025-10-26T03:00:00.000Z',
    ]);
    // Sub-hourly expressions pause for the repeated hour.
    assert.deepEqual(slots({ cron: '*/15 * * * *', tz: 'Europe/London' }, '2025-10-26T00:20:00Z', '2025-10-26T02:30:00Z'), [
      '2025-10-26T00:30:00.000Z',
      '2025-10-26T00:45:00.000Z',
      '2025-10-26T02:00:00.000Z',
      '2025-10-26T02:15:00.000Z',
      '2025-10-26T02:30:00.000Z',
    ]);
  });

  it('no wall-clock time fires twice, forwards, backwards and counted', () => {
    const cases: [string, string, string][] = [
      ['America/New_York', '*/10 * * * *', '2025-11-01T12:00:00Z'],
      ['America/New_York', '*/10 * * * *', '2025-03-08T12:00:00Z'],
      ['Europe/London', '*/20 * * * *', '2025-10-25T12:00:00Z'],
      ['Australia/Lord_Howe', '*/10 * * * *', '2025-04-05T00:00:00Z'], // a 30-minute DST shift
      ['America/Sao_Paulo', '0 0 * * *', '2018-11-02T12:00:00Z'], // midnight did not exist on 2018-11-04
    ];
    for (const [tz, cron, from] of cases) {
      const spec = { cron, tz };
      const until = new Date(at(from) + 2 * 86_400_000).toISOString();
      const forward = slots(spec, from, until, 10_000);
      const walls = forward.map((iso) => wallClock(Date.parse(iso), tz));
      assert.equal(new Set(walls).size, walls.length, `${tz} ${cron}: a wall time fired twice`);
      assert.deepEqual(slotsBack(spec, new Date(at(until) + 1).toISOString(), from), forward, `${tz} ${cron}`);
      assert.equal(countSlots(spec, at(from), at(until)), forward.length, `${tz} ${cron}`);
    }
    // Sao Paulo's missing midnight ran once, at 01:00 -02.
    assert.equal(nextSlot({ cron: '0 0 * * *', tz: 'America/Sao_Paulo' }, at('2018-11-03T03:00:00Z')), at('2018-11-04T03:00:00Z'));
  });

  it('counts a year of seconds across both transitions without enumerating them', () => {
    const started = performance.now();
    const n = countSlots({ cron: '* * * * * *', tz: 'America/New_York' }, at('2025-01-01T00:00:00Z'), at('2026-01-01T00:00:00Z'));
    // The spring-forward hour's 3600 walls merge into one slot with 03:00:00; fall back adds none.
    assert.equal(n, 365 * 86_400 - 3600);
    assert.equal(countSlots({ cron: '* * * * * *' }, 0, at('2025-01-01T00:00:00Z'), 500), 500);
    assert.ok(performance.now() - started < 1000);
  });
});

describe('every', () => {
  it('slots are anchor + k × every, within bounds', () => {
    const spec = { every: 10 * MIN, anchor: at('2025-01-01T00:03:00Z') };
    assert.deepEqual(slots(spec, '2025-01-01T00:00:00Z', '2025-01-01T00:30:00Z'), [
      '2025-01-01T00:03:00.000Z',
      '2025-01-01T00:13:00.000Z',
      '2025-01-01T00:23:00.000Z',
    ]);
    assert.equal(nextSlot(spec, at('2025-01-01T00:13:00Z')), at('2025-01-01T00:23:00Z'));
    assert.equal(prevSlot(spec, at('2025-01-01T00:13:00Z')), at('2025-01-01T00:03:00Z'));
    assert.equal(prevSlot(spec, at('2025-01-01T00:13:00.001Z')), at('2025-01-01T00:13:00Z'));
    // Slots before the anchor exist too (the anchor fixes the phase, not the start).
    assert.equal(prevSlot(spec, at('2025-01-01T00:03:00Z')), at('2024-12-31T23:53:00Z'));
    assert.equal(countSlots(spec, at('2025-01-01T00:03:00Z'), at('2025-01-02T00:03:00Z')), 144);
  });

  it('defaults the anchor to startAt, then to the epoch', () => {
    const started = { every: 15 * MIN, startAt: at('2025-01-01T10:07:00Z'), endAt: at('2025-01-01T10:40:00Z') };
    assert.equal(firstSlot(started, 0), at('2025-01-01T10:07:00Z'));
    assert.deepEqual(slots(started, '2025-01-01T10:07:00Z', '2030-01-01T00:00:00Z'), [
      '2025-01-01T10:22:00.000Z',
      '2025-01-01T10:37:00.000Z',
    ]);
    assert.equal(prevSlot(started, at('2025-01-01T10:07:00Z')), undefined);
    assert.equal(nextSlot({ every: 15 * MIN }, at('2025-01-01T10:07:00Z')), at('2025-01-01T10:15:00Z'));
  });
});

describe('validateRecurrence', () => {
  const now = at('2025-01-01T00:00:00Z');

  it('accepts good specs', () => {
    validateRecurrence({ cron: '0 9 * * 1-5', tz: 'Asia/Shanghai' }, now);
    validateRecurrence({ cron: ' 0  0  9 * * * ' }, now);
    validateRecurrence({ cron: '0 0 29 2 *' }, now);
    validateRecurrence({ every: 1000, startAt: now, endAt: now + 5000 }, now);
    validateRecurrence({ every: 1000, anchor: 5 }, now);
  });

  it('rejects expressions that never fire, naming them', () => {
    rejects({ cron: '0 0 30 2 *' }, now, "'0 0 30 2 *'", /never/);
    rejects({ cron: '0 0 31 4,6 *' }, now, "'0 0 31 4,6 *'", /never/);
    rejects({ cron: '0 0 29 2 *', endAt: at('2027-12-31T00:00:00Z') }, now, "'0 0 29 2 *'", /no slot/);
  });

  it('rejects unparseable expressions and the wrong number of fields', () => {
    rejects({ cron: '61 * * * *' }, now, "'61 * * * *'");
    rejects({ cron: '* * *' }, now, "'* * *'", '3 fields');
    rejects({ cron: '' }, now, "''", '0 fields');
    rejects({ cron: '0 0 0 1 1 * 2030' }, now, "'0 0 0 1 1 * 2030'", '7 fields');
    rejects({ cron: 'every day' }, now, "'every day'");
    rejects({ cron: '@weekdays' }, now, "'@weekdays'", '@daily');
    rejects({ cron: 'H 9 * * *' }, now, "'H 9 * * *'", /hashed/);
    rejects({ cron: 42 as unknown as string }, now, 'got 42');
  });

  it('rejects a bad time zone, naming it and the expression', () => {
    rejects({ cron: '0 0 * * *', tz: 'Mars/Olympus' }, now, "'Mars/Olympus'", "'0 0 * * *'");
    rejects({ cron: '0 0 * * *', tz: '' }, now, "got ''");
  });

  it('rejects bad bounds and bad every', () => {
    rejects({ cron: '0 0 * * *', startAt: now + 10, endAt: now }, now, 'endAt', 'startAt');
    rejects({ cron: '0 0 * * *', endAt: now - 1 }, now, /no slot/);
    rejects({ cron: '0 0 * * *', startAt: Number.NaN }, now, 'startAt');
    rejects({}, now, 'neither');
    rejects({ cron: '* * * * *', every: 1000 }, now, 'both');
    for (const every of [0, -1, 1.5, Number.NaN, Infinity]) rejects({ every }, now, '`every`');
    rejects({ every: 1000, tz: 'UTC' }, now, '`tz`');
    rejects({ cron: '* * * * *', anchor: 0 }, now, '`anchor`');
  });
});

describe('planDue', () => {
  // An every-5-minutes cron whose slot 00:05 was pending when the scheduler stopped; it
  // restarts 3 h later. M = 00:05, 00:10, ..., 03:05: 37 slots.
  const spec = { cron: '*/5 * * * *' };
  const slot = at('2025-01-01T00:05:00Z');
  const now = at('2025-01-01T03:05:30Z');

  it('after 3 h of downtime, per misfire policy', () => {
    assert.deepEqual(planDue(spec, slot, now, 'skip', true), { runAt: at('2025-01-01T03:10:00Z'), missed: 37 });
    assert.deepEqual(planDue(spec, slot, now, 'once', true), { runAt: at('2025-01-01T03:05:00Z'), missed: 36 });
    assert.deepEqual(planDue(spec, slot, now, 'all', true), { runAt: slot, missed: 0 });
    // 'all' then runs each following slot in turn: each is planned to run as is.
    assert.deepEqual(planDue(spec, at('2025-01-01T00:10:00Z'), now, 'all', true), { runAt: at('2025-01-01T00:10:00Z'), missed: 0 });
    assert.deepEqual(planDue(spec, at('2025-01-01T03:05:00Z'), now, 'all', true), { runAt: at('2025-01-01T03:05:00Z'), missed: 0 });
  });

  it('is idempotent: planning the planned slot again changes nothing', () => {
    for (const policy of ['skip', 'once', 'all'] as const) {
      const plan = planDue(spec, slot, now, policy, true);
      assert.ok(plan.runAt !== undefined);
      assert.deepEqual(planDue(spec, plan.runAt, now, policy, true), { runAt: plan.runAt, missed: 0 }, policy);
      assert.deepEqual(planDue(spec, plan.runAt, now, policy, false), { runAt: plan.runAt, missed: 0 }, policy);
    }
  });

  it('after downtime there is no grace: a slot that passed while stopped is missed', () => {
    const late = slot + 200;
    assert.deepEqual(planDue(spec, slot, late, 'skip', true), { runAt: at('2025-01-01T00:10:00Z'), missed: 1 });
    assert.deepEqual(planDue(spec, slot, late, 'once', true), { runAt: slot, missed: 0 });
    assert.deepEqual(planDue(spec, slot, late, 'all', true), { runAt: slot, missed: 0 });
    // Exactly on time is not missed.
    assert.deepEqual(planDue(spec, slot, slot, 'skip', true), { runAt: slot, missed: 0 });
    // A slot in the future is left alone.
    assert.deepEqual(planDue(spec, slot, slot - 1, 'skip', true), { runAt: slot, missed: 0 });
  });

  it('while running, a slot is missed only once the slot after it is due', () => {
    const justBefore = at('2025-01-01T00:09:59.999Z');
    for (const policy of ['skip', 'once', 'all'] as const) {
      assert.deepEqual(planDue(spec, slot, justBefore, policy, false), { runAt: slot, missed: 0 }, policy);
    }
    const due = at('2025-01-01T00:10:00Z');
    assert.deepEqual(planDue(spec, slot, due, 'skip', false), { runAt: at('2025-01-01T00:15:00Z'), missed: 2 });
    assert.deepEqual(planDue(spec, slot, due, 'once', false), { runAt: due, missed: 1 });
    assert.deepEqual(planDue(spec, slot, due, 'all', false), { runAt: slot, missed: 0 });
  });

  it("'all' keeps the most recent 1000 missed slots", () => {
    assert.equal(MISFIRE_ALL_CAP, 1000);
    const t0 = at('2025-01-01T00:00:00Z');
    const threeHours = t0 + 3 * 3_600_000;
    // Every second for 3 h: 10 801 slots in [t0, t0 + 3 h].
    const expected = { runAt: threeHours - 999_000, missed: 10_801 - 1000 };
    assert.deepEqual(planDue({ cron: '* * * * * *' }, t0, threeHours, 'all', true), expected);
    assert.deepEqual(planDue({ every: 1000 }, t0, threeHours, 'all', true), expected);
    assert.deepEqual(planDue({ cron: '* * * * * *' }, t0, threeHours, 'once', true), { runAt: threeHours, missed: 10_800 });
    assert.deepEqual(planDue({ cron: '* * * * * *' }, t0, threeHours + 500, 'skip', true), {
      runAt: threeHours + 1000,
      missed: 10_801,
    });
    // Exactly 1000 missed: all of them run.
    assert.deepEqual(planDue({ every: 1000 }, t0, t0 + 999_000, 'all', true), { runAt: t0, missed: 0 });
    assert.deepEqual(planDue({ every: 1000 }, t0, t0 + 1_000_000, 'all', true), { runAt: t0 + 1000, missed: 1 });
    // 100 days of a 5-minute cron: exact counts without walking them.
    const hundredDays = t0 + 100 * 86_400_000;
    assert.deepEqual(planDue({ cron: '*/5 * * * *' }, t0, hundredDays, 'all', true), {
      runAt: hundredDays - 999 * 5 * MIN,
      missed: 100 * 288 + 1 - 1000,
    });
  });

  it('endAt: catch-ups stay within it; skip ends the schedule', () => {
    const bounded = { cron: '*/5 * * * *', endAt: at('2025-01-01T01:00:00Z') };
    // M = 00:05 .. 01:00: 12 slots.
    assert.deepEqual(planDue(bounded, slot, now, 'skip', true), { runAt: undefined, missed: 12 });
    assert.deepEqual(planDue(bounded, slot, now, 'once', true), { runAt: at('2025-01-01T01:00:00Z'), missed: 11 });
    assert.deepEqual(planDue(bounded, slot, now, 'all', true), { runAt: slot, missed: 0 });
  });

  it('every specs', () => {
    const every = { every: 5 * MIN, anchor: at('2025-01-01T00:00:00Z') };
    assert.deepEqual(planDue(every, slot, now, 'skip', true), { runAt: at('2025-01-01T03:10:00Z'), missed: 37 });
    assert.deepEqual(planDue(every, slot, now, 'once', true), { runAt: at('2025-01-01T03:05:00Z'), missed: 36 });
    assert.deepEqual(planDue(every, slot, now, 'all', true), { runAt: slot, missed: 0 });
    assert.deepEqual(planDue(every, slot, at('2025-01-01T00:09:00Z'), 'once', false), { runAt: slot, missed: 0 });
  });

  it('counts DST-aware slots: hourly across New York fall back', () => {
    // 00:00 EDT, 01:00 EDT, 02:00 EST, 03:00 EST: the repeated 01:00 is not a slot.
    const hourly = { cron: '0 * * * *', tz: 'America/New_York' };
    assert.deepEqual(planDue(hourly, at('2025-11-02T04:00:00Z'), at('2025-11-02T08:30:00Z'), 'skip', true), {
      runAt: at('2025-11-02T09:00:00Z'),
      missed: 4,
    });
  });
});

describe('recurrenceSignature', () => {
  it('is canonical: key order, whitespace, defaults and the anchor do not matter', () => {
    const a = recurrenceSignature({ cron: '0 9 * * 1-5', tz: 'UTC', misfire: 'once', priority: 0, retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 5 } } });
    const b = recurrenceSignature({
      retry: { backoff: { delay: 5, type: 'fixed' }, maxRetries: 1 },
      priority: 0,
      cron: ' 0  9 * * 1-5 ',
      anchor: 123,
      limit: undefined,
    });
    assert.equal(a, b);
    assert.equal(recurrenceSignature({ every: 1000, anchor: 1 }), recurrenceSignature({ every: 1000, anchor: 2, misfire: 'once' }));
    assert.equal(recurrenceSignature({ cron: '@daily', tz: 'america/new_york' }), recurrenceSignature({ cron: '@daily', tz: 'America/New_York' }));
    assert.equal(recurrenceSignature({ cron: '@daily', tz: 'Etc/UTC' }), recurrenceSignature({ cron: '@daily' }));
  });

  it('differs when the schedule differs', () => {
    const base = { cron: '0 9 * * *', tz: 'Europe/London' };
    const signature = recurrenceSignature(base);
    assert.notEqual(signature, recurrenceSignature({ ...base, tz: 'Europe/Paris' }));
    assert.notEqual(signature, recurrenceSignature({ ...base, cron: '0 10 * * *' }));
    assert.notEqual(signature, recurrenceSignature({ ...base, misfire: 'all' }));
    assert.notEqual(signature, recurrenceSignature({ ...base, endAt: 1 }));
    assert.notEqual(signature, recurrenceSignature({ ...base, limit: 3 }));
    assert.notEqual(recurrenceSignature({ every: 1000 }), recurrenceSignature({ every: 1001 }));
  });
});
