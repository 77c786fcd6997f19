/**
 * LocalState directly (no store around it): which claim path runs, and the
 * order claims take jobs in, checked against a plain sorted list.
 *
 * Most of LocalState's claim bookkeeping only buys speed: `takeDue` takes a
 * due run straight off the time index when pick would take exactly those
 * jobs, and `promote` re-sorts a ready queue only when a job arrives before
 * the last one. A wrong shortcut that stays correct is still a bug (a claim
 * that re-sorts every time is O(n log n) a job), so these tests name the
 * path that must run: `takeDue` answers `undefined` when it declines, and a
 * re-sort is seen as a ReadyQueue.clear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LocalState } from '../src/store/local-state.js';
import { ReadyQueue } from '../src/store/ready-queue.js';
import { runningRecord } from '../src/store/record.js';
import type { ClaimRequest, JobRecord } from '../src/store/store.js';

interface Spec {
  id: string;
  name?: string;
  runAt: number;
  priority?: number;
  group?: string;
  /** The insertion number; default: the state's next. */
  seq?: number;
}

function record(s: Spec): JobRecord {
  const r: JobRecord = { id: s.id, name: s.name ?? 'a', payload: null, state: 'scheduled', runAt: s.runAt, createdAt: 0, attempt: 0, seq: 0, priority: s.priority ?? 0 };
  if (s.group !== undefined) r.group = s.group;
  return r;
}

function stateWith(...specs: Spec[]): LocalState {
  const state = new LocalState();
  for (const s of specs) insert(state, s);
  return state;
}

function insert(state: LocalState, s: Spec): JobRecord {
  const job = record(s);
  const seq = s.seq ?? state.nextSeq;
  if (seq >= state.nextSeq) state.nextSeq = seq + 1;
  assert.equal(state.insertNew(job, seq), true);
  return job;
}

function request(now: number, limit: number, capacity: (name: string) => number = () => 100): ClaimRequest {
  let n = 0;
  return { now, limit, capacity, token: () => `t${n++}` };
}

/** What a MemoryStore's claim does: the shortcut, else promote + pick; the taken jobs become running. */
function claim(state: LocalState, req: ClaimRequest): { ids: string[]; direct: boolean; waiting: string[] } {
  const direct = state.takeDue(req);
  let jobs: JobRecord[];
  let waiting: string[] = [];
  if (direct !== undefined) jobs = direct;
  else {
    state.promote(req.now);
    ({ jobs, waiting } = state.pick(req));
  }
  for (const job of jobs) state.start(job, runningRecord(job, req.token()));
  return { ids: jobs.map((j) => j.id), direct: direct !== undefined, waiting: [...waiting].sort() };
}

/** Counts ReadyQueue re-sorts (resortReady clears the queue, then pushes its jobs back). */
function countResorts(): { count: () => number; restore: () => void } {
  const clear = ReadyQueue.prototype.clear;
  let n = 0;
  ReadyQueue.prototype.clear = function (this: ReadyQueue): void {
    n++;
    clear.call(this);
  };
  return { count: () => n, restore: () => (ReadyQueue.prototype.clear = clear) };
}

test('takeDue takes a due run of one name in (runAt, seq) order straight off the time index', () => {
  const state = stateWith({ id: 'a1', runAt: 10 }, { id: 'a2', runAt: 10 }, { id: 'a3', runAt: 20 }, { id: 'a4', runAt: 50 });
  const got = claim(state, request(30, 10));
  assert.deepEqual(got, { ids: ['a1', 'a2', 'a3'], direct: true, waiting: [] });
  assert.equal(state.nextDueAt(), 50);
  assert.deepEqual(state.counts(), { scheduled: 1, running: 3, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 1 });
  // Nothing due: an empty answer, still the shortcut.
  assert.deepEqual(claim(state, request(40, 10)), { ids: [], direct: true, waiting: [] });
});

