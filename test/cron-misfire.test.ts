/**
 * Misfire planning (planDue): which slot runs when one comes due late, how many are reported
 * missed, per policy, with the grace period. Expected slots are written out by hand.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_MISFIRE_GRACE_MS, MISFIRE_ALL_CAP, planDue, type RecurrenceSpec } from '../src/cron.js';
import { ValidationError } from '../src/errors.js';

const at = (iso: string): number => Date.parse(iso);
const MIN = 60_000;
/** No grace: any lateness misses (a slot that passed while the scheduler was down, strictly). */
const DOWN = { graceMs: 0 };
/** Unlimited grace: only a due following slot misses (the scheduler was busy). */
const BUSY = { graceMs: Infinity };

describe('planDue', () => {
  // An every-5-minutes cron whose slot 00:05 was pending when the scheduler stopped; it
  // restarts 3 h later. M = 00:05, 00:10, ..., 03:05: 37 slots.
  const spec = { cron: '*/5 * * * *' };
  const slot = at('2025-01-01T00:05:00Z');
  const now = at('2025-01-01T03:05:30Z');

  it('after 3 h of downtime, per misfire policy', () => {
    assert.deepEqual(planDue(spec, slot, now, { misfire: 'skip', ...DOWN }), { runAt: at('2025-01-01T03:10:00Z'), missed: 37 });
    assert.deepEqual(planDue(spec, slot, now, { misfire: 'once', ...DOWN }), { runAt: at('2025-01-01T03:05:00Z'), missed: 36 });
    assert.deepEqual(planDue(spec, slot, now, { misfire: 'all', ...DOWN }), { runAt: slot, missed: 0 });
    // 'all' then runs each following slot in turn: each is planned to run as is.
    assert.deepEqual(planDue(spec, at('2025-01-01T00:10:00Z'), now, { misfire: 'all', ...DOWN }), { runAt: at('2025-01-01T00:10:00Z'), missed: 0 });
    assert.deepEqual(planDue(spec, at('2025-01-01T03:05:00Z'), now, { misfire: 'all', ...DOWN }), { runAt: at('2025-01-01T03:05:00Z'), missed: 0 });
  });

  it('is idempotent: planning the planned slot again changes nothing', () => {
    for (const policy of ['skip', 'once', 'all'] as const) {
      const plan = planDue(spec, slot, now, { misfire: policy, ...DOWN });
      assert.ok(plan.runAt !== undefined);
      assert.deepEqual(planDue(spec, plan.runAt, now, { misfire: policy, ...DOWN }), { runAt: plan.runAt, missed: 0 }, policy);
      assert.deepEqual(planDue(spec, plan.runAt, now, { misfire: policy, ...BUSY }), { runAt: plan.runAt, missed: 0 }, policy);
    }
  });

  it('with graceMs 0, any lateness misses the slot', () => {
    const late = slot + 200;
    assert.deepEqual(planDue(spec, slot, late, { misfire: 'skip', ...DOWN }), { runAt: at('2025-01-01T00:10:00Z'), missed: 1 });
    assert.deepEqual(planDue(spec, slot, late, { misfire: 'once', ...DOWN }), { runAt: slot, missed: 0 });
    assert.deepEqual(planDue(spec, slot, late, { misfire: 'all', ...DOWN }), { runAt: slot, missed: 0 });
    // Exactly on time is not missed.
    assert.deepEqual(planDue(spec, slot, slot, { misfire: 'skip', ...DOWN }), { runAt: slot, missed: 0 });
    // A slot in the future is left alone.
    assert.deepEqual(planDue(spec, slot, slot - 1, { misfire: 'skip', ...DOWN }), { runAt: slot, missed: 0 });
  });

  it('while running, a slot is missed only once the slot after it is due', () => {
    const justBefore = at('2025-01-01T00:09:59.999Z');
    for (const policy of ['skip', 'once', 'all'] as const) {
      assert.deepEqual(planDue(spec, slot, justBefore, { misfire: policy, ...BUSY }), { runAt: slot, missed: 0 }, policy);
    }
    const due = at('2025-01-01T00:10:00Z');
    assert.deepEqual(planDue(spec, slot, due, { misfire: 'skip', ...BUSY }), { runAt: at('2025-01-01T00:15:00Z'), missed: 2 });
    assert.deepEqual(planDue(spec, slot, due, { misfire: 'once', ...BUSY }), { runAt: due, missed: 1 });
    assert.deepEqual(planDue(spec, slot, due, { misfire: 'all', ...BUSY }), { runAt: slot, missed: 0 });
  });

  it("'all' keeps the most recent 1000 missed slots", () => {
    assert.equal(MISFIRE_ALL_CAP, 1000);
    const t0 = at('2025-01-01T00:00:00Z');
    const threeHours = t0 + 3 * 3_600_000;
    // Every second for 3 h: 10 801 slots in [t0, t0 + 3 h].
    const expected = { runAt: threeHours - 999_000, missed: 10_801 - 1000 };
    assert.deepEqual(planDue({ cron: '* * * * * *' }, t0, threeHours, { misfire: 'all', ...DOWN }), expected);
    assert.deepEqual(planDue({ every: 1000 }, t0, threeHours, { misfire: 'all', ...DOWN }), expected);
    assert.deepEqual(planDue({ cron: '* * * * * *' }, t0, threeHours, { misfire: 'once', ...DOWN }), { runAt: threeHours, missed: 10_800 });
    assert.deepEqual(planDue({ cron: '* * * * * *' }, t0, threeHours + 500, { misfire: 'skip', ...DOWN }), {
      runAt: threeHours + 1000,
      missed: 10_801,
    });
    // Exactly 1000 missed: all of them run.
    assert.deepEqual(planDue({ every: 1000 }, t0, t0 + 999_000, { misfire: 'all', ...DOWN }), { runAt: t0, missed: 0 });
    assert.deepEqual(planDue({ every: 1000 }, t0, t0 + 1_000_000, { misfire: 'all', ...DOWN }), { runAt: t0 + 1000, missed: 1 });
    // 100 days of a 5-minute cron: exact counts without walking them.
    const hundredDays = t0 + 100 * 86_400_000;
    assert.deepEqual(planDue({ cron: '*/5 * * * *' }, t0, hundredDays, { misfire: 'all', ...DOWN }), {
      runAt: hundredDays - 999 * 5 * MIN,
      missed: 100 * 288 + 1 - 1000,
    });
  });

  it('endAt: catch-ups stay within it; skip ends the schedule', () => {
    const bounded = { cron: '*/5 * * * *', endAt: at('2025-01-01T01:00:00Z') };
    // M = 00:05 .. 01:00: 12 slots.
    assert.deepEqual(planDue(bounded, slot, now, { misfire: 'skip', ...DOWN }), { runAt: undefined, missed: 12 });
    assert.deepEqual(planDue(bounded, slot, now, { misfire: 'once', ...DOWN }), { runAt: at('2025-01-01T01:00:00Z'), missed: 11 });
    assert.deepEqual(planDue(bounded, slot, now, { misfire: 'all', ...DOWN }), { runAt: slot, missed: 0 });
  });

  it('every specs', () => {
    const every = { every: 5 * MIN, anchor: at('2025-01-01T00:00:00Z') };
    assert.deepEqual(planDue(every, slot, now, { misfire: 'skip', ...DOWN }), { runAt: at('2025-01-01T03:10:00Z'), missed: 37 });
    assert.deepEqual(planDue(every, slot, now, { misfire: 'once', ...DOWN }), { runAt: at('2025-01-01T03:05:00Z'), missed: 36 });
    assert.deepEqual(planDue(every, slot, now, { misfire: 'all', ...DOWN }), { runAt: slot, missed: 0 });
    assert.deepEqual(planDue(every, slot, at('2025-01-01T00:09:00Z'), { misfire: 'once', ...BUSY }), { runAt: slot, missed: 0 });
  });

  it('counts slots by the DST rule: both passes of the repeated hour for an interval expression, one for fixed-time', () => {
    // Interval `0 *`: 00:00 EDT (04Z), 01:00 EDT (05Z), 01:00 EST (06Z), 02:00 EST (07Z), 03:00 EST (08Z).
    const hourly = { cron: '0 * * * *', tz: 'America/New_York' };
    assert.deepEqual(planDue(hourly, at('2025-11-02T04:00:00Z'), at('2025-11-02T08:30:00Z'), { misfire: 'skip', ...DOWN }), {
      runAt: at('2025-11-02T09:00:00Z'),
      missed: 5,
    });
    // Fixed-time `0 0-23`: the repeated 01:00 runs once (EDT), so 4.
    const listed = { cron: '0 0-23 * * *', tz: 'America/New_York' };
    assert.deepEqual(planDue(listed, at('2025-11-02T04:00:00Z'), at('2025-11-02T08:30:00Z'), { misfire: 'skip', ...DOWN }), {
      runAt: at('2025-11-02T09:00:00Z'),
      missed: 4,
    });
  });
});

