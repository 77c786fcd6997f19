/**
 * Many jobs due at once: the store moves them into the ready queues (to pick
 * them in priority order) a turn of the event loop at a time, never in one
 * synchronous step.
 *
 * - At open, after a downtime in which most jobs came due. Found 5 December
 *   2026: the first claim did it in one step, parsing each job the open had
 *   left as bytes: 2e5 overdue jobs blocked the event loop ~1 s
 *   (.tmp/promote-block.ts, untracked).
 * - At a claim, when many come due while the store runs (a nightly burst of
 *   `scheduleAt` jobs, a long pause). Found the same day: 2e5 jobs due after
 *   a JsonFileStore opened blocked it ~0.73 s (.tmp/due-later-block.ts,
 *   untracked); the open's readying does not help, nothing is due then. The
 *   claim readies them over many turns, then picks from all of them.
 *
 * No timing: the tests count JSON.parse calls (cold jobs) or ready-queue
 * pushes per turn of the event loop. Before the fixes all of them came in one
 * turn.
 */
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, it } from 'node:test';
import { VirtualClock } from '../src/clock.js';
import { Scheduler } from '../src/scheduler.js';
import { setStepTurnForTests } from '../src/store/local.js';
import { MemoryStore } from '../src/store/memory.js';
import { ReadyQueue } from '../src/store/ready-queue.js';
import type { ClaimRequest, ClaimResult, JobRecord } from '../src/store/store.js';
import { T0, countPerTurn, until } from './helpers.js';
import { CT0, newRecord, openStore, removeTempDirs, tempDir } from './json-file-helpers.js';
import { claimAll, storeContext } from './store-conformance.js';

after(removeTempDirs);

const TURN = 500;
let restoreTurn: () => void = () => undefined;
beforeEach(() => {
  restoreTurn = setStepTurnForTests(TURN);
});
afterEach(() => restoreTurn());

const MIN = 60_000;
const H = 60 * MIN;
const options = { snapshotEvery: { changes: 1e9, bytes: 2 ** 40 }, fsync: false } as const;
const ids = (jobs: readonly JobRecord[]): string[] => jobs.map((j) => j.id);

/** Counts JSON.parse calls per turn of the event loop while `body` runs (a cold job is parsed when it is readied). */
function parsesPerTurn(body: () => Promise<void>): Promise<{ most: number; total: number }> {
  const parse = JSON.parse;
  return countPerTurn(async (count) => {
    JSON.parse = (...args: Parameters<typeof JSON.parse>): unknown => {
      count();
      return parse(...args) as unknown;
    };
    try {
      await body();
    } finally {
      JSON.parse = parse;
    }
  });
}

/** Counts ready-queue pushes while `body` runs (the moves a claim's readying makes). */
function countingPushes(count: () => void): () => void {
  const push = ReadyQueue.prototype.push;
  ReadyQueue.prototype.push = function (this: ReadyQueue, ...args: Parameters<ReadyQueue['push']>): number {
    count();
    return push.apply(this, args);
  };
  return () => {
    ReadyQueue.prototype.push = push;
  };
}

/** A MemoryStore holding `n` jobs of two names due at CT0 + k (dates), and one of priority 5 due after them. */
async function memoryBacklog(n: number): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.open(storeContext());
  const requests = [];
  // Two names, so the claim cannot take one plain run off the due heap: it readies all of them.
  for (let k = 0; k < n; k++) requests.push({ record: newRecord(`job-${k}`, { name: k % 2 === 0 ? 'a' : 'b', runAt: CT0 + k }), onDuplicate: 'reject' as const });
  requests.push({ record: newRecord('urgent', { name: 'b', runAt: CT0 + n, priority: 5 }), onDuplicate: 'reject' as const });
  await store.insert(requests);
  return store;
}

