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
