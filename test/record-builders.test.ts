// The firing path's record builders (runningRecord, finishedRecord) build
// exactly what patchRecord builds for their patch: same fields, same values,
// same key order (so V8 gives both one hidden class), for records with any
// mix of optional fields. The fixture sets every JobRecord field, so a
// field added to JobRecord and patchRecord but not to a builder fails here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { finishedRecord, patchRecord, runningRecord, shiftDue } from '../src/store/record.js';
import type { JobRecord } from '../src/store/store.js';

const FULL: Required<JobRecord> = {
  id: 'j1',
  name: 'a',
  payload: { n: 1 },
  state: 'scheduled',
  runAt: 1000,
  createdAt: 10,
  attempt: 2,
  seq: 7,
  priority: 3,
  retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 10 } },
  timeout: 500,
  lastError: { name: 'Error', message: 'x' },
  result: 'r',
  finishedAt: 900,
  token: 'old',
  recur: { misfire: 'once', slot: 1000, count: 1, signature: 's', every: 10 },
  lost: 'crash',
  relative: true,
  progress: 50,
  logs: ['l'],
  trace: 't',
  group: 'g',
  groupConcurrency: 2,
  dedupe: { key: 'k', until: 2000 },
  retain: { complete: { count: 3 } },
  removal: { at: 5000 },
};
const OPTIONAL = ['retry', 'timeout', 'lastError', 'result', 'finishedAt', 'token', 'recur', 'lost', 'relative', 'progress', 'logs', 'trace', 'group', 'groupConcurrency', 'dedupe', 'retain', 'removal'] as const;

const recordArb: fc.Arbitrary<JobRecord> = fc.subarray([...OPTIONAL]).map((keep) => {
  const r: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(FULL)) if (!(OPTIONAL as readonly string[]).includes(k) || keep.includes(k as (typeof OPTIONAL)[number])) r[k] = v;
  return r as unknown as JobRecord;
});

function same(actual: JobRecord, expected: JobRecord): void {
  assert.deepEqual(Object.keys(actual), Object.keys(expected));
  assert.deepEqual(actual, expected);
}

test('runningRecord is patchRecord of a claim', () => {
  same(runningRecord(FULL, 'tok'), patchRecord(FULL, { state: 'running', attempt: FULL.attempt + 1, token: 'tok' }));
  fc.assert(
    fc.property(recordArb, fc.string(), (j, token) => {
      same(runningRecord(j, token), patchRecord(j, { state: 'running', attempt: j.attempt + 1, token }));
    }),
  );
});

test("finishedRecord is patchRecord of a one-off job's end", () => {
  const patch = (j: JobRecord, state: 'completed' | 'dead', now: number, result: JobRecord['result']): JobRecord =>
    patchRecord(j, { state, finishedAt: now, result, relative: undefined, token: undefined, lost: undefined });
  same(finishedRecord(FULL, 'completed', 5, { ok: true }), patch(FULL, 'completed', 5, { ok: true }));
  fc.assert(
    fc.property(recordArb, fc.constantFrom('completed' as const, 'dead' as const), fc.integer(), fc.option(fc.jsonValue(), { nil: undefined }), (j, state, now, result) => {
      same(finishedRecord(j, state, now, result as JobRecord['result']), patch(j, state, now, result as JobRecord['result']));
    }),
  );
});

test('patchRecord: a field given in the patch replaces the record\'s, and undefined removes it', () => {
  // No caller patches retry or timeout today; the patch type allows it, so it must take effect.
  const replaced = patchRecord(FULL, {
    retry: { maxRetries: 9, backoff: { type: 'fixed', delay: 1 } },
    timeout: 7,
    lastError: { name: 'TypeError', message: 'y' },
    result: 'r2',
    finishedAt: 901,
    token: 'new',
    recur: { misfire: 'skip', slot: 2000, count: 2, signature: 's2', every: 20 },
    lost: 'lease',
  });
  assert.deepEqual(
    [replaced.retry, replaced.timeout, replaced.lastError, replaced.result, replaced.finishedAt, replaced.token, replaced.recur?.slot, replaced.lost],
    [{ maxRetries: 9, backoff: { type: 'fixed', delay: 1 } }, 7, { name: 'TypeError', message: 'y' }, 'r2', 901, 'new', 2000, 'lease'],
  );
  const cleared = patchRecord(FULL, {
    retry: undefined,
    timeout: undefined,
    lastError: undefined,
    result: undefined,
    finishedAt: undefined,
    token: undefined,
    recur: undefined,
    lost: undefined,
    relative: undefined,
  });
  for (const key of ['retry', 'timeout', 'lastError', 'result', 'finishedAt', 'token', 'recur', 'lost', 'relative'] as const) {
    assert.equal(key in cleared, false, `${key} removed`);
  }
  // A patch cannot name the fields it would not change (type-checked by tsc, which reads the tests).
  // @ts-expect-error priority is not patchable
  assert.equal(patchRecord(FULL, { priority: 9 }).priority, FULL.priority);
  // A removal (removeOnComplete / removeOnFail) belongs to a finished record: kept while it stays
  // finished (a clock step re-bases a dead job's dedupe window through a patch), dropped when revived.
  for (const state of ['completed', 'dead'] as const) assert.deepEqual(patchRecord({ ...FULL, state }, {}).removal, FULL.removal, state);
  assert.equal('removal' in patchRecord({ ...FULL, state: 'dead' }, { state: 'scheduled' }), false, 'revived');
  // The fields a patch cannot name are copied as they are.
  for (const key of ['progress', 'logs', 'trace', 'group', 'groupConcurrency', 'dedupe', 'retain'] as const) assert.deepEqual(cleared[key], FULL[key], key);
});