test('takeDue declines when pick would choose differently, and what it took goes first in line', () => {
  const cases: { why: string; specs: Spec[]; req: ClaimRequest; ids: string[]; waiting?: string[] }[] = [
    { why: 'two names due', specs: [{ id: 'a1', runAt: 1 }, { id: 'b1', name: 'b', runAt: 2 }, { id: 'a2', runAt: 3 }], req: request(5, 10), ids: ['a1', 'b1', 'a2'] },
    { why: 'two priorities', specs: [{ id: 'a1', runAt: 1 }, { id: 'a2', runAt: 2, priority: 5 }], req: request(5, 10), ids: ['a2', 'a1'] },
    { why: 'a grouped job due', specs: [{ id: 'a1', runAt: 1, group: 'g' }, { id: 'a2', runAt: 2 }], req: request(5, 10), ids: ['a1', 'a2'] },
    { why: 'the first due is grouped and alone', specs: [{ id: 'a1', runAt: 1, group: 'g' }], req: request(5, 10), ids: ['a1'] },
    { why: 'more due than the name has room for', specs: [{ id: 'a1', runAt: 1 }, { id: 'a2', runAt: 2 }, { id: 'a3', runAt: 3 }], req: request(5, 10, () => 2), ids: ['a1', 'a2'], waiting: ['a'] },
    {
      // Equal runAts pushed out of seq order leave the time index in push order: pick must re-sort them.
      why: 'equal runAts out of seq order',
      specs: [{ id: 'late', runAt: 4, seq: 9 }, { id: 'early', runAt: 4, seq: 3 }],
      req: request(5, 10),
      ids: ['early', 'late'],
    },
  ];
  for (const c of cases) {
    const state = stateWith(...c.specs);
    assert.deepEqual(claim(state, c.req), { ids: c.ids, direct: false, waiting: c.waiting ?? [] }, c.why);
    assert.equal(state.nextDueAt(), undefined, `${c.why}: every due job left the time index`);
  }
});

test('takeDue declines while a ready queue holds a job, after a backward clock step, and for no room', () => {
  // A job left waiting in its ready queue (capacity 0) keeps later claims on the general path.
  const state = stateWith({ id: 'a1', runAt: 1 }, { id: 'b1', name: 'b', runAt: 2 });
  assert.deepEqual(claim(state, request(5, 10, (n) => (n === 'b' ? 0 : 10))), { ids: ['a1'], direct: false, waiting: ['b'] });
  insert(state, { id: 'a2', runAt: 6 });
  assert.deepEqual(claim(state, request(7, 10)), { ids: ['b1', 'a2'], direct: false, waiting: [] });
  // The ready queues are empty again: the shortcut is back.
  insert(state, { id: 'a3', runAt: 8 });
  assert.deepEqual(claim(state, request(9, 10)), { ids: ['a3'], direct: true, waiting: [] });
  // The clock went back below the last promote: the general path (it demotes).
  insert(state, { id: 'a4', runAt: 3 });
  assert.deepEqual(claim(state, request(4, 10)), { ids: ['a4'], direct: false, waiting: [] });
  // A limit of 0 takes nothing and touches nothing.
  insert(state, { id: 'a5', runAt: 4 });
  assert.equal(state.takeDue(request(10, 0)), undefined);
  assert.equal(state.nextDueAt(), 4);
});

