/**
 * The simulation model's "last acknowledged insert" check (test/sim/model.ts,
 * checkRecords) on a store without call order. RedisStore and PostgresStore
 * promise no order between calls in flight together (README, Managing jobs):
 * an insert of an id made first and still in flight when a second insert of
 * that id was made may land after it. PostgreSQL simulation seed 279000056
 * failed on that (a scheduleMany replacing j5, then a handler's scheduleIn
 * of j5 in another process, acknowledged first). The model now allows the
 * earlier version there; with call order (MemoryStore, JsonFileStore), or
 * when the first call was answered before the second was made, it does not.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRecord } from '../src/store/store.js';
import type { InsertRec, Model, OpRec } from './sim/model.js';
import { testModel } from './sim-model-helpers.js';

/** `scheduleIn(…, { id, onDuplicate: 'replace' })` made now; returns what to acknowledge it with. */
function insertMade(m: Model, id: string): { v: number; op: OpRec; ins: InsertRec } {
  const v = m.newV();
  const op = m.beginOp('insert', id, 1, { vs: [v] });
  const ins: InsertRec = { v, op, id, name: 'a', kind: 'in', mode: 'replace', due: { wall: 0, elapsed: true, why: 'test' } };
  m.addInsert(ins);
  return { v, op, ins };
}

/** The call is answered: the job holds its own version. */
function acked(m: Model, call: { v: number; op: OpRec; ins: InsertRec }): void {
  m.settle(call.op, 'acked');
  m.insertAcked(call.ins, call.ins.id as string, call.v);
}

const holding = (v: number): JobRecord[] => [{ id: 'j', name: 'a', payload: { v }, state: 'scheduled', runAt: 0, createdAt: 0, attempt: 0, priority: 0, seq: 1 }];

/** Two inserts of `j` in flight together, the later-made one answered first. */
function answeredOutOfOrder(m: Model): { first: number; second: number } {
  const first = insertMade(m, 'j');
  const second = insertMade(m, 'j');
  acked(m, second);
  acked(m, first);
  return { first: first.v, second: second.v };
}

/** Read through a call: the property narrowed by an earlier assert stays readable. */
const violation = (m: Model): { invariant: string; message: string } | undefined => m.violation;

describe('simulation model: which insert of an id the store may hold', () => {
  it('shared store: an earlier insert in flight when the later one was made may have landed last', () => {
    const m = testModel(true);
    const { first, second } = answeredOutOfOrder(m);
    m.checkRecords(holding(first), 'live');
    assert.equal(m.violation, undefined);
    m.checkRecords(holding(second), 'live');
    assert.equal(m.violation, undefined);
  });

  it('one process (call order): the same calls leave the later insert, and the earlier one is a lost acknowledgement', () => {
    const m = testModel(false);
    const { first } = answeredOutOfOrder(m);
    m.checkRecords(holding(first), 'live');
    assert.equal(violation(m)?.invariant, 'durable');
    assert.match(violation(m)?.message ?? '', /holds v1, expected v2/);
  });

  it('shared store: an insert answered before the next one was made cannot come back over it', () => {
    const m = testModel(true);
    const first = insertMade(m, 'j');
    acked(m, first);
    const second = insertMade(m, 'j');
    acked(m, second);
    m.checkRecords(holding(first.v), 'live');
    assert.equal(violation(m)?.invariant, 'durable');
  });
});
