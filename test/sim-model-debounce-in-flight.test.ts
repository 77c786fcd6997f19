/**
 * The simulation model's due time for a debounce and a reschedule of its
 * window's job in flight together (test/sim/model.ts, debouncesOn). A
 * debounce call lands on the job that holds its window, whose id the call
 * does not name; a reschedule of that job made while the debounce is in
 * flight may land after it and move the debounced version. Local
 * simulation seed 286014375 failed on that: both calls were cut off by a
 * power loss after they reached the disk, and the job then ran at the
 * reschedule's time, which the model took for 11 minutes early.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InsertRec, Model } from './sim/model.js';
import { testModel } from './sim-model-helpers.js';

/** Job `w` (name `a`) inserted and acknowledged, due at 100 s: the window's job. */
function windowJob(m: Model): void {
  const v = m.newV();
  const op = m.beginOp('insert', 'w', 1, { vs: [v] });
  const ins: InsertRec = { v, op, id: 'w', name: 'a', kind: 'in', mode: undefined, due: { wall: 100_000, elapsed: false, why: 'test' } };
  m.addInsert(ins);
  m.settle(op, 'acked');
  m.insertAcked(ins, 'w', v);
}

/** A debounce call of name `a`, due at 1,830 s, made now and left in flight; returns its version. */
function debounceInFlight(m: Model): number {
  const v = m.newV();
  const op = m.beginOp('insert', undefined, 1, { vs: [v] });
  m.addInsert({ v, op, id: undefined, name: 'a', kind: 'at', mode: undefined, due: { wall: 1_830_000, elapsed: false, why: 'test' }, dedupe: { key: 'k', mode: 'debounce', ttlMs: 3_600_000 } });
  return v;
}

/** A reschedule of `w` to `when`, made now and left in flight (as the simulation's action makes it). */
function rescheduleInFlight(m: Model, when: number): void {
  const op = m.beginOp('reschedule', 'w', 1, { when });
  for (const v of [...m.possibleVs('w', op.seq), ...m.debouncesOn('w', op.seq)]) m.reschedulePending(v, when, op);
}

/** Read through a call: `assert.equal(m.violation, undefined)` narrows the property for the rest of a test. */
const violation = (m: Model): { invariant: string; message: string } | undefined => m.violation;

/**
 * The window's job, then the debounce and (unless `order` says none) a
 * reschedule of the job to 500 s, both left in flight, in `order`; a crash;
 * then the debounced version starts at 500 s. Returns the model.
 */
function startAtRescheduleTime(order: 'debounce first' | 'reschedule first' | 'no reschedule'): Model {
  const m = testModel();
  windowJob(m);
  if (order === 'reschedule first') rescheduleInFlight(m, 500_000);
  const v = debounceInFlight(m);
  if (order === 'debounce first') rescheduleInFlight(m, 500_000);
  m.crash(1);
  m.onStart(2, { id: 'w', name: 'a', attempt: 1, runAt: new Date(500_000), payload: { v } }, 500_000);
  return m;
}

describe('simulation model: a debounce and a reschedule of its window job in flight together', () => {
  it('the debounced version may start at the time of a reschedule made after the debounce', () => {
    assert.equal(startAtRescheduleTime('debounce first').violation, undefined);
  });

  it('the same when the reschedule was made first (calls in flight together have no order)', () => {
    assert.equal(startAtRescheduleTime('reschedule first').violation, undefined);
  });

  it('without the reschedule, the debounced version starting at that time is early', () => {
    assert.equal(violation(startAtRescheduleTime('no reschedule'))?.invariant, 'notEarly');
  });
});
