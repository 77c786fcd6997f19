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
import { listJobs } from '../src/store/list-jobs.js';
import { LocalState, type Change } from '../src/store/local-state.js';
import { ReadyQueue } from '../src/store/ready-queue.js';
import { inspect } from 'node:util';
import { runningRecord, scheduledRecord } from '../src/store/record.js';
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

/** Counts ReadyQueue clears: a re-sort of a queue (what promote did until 5 December 2026 for an early job) clears it, then pushes its jobs back. */
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
    {
      // Name a's queue is made first (a1 is first in the time index), so b1 is compared against a1:
      // b1's lower seq must not outweigh a1's priority.
      why: 'a higher priority in one name against an equal runAt and a lower seq in another',
      specs: [{ id: 'a1', runAt: 1, seq: 9, priority: 5 }, { id: 'b1', name: 'b', runAt: 1, seq: 3 }],
      req: request(5, 10),
      ids: ['a1', 'b1'],
    },
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

test('promote never re-sorts a ready queue: a job that arrives before the last one promoted into it waits beside it, and picks keep the order', () => {
  // Until 5 December 2026 such a job re-sorted its whole queue (O(n log n) each: 200 of them with
  // 1e5 jobs waiting cost 6.7 s). It now goes to the queue's early heap (ReadyQueue.pushEarly).
  const resorts = countResorts();
  const pushEarly = ReadyQueue.prototype.pushEarly;
  let early = 0;
  ReadyQueue.prototype.pushEarly = function (this: ReadyQueue, job: JobRecord): number {
    early++;
    return pushEarly.call(this, job);
  };
  try {
    // In order, across promotes and names: nothing early.
    const state = stateWith({ id: 'a1', runAt: 1 }, { id: 'b1', name: 'b', runAt: 2 }, { id: 'a2', runAt: 3 }, { id: 'a3', runAt: 4 });
    state.promote(3);
    state.promote(4);
    assert.equal(early, 0);
    // a0 (runAt 2) arrives after a3 was promoted, while a's queue holds jobs: early, and pick order is right.
    insert(state, { id: 'a0', runAt: 2 });
    state.promote(5);
    assert.equal(early, 1);
    assert.deepEqual(state.pick(request(5, 10)).jobs.map((j) => j.id), ['a1', 'b1', 'a0', 'a2', 'a3']);
    // The queue is empty now: a job earlier than the last promoted is not early.
    insert(state, { id: 'a-1', runAt: 0 });
    state.promote(6);
    assert.equal(early, 1);
    // The last job promoted is kept per name when the names alternate within one promote:
    // a4 then b2, so a's last (a4) is written when the run switches to b.
    insert(state, { id: 'a4', runAt: 7 });
    insert(state, { id: 'b2', name: 'b', runAt: 8 });
    state.promote(8);
    assert.equal(early, 1);
    // a5 (runAt 6) is before a4, though not before a-1; a6 (runAt 5, priority 3) goes first of all.
    insert(state, { id: 'a5', runAt: 6 });
    insert(state, { id: 'a6', runAt: 5, priority: 3 });
    state.promote(9);
    assert.equal(early, 3);
    assert.deepEqual(state.pick(request(9, 10)).jobs.map((j) => j.id), ['a6', 'a-1', 'a5', 'a4', 'b2']);
    assert.equal(resorts.count(), 0);
  } finally {
    ReadyQueue.prototype.pushEarly = pushEarly;
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
  | { kind: 'complete'; pick: number }
  | { kind: 'die'; pick: number }
  | { kind: 'undo'; pick: number };

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
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('die' as const), pick: fc.nat() }) },
  // A change applied, then undone as a failed durable batch is (restore): a retention queue may then hold a record twice.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('undo' as const), pick: fc.nat() }) },
);

const FINISHED_STATES: readonly (readonly JobRecord['state'][])[] = [['running'], ['completed'], ['cancelled'], ['dead'], ['completed', 'cancelled'], ['running', 'dead'], ['running', 'completed', 'cancelled', 'dead']];