test('takeDue at the limit leaves the rest due in the time index only while every scheduled job is one plain name in seq order', () => {
  const plain = (): LocalState => stateWith({ id: 'a1', runAt: 1 }, { id: 'a2', runAt: 2 }, { id: 'a3', runAt: 3 });
  // All plain: the first two taken, a3 stays in the time index.
  let state = plain();
  assert.deepEqual(claim(state, request(5, 2)), { ids: ['a1', 'a2'], direct: true, waiting: [] });
  assert.equal(state.nextDueAt(), 3);

  // Capacity equal to the limit: the same.
  state = plain();
  assert.deepEqual(claim(state, request(5, 2, () => 2)), { ids: ['a1', 'a2'], direct: true, waiting: [] });
  assert.equal(state.nextDueAt(), 3);

  // A job that is not due yet but of another name, or with a priority, or a group: the rest are promoted.
  for (const other of [{ id: 'b9', name: 'b', runAt: 99 }, { id: 'a9', runAt: 99, priority: 1 }, { id: 'a9', runAt: 99, group: 'g' }] satisfies Spec[]) {
    state = plain();
    insert(state, other);
    assert.deepEqual(claim(state, request(5, 2)), { ids: ['a1', 'a2'], direct: false, waiting: [] }, JSON.stringify(other));
    assert.equal(state.nextDueAt(), 99, `${other.id}: a3 was promoted`);
    // Once that job leaves, the state is plain again.
    state.apply({ op: 'del', id: other.id });
    assert.deepEqual(claim(state, request(5, 1)), { ids: ['a3'], direct: false, waiting: [] }, 'a3 waits in its ready queue');
    insert(state, { id: 'a4', runAt: 6 });
    insert(state, { id: 'a5', runAt: 7 });
    assert.deepEqual(claim(state, request(8, 1)), { ids: ['a4'], direct: true, waiting: [] });
    assert.equal(state.nextDueAt(), 7);
  }

  // Pushed out of seq order (runAts differ, so the run itself is in order): the rest are promoted.
  state = stateWith({ id: 'a1', runAt: 1, seq: 5 }, { id: 'a2', runAt: 2, seq: 3 }, { id: 'a3', runAt: 3, seq: 6 });
  assert.deepEqual(claim(state, request(5, 1)), { ids: ['a1'], direct: false, waiting: [] });
  assert.equal(state.nextDueAt(), undefined);
  // The time index emptied since: seq order holds again.
  assert.deepEqual(claim(state, request(5, 5)).ids, ['a2', 'a3']);
  insert(state, { id: 'a4', runAt: 6 });
  insert(state, { id: 'a5', runAt: 7 });
  assert.deepEqual(claim(state, request(8, 1)), { ids: ['a4'], direct: true, waiting: [] });
  assert.equal(state.nextDueAt(), 7);
});

test('the plain name is the first one scheduled while none was', () => {
  const state = stateWith({ id: 'a1', runAt: 1 });
  assert.deepEqual(claim(state, request(1, 1)).ids, ['a1']);
  // No job scheduled: b becomes the plain name, and a run of b past the limit stays in the time index.
  for (const [i, at] of [1, 2, 3].entries()) insert(state, { id: `b${i}`, name: 'b', runAt: at });
  assert.deepEqual(claim(state, request(5, 1)), { ids: ['b0'], direct: true, waiting: [] });
  assert.equal(state.nextDueAt(), 2);
  // A record of a (the old plain name) arriving now is unusual.
  insert(state, { id: 'a2', runAt: 50 });
  assert.deepEqual(claim(state, request(5, 1)), { ids: ['b1'], direct: false, waiting: [] });
  assert.equal(state.nextDueAt(), 50);
});

test('promote re-sorts a ready queue only when a job arrives before the last one promoted into it', () => {
  const resorts = countResorts();
  try {
    // In order, across promotes and names: no re-sort.
    const state = stateWith({ id: 'a1', runAt: 1 }, { id: 'b1', name: 'b', runAt: 2 }, { id: 'a2', runAt: 3 }, { id: 'a3', runAt: 4 });
    state.promote(3);
    state.promote(4);
    assert.equal(resorts.count(), 0);
    // a0 (runAt 2) arrives after a3 was promoted, while a's queue holds jobs: one re-sort, and pick order is right.
    insert(state, { id: 'a0', runAt: 2 });
    state.promote(5);
    assert.equal(resorts.count(), 1);
    assert.deepEqual(state.pick(request(5, 10)).jobs.map((j) => j.id), ['a1', 'b1', 'a0', 'a2', 'a3']);
    // The queue is empty now: a job earlier than the last promoted needs no re-sort.
    insert(state, { id: 'a-1', runAt: 0 });
    state.promote(6);
    assert.equal(resorts.count(), 1);
    // The last job promoted is kept per name when the names alternate within one promote:
    // a4 then b2, so a's last (a4) is written when the run switches to b.
    insert(state, { id: 'a4', runAt: 7 });
    insert(state, { id: 'b2', name: 'b', runAt: 8 });
    state.promote(8);
    assert.equal(resorts.count(), 1);
    // a5 (runAt 6) is before a4, though not before a-1.
    insert(state, { id: 'a5', runAt: 6 });
    state.promote(9);
    assert.equal(resorts.count(), 2);
    assert.deepEqual(state.pick(request(9, 10)).jobs.map((j) => j.id), ['a-1', 'a5', 'a4', 'b2']);
  } finally {
    resorts.restore();
  }
});