it('JsonFileStore opened before 3,000 jobs came due: the first claim after readies them over many turns, then takes them in priority, then due-time order', async () => {
  const n = 3000;
  const dir = await tempDir('godelayq-claim-backlog-', true);
  let { store } = await openStore(dir, options);
  const requests = [];
  // Not due when the store reopens (its context's clock reads CT0): the open readies none of them, and leaves them as bytes.
  for (let k = 0; k < n; k++) requests.push({ record: newRecord(`due-${k}`, { runAt: CT0 + 60_000 + k }), onDuplicate: 'reject' as const });
  for (let k = 0; k < n; k++) requests.push({ record: newRecord(`later-${k}`, { runAt: CT0 + 3_600_000 + k }), onDuplicate: 'reject' as const });
  // Due last of the burst, but first by priority: the claim must see the whole burst before it picks.
  requests.push({ record: newRecord('urgent', { runAt: CT0 + 60_000 + n, priority: 5 }), onDuplicate: 'reject' as const });
  await store.insert(requests);
  await store.snapshot();
  await store.close();
  ({ store } = await openStore(dir, options));

  let claimed: JobRecord[] = [];
  const { most, total } = await parsesPerTurn(async () => {
    claimed = (await store.claim(claimAll(CT0 + 120_000, { limit: 4 }))).jobs;
  });
  assert.ok(total >= n, `expected each job of the burst parsed once (${n}), got ${total} parses`);
  assert.ok(most <= TURN + 50, `expected the ${n} due jobs readied over many turns, got ${most} parses in one turn`);
  assert.deepEqual(ids(claimed), ['urgent', 'due-0', 'due-1', 'due-2']);
  // The next claims go on from there, in order, and the later jobs stay put.
  assert.deepEqual(ids((await store.claim(claimAll(CT0 + 120_000, { limit: 2 }))).jobs), ['due-3', 'due-4']);
  assert.equal((await store.counts()).scheduled, 2 * n + 1 - 6);
  await store.close();
});

it('MemoryStore: 3,000 due jobs of two names are readied over many turns, and the claim takes them in priority, then due-time order', async () => {
  const n = 3000;
  const store = await memoryBacklog(n);
  let claimed: JobRecord[] = [];
  let restore: () => void = () => undefined;
  const { most, total } = await countPerTurn(async (count) => {
    restore = countingPushes(count);
    try {
      claimed = (await store.claim(claimAll(CT0 + 2 * n, { limit: 4 }))).jobs;
    } finally {
      restore();
    }
  });
  assert.ok(total >= n, `expected every due job moved to a ready queue (${n}), got ${total}`);
  assert.ok(most <= TURN + 50, `expected the ${n} due jobs readied over many turns, got ${most} in one turn`);
  assert.deepEqual(ids(claimed), ['urgent', 'job-0', 'job-1', 'job-2']);
  await store.close();
});

it('a claim asked for while another readies a backlog waits for it, and takes what comes next', async () => {
  const store = await memoryBacklog(3000);
  const first = store.claim(claimAll(CT0 + 6000, { limit: 2 }));
  const second = store.claim(claimAll(CT0 + 6000, { limit: 2 }));
  assert.deepEqual(ids((await first).jobs), ['urgent', 'job-0']);
  assert.deepEqual(ids((await second).jobs), ['job-1', 'job-2']);
  await store.close();
});

it('a clock step while a claim readies a backlog: the claim takes nothing (its time is from before the step), and the jobs run by the new clock', async () => {
  const store = await memoryBacklog(3000);
  // Readying begins at once; the step lands between two of its turns.
  const claim = store.claim(claimAll(CT0 + 6000, { limit: 4 }));
  const step = store.shift(-3_600_000);
  const [claimed] = await Promise.all([claim, step]);
  assert.deepEqual(ids(claimed.jobs), [], 'a job picked by the time before the step would start an hour early by the clock after it');
  // The jobs are dates: an hour back, none of them is due.
  assert.deepEqual(ids((await store.claim(claimAll(CT0 + 6000 - 3_600_000, { limit: 4 }))).jobs), []);
  assert.deepEqual(ids((await store.claim(claimAll(CT0 + 6000, { limit: 4 }))).jobs), ['urgent', 'job-0', 'job-1', 'job-2']);
  await store.close();
});

it('a store closed while a claim readies a backlog: the claim takes nothing, and every job is still there after a reopen', async () => {
  const n = 3000;
  const dir = await tempDir('godelayq-claim-backlog-', true);
  let { store } = await openStore(dir, options);
  const requests = [];
  for (let k = 0; k < n; k++) requests.push({ record: newRecord(`due-${k}`, { name: k % 2 === 0 ? 'a' : 'b', runAt: CT0 + 60_000 + k }), onDuplicate: 'reject' as const });
  await store.insert(requests);
  const claim: Promise<ClaimResult> = store.claim(claimAll(CT0 + 120_000, { limit: 4 }));
  await store.close();
  assert.deepEqual(ids((await claim).jobs), []);
  ({ store } = await openStore(dir, options));
  assert.equal((await store.counts()).scheduled, n);
  assert.deepEqual(ids((await store.claim(claimAll(CT0 + 120_000, { limit: 2 }))).jobs), ['due-0', 'due-1']);
  await store.close();
});

