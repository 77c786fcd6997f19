// Claim edges of the local stores (src/store/local.ts), on MemoryStore (its
// synchronous claim with the due-heap shortcut) and on a durable LocalStore
// (promote + pick, persisted): which names a claim reports waiting when one
// name's capacity, not the claim's limit, holds jobs back; and a job promoted
// while it was due, then no longer due after the clock went back, that must
// not start before its runAt. The oracle is the jobs the test inserted and
// the capacities it gave, written out by hand.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Change, LocalStore } from '../src/store/local.js';
import { MemoryStore } from '../src/store/memory.js';
import type { ClaimRequest, NewJobRecord } from '../src/store/store.js';
import { CT0, claimAll, newRecord, storeContext } from './store-conformance.js';

/** A durable LocalStore that acknowledges every batch at once. */
class DurableStore extends LocalStore {
  protected readonly durable = true;
  protected persist(_changes: Change[]): Promise<void> {
    return Promise.resolve();
  }
}

const kinds: [string, () => LocalStore][] = [
  ['MemoryStore', () => new MemoryStore()],
  ['a durable LocalStore', () => new DurableStore()],
];

async function opened(make: () => LocalStore, ...records: NewJobRecord[]): Promise<LocalStore> {
  const store = make();
  await store.open(storeContext());
  await store.insert(records.map((record) => ({ record, onDuplicate: 'reject' as const })));
  return store;
}

async function claim(store: LocalStore, now: number, over: Partial<ClaimRequest> = {}): Promise<{ jobs: string[]; waiting: string[] }> {
  const r = await store.claim(claimAll(now, over));
  return { jobs: r.jobs.map((j) => j.id), waiting: [...r.waiting].sort() };
}