/** recordsIn and running() answer what a walk of every record answers (recordsIn in any order, running() by seq). */
function assertStateIndexes(state: LocalState): void {
  const all = [...state.values()];
  const bySeq = (x: JobRecord, y: JobRecord): number => x.seq - y.seq;
  for (const states of FINISHED_STATES) {
    const want = all.filter((j) => states.includes(j.state)).sort(bySeq);
    const got = state.recordsIn(states);
    assert.deepEqual([...got].sort(bySeq), want, `recordsIn(${states.join(',')})`);
    assert.equal(new Set(got).size, got.length, 'no record twice');
  }
  assert.deepEqual(state.running(), all.filter((j) => j.state === 'running').sort(bySeq));
}

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
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.constantFrom(0, 1, 2, 1000), (ops, keep) => {
      const state = new LocalState();
      // Small limits evict finished and dead records: recordsIn must not see them afterwards.
      state.keepCompleted = keep;
      state.keepDead = keep;
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
          const pool = op.kind === 'undo' ? [...state.values()].sort((x, y) => x.seq - y.seq) : ofState(op.kind === 'retry' || op.kind === 'complete' || op.kind === 'die' ? 'running' : 'scheduled');
          const job = pool[op.pick % Math.max(1, pool.length)];
          if (job === undefined) continue;
          const next: JobRecord = { ...job };
          delete next.token;
          if (op.kind === 'cancel') Object.assign(next, { state: 'cancelled', finishedAt: now });
          else if (op.kind === 'complete') Object.assign(next, { state: 'completed', finishedAt: now });
          else if (op.kind === 'die') Object.assign(next, { state: 'dead', finishedAt: now });
          else if (op.kind === 'undo') Object.assign(next, { finishedAt: now + 1 });
          else Object.assign(next, { state: 'scheduled', runAt: now + op.at });
          if (op.kind === 'undo') {
            const inverse: Change[] = [];
            const extra: Change[] = [];
            state.apply({ op: 'put', job: next }, inverse, extra);
            for (const change of inverse.reverse()) state.restore(change);
          } else state.apply({ op: 'put', job: next });
        }
        assertStateIndexes(state);
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

test('the running queue stays right through many starts and finishes (its tidy drops only records that stopped)', () => {
  const state = new LocalState();
  for (let i = 0; i < 400; i++) insert(state, { id: `j${i}`, runAt: i });
  let token = 0;
  for (let now = 0; now < 400; now++) {
    state.promote(now);
    for (const job of state.pick(request(now, 3)).jobs) state.start(job, runningRecord(job, `t${token++}`));
    // Finish all but the newest two running: some run across many tidies.
    const running = state.running();
    for (const job of running.slice(0, Math.max(0, running.length - 2))) {
      state.apply({ op: 'put', job: { ...job, state: now % 7 === 0 ? 'dead' : 'completed', finishedAt: now } });
    }
    assertStateIndexes(state);
  }
});

test('load indexes the running, finished and dead records it finds: a list of them walks no scheduled job', () => {
  const state = new LocalState();
  const running = loaded({ id: 'r', runAt: 1, state: 'running', seq: 4 });
  state.load([
    loaded({ id: 's', runAt: 5, seq: 1 }),
    loaded({ id: 'c', runAt: 1, state: 'completed', seq: 2 }),
    loaded({ id: 'd', runAt: 1, state: 'dead', seq: 3 }),
    running,
    loaded({ id: 'x', runAt: 1, state: 'cancelled', seq: 5 }),
  ]);
  assertStateIndexes(state);
  assert.deepEqual(state.running(), [running]);
  assert.deepEqual(
    state.recordsIn(['running', 'dead']).map((j) => j.id).sort(),
    ['d', 'r'],
  );
  // listJobs takes them from the indexes: a walk of every record would throw here.
  state.forEachRecord = () => {
    throw new Error('walked every record');
  };
  assert.deepEqual(listJobs(state, { states: ['completed', 'cancelled', 'running'] }).map((j) => j.id), ['c', 'r', 'x']);
  assert.throws(() => listJobs(state, { states: ['scheduled'] }), /walked every record/);
});

// ---- aimed at bookkeeping that only a wrong shortcut or a leak would show ----

test('takeDue stays on the shortcut for a run in runAt order whose seqs are not, and for two claims at one instant', () => {
  // Inserted latest-first: runAt order is not seq order, and no two runAts tie.
  const state = stateWith({ id: 'a3', runAt: 3 }, { id: 'a2', runAt: 2 }, { id: 'a1', runAt: 1 });
  assert.deepEqual(claim(state, request(5, 10)), { ids: ['a1', 'a2', 'a3'], direct: true, waiting: [] });
  insert(state, { id: 'a4', runAt: 4 });
  insert(state, { id: 'a5', runAt: 5 });
  assert.deepEqual(claim(state, request(5, 1)), { ids: ['a4'], direct: true, waiting: [] });
  assert.deepEqual(claim(state, request(5, 1)), { ids: ['a5'], direct: true, waiting: [] }, 'a second claim at the same instant');
});

