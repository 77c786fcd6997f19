/**
 * The simulation model's no-rerun rule for a start seen after a cancel's
 * acknowledgement (test/sim/model.ts, onStart). On a shared store a claim
 * that took the job before the cancel landed can answer its process after
 * the caller saw the cancel acknowledged: the job was running when it was
 * cancelled, which SPEC allows ("aborts it if running"). PostgreSQL
 * simulation seed 228000272 failed on that. The model now takes one such
 * start per cancel; a second start, or any on a store with one process's
 * view of time and order (MemoryStore, JsonFileStore), still fails.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InsertRec, Model } from './sim/model.js';
import { testModel } from './sim-model-helpers.js';

/** `scheduleIn(…, { id, onDuplicate: mode })` acknowledged as stored; returns its version. */
function insertAcked(m: Model, id: string, mode: InsertRec['mode']): number {
  const v = m.newV();
  const op = m.beginOp('insert', id, 1, { vs: [v] });
  const ins: InsertRec = { v, op, id, name: 'a', kind: 'in', mode, due: { wall: 0, elapsed: true, why: 'test' } };
  m.addInsert(ins);
  m.settle(op, 'acked');
  m.insertAcked(ins, id, v);
  return v;
}

/** `scheduleIn(…, { id })` acknowledged, then `cancel(id)` acknowledged `true`, one call at a time. */
function insertThenCancel(m: Model, id: string): number {
  const v = insertAcked(m, id, undefined);
  const cancel = m.beginOp('cancel', id, 1);
  m.settle(cancel, 'acked');
  m.cancelAcked(cancel);
  return v;
}

/** Read through a call: `assert.equal(m.violation, undefined)` narrows the property for the rest of a test. */
const violation = (m: Model): { invariant: string; message: string } | undefined => m.violation;

const start = (m: Model, id: string, v: number, pid: number): void => {
  m.onStart(pid, { id, name: 'a', attempt: 1, runAt: new Date(0), payload: { v } }, 1_000);
};

describe('simulation model: a start seen after a cancel was acknowledged', () => {
  it('shared store: the first start is the claim that preceded the cancel, a second one is a rerun', () => {
    const m = testModel(true);
    const v = insertThenCancel(m, 'j');
    start(m, 'j', v, 2);
    assert.equal(m.violation, undefined);
    start(m, 'j', v, 3);
    assert.equal(violation(m)?.invariant, 'noRerun');
    assert.match(violation(m)?.message ?? '', /runs again after it was durably cancelled/);
  });

  it('one process (MemoryStore, JsonFileStore): a start after the acknowledged cancel is a rerun', () => {
    const m = testModel(false);
    const v = insertThenCancel(m, 'j');
    start(m, 'j', v, 2);
    assert.equal(violation(m)?.invariant, 'noRerun');
  });

  it('shared store: each cancel excuses one start, of its own job only', () => {
    const m = testModel(true);
    const a = insertThenCancel(m, 'a');
    const b = insertThenCancel(m, 'b');
    start(m, 'a', a, 2);
    start(m, 'b', b, 2);
    assert.equal(m.violation, undefined);
    start(m, 'b', b, 3);
    assert.equal(violation(m)?.invariant, 'noRerun');
  });
});

/** `scheduleIn(…, { id })` acknowledged, then a replace of it (`onDuplicate: 'replace'`) acknowledged. Returns the replaced version. */
function insertThenReplace(m: Model, id: string): number {
  const first = insertAcked(m, id, undefined);
  insertAcked(m, id, 'replace');
  return first;
}

describe('simulation model: a start of a version seen after its replace was acknowledged', () => {
  it('shared store: the first start is a claim that preceded the replace (Redis seed 248500515), a second one is a rerun', () => {
    const m = testModel(true);
    const replaced = insertThenReplace(m, 'j');
    start(m, 'j', replaced, 2);
    assert.equal(m.violation, undefined);
    start(m, 'j', replaced, 3);
    assert.equal(violation(m)?.invariant, 'noRerun');
    assert.match(violation(m)?.message ?? '', /runs after an acknowledged replace superseded it/);
  });

  it('one process (MemoryStore, JsonFileStore): a start of the replaced version is a rerun', () => {
    const m = testModel(false);
    const replaced = insertThenReplace(m, 'j');
    start(m, 'j', replaced, 2);
    assert.equal(violation(m)?.invariant, 'noRerun');
  });
});
