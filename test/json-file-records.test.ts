// How JsonFileStore replays journal lines (applyLine and recordProblem in
// src/store/json-file/format.ts): what counts as a job record, a batch
// applies all or nothing, an upd keeps the payload it replaces and never
// revives a deleted job, version-1 journals know no upd; and encodeBatch
// refuses an oversized payload or result before anything is written.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../src/errors.js';
import { KEEP_PAYLOAD, type ReplayMap, applyLine, encodeBatch, recordProblem } from '../src/store/json-file/format.js';
import type { JobRecord } from '../src/store/store.js';

const job = (id: string, over: Partial<JobRecord> = {}): JobRecord =>
  ({ id, name: 'work', payload: { id }, state: 'scheduled', runAt: 1, createdAt: 1, attempt: 0, priority: 0, seq: 1, ...over }) as JobRecord;
const withoutPayload = (r: JobRecord): Omit<JobRecord, 'payload'> => {
  const { payload: _p, ...rest } = r;
  return rest;
};

describe('recordProblem', () => {
  test('names the first thing that makes a value no job record', () => {
    const { id: _i, ...noId } = job('a');
    const { name: _n, ...noName } = job('a');
    const { payload: _p, ...noPayload } = job('a');
    const cases: [unknown, string | undefined][] = [
      [job('a'), undefined],
      [null, 'expected a job object'],
      [[job('a')], 'expected a job object'],
      ['a', 'expected a job object'],
      [noId, 'expected a string `id`'],
      [{ ...job('a'), id: 1 }, 'expected a string `id`'],
      [noName, 'expected a string `name`'],
      [{ ...job('a'), state: 'paused' }, 'expected a job state, got "paused"'],
      [{ ...job('a'), state: 'toString' }, 'expected a job state, got "toString"'],
      [{ ...job('a'), state: 3 }, 'expected a job state, got 3'],
      [{ ...job('a'), runAt: '1' }, 'expected numeric `runAt`, `seq` and `attempt`'],
      [{ ...job('a'), seq: null }, 'expected numeric `runAt`, `seq` and `attempt`'],
      [{ ...job('a'), attempt: undefined }, 'expected numeric `runAt`, `seq` and `attempt`'],
      [noPayload, 'expected a `payload`'],
      [{ ...job('a'), payload: undefined }, undefined], // present, even if undefined
    ];
    for (const [value, want] of cases) assert.equal(recordProblem(value), want, JSON.stringify(value));
    // An upd line carries no payload.
    assert.equal(recordProblem(noPayload, false), undefined);
    assert.equal(recordProblem(job('a'), false), 'expected no `payload` in an upd change');
  });
});

describe('applyLine', () => {
  test('put, upd (keeping the payload), del', () => {
    const records: ReplayMap = new Map();
    assert.equal(applyLine(records, { op: 'put', job: job('a') }, false), undefined);
    assert.equal(applyLine(records, { op: 'upd', job: withoutPayload(job('a', { state: 'running', attempt: 1 })) }, false), undefined);
    assert.deepEqual(records.get('a'), job('a', { state: 'running', attempt: 1 }));
    assert.equal(applyLine(records, { op: 'del', id: 'a' }, false), undefined);
    assert.equal(records.get('a'), null);
    assert.equal(records.size, 1);
  });

  test('an upd of a job this replay has not seen keeps the payload from the snapshot (KEEP_PAYLOAD)', () => {
    const records: ReplayMap = new Map();
    assert.equal(applyLine(records, { op: 'upd', job: withoutPayload(job('s')) }, false), undefined);
    assert.equal(records.get('s')?.payload, KEEP_PAYLOAD);
  });

  test('an upd of a deleted job is refused and changes nothing', () => {
    const records: ReplayMap = new Map([['a', null]]);
    assert.equal(applyLine(records, { op: 'upd', job: withoutPayload(job('a')) }, false), 'expected an upd of an existing job, got one of a deleted job');
    assert.equal(records.get('a'), null);
  });

  test('a batch applies all of its changes or none', () => {
    const records: ReplayMap = new Map();
    const good = { op: 'batch', changes: [{ op: 'put', job: job('a') }, { op: 'put', job: job('b') }, { op: 'del', id: 'a' }] };
    assert.equal(applyLine(records, good, false), undefined);
    assert.deepEqual([...records], [['a', null], ['b', job('b')]]);
    const bad = { op: 'batch', changes: [{ op: 'put', job: job('c') }, { op: 'del', id: 7 }] };
    assert.equal(applyLine(records, bad, false), 'expected a string `id` in a del change');
    assert.equal(records.has('c'), false, 'nothing of a refused batch is applied');
    assert.equal(applyLine(records, { op: 'batch', changes: [job('c'), null] }, false), "expected op 'put', 'upd', 'del' or 'batch', got undefined");
    assert.equal(applyLine(records, { op: 'batch', changes: [null] }, false), 'expected a change object');
    assert.equal(applyLine(records, { op: 'batch', changes: {} }, false), 'expected `changes` to be an array');
    assert.equal(records.size, 2);
  });

  test('refuses what is no change, a put of no job, an unknown op; version 1 knows no upd', () => {
    const records: ReplayMap = new Map();
    assert.equal(applyLine(records, null, false), 'expected a change object');
    assert.equal(applyLine(records, 'put', false), 'expected a change object');
    assert.equal(applyLine(records, { op: 'put', job: { id: 'a' } }, false), 'expected a string `name`');
    assert.equal(applyLine(records, { op: 'upd', job: job('a') }, false), 'expected no `payload` in an upd change');
    assert.equal(applyLine(records, { op: 'move', id: 'a' }, false), `expected op 'put', 'upd', 'del' or 'batch', got "move"`);
    assert.equal(applyLine(records, { op: 'upd', job: withoutPayload(job('a')) }, true), `expected op 'put', 'del' or 'batch', got "upd"`);
    assert.equal(records.size, 0);
    // A version-1 put is a whole job.
    assert.equal(applyLine(records, { op: 'put', job: job('a') }, true), undefined);
    assert.deepEqual(records.get('a'), job('a'));
  });
});

describe('encodeBatch refuses an oversized payload or result', () => {
  const big = 'x'.repeat(200);
  test('one change or several: the payload of a put, the result of any change', () => {
    assert.throws(() => encodeBatch([{ op: 'put', job: job('a', { payload: big }) }], 100), new ValidationError('Expected the payload of job `a` to be at most 100 bytes of JSON (maxPayloadBytes), got 202'));
    assert.throws(
      () => encodeBatch([{ op: 'put', job: job('a') }, { op: 'put', job: job('b', { result: big }) }], 100),
      new ValidationError('Expected the result of job `b` to be at most 100 bytes of JSON (maxPayloadBytes), got 202'),
    );
  });

  test('a state change (keep) does not write the payload, so only its result counts', () => {
    const line = encodeBatch([{ op: 'put', job: job('a', { payload: big }), keep: true }], 100);
    assert.ok(line.startsWith('{"op":"upd","job":{"id":"a"'));
    assert.ok(!line.includes(big));
    assert.throws(() => encodeBatch([{ op: 'put', job: job('a', { payload: big, result: big }), keep: true }], 100), /the result of job `a`/);
    // Under the limit, bytes not UTF-16 units are counted: 40 × 'é' is 80 bytes + quotes.
    encodeBatch([{ op: 'put', job: job('a', { payload: 'é'.repeat(40) }) }], 82);
    assert.throws(() => encodeBatch([{ op: 'put', job: job('a', { payload: 'é'.repeat(40) }) }], 81), /got 82/);
  });
});