describe('planDue: misfire grace', () => {
  const daily = { cron: '0 9 * * *', tz: 'Europe/Paris' };
  const slot = at('2025-06-02T07:00:00Z'); // 09:00 CEST

  it('defaults to 60 s: a restart 2 s after a daily slot still runs it, even with skip', () => {
    assert.equal(DEFAULT_MISFIRE_GRACE_MS, 60_000);
    for (const misfire of ['skip', 'once', 'all'] as const) {
      assert.deepEqual(planDue(daily, slot, slot + 2000, { misfire }), { runAt: slot, missed: 0 }, misfire);
      assert.deepEqual(planDue(daily, slot, slot + 60_000, { misfire }), { runAt: slot, missed: 0 }, misfire);
    }
    // No options at all: 'once' with the default grace.
    assert.deepEqual(planDue(daily, slot, slot + 2000), { runAt: slot, missed: 0 });
  });

  it('a slot later than the grace is missed', () => {
    const late = slot + 60_001;
    assert.deepEqual(planDue(daily, slot, late, { misfire: 'skip' }), { runAt: at('2025-06-03T07:00:00Z'), missed: 1 });
    // 'once' and 'all' run it anyway (it is the only missed slot).
    assert.deepEqual(planDue(daily, slot, late, { misfire: 'once' }), { runAt: slot, missed: 0 });
    assert.deepEqual(planDue(daily, slot, late, { misfire: 'all' }), { runAt: slot, missed: 0 });
    // A custom grace moves the line.
    assert.deepEqual(planDue(daily, slot, slot + 5 * MIN, { misfire: 'skip', graceMs: 10 * MIN }), { runAt: slot, missed: 0 });
    assert.deepEqual(planDue(daily, slot, slot + 11 * MIN, { misfire: 'skip', graceMs: 10 * MIN }), { runAt: at('2025-06-03T07:00:00Z'), missed: 1 });
  });

  it('within the grace, a slot is still missed once the slot after it is due', () => {
    const secondly = { cron: '* * * * * *' };
    const t0 = at('2025-01-01T00:00:00Z');
    // 5 s late: slots t0..t0+5s are due; 'once' runs the latest, 'skip' the next future one.
    assert.deepEqual(planDue(secondly, t0, t0 + 5000, { misfire: 'once' }), { runAt: t0 + 5000, missed: 5 });
    assert.deepEqual(planDue(secondly, t0, t0 + 5500, { misfire: 'skip' }), { runAt: t0 + 6000, missed: 6 });
    // 999 ms late: the next slot is not due yet, the slot runs.
    assert.deepEqual(planDue(secondly, t0, t0 + 999, { misfire: 'skip' }), { runAt: t0, missed: 0 });
  });

  it('rejects a bad policy or grace with ValidationError', () => {
    assert.throws(() => planDue(daily, slot, slot, { misfire: 'sometimes' as 'once' }), (e: unknown) => e instanceof ValidationError && /'sometimes'/.test(e.message));
    for (const graceMs of [-1, Number.NaN, '5' as unknown as number]) {
      assert.throws(() => planDue(daily, slot, slot, { graceMs }), (e: unknown) => e instanceof ValidationError && /^Expected `graceMs`/.test(e.message), String(graceMs));
    }
  });
});