test('takeDue at the limit returns its run whatever else is scheduled when nothing more is due', () => {
  // b9 (another name) is scheduled but not due: the next key is past now.
  const later = stateWith({ id: 'a1', runAt: 1 }, { id: 'a2', runAt: 2 }, { id: 'a3', runAt: 20 }, { id: 'b9', name: 'b', runAt: 30 });
  assert.deepEqual(claim(later, request(5, 2)), { ids: ['a1', 'a2'], direct: true, waiting: [] });
  assert.equal(later.nextDueAt(), 20);
  // Nothing left in the time index at all, while the plain name is b (its job cancelled): a's jobs are unusual.
  const empty = stateWith({ id: 'b1', name: 'b', runAt: 50 }, { id: 'a1', runAt: 1 }, { id: 'a2', runAt: 2 });
  empty.apply({ op: 'del', id: 'b1' });
  assert.deepEqual(claim(empty, request(5, 2)), { ids: ['a1', 'a2'], direct: true, waiting: [] });
});

test('the plain name stays the first scheduled while any job is, and only scheduled records count against it', () => {
  // a is plain; b1 is not, and a2 after it is plain again: with b1 due, claims go the general way.
  const state = stateWith({ id: 'a1', runAt: 1 }, { id: 'b1', name: 'b', runAt: 3 }, { id: 'a2', runAt: 2 });
  assert.deepEqual(claim(state, request(5, 1)), { ids: ['a1'], direct: false, waiting: [] });

  // b1 claimed (started) and completed: neither its running nor its completed record is unusual.
  const other = stateWith({ id: 'a1', runAt: 100 }, { id: 'b1', name: 'b', runAt: 1 });
  assert.deepEqual(claim(other, request(5, 10)), { ids: ['b1'], direct: true, waiting: [] });
  const running = other.get('b1') as JobRecord;
  other.apply({ op: 'put', job: { ...running, state: 'completed', finishedAt: 5 } });
  insert(other, { id: 'a2', runAt: 6 });
  insert(other, { id: 'a3', runAt: 7 });
  assert.deepEqual(claim(other, request(8, 1)), { ids: ['a2'], direct: true, waiting: [] });
  assert.equal(other.nextDueAt(), 7);

  // Loaded: a finished record of another name is not unusual either.
  const loadedState = new LocalState();
  loadedState.load([
    { ...loaded({ id: 'b0', name: 'b', runAt: 0, seq: 1 }), state: 'completed', finishedAt: 1 },
    loaded({ id: 'a1', runAt: 1, seq: 2 }),
    loaded({ id: 'a2', runAt: 2, seq: 3 }),
  ]);
  assert.deepEqual(claim(loadedState, request(5, 1)), { ids: ['a1'], direct: true, waiting: [] });
  assert.equal(loadedState.nextDueAt(), 2);
});

test('a job retried onto the due time of loaded jobs keeps its place by seq', () => {
  // r (seq 1) was running at load; s2 and s3 were loaded scheduled. r is retried at s2's runAt:
  // it must leave before s2 (smaller seq), though it was pushed after it.
  const state = new LocalState();
  state.load([loaded({ id: 'r', runAt: 1, seq: 1, state: 'running' }), loaded({ id: 's2', runAt: 10, seq: 2 }), loaded({ id: 's3', runAt: 10, seq: 3 })]);
  const r = state.get('r') as JobRecord;
  const retried: JobRecord = { ...r, state: 'scheduled', runAt: 10 };
  delete retried.token;
  state.apply({ op: 'put', job: retried });
  assert.deepEqual(claim(state, request(20, 1)).ids, ['r']);
  assert.deepEqual(claim(state, request(20, 5)).ids, ['s2', 's3']);
});

