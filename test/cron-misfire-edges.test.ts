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

// An occurrence moved (reschedule) to before the slot that last ran (`after`):
// the slots up to `after` already ran, so none of them is missed or run again
// (simulation seed 195011763 re-ran a finished slot as the catch-up).
test('`after`: a moved occurrence before the last finished slot runs as itself, on time', () => {
  // Grid 0, 10, 20, …; slot 20 ran; the next occurrence was moved to 17, now 21.
  assert.deepEqual(planDue({ every: 10 }, 17, 21, { misfire: 'once', graceMs: 60, after: 20 }), { runAt: 17, missed: 0 });
  // Without `after` the finished slot 20 would be its catch-up.
  assert.deepEqual(planDue({ every: 10 }, 17, 21, { misfire: 'once', graceMs: 60 }), { runAt: 20, missed: 1 });
});

test('`after`: slots after the last finished one that are due are missed as usual, never the finished one', () => {
  // Slot 20 ran; moved to 17; now 35: 30 is due after the floor.
  assert.deepEqual(planDue({ every: 10 }, 17, 35, { misfire: 'once', graceMs: 60, after: 20 }), { runAt: 30, missed: 1 });
  assert.deepEqual(planDue({ every: 10 }, 17, 35, { misfire: 'skip', graceMs: 60, after: 20 }), { runAt: 40, missed: 2 });
  assert.deepEqual(planDue({ every: 10 }, 17, 35, { misfire: 'all', graceMs: 60, after: 20 }), { runAt: 17, missed: 0 });
  // Late past the grace with nothing due after the floor: 'skip' goes on after the floor, not to a slot before it.
  assert.deepEqual(planDue({ every: 10 }, 17, 25, { misfire: 'skip', graceMs: 0, after: 20 }), { runAt: 30, missed: 1 });
  // A floor ahead of now (the clock was set back after it ran): 'skip' still lands after it.
  assert.deepEqual(planDue({ every: 10 }, 5, 8, { misfire: 'skip', graceMs: 0, after: 20 }), { runAt: 30, missed: 1 });
  // `after` at or before the slot changes nothing.
  assert.deepEqual(planDue({ every: 10 }, 17, 35, { misfire: 'once', graceMs: 60, after: 10 }), planDue({ every: 10 }, 17, 35, { misfire: 'once', graceMs: 60 }));
});
