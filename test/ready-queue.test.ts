// ReadyQueue (a local store's per-name ready queue): a FIFO while every
// entry has one key, a heap once keys differ, and beside them a heap of the
// jobs that arrived early (pushEarly: before the last one pushed, in runAt
// order). Checked against a sorted model under random pushes (mostly one key,
// sometimes another), early pushes, pops, removals by handle (current and
// spent) and clears: same order, same size, every current handle names its
// entry, a spent handle removes nothing. As in LocalState, a job's key is
// minus its priority.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ReadyQueue } from '../src/store/ready-queue.js';
import type { JobRecord } from '../src/store/store.js';

type Op =
  | { kind: 'push'; key: number }
  | { kind: 'early'; key: number; runAt: number }
  | { kind: 'pop' }
  | { kind: 'remove'; pick: number }
  | { kind: 'spent'; pick: number }
  | { kind: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('push' as const), key: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('early' as const), key: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) }), runAt: fc.integer({ min: -3, max: -1 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('spent' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
);

interface Entry {
  job: JobRecord;
  key: number;
  order: number;
}

function job(n: number, key = 0, runAt = 0): JobRecord {
  return { id: `j${n}`, name: 'a', payload: null, state: 'scheduled', runAt, createdAt: 0, attempt: 0, priority: key === 0 ? 0 : -key, seq: n };
}

/** The order a ready queue gives: key (minus the priority), then runAt, then insertion. */
const byQueueOrder = (a: Entry, b: Entry): number => a.key - b.key || a.job.runAt - b.job.runAt || a.order - b.order;

test('ReadyQueue pops in (key, push order), early jobs in (priority, runAt, seq) order among them, and removes by handle, like a heap', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
      const handles = new Map<JobRecord, number>();
      let moves = 0;
      const queue = new ReadyQueue((moved, handle) => {
        moves++;
        handles.set(moved, handle);
      });
      let model: Entry[] = [];
      const spent: { job: JobRecord; handle: number }[] = [];
      let n = 0;
      const retire = (j: JobRecord): void => {
        spent.push({ job: j, handle: handles.get(j)! });
        handles.delete(j);
      };
      for (const op of ops) {
        if (op.kind === 'push') {
          const j = job(n, op.key);
          handles.set(j, queue.push(j, op.key));
          model.push({ job: j, key: op.key, order: n++ });
          model.sort(byQueueOrder);
        } else if (op.kind === 'early') {
          // Before every job pushed so far (runAt < 0): LocalState sends such a job to pushEarly.
          const j = job(n, op.key, op.runAt);
          moves = 0;
          handles.set(j, queue.pushEarly(j));
          assert.equal(moves, 0, 'an early job moves no queued entry (the queue is not re-sorted)');
          model.push({ job: j, key: op.key, order: n++ });
          model.sort(byQueueOrder);
        } else if (op.kind === 'pop') {
          const got = queue.pop();
          const want = model.shift();
          assert.equal(got, want?.job);
          if (want) retire(want.job);
        } else if (op.kind === 'remove' && model.length > 0) {
          const [e] = model.splice(op.pick % model.length, 1);
          const handle = handles.get(e!.job)!;
          assert.equal(queue.itemOf(handle), e!.job);
          assert.equal(queue.removeHandle(handle), true);
          retire(e!.job);
        } else if (op.kind === 'spent' && spent.length > 0) {
          const { job: j, handle } = spent[op.pick % spent.length]!;
          // A spent handle may name another entry now (LocalState checks identity), never its old job.
          assert.notEqual(queue.itemOf(handle), j);
          const other = queue.itemOf(handle);
          if (other === undefined) assert.equal(queue.removeHandle(handle), false);
        } else if (op.kind === 'clear') {
          for (const e of model) retire(e.job);
          model = [];
          queue.clear();
        }
        queue.check();
        assert.equal(queue.size, model.length);
        assert.equal(queue.peek(), model[0]?.job);
        assert.deepEqual(new Set(queue), new Set(model.map((e) => e.job)));
        for (const e of model) assert.equal(queue.itemOf(handles.get(e.job)!), e.job);
      }
    }),
    { numRuns: 300 },
  );
});

test('ReadyQueue keeps FIFO order across a switch to a heap and back', () => {
  const moved: [string, number][] = [];
  const queue = new ReadyQueue((j, h) => moved.push([j.id, h]));
  const jobs = Array.from({ length: 5 }, (_, i) => job(i));
  for (const j of jobs.slice(0, 3)) queue.push(j, 0);
  assert.equal(moved.length, 0);
  queue.push(jobs[3]!, -1); // a higher priority: the FIFO's entries move into a heap, in order
  assert.deepEqual(moved.map(([id]) => id), ['j0', 'j1', 'j2']);
  queue.push(jobs[4]!, 0);
  assert.deepEqual([queue.pop(), queue.pop(), queue.pop(), queue.pop(), queue.pop(), queue.pop()].map((j) => j?.id), ['j3', 'j0', 'j1', 'j2', 'j4', undefined]);
  // Empty: a FIFO again, moving nothing.
  queue.push(jobs[0]!, 3);
  queue.push(jobs[1]!, 3);
  assert.equal(moved.length, 3);
  assert.deepEqual([queue.pop()?.id, queue.pop()?.id], ['j0', 'j1']);
});

test('ReadyQueue over a long burst: handles stay true across the compaction of its array', () => {
  const queue = new ReadyQueue(() => undefined);
  const handles: number[] = [];
  for (let i = 0; i < 5000; i++) handles.push(queue.push(job(i), 0));
  for (let i = 0; i < 4000; i++) assert.equal(queue.pop()?.seq, i);
  // Entries popped are gone; the handles of the rest still name them.
  assert.equal(queue.itemOf(handles[10]!), undefined);
  assert.equal(queue.itemOf(handles[4500]!)?.seq, 4500);
  assert.equal(queue.removeHandle(handles[4500]!), true);
  assert.equal(queue.size, 999);
  assert.equal([...queue].length, 999);
});