test('the recurring count follows a schedule through its claim and back to scheduled', () => {
  const state = new LocalState();
  const job = record({ id: 'cron', runAt: 1 });
  job.recur = { every: 1000, misfire: 'skip', slot: 1, count: 0, signature: 'every 1000' };
  assert.equal(state.insertNew(job, 1), true);
  assert.equal(state.counts().recurring, 1);
  assert.deepEqual(claim(state, request(5, 1)).ids, ['cron']);
  assert.equal(state.counts().recurring, 0, 'running: not counted');
  const running = state.get('cron') as JobRecord;
  const next: JobRecord = { ...running, state: 'scheduled', runAt: 1001 };
  delete next.token;
  state.apply({ op: 'put', job: next });
  assert.equal(state.counts().recurring, 1);
});

test('a grouped job cancelled before it is due never runs', () => {
  const state = stateWith({ id: 'g1', runAt: 10, group: 'g' }, { id: 'p', runAt: 10 });
  const job = state.get('g1') as JobRecord;
  state.apply({ op: 'put', job: { ...job, state: 'cancelled', finishedAt: 1 } });
  assert.deepEqual(state.counts().indexed, 1);
  state.promote(20);
  assert.deepEqual(state.pick(request(20, 10)).jobs.map((j) => j.id), ['p']);
});

test('a dead job revived is not evicted by the deaths after it (keepDead)', () => {
  const state = new LocalState();
  state.keepDead = 1;
  const die = (id: string, at: number): void => {
    const job = state.get(id) as JobRecord;
    state.apply({ op: 'put', job: { ...job, state: 'dead', finishedAt: at } });
  };
  for (const id of ['d1', 'd2', 'd3']) insert(state, { id, runAt: 100 });
  die('d1', 1);
  // Revived: scheduled again; its entry in the dead queue is left behind.
  const revived: JobRecord = { ...(state.get('d1') as JobRecord), state: 'scheduled', runAt: 200 };
  delete revived.finishedAt;
  state.apply({ op: 'put', job: revived });
  die('d2', 2);
  die('d3', 3);
  assert.equal(state.get('d1')?.state, 'scheduled', 'the revived job is still there');
  assert.equal(state.get('d2'), undefined, 'the oldest dead one was evicted');
  assert.equal(state.get('d3')?.state, 'dead');
  assert.deepEqual([state.counts().dead, state.counts().scheduled], [1, 1]);
});

test('a pick that empties a name\'s only ready queue with room left reports no name waiting', () => {
  const state = stateWith({ id: 'a1', runAt: 1 }, { id: 'a2', runAt: 2 });
  state.promote(5);
  const picked = state.pick(request(5, 5, () => 2));
  assert.deepEqual(picked.jobs.map((j) => j.id), ['a1', 'a2']);
  assert.deepEqual(picked.waiting, [], 'capacity 2 was used up, but nothing was left to wait');
  // Jobs left over: held back by capacity when the claim had room for more, by the limit when it had not.
  for (const [limit, cap, waiting] of [[5, 1, ['a']], [2, 2, []], [1, 0, ['a']]] as const) {
    const more = stateWith({ id: 'a1', runAt: 1 }, { id: 'a2', runAt: 2 }, { id: 'a3', runAt: 3 });
    more.promote(5);
    assert.deepEqual(more.pick(request(5, limit, () => cap)).waiting, waiting, `limit ${limit}, capacity ${cap}`);
  }
});

test('promote does not re-sort when jobs arrive in runAt order with decreasing seqs', () => {
  const resorts = countResorts();
  try {
    const state = stateWith({ id: 'x', runAt: 10 }, { id: 'y', runAt: 5 });
    state.promote(5);
    state.promote(10);
    assert.equal(resorts.count(), 0);
    assert.deepEqual(state.pick(request(10, 5)).jobs.map((j) => j.id), ['y', 'x']);
  } finally {
    resorts.restore();
  }
});

test('a group that went idle comes back level with the groups never served, ahead of one served earlier', () => {
  const state = stateWith({ id: 'H1', runAt: 1, group: 'g2' }, { id: 'G1', runAt: 2, group: 'g1' }, { id: 'H2', runAt: 3, group: 'g2' });
  const next = (now: number): string | undefined => {
    state.promote(now);
    const [job] = state.pick(request(now, 1)).jobs;
    if (job === undefined) return undefined;
    const running = runningRecord(job, 't');
    state.start(job, running);
    state.apply({ op: 'put', job: { ...running, state: 'completed', finishedAt: now } });
    return job.id;
  };
  assert.equal(next(5), 'H1');
  assert.equal(next(5), 'G1', 'never served goes before g2, served once');
  // g1 has no job left: idle. Its next job comes back level with the never served, so before g2.
  insert(state, { id: 'G2', runAt: 4, group: 'g1' });
  assert.equal(next(5), 'G2');
  assert.equal(next(5), 'H2');
});