// ---- claims against a plain sorted list ----

type Op =
  | { kind: 'insert'; name: 'a' | 'b'; at: number; priority: number; oldSeq: boolean }
  | { kind: 'claim'; dt: number; limit: number; capA: number; capB: number; general: boolean }
  | { kind: 'cancel'; pick: number }
  | { kind: 'reschedule'; pick: number; at: number }
  | { kind: 'retry'; pick: number; at: number }
  | { kind: 'complete'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      name: fc.constantFrom('a' as const, 'a' as const, 'b' as const),
      at: fc.integer({ min: -3, max: 6 }),
      priority: fc.constantFrom(0, 0, 0, 2),
      oldSeq: fc.constantFrom(false, false, false, false, false, false, false, false, false, true),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('claim' as const),
      dt: fc.integer({ min: -2, max: 4 }),
      limit: fc.integer({ min: 0, max: 5 }),
      capA: fc.constantFrom(0, 1, 3, 100),
      capB: fc.constantFrom(0, 2, 100),
      general: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reschedule' as const), pick: fc.nat(), at: fc.integer({ min: -3, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), pick: fc.nat(), at: fc.integer({ min: -3, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick: fc.nat() }) },
);

/** Which of `scheduled` a claim takes: highest priority, then runAt, then seq, while its name has room. */
function expectedClaim(scheduled: JobRecord[], now: number, limit: number, capacity: (name: string) => number): { ids: string[]; waiting: string[] } {
  const due = scheduled.filter((j) => j.runAt <= now).sort((x, y) => y.priority - x.priority || x.runAt - y.runAt || x.seq - y.seq);
  const taken = new Map<string, number>();
  const ids: string[] = [];
  let lastTaken: string | undefined;
  const left = new Set<string>();
  for (const job of due) {
    if (ids.length === limit) {
      left.add(job.name);
      continue;
    }
    const n = taken.get(job.name) ?? 0;
    if (capacity(job.name) - n <= 0) {
      left.add(job.name);
      continue;
    }
    taken.set(job.name, n + 1);
    ids.push(job.id);
    lastTaken = job.name;
  }
  // Waiting: a name with due jobs left that its capacity holds back. One that filled up with the
  // claim's very last job is held back by the limit as much as by capacity: not reported.
  const waiting = [...left].filter((name) => {
    const n = taken.get(name) ?? 0;
    if (capacity(name) - n > 0) return false;
    return n === 0 || ids.length < limit || lastTaken !== name;
  });
  return { ids, waiting: waiting.sort() };
}

