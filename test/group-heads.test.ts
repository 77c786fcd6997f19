/**
 * The local stores' claim over groups reads each name's best group head
 * from heaps kept up to date (GroupLanes.heads), instead of building a heap
 * of every group's head per claim. Found 5 December 2026: with a group per
 * user, every claim walked every group, so running n jobs in n groups was
 * quadratic (4e4 jobs, 10 a claim: 39 s of CPU; without groups 0.4 s;
 * .tmp/groups-claim.ts, untracked).
 *
 * Checked two ways: the claims must answer exactly what the walk of every
 * group answered (that walk is kept here as the reference), over random
 * inserts, claims, finishes, cancels and clock steps; and the work a claim
 * does must not grow with the groups that are not picked.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { QuaternaryHeap } from '../src/heap.js';
import { groupLimit, NO_GROUP, type GroupLanes } from '../src/store/groups.js';
import { LocalState } from '../src/store/local-state.js';
import { ReadyQueue, type ReadyLane } from '../src/store/ready-queue.js';
import { runningRecord } from '../src/store/record.js';
import type { ClaimRequest, ClaimResult, JobRecord } from '../src/store/store.js';

/** What LocalState and its WaitingJobs keep private, read here for the reference walk. */
interface Internals {
  waiting: { ready: Map<string, ReadyLane> };
  groups: GroupLanes;
}
const internals = (state: LocalState): Internals => state as unknown as Internals;

function before(a: JobRecord, ta: number, b: JobRecord, tb: number): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (ta !== tb) return ta < tb;
  return a.runAt < b.runAt || (a.runAt === b.runAt && a.seq < b.seq);
}

/** The claim as pickLanes made it until 5 December 2026: every group's head, sorted, per claim. */
function pickByWalk(state: LocalState, request: ClaimRequest): ClaimResult {
  const { waiting: { ready: names }, groups: lanes } = internals(state);
  const jobs: JobRecord[] = [];
  const taken = new Map<string, number>();
  const takenInGroup = new Map<string, number>();
  const waiting = new Set<string>();
  const room = (name: string): boolean => request.capacity(name) - (taken.get(name) ?? 0) > 0;
  const free = (group: string, head: JobRecord): boolean => lanes.runningOf(group) + (takenInGroup.get(group) ?? 0) < groupLimit(head);
  const heads: { group: string; head: JobRecord; turn: number }[] = [];
  for (const [group, queue] of lanes.ready) {
    const head = queue.peek() as JobRecord;
    if (!free(group, head)) continue;
    if (request.capacity(head.name) <= 0) {
      waiting.add(head.name);
      continue;
    }
    heads.push({ group, head, turn: lanes.turnOf(group) });
  }
  const sortHeads = (): void => void heads.sort((a, b) => (before(a.head, a.turn, b.head, b.turn) ? -1 : before(b.head, b.turn, a.head, a.turn) ? 1 : 0));
  sortHeads();
  try {
    while (jobs.length < request.limit) {
      let best: JobRecord | undefined;
      let bestTurn = 0;
      let bestQueue: ReadyLane | undefined;
      const plainTurn = lanes.turnOf(NO_GROUP);
      for (const [name, queue] of names) {
        if (queue.size === 0) continue;
        if (!room(name)) {
          waiting.add(name);
          continue;
        }
        const head = queue.peek() as JobRecord;
        if (!best || before(head, plainTurn, best, bestTurn)) {
          best = head;
          bestTurn = plainTurn;
          bestQueue = queue;
        }
      }
      while (heads.length > 0 && !room((heads[0] as { head: JobRecord }).head.name)) {
        waiting.add((heads[0] as { head: JobRecord }).head.name);
        heads.shift();
      }
      const top = heads[0];
      if (top && (!best || before(top.head, top.turn, best, bestTurn))) {
        best = top.head;
        bestQueue = undefined;
      }
      if (!best) break;
      if (bestQueue) {
        bestQueue.pop();
        lanes.served(NO_GROUP);
      } else {
        const group = best.group as string;
        heads.shift();
        lanes.take(group); // pops the head and serves the group
        takenInGroup.set(group, (takenInGroup.get(group) ?? 0) + 1);
        const next = lanes.ready.get(group)?.peek();
        if (next && free(group, next)) {
          heads.push({ group, head: next, turn: lanes.turnOf(group) });
          sortHeads();
        }
      }
      jobs.push(best);
      taken.set(best.name, (taken.get(best.name) ?? 0) + 1);
    }
  } finally {
    lanes.endClaim();
  }
  return { jobs, waiting: [...waiting] };
}

