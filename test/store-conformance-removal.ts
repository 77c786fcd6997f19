/**
 * Store conformance for per-job retention (JobRecord.removal, set by the
 * scheduler from removeOnComplete / removeOnFail): every store whose
 * `features.removal` is true passes these; storeConformance registers them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { patchRecord } from '../src/store/record.js';
import type { JobRecord, NewJobRecord, Store, StoreContext } from '../src/store/store.js';
import { CT0, claimAll, newRecord, storeContext, type StoreFixture } from './store-conformance.js';
import { featureFixture, withFeature } from './store-conformance-feature.js';

type Removal = NonNullable<JobRecord['removal']>;

/** Inserts, claims and finishes job `id` (`state` at `at`) with `removal`. */
async function finish(store: Store, id: string, at: number, removal?: Removal, state: 'completed' | 'dead' = 'completed', extra: Partial<NewJobRecord> = {}): Promise<void> {
  await store.insert([{ record: newRecord(id, { runAt: CT0, ...extra }), onDuplicate: 'reject' }]);
  const claimed = (await store.claim(claimAll(at))).jobs.find((j) => j.id === id);
  assert.ok(claimed, `claimed ${id}`);
  const next = patchRecord(claimed, { state, finishedAt: at, token: undefined });
  if (removal !== undefined) next.removal = removal;
  assert.equal(await store.settle(id, claimed.token as string, next), true);
}

async function ids(store: Store): Promise<string[]> {
  return (await store.list({})).map((j) => j.id).sort();
}

/** Registers the removal cases for the stores `makeStore` builds (skipped where removal is not supported). */
export function removalConformance(name: string, makeStore: () => Promise<StoreFixture>): void {
  const withRemoval = (
    t: { skip(message?: string): void },
    fn: (store: Store, fixture: StoreFixture) => Promise<void>,
    context: Partial<StoreContext> = {},
  ): Promise<void> => withFeature(t, name, makeStore, 'removal', fn, context);

  describe(`Store conformance (per-job retention): ${name}`, () => {
    it('removes a job at its settle when its removal is due (removeOnComplete: true)', async (t) => {
      await withRemoval(t, async (store) => {
        await finish(store, 'gone', CT0 + 1, { at: CT0 + 1 });
        await finish(store, 'dead', CT0 + 2, { at: CT0 + 2 }, 'dead');
        await finish(store, 'kept', CT0 + 3);
        assert.equal(await store.get('gone'), undefined);
        assert.equal(await store.get('dead'), undefined);
        assert.deepEqual(await ids(store), ['kept']);
        const counts = store.counts();
        assert.deepEqual([counts.completed, counts.dead, counts.running, counts.scheduled], [1, 0, 0, 0]);
      });
    });

    it('keeps the newest `count` finished jobs of a name and state that have a count', async (t) => {
      await withRemoval(t, async (store) => {
        for (let i = 1; i <= 4; i++) await finish(store, `c${i}`, CT0 + i, { count: 2 });
        await finish(store, 'plain', CT0 + 5);
        await finish(store, 'other1', CT0 + 6, { count: 1 }, 'completed', { name: 'other' });
        await finish(store, 'd1', CT0 + 7, { count: 1 }, 'dead');
        await finish(store, 'd2', CT0 + 8, { count: 1 }, 'dead');
        assert.deepEqual(await ids(store), ['c3', 'c4', 'd2', 'other1', 'plain']);
        assert.equal(store.counts().completed, 4);
        assert.equal(store.counts().dead, 1);
        // A smaller count trims the list to it, oldest first.
        await finish(store, 'c5', CT0 + 9, { count: 1 });
        assert.deepEqual(await ids(store), ['c5', 'd2', 'other1', 'plain']);
      });
    });

    it('removes a job once its `at` has passed, when a later job finishes', async (t) => {
      await withRemoval(t, async (store) => {
        await finish(store, 'old', CT0 + 1, { at: CT0 + 1000 });
        await finish(store, 'young', CT0 + 2, { at: CT0 + 5000 });
        await finish(store, 'before', CT0 + 999);
        assert.deepEqual(await ids(store), ['before', 'old', 'young'], 'not yet');
        await finish(store, 'after', CT0 + 1000, undefined, 'dead');
        assert.deepEqual(await ids(store), ['after', 'before', 'young']);
        assert.equal(store.counts().completed, 2);
      });
    });

    it('a revived dead job drops its removal; finished again without one it stays', async (t) => {
      await withRemoval(t, async (store) => {
        await finish(store, 'x', CT0 + 1, { at: CT0 + 100 }, 'dead');
        const revived = await store.revive('x', CT0 + 2);
        assert.equal(revived.removal, undefined);
        const claimed = (await store.claim(claimAll(CT0 + 2))).jobs[0] as JobRecord;
        await store.settle('x', claimed.token as string, patchRecord(claimed, { state: 'completed', finishedAt: CT0 + 3, token: undefined }));
        await finish(store, 'later', CT0 + 500);
        assert.deepEqual(await ids(store), ['later', 'x']);
      });
    });

    it('keeps pending removals across close and reopen', async (t) => {
      const fixture = await featureFixture(t, name, makeStore, 'removal');
      if (fixture === undefined) return;
      try {
        const store = fixture.store;
        await store.open(storeContext());
        await finish(store, 'aged', CT0 + 1, { at: CT0 + 100 });
        await finish(store, 'n1', CT0 + 2, { count: 1 });
        await store.close();
        const again = fixture.reopen ? await fixture.reopen() : store;
        await again.open(storeContext());
        try {
          assert.deepEqual(await ids(again), ['aged', 'n1']);
          await finish(again, 'n2', CT0 + 200, { count: 1 });
          assert.deepEqual(await ids(again), ['n2']);
        } finally {
          await again.close();
        }
      } finally {
        await fixture.cleanup();
      }
    });
  });
}
