// planDue with a slot that is not on the schedule's grid (an occurrence stored
// before its schedule was changed, or one before the schedule's startAt):
// 'once' never plans a run before the slot it was given, and never loses it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planDue } from '../src/cron.js';

const DOWN = { graceMs: 0 };

test("'once': a late off-grid slot whose last grid slot is before it runs at the slot itself", () => {
  // Grid 0, 10, 20, …; slot 15 is late (grace 0) and the next grid slot (20) is not due.
  assert.deepEqual(planDue({ every: 10 }, 15, 16, { misfire: 'once', ...DOWN }), { runAt: 15, missed: 0 });
  // Once the grid slot after it is due, that one is the last of the missed ones.
  assert.deepEqual(planDue({ every: 10 }, 15, 21, { misfire: 'once', ...DOWN }), { runAt: 20, missed: 1 });
});

test("'once': a late slot before the schedule's first slot (no grid slot up to now) runs at the slot itself", () => {
  assert.deepEqual(planDue({ every: 10, startAt: 100 }, 50, 60, { misfire: 'once', ...DOWN }), { runAt: 50, missed: 0 });
});