type Op =
  | { kind: 'insert'; name: number; group: number; limit: number; priority: number; runAt: number }
  | { kind: 'claim'; now: number; limit: number; capacity: number[] }
  | { kind: 'finish'; pick: number }
  | { kind: 'cancel'; pick: number };

const NAMES = ['a', 'b', 'c'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('insert' as const), name: fc.nat(2), group: fc.integer({ min: -1, max: 6 }), limit: fc.integer({ min: 1, max: 2 }), priority: fc.integer({ min: -1, max: 1 }), runAt: fc.nat(40) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('claim' as const), now: fc.nat(50), limit: fc.integer({ min: 1, max: 5 }), capacity: fc.array(fc.integer({ min: -1, max: 4 }), { minLength: 3, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat(1000) }) },
);

it('claims over groups answer exactly what the walk of every group answered (random inserts, claims, finishes, cancels, the clock going back)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 30, maxLength: 150, size: 'max' }), (ops) => {
      const ours = new LocalState();
      const theirs = new LocalState();
      let n = 0;
      let token = 0;
      for (const op of ops) {
        if (op.kind === 'insert') {
          const job: JobRecord = { id: `j${n}`, name: NAMES[op.name] as string, payload: null, state: 'scheduled', runAt: op.runAt, createdAt: 0, attempt: 0, seq: 0, priority: op.priority };
          if (op.group >= 0) {
            job.group = `g${op.group}`;
            job.groupConcurrency = op.limit;
          }
          for (const state of [ours, theirs]) {
            state.nextSeq = n + 1;
            state.insertNew({ ...job }, n);
          }
          n++;
        } else if (op.kind === 'claim') {
          const request = (): ClaimRequest => ({ now: op.now, limit: op.limit, capacity: (name) => op.capacity[NAMES.indexOf(name)] ?? 0, token: () => `t${token++}` });
          ours.promote(op.now);
          theirs.promote(op.now);
          const a = ours.pick(request());
          // Without grouped jobs ready, LocalState picks without lanes (pickReady), in both.
          const b = internals(theirs).groups.size > 0 ? pickByWalk(theirs, request()) : theirs.pick(request());
          assert.deepEqual(
            a.jobs.map((j) => j.id),
            b.jobs.map((j) => j.id),
          );
          assert.deepEqual([...a.waiting].sort(), [...b.waiting].sort());
          for (const [state, jobs] of [
            [ours, a.jobs],
            [theirs, b.jobs],
          ] as const) {
            for (const job of jobs) state.start(job, runningRecord(job, 'r'));
          }
        } else {
          const wanted = op.kind === 'finish' ? 'running' : 'scheduled';
          const candidates = [...ours.values()].filter((j) => j.state === wanted).sort((x, y) => x.seq - y.seq);
          if (candidates.length === 0) continue;
          const id = (candidates[op.pick % candidates.length] as JobRecord).id;
          for (const state of [ours, theirs]) {
            const { token: _token, ...job } = state.get(id) as JobRecord;
            state.apply({ op: 'put', job: { ...job, state: op.kind === 'finish' ? 'completed' : 'cancelled', finishedAt: 0 } });
          }
        }
      }
    }),
    { numRuns: 400 },
  );
});