test('dedupe windows of jobs that left the state are forgotten (no entry kept per key)', () => {
  const state = new LocalState();
  state.keepCompleted = 1;
  const windows = (): number => (state.windows as unknown as { byScope: Map<string, string> }).byScope.size;
  const withKey = (id: string, key: string): JobRecord => {
    const job = record({ id, runAt: 100 });
    job.dedupe = { key, until: 1000 };
    return job;
  };
  state.apply({ op: 'put', job: withKey('k1', 'one') });
  state.apply({ op: 'put', job: withKey('k2', 'two') });
  state.apply({ op: 'put', job: withKey('k3', 'three') });
  assert.equal(windows(), 3);
  state.apply({ op: 'del', id: 'k1' });
  assert.equal(windows(), 2, 'deleted');
  // Completed beyond keepCompleted: k2 is evicted when k3 completes.
  for (const id of ['k2', 'k3']) state.apply({ op: 'put', job: { ...(state.get(id) as JobRecord), state: 'completed', finishedAt: 5 } });
  assert.equal(state.get('k2'), undefined);
  assert.equal(windows(), 1, 'evicted');
  // Removed by its own retention (removeOnComplete: true, at = finishedAt) when it completes.
  state.keepCompleted = 10;
  state.apply({ op: 'put', job: withKey('k4', 'four') });
  assert.equal(windows(), 2);
  state.apply({ op: 'put', job: { ...(state.get('k4') as JobRecord), state: 'completed', finishedAt: 6, removal: { at: 6 } } });
  assert.equal(state.get('k4'), undefined);
  assert.equal(state.get('k3')?.state, 'completed');
  assert.equal(windows(), 1, 'removed');
});

test('a record the state indexes carries no key of its own: its heap slot is invisible to every reader, and still finds its entry', () => {
  const plain = { id: 'lit', name: 'a', payload: null, state: 'scheduled' as const, runAt: 10, createdAt: 0, attempt: 0, priority: 0, seq: 0 };
  const state = stateWith({ id: 'later', runAt: 50 });
  const built = scheduledRecord('built', 'a', { orderId: 'A1' }, 10, 0, true);
  assert.equal(state.insertNew(built as JobRecord, state.nextSeq++), true);
  assert.equal(state.insertNew({ ...plain }, state.nextSeq++), true);
  const seen = (id: string): JobRecord => state.get(id) as JobRecord;
  const exposed = (): void => {
    for (const id of ['lit', 'built', 'later']) {
      const r = seen(id);
      // What a caller of Store.get can see: own keys (symbols included), inspect with hidden properties, a copy.
      assert.ok(Reflect.ownKeys(r).every((k) => typeof k === 'string'), `${id}: ${String(Reflect.ownKeys(r).map(String))}`);
      assert.doesNotMatch(inspect(r, { showHidden: true }), /slot/i);
      assert.deepStrictEqual(structuredClone(r), { ...r });
    }
    assert.deepStrictEqual(seen('lit'), { ...plain, seq: seen('lit').seq });
  };
  exposed(); // in the due heap
  state.promote(20);
  exposed(); // 'lit' and 'built' in their name's ready heap, 'later' still due
  // The slots still lead to the entries: cancelling from both heaps leaves only the other job.
  state.apply({ op: 'put', job: { ...seen('built'), state: 'cancelled', finishedAt: 1 } });
  state.apply({ op: 'put', job: { ...seen('later'), state: 'cancelled', finishedAt: 1 } });
  assert.equal(state.counts().indexed, 1);
  state.promote(100);
  assert.deepEqual(state.pick(request(100, 10)).jobs.map((j) => j.id), ['lit']);
});