describe('planDue against arithmetic (property)', () => {
  // For `every` schedules and `*/k` seconds in UTC the slots are an arithmetic sequence, so the
  // missed set M = slot, slot + p, …, up to now has exactly floor((now − slot) / p) + 1 members:
  // an oracle that shares no code with countSlots/prevSlot.
  const t0 = at('2025-01-01T00:00:00Z');
  const schedule = fc.oneof(
    fc.integer({ min: 1, max: 3_600 }).map((s) => ({ spec: { every: s * 1000, anchor: t0 } as RecurrenceSpec, period: s * 1000 })),
    fc.constantFrom(1, 2, 3, 5, 10, 15, 20, 30).map((k) => ({ spec: { cron: `*/${k} * * * * *` } as RecurrenceSpec, period: k * 1000 })),
  );

  it("each policy's catch-up slot and missed count, for any lateness (the 'all' cap included)", () => {
    fc.assert(
      fc.property(schedule, fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 2_500 }), fc.integer({ min: 0, max: 999 }), ({ spec, period }, start, late, extra) => {
        const slot = t0 + start * period;
        const now = slot + late * period + Math.min(extra, period - 1);
        const size = Math.floor((now - slot) / period) + 1;
        const last = slot + (size - 1) * period;
        const opts = { graceMs: 0 };
        if (now === slot) {
          for (const misfire of ['once', 'skip', 'all'] as const) assert.deepEqual(planDue(spec, slot, now, { misfire, ...opts }), { runAt: slot, missed: 0 });
          return;
        }
        assert.deepEqual(planDue(spec, slot, now, { misfire: 'once', ...opts }), { runAt: last, missed: size - 1 });
        assert.deepEqual(planDue(spec, slot, now, { misfire: 'skip', ...opts }), { runAt: last + period, missed: size });
        const kept = Math.min(size, MISFIRE_ALL_CAP);
        assert.deepEqual(planDue(spec, slot, now, { misfire: 'all', ...opts }), { runAt: last - (kept - 1) * period, missed: size - kept });
      }),
      { numRuns: 300 },
    );
  });
});