for (const [kind, make] of kinds) {
  describe(`${kind}: waiting names of a claim`, () => {
    test('one name with more due than its capacity: waiting; exactly its capacity due, or the claim’s limit reached: not', async () => {
      const three = (): NewJobRecord[] => [newRecord('a'), newRecord('b'), newRecord('c')];
      assert.deepEqual(await claim(await opened(make, ...three()), CT0, { capacity: () => 2 }), { jobs: ['a', 'b'], waiting: ['work'] });
      assert.deepEqual(await claim(await opened(make, ...three()), CT0, { capacity: () => 3 }), { jobs: ['a', 'b', 'c'], waiting: [] });
      assert.deepEqual(await claim(await opened(make, ...three()), CT0, { capacity: () => 5, limit: 2 }), { jobs: ['a', 'b'], waiting: [] });
      assert.deepEqual(await claim(await opened(make, ...three()), CT0, { capacity: () => 0 }), { jobs: [], waiting: ['work'] });
      // As the general path reports it: a name the claim's limit stopped is not waiting, even with its capacity used up too;
      // a claim of 0 jobs reports the names whose capacity is 0.
      assert.deepEqual(await claim(await opened(make, ...three()), CT0, { capacity: () => 2, limit: 2 }), { jobs: ['a', 'b'], waiting: [] });
      assert.deepEqual(await claim(await opened(make, ...three()), CT0, { capacity: () => 5, limit: 0 }), { jobs: [], waiting: [] });
      assert.deepEqual(await claim(await opened(make, ...three()), CT0, { capacity: () => 0, limit: 0 }), { jobs: [], waiting: ['work'] });
    });
  });

  describe(`${kind}: what a claim takes`, () => {
    test('jobs of two names due at one instant: the one inserted first goes first, whichever name was ready before', async () => {
      const store = await opened(make, newRecord('a0', { name: 'a' }));
      assert.deepEqual((await claim(store, CT0)).jobs, ['a0']);
      await store.insert([
        { record: newRecord('b1', { name: 'b', runAt: CT0 + 10 }), onDuplicate: 'reject' },
        { record: newRecord('a1', { name: 'a', runAt: CT0 + 10 }), onDuplicate: 'reject' },
      ]);
      assert.deepEqual((await claim(store, CT0 + 10, { limit: 1 })).jobs, ['b1']);
      assert.deepEqual((await claim(store, CT0 + 10, { limit: 1 })).jobs, ['a1']);
    });

    test('a higher priority goes first across names, also before a job inserted earlier in a name ready later', async () => {
      const store = await opened(make, newRecord('hi0', { name: 'hi', priority: 5 }));
      assert.deepEqual((await claim(store, CT0)).jobs, ['hi0']);
      await store.insert([
        { record: newRecord('lo1', { name: 'lo', runAt: CT0 + 10 }), onDuplicate: 'reject' },
        { record: newRecord('hi1', { name: 'hi', runAt: CT0 + 10, priority: 5 }), onDuplicate: 'reject' },
      ]);
      assert.deepEqual((await claim(store, CT0 + 10, { limit: 1 })).jobs, ['hi1']);
      assert.deepEqual((await claim(store, CT0 + 10, { limit: 1 })).jobs, ['lo1']);
    });

    test('due jobs of two names promoted together go to their own names: a name without capacity keeps its jobs, counted as indexed', async () => {
      const store = await opened(make, newRecord('x1'), newRecord('y1', { name: 'other' }), newRecord('x2'));
      assert.deepEqual(await claim(store, CT0, { capacity: (name) => (name === 'work' ? 0 : 10) }), { jobs: ['y1'], waiting: ['work'] });
      assert.equal(store.counts().scheduled, 2);
      assert.equal(store.counts().indexed, 2, 'the two jobs waiting in their ready queue are indexed');
    });

    test('a job of another name, inserted second, is reported waiting when its capacity holds it, also while the claim’s limit is reached', async () => {
      const store = await opened(make, newRecord('x1'), newRecord('z1', { name: 'zzz' }));
      assert.deepEqual(await claim(store, CT0, { limit: 1, capacity: (name) => (name === 'zzz' ? 0 : 10) }), { jobs: ['x1'], waiting: ['zzz'] });
    });

    test('a finished job of high priority no longer counts: a scheduled one of high priority still goes first', async () => {
      const store = await opened(make, newRecord('d', { priority: 5 }));
      const [d] = (await store.claim(claimAll(CT0, { limit: 1 }))).jobs;
      assert.ok(d);
      assert.equal(await store.settle('d', d.token as string, { ...d, state: 'completed', finishedAt: CT0 }), true);
      await store.insert([newRecord('a'), newRecord('b'), newRecord('c', { priority: 5, runAt: CT0 + 1 })].map((record) => ({ record, onDuplicate: 'reject' as const })));
      assert.deepEqual(await claim(store, CT0 + 1, { limit: 1 }), { jobs: ['c'], waiting: [] });
    });

    test('a claimed occurrence of a schedule is no longer counted as a scheduled recurring job', async () => {
      const recur = { every: 1000, misfire: 'once' as const, slot: CT0, count: 0, signature: 's' };
      const store = await opened(make, newRecord('r', { recur }), newRecord('plain'));
      assert.deepEqual(store.counts(), { scheduled: 2, running: 0, completed: 0, dead: 0, cancelled: 0, recurring: 1, indexed: 2 });
      assert.deepEqual((await claim(store, CT0)).jobs, ['r', 'plain']);
      assert.deepEqual(store.counts(), { scheduled: 0, running: 2, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 0 });
    });
  });

  describe(`${kind}: counts while grouped jobs wait for their group`, () => {
    test('a group of limit 1 with three due: one claimed, two waiting in the group still counted scheduled and indexed; each end frees the next', async () => {
      const g = (id: string): NewJobRecord => newRecord(id, { group: 'g', groupConcurrency: 1 });
      const store = await opened(make, g('g1'), g('g2'), g('g3'), newRecord('later', { runAt: CT0 + 5000 }));
      const first = await store.claim(claimAll(CT0));
      assert.deepEqual(first.jobs.map((j) => j.id), ['g1']);
      assert.deepEqual(store.counts(), { scheduled: 3, running: 1, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 3 });
      assert.deepEqual((await claim(store, CT0)).jobs, [], 'the group is full');
      const job = first.jobs[0]!;
      assert.equal(await store.settle(job.id, job.token as string, { ...job, state: 'completed', finishedAt: CT0 }), true);
      assert.deepEqual((await claim(store, CT0)).jobs, ['g2']);
      assert.deepEqual(store.counts(), { scheduled: 2, running: 1, completed: 1, dead: 0, cancelled: 0, recurring: 0, indexed: 2 });
      // A job cancelled while it waits in its group's queue leaves that queue and every count.
      assert.equal((await store.cancel('g3', CT0))?.state, 'cancelled');
      assert.deepEqual(store.counts(), { scheduled: 1, running: 1, completed: 1, dead: 0, cancelled: 1, recurring: 0, indexed: 1 });
      const second = (await store.list({})).find((j) => j.state === 'running')!;
      assert.equal(second.id, 'g2');
      assert.equal(await store.settle(second.id, second.token as string, { ...second, state: 'completed', finishedAt: CT0 }), true);
      assert.deepEqual((await claim(store, CT0)).jobs, [], 'nothing left due: the cancelled job is not claimed');
      assert.deepEqual((await claim(store, CT0 + 5000)).jobs, ['later']);
    });
  });

  describe(`${kind}: the clock stepped back after jobs were promoted`, () => {
    test('a job seen due but not taken (no capacity), no longer due after the step: not claimed before its runAt', async () => {
      const store = await opened(make, newRecord('j', { runAt: CT0 + 1000 }), newRecord('g', { runAt: CT0 + 1000, name: 'other', group: 'grp' }));
      assert.deepEqual(await claim(store, CT0 + 1000, { capacity: () => 0 }), { jobs: [], waiting: ['other', 'work'] });
      // The wall clock went back 1 s: both are due again only at CT0 + 1000.
      assert.deepEqual(await claim(store, CT0), { jobs: [], waiting: [] });
      assert.equal(store.nextDueAt(), CT0 + 1000);
      assert.deepEqual(await claim(store, CT0 + 999), { jobs: [], waiting: [] });
      assert.deepEqual((await claim(store, CT0 + 1000)).jobs.sort(), ['g', 'j']);
    });
  });
}