test('shiftDue moves only a waiting elapsed-time due or a live every schedule, and clamps to the Date range', () => {
  const { dedupe: _dedupe, recur: _recur, relative: _relative, ...plain } = FULL;
  const base: JobRecord = { ...plain, state: 'scheduled', relative: true };
  assert.equal(shiftDue(base, 100).runAt, FULL.runAt + 100, 'a scheduled relative due moves');
  assert.equal(shiftDue(plain, 100).runAt, FULL.runAt, 'a date stays');
  // A finished record is history: its runAt stays, even when it was relative (a cancelled
  // scheduleIn job keeps the flag) or an every schedule.
  for (const state of ['completed', 'dead', 'cancelled'] as const) {
    const finished: JobRecord = { ...base, state };
    assert.equal(shiftDue(finished, 100), finished, `${state}, relative`);
    const every: JobRecord = { ...finished, recur: FULL.recur };
    assert.equal(shiftDue(every, 100), every, `${state}, every`);
  }
  // A running every occurrence moves (its next slot follows from its slot); a running one-off does not.
  assert.equal(shiftDue({ ...base, state: 'running', recur: FULL.recur }, 100).runAt, FULL.runAt + 100);
  const oneOff: JobRecord = { ...base, state: 'running' };
  assert.equal(shiftDue(oneOff, 100), oneOff);
  // A dedupe window's end moves in every state, and a moved due moves with it.
  const windowed = shiftDue({ ...base, dedupe: { key: 'k', until: 2_000 } }, 100);
  assert.deepEqual([windowed.runAt, windowed.dedupe], [FULL.runAt + 100, { key: 'k', until: 2_100 }]);
  const finishedInput: JobRecord = { ...base, state: 'completed', dedupe: { key: 'k', until: 2_000 } };
  const finishedWindow = shiftDue(finishedInput, 100);
  assert.deepEqual([finishedWindow.runAt, finishedWindow.dedupe], [FULL.runAt, { key: 'k', until: 2_100 }]);
  // A new record: the store keeps the old one until the write lands, to undo it.
  assert.deepEqual(finishedInput.dedupe, { key: 'k', until: 2_000 }, 'the record passed in is left as it was');
  // Past the Date range (±8.64e15 ms), a due is held at its edge: new Date() of it stays valid.
  assert.equal(shiftDue({ ...base, runAt: 8.64e15 - 10 }, 100).runAt, 8.64e15);
  assert.equal(shiftDue({ ...base, runAt: -8.64e15 + 10 }, -100).runAt, -8.64e15);
});

test('shiftDue moves an every schedule on its grid: anchor, current slot and last slot by the step; startAt and endAt stay', () => {
  // A step that is not a multiple of the interval: moved any other way, the grid's phase changes.
  const recur = { misfire: 'once' as const, slot: 1_000, count: 3, signature: 's', every: 60, anchor: 40, startAt: 10, endAt: 9_000, last: { state: 'completed' as const, slot: 940, at: 950 } };
  const { dedupe: _dedupe, relative: _relative, ...plain } = FULL;
  const moved = shiftDue({ ...plain, state: 'scheduled', runAt: 1_000, recur }, 7);
  assert.equal(moved.runAt, 1_007);
  assert.deepEqual(moved.recur, { ...recur, slot: 1_007, anchor: 47, last: { ...recur.last, slot: 947 } });
  // Without an anchor the grid starts at startAt, then at 0.
  const { anchor: _anchor, ...fromStart } = recur;
  assert.equal(shiftDue({ ...plain, state: 'scheduled', runAt: 1_000, recur: fromStart }, 7).recur?.anchor, 17);
  const { startAt: _startAt, ...fromZero } = fromStart;
  assert.equal(shiftDue({ ...plain, state: 'scheduled', runAt: 1_000, recur: fromZero }, 7).recur?.anchor, 7);
});