it('a Scheduler whose claim is readying a backlog when the clock steps back an hour: that claim takes nothing, the scheduler claims again after the re-base, and every job runs once, in order, none before its date', async () => {
  const n = 3000;
  // A turn of one job: the claim readies the burst over ~3,000 turns, and the step lands among them.
  const restore = setStepTurnForTests(1);
  const clock = new VirtualClock(T0);
  let claimsPending = 0;
  class CountingClaims extends MemoryStore {
    override async claim(request: ClaimRequest): Promise<ClaimResult> {
      claimsPending++;
      try {
        return await super.claim(request);
      } finally {
        claimsPending--;
      }
    }
  }
  const scheduler = new Scheduler<{ a: null; b: null }>({ clock, store: new CountingClaims(), concurrency: 4 });
  const runs: string[] = [];
  let early = 0;
  const handler = (job: { id: string; runAt: Date }): void => {
    if (job.runAt.getTime() > clock.now()) early++;
    runs.push(job.id);
  };
  scheduler.register('a', handler);
  scheduler.register('b', handler);
  try {
    await scheduler.start();
    // One burst, all due at once (two names: the claim cannot take one plain run off the due heap).
    const items = [];
    for (let k = 0; k < n; k++) items.push({ name: k % 2 === 0 ? ('a' as const) : ('b' as const), at: T0 + MIN, payload: null, options: { id: `job-${k}` } });
    await scheduler.scheduleMany(items);
    await scheduler.scheduleAt('b', T0 + MIN, null, { id: 'urgent', priority: 5 });
    await clock.advance(MIN);
    assert.equal(claimsPending, 1, 'the claim is still readying the burst');
    await clock.set(clock.now() - H);
    await until(() => claimsPending === 0);
    await clock.advance(0);
    assert.deepEqual(runs, [], 'the dates are an hour away by the stepped clock');
    await clock.advance(H);
    await until(() => runs.length === n + 1);
    assert.equal(early, 0);
    assert.deepEqual(runs.slice(0, 4), ['urgent', 'job-0', 'job-1', 'job-2']);
    assert.equal(new Set(runs).size, n + 1);
  } finally {
    await scheduler.stop();
    restore();
  }
});

it('JsonFileStore reopened with 3,000 jobs overdue: they are readied over many turns at the open, and the first claim still takes them in priority, then due-time order', async () => {
  const n = 3000;
  const dir = await tempDir('godelayq-backlog-', true);
  let { store } = await openStore(dir, options);
  const requests = [];
  // Overdue when the store reopens (the storeContext's clock reads CT0): plain jobs, left as bytes by the open.
  for (let k = 0; k < n; k++) requests.push({ record: newRecord(`due-${k}`, { runAt: CT0 - 60_000 + k }), onDuplicate: 'reject' as const });
  for (let k = 0; k < n; k++) requests.push({ record: newRecord(`later-${k}`, { runAt: CT0 + 60_000 + k }), onDuplicate: 'reject' as const });
  // Due last of all, but first by priority: a claim must see the whole backlog before it picks.
  requests.push({ record: newRecord('urgent', { runAt: CT0 - 1, priority: 5 }), onDuplicate: 'reject' as const });
  await store.insert(requests);
  await store.snapshot();
  await store.close();

  let claimed: JobRecord[] = [];
  const { most, total } = await parsesPerTurn(async () => {
    ({ store } = await openStore(dir, options));
    claimed = (await store.claim(claimAll(CT0, { limit: 4 }))).jobs;
  });
  assert.ok(total >= n, `expected each overdue job parsed once (${n}), got ${total} parses`);
  assert.ok(most <= TURN + 50, `expected the ${n} overdue jobs readied over many turns, got ${most} parses in one turn`);
  assert.deepEqual(
    claimed.map((j) => j.id),
    ['urgent', 'due-0', 'due-1', 'due-2'],
  );
  await store.close();
});