test('claims take what a sorted list says, on both paths, through inserts into the past, reschedules, retries and clock steps', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
      const state = new LocalState();
      let now = 0;
      let n = 0;
      let token = 0;
      const ofState = (s: JobRecord['state']): JobRecord[] => [...state.values()].filter((j) => j.state === s).sort((x, y) => x.seq - y.seq);
      for (const op of ops) {
        if (op.kind === 'insert') {
          // oldSeq: a record with an earlier seq than those in the time index (as a revert re-inserts one).
          const id = n++;
          insert(state, { id: `j${id}`, name: op.name, runAt: now + op.at, priority: op.priority, ...(op.oldSeq ? { seq: -id } : {}) });
        } else if (op.kind === 'claim') {
          now = Math.max(0, now + op.dt);
          const capacity = (name: string): number => (name === 'a' ? op.capA : op.capB) - ofState('running').filter((j) => j.name === name).length;
          const want = expectedClaim(ofState('scheduled'), now, op.limit, capacity);
          const req: ClaimRequest = { now, limit: op.limit, capacity, token: () => `t${token++}` };
          let got: { ids: string[]; waiting: string[] };
          if (op.general) {
            state.promote(now);
            const picked = state.pick(req);
            for (const job of picked.jobs) state.apply({ op: 'put', job: runningRecord(job, req.token()) });
            got = { ids: picked.jobs.map((j) => j.id), waiting: [...picked.waiting].sort() };
          } else {
            const { ids, waiting } = claim(state, req);
            got = { ids, waiting };
          }
          assert.deepEqual(got, want, `claim at ${now} limit ${op.limit}`);
        } else {
          const pool = ofState(op.kind === 'retry' || op.kind === 'complete' ? 'running' : 'scheduled');
          const job = pool[op.pick % Math.max(1, pool.length)];
          if (job === undefined) continue;
          const next: JobRecord = { ...job };
          delete next.token;
          if (op.kind === 'cancel') Object.assign(next, { state: 'cancelled', finishedAt: now });
          else if (op.kind === 'complete') Object.assign(next, { state: 'completed', finishedAt: now });
          else Object.assign(next, { state: 'scheduled', runAt: now + op.at });
          state.apply({ op: 'put', job: next });
        }
        const scheduled = ofState('scheduled').length;
        const counts = state.counts();
        assert.equal(counts.scheduled, scheduled);
        assert.equal(counts.indexed, scheduled);
        assert.equal(counts.running, ofState('running').length);
      }
    }),
    { numRuns: 400 },
  );
});

// ---- load ----

function loaded(s: Spec & { state?: JobRecord['state']; seq: number }): JobRecord {
  const r = record(s);
  r.seq = s.seq;
  if (s.state !== undefined) r.state = s.state;
  if (s.state === 'running') r.token = 'old';
  return r;
}

/** Claims one job at a time at `now` and completes it before the next claim: the ids in claim order. */
function drainOneByOne(state: LocalState, now: number): string[] {
  const ids: string[] = [];
  for (;;) {
    state.promote(now);
    const [job] = state.pick(request(now, 1)).jobs;
    if (job === undefined) return ids;
    ids.push(job.id);
    const running = runningRecord(job, 't');
    state.start(job, running);
    state.apply({ op: 'put', job: { ...running, state: 'completed', finishedAt: now } });
  }
}

test('load counts a group\'s running and scheduled jobs: its limit holds, and it keeps its turn while it has jobs', () => {
  // A grouped job found running at load holds its group (limit 1) until it finishes.
  const state = new LocalState();
  state.load([loaded({ id: 'r', runAt: 1, group: 'g', state: 'running', seq: 1 }), loaded({ id: 'a', runAt: 2, group: 'g', seq: 2 }), loaded({ id: 'p', runAt: 3, seq: 3 })]);
  state.promote(10);
  assert.deepEqual(state.pick(request(10, 5)).jobs.map((j) => j.id), ['p'], 'a waits for r, which holds its group');
  const r = state.get('r') as JobRecord;
  state.apply({ op: 'put', job: { ...r, state: 'completed', finishedAt: 10 } });
  state.promote(10);
  assert.deepEqual(state.pick(request(10, 5)).jobs.map((j) => j.id), ['a']);

  // Round robin between loaded groups: a group that still has jobs after its first one ran keeps its
  // turn (served), so a group never served (g3) goes before it.
  const lanes = new LocalState();
  lanes.load([
    loaded({ id: 'A1', runAt: 1, group: 'g1', seq: 1 }),
    loaded({ id: 'B1', runAt: 2, group: 'g2', seq: 2 }),
    loaded({ id: 'A2', runAt: 3, group: 'g1', seq: 3 }),
    loaded({ id: 'B2', runAt: 4, group: 'g2', seq: 4 }),
    loaded({ id: 'C1', runAt: 5, group: 'g3', seq: 5 }),
  ]);
  assert.deepEqual(drainOneByOne(lanes, 10), ['A1', 'B1', 'C1', 'A2', 'B2']);
});