it('a claim reads the heads of the groups it picks from, not every group: 20,000 groups waiting, each claim of 10 looks at a few dozen', () => {
  const state = new LocalState();
  const groups = 20_000;
  for (let k = 0; k < groups; k++) {
    const job: JobRecord = { id: `j${k}`, name: 'mail', payload: null, state: 'scheduled', runAt: 0, createdAt: 0, attempt: 0, seq: 0, priority: 0, group: `user-${k}` };
    state.nextSeq = k + 1;
    state.insertNew(job, k);
  }
  state.promote(1);
  // Count every read of a job's priority: the comparisons a claim makes.
  let reads = 0;
  for (const job of state.values()) {
    const priority = job.priority;
    Object.defineProperty(job, 'priority', {
      get: () => {
        reads++;
        return priority;
      },
    });
  }
  const most = { reads: 0 };
  for (let c = 0; c < 50; c++) {
    reads = 0;
    const { jobs } = state.pick({ now: 1, limit: 10, capacity: () => 10, token: () => 't' });
    assert.equal(jobs.length, 10);
    for (const job of jobs) state.start(job, runningRecord(job, 't'));
    most.reads = Math.max(most.reads, reads);
  }
  // A heap of 20,000 is ~15 levels: a claim of 10 reads a few hundred priorities at most. The walk read every group's head (≥ 20,000).
  assert.ok(most.reads < 2000, `expected a claim of 10 to compare a few hundred heads, got ${most.reads} priority reads`);
});

it('a group holding many waiting jobs takes jobs that arrive before the last one (dates in the past) in priority, then due-time order, without re-sorting its queue', () => {
  const state = new LocalState();
  let seq = 0;
  const add = (id: string, runAt: number, priority = 0): void => {
    const job: JobRecord = { id, name: 'sync', payload: null, state: 'scheduled', runAt, createdAt: 0, attempt: 0, seq: 0, priority, group: 'tenant:7' };
    state.nextSeq = seq + 1;
    state.insertNew(job, seq++);
  };
  for (let k = 0; k < 3000; k++) add(`w${k}`, 1000 + k);
  state.promote(5000);
  // Early arrivals: dated before every job waiting, one of them of a higher priority.
  for (let k = 0; k < 100; k++) add(`e${k}`, 900 - k, k === 50 ? 1 : 0);
  // Count every push into a queue or heap while the early jobs are readied: a re-sort pushes the whole queue again.
  const readyPush = ReadyQueue.prototype.push;
  const heapPush = QuaternaryHeap.prototype.push;
  let pushes = 0;
  ReadyQueue.prototype.push = function (this: ReadyQueue, ...args: Parameters<ReadyQueue['push']>): number {
    pushes++;
    return readyPush.apply(this, args);
  };
  QuaternaryHeap.prototype.push = function (this: QuaternaryHeap<unknown>, ...args: Parameters<QuaternaryHeap<unknown>['push']>): number {
    pushes++;
    return heapPush.apply(this, args);
  };
  const order: string[] = [];
  try {
    state.promote(5001);
    assert.ok(pushes <= 200, `expected the 100 early jobs readied without pushing the 3,000 waiting again, got ${pushes} pushes`);
    // The group runs one at a time: claim one, finish it, claim the next.
    for (;;) {
      const { jobs } = state.pick({ now: 5001, limit: 1, capacity: () => 1, token: () => 't' });
      const job = jobs[0];
      if (job === undefined) break;
      order.push(job.id);
      state.start(job, runningRecord(job, 't'));
      const { token: _token, ...running } = state.get(job.id) as JobRecord;
      state.apply({ op: 'put', job: { ...running, state: 'completed', finishedAt: 5001 } });
    }
  } finally {
    ReadyQueue.prototype.push = readyPush;
    QuaternaryHeap.prototype.push = heapPush;
  }
  const early = Array.from({ length: 100 }, (_, k) => `e${99 - k}`).filter((id) => id !== 'e50');
  assert.deepEqual(order, ['e50', ...early, ...Array.from({ length: 3000 }, (_, k) => `w${k}`)]);
});