test('a backward clock step sends a ready grouped job that is no longer due back to wait', () => {
  // w (due at 100) is made ready by a claim at 200 and waits in its group's ready queue (r holds the group); the clock then goes back to 50.
  const state = stateWith({ id: 'r', runAt: 1, group: 'g' }, { id: 'w', runAt: 100, group: 'g' }, { id: 'x', runAt: 150, group: 'h' });
  assert.deepEqual(claim(state, request(200, 5)).ids, ['r', 'x']);
  for (const id of ['r', 'x']) state.apply({ op: 'put', job: { ...(state.get(id) as JobRecord), state: 'completed', finishedAt: 200 } });
  assert.deepEqual(claim(state, request(50, 5)).ids, [], 'w is due at 100: not at 50');
  assert.deepEqual(claim(state, request(99, 5)).ids, []);
  assert.deepEqual(claim(state, request(100, 5)).ids, ['w']);
  assert.equal(state.counts().scheduled, 0);
  insert(state, { id: 'p', runAt: 100 });
  const plain = claim(state, request(100, 5));
  assert.deepEqual([plain.ids, plain.direct], [['p'], true], 'no grouped job is ready any more: the shortcut runs');

  // The same with the group free to start (the claim's limit, not the group, left w ready): it is not started early either.
  // y, in another group and due before the step, keeps the grouped path in use.
  const free = stateWith({ id: 'p1', runAt: 1 }, { id: 'w', runAt: 100, group: 'g' }, { id: 'y', runAt: 10, group: 'h', priority: -1 });
  assert.deepEqual(claim(free, request(200, 1)).ids, ['p1'], 'w and y are ready, their groups free, the claim full');
  assert.deepEqual(claim(free, request(50, 5)).ids, ['y'], 'w is due at 100: not at 50');
  assert.deepEqual(claim(free, request(100, 5)).ids, ['w']);
});

test('a grouped job that comes due before the last one its group made ready runs first', () => {
  // Group limit 1: r runs; w (due 100) becomes ready behind it; then e arrives due at 50 (an insert into the past),
  // and f at 100 with an older seq (as an undone change puts a job back): both go before w.
  const state = stateWith({ id: 'r', runAt: 1, group: 'g' }, { id: 'w', runAt: 100, group: 'g', seq: 10 });
  assert.deepEqual(claim(state, request(200, 5)).ids, ['r']);
  insert(state, { id: 'e', runAt: 50, group: 'g' });
  insert(state, { id: 'f', runAt: 100, group: 'g', seq: 5 });
  insert(state, { id: 'l', runAt: 150, group: 'g' });
  const order: string[] = [];
  for (let running = 'r'; ; ) {
    state.apply({ op: 'put', job: { ...(state.get(running) as JobRecord), state: 'completed', finishedAt: 200 } });
    const [next] = claim(state, request(200, 5)).ids;
    if (next === undefined) break;
    order.push(next);
    running = next;
  }
  assert.deepEqual(order, ['e', 'f', 'w', 'l']);
});

test('a ready grouped job cancelled leaves nothing behind: claims go back to the direct path', () => {
  const state = stateWith({ id: 'r', runAt: 1, group: 'g' }, { id: 'w', runAt: 2, group: 'g' });
  assert.deepEqual(claim(state, request(10, 5)).ids, ['r'], 'w waits ready behind r');
  state.apply({ op: 'put', job: { ...(state.get('w') as JobRecord), state: 'cancelled', finishedAt: 10 } });
  state.apply({ op: 'put', job: { ...(state.get('r') as JobRecord), state: 'completed', finishedAt: 10 } });
  insert(state, { id: 'p', runAt: 5 });
  const next = claim(state, request(10, 5));
  assert.deepEqual(next.ids, ['p']);
  assert.equal(next.direct, true, 'no grouped job is ready any more: the shortcut runs');
  assert.equal(state.counts().scheduled, 0);
});

test('load replaces what the state held before: a group that ran then is free after it', () => {
  // A store object opened again (close, then open) loads into the same state: r was running in group g.
  const state = stateWith({ id: 'r', runAt: 1, group: 'g' }, { id: 'w', runAt: 2, group: 'g' });
  assert.deepEqual(claim(state, request(10, 5)).ids, ['r'], 'w waits ready behind r');
  state.load([loaded({ id: 'r', runAt: 1, group: 'g', state: 'completed', seq: 1 }), loaded({ id: 'w', runAt: 2, group: 'g', seq: 2 })]);
  assert.deepEqual(claim(state, request(10, 5)).ids, ['w'], 'r finished before the reload: g is free');
  assert.deepEqual(state.counts().scheduled, 0);
});
