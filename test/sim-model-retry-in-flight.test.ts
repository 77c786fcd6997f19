/**
 * The simulation model's count of starts in one run when a retry() and a
 * reschedule of the same dead job are in flight together
 * (test/sim/model.ts, remember). The reschedule is refused (a dead job is
 * not rescheduled); the retry's fate stays unknown (its process died). The
 * retry may have revived the job, so one more start is a new run. Local
 * simulation seeds 234027543 and 234015732 failed because the reschedule's
 * rejection restored the count from before the retry's reset.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { InsertRec, Model } from './sim/model.js';
import { testModel } from './sim-model-helpers.js';

/** Job `id` inserted (acknowledged), started once by `pid`, its handler failed: dead under maxRetries 0. */
function deadJob(m: Model, id: string, pid: number): number {
  const v = m.newV();
  const op = m.beginOp('insert', id, pid, { vs: [v] });
  const ins: InsertRec = { v, op, id, name: 'a', kind: 'in', mode: undefined, due: { wall: 0, elapsed: true, why: 'test' } };
  m.addInsert(ins);
  m.settle(op, 'acked');
  m.insertAcked(ins, id, v);
  const a = m.onStart(pid, { id, name: 'a', attempt: 1, runAt: new Date(0), payload: { v } }, 1_000);
  m.onEnd(a, 'fail', 1_000);
  return v;
}

/** A reschedule or retry() of job `id` sent by pid 1 for `when`, in flight: the model told what it may change. */
function inFlight(m: Model, kind: 'reschedule' | 'retry', id: string, when: number): ReturnType<Model['beginOp']> {
  const op = m.beginOp(kind, id, 1, { when });
  for (const x of m.possibleVs(id, op.seq)) {
    if (kind === 'reschedule') m.reschedulePending(x, when, op);
    else m.revivePending(x, when, op);
  }
  return op;
}

/** Read through a call: `assert.equal(m.violation, undefined)` narrows the property for the rest of a test. */
const violation = (m: Model): { invariant: string; message: string } | undefined => m.violation;

describe('simulation model: retry() and reschedule of one dead job in flight together', () => {
  it("the reschedule's rejection does not take back the reset of the retry sent after it", () => {
    const m = testModel();
    const v = deadJob(m, 'j', 1);
    const reschedule = inFlight(m, 'reschedule', 'j', 5_000);
    inFlight(m, 'retry', 'j', 1_000);
    m.settle(reschedule, 'rejected', 'JobStateError');
    m.crash(1);
    m.onStart(2, { id: 'j', name: 'a', attempt: 1, runAt: new Date(1_000), payload: { v } }, 2_000);
    assert.equal(m.violation, undefined);
  });

  it('without a retry in flight, a second start of the dead job is still one too many', () => {
    const m = testModel();
    const v = deadJob(m, 'j', 1);
    const reschedule = inFlight(m, 'reschedule', 'j', 5_000);
    m.settle(reschedule, 'rejected', 'JobStateError');
    m.crash(1);
    m.onStart(2, { id: 'j', name: 'a', attempt: 1, runAt: new Date(1_000), payload: { v } }, 6_000);
    assert.equal(violation(m)?.invariant, 'attempts', 'a dead job started again');
  });
});

describe('simulation model: a refused retry() sent after a reschedule of the same job', () => {
  /** retry(at 600 s), reschedule(to 1.5 s), retry() of dead job `j` in one burst; the retry() is refused, the others land in call order. */
  function burst(): { m: Model; v: number } {
    const m = testModel();
    const v = deadJob(m, 'j', 1);
    const first = inFlight(m, 'retry', 'j', 600_000);
    const reschedule = inFlight(m, 'reschedule', 'j', 1_500);
    const second = inFlight(m, 'retry', 'j', 2_000);
    m.settle(second, 'rejected', 'JobNotFoundError');
    m.settle(first, 'acked');
    m.reviveAcked(v, 600_000, first);
    m.settle(reschedule, 'acked');
    m.rescheduleAcked(reschedule, v, 1_500);
    return { m, v };
  }

  it("does not hold back the reschedule's ack: the job may start at the rescheduled time (seed 298253854)", () => {
    const { m, v } = burst();
    m.onStart(1, { id: 'j', name: 'a', attempt: 1, runAt: new Date(1_500), payload: { v } }, 2_000);
    assert.equal(m.violation, undefined);
  });

  it('a start before the rescheduled time is still early', () => {
    const { m, v } = burst();
    m.onStart(1, { id: 'j', name: 'a', attempt: 1, runAt: new Date(1_500), payload: { v } }, 1_200);
    assert.equal(violation(m)?.invariant, 'notEarly');
  });
});
