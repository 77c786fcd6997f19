/**
 * Store conformance for job groups (`JobRecord.group`): every store whose
 * `features.groups` is true passes these; storeConformance registers them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { patchRecord } from '../src/store/record.js';
import type { JobRecord, NewJobRecord, Store } from '../src/store/store.js';
import { CT0, claimAll, newRecord, storeContext, type StoreFixture } from './store-conformance.js';
import { withFeature } from './store-conformance-feature.js';

const ids = (jobs: readonly JobRecord[]): string[] => jobs.map((j) => j.id);

/** Registers the group cases for the stores `makeStore` builds (skipped where groups are not supported). */
export function groupConformance(name: string, makeStore: () => Promise<StoreFixture>): void {
  const withGroups = (t: { skip(message?: string): void }, fn: (store: Store) => Promise<void>): Promise<void> => withFeature(t, name, makeStore, 'groups', fn);


  async function insert(store: Store, ...records: NewJobRecord[]): Promise<JobRecord[]> {
    return (await store.insert(records.map((record) => ({ record, onDuplicate: 'reject' as const })))).map((r) => r.record);
  }

  const g = (id: string, group: string, overrides: Partial<NewJobRecord> = {}): NewJobRecord => newRecord(id, { group, ...overrides });

  /** Completes a claimed job. */
  async function finish(store: Store, job: JobRecord | undefined): Promise<void> {
    assert.ok(job, 'expected a claimed job');
    assert.equal(await store.settle(job.id, job.token as string, patchRecord(job, { state: 'completed', finishedAt: CT0, token: undefined })), true);
  }

  describe(`Store conformance (groups): ${name}`, () => {
    it('runs one job of a group at a time, in order, by default', async (t) => {
      await withGroups(t, async (store) => {
        await insert(store, g('g2', 'c:42', { runAt: CT0 + 2 }), g('g1', 'c:42', { runAt: CT0 + 1 }), g('g3', 'c:42', { runAt: CT0 + 3 }), newRecord('free'));
        const first = await store.claim(claimAll(CT0 + 10));
        assert.deepEqual(ids(first.jobs).sort(), ['free', 'g1']);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10))).jobs), [], 'the group is busy');
        assert.equal(store.counts().scheduled, 2);
        await finish(store, first.jobs.find((j) => j.id === 'g1'));
        const second = await store.claim(claimAll(CT0 + 10));
        assert.deepEqual(ids(second.jobs), ['g2']);
        await finish(store, second.jobs[0]);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10))).jobs), ['g3']);
      });
    });

    it('runs up to groupConcurrency jobs of a group at once', async (t) => {
      await withGroups(t, async (store) => {
        const many = { groupConcurrency: 2 };
        await insert(store, g('a', 'tenant', many), g('b', 'tenant', many), g('c', 'tenant', many), g('other', 'solo'));
        const { jobs } = await store.claim(claimAll(CT0));
        assert.deepEqual(ids(jobs).sort(), ['a', 'b', 'other']);
        await finish(store, jobs.find((j) => j.id === 'b'));
        assert.deepEqual(ids((await store.claim(claimAll(CT0))).jobs), ['c']);
      });
    });

    it('keeps a group in order across names: a head that cannot start holds the jobs behind it', async (t) => {
      await withGroups(t, async (store) => {
        await insert(store, g('x1', 'c:1', { name: 'x', runAt: CT0 }), g('y1', 'c:1', { name: 'y', runAt: CT0 + 1 }), newRecord('y-free', { name: 'y', runAt: CT0 + 2 }));
        const cap: Record<string, number> = { x: 0, y: 5 };
        const blocked = await store.claim(claimAll(CT0 + 5, { capacity: (n) => cap[n] ?? 0 }));
        assert.deepEqual(ids(blocked.jobs), ['y-free']);
        assert.ok(blocked.waiting.includes('x'), `expected name x to be waiting, got ${JSON.stringify(blocked.waiting)}`);
        cap.x = 1;
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 5, { capacity: (n) => cap[n] ?? 0 }))).jobs), ['x1']);
      });
    });

    it('serves waiting groups round robin, and jobs without a group as one more lane', async (t) => {
      await withGroups(t, async (store) => {
        const wide = { groupConcurrency: 100 };
        await insert(
          store,
          g('a1', 'A', { ...wide, runAt: CT0 + 1 }),
          g('a2', 'A', { ...wide, runAt: CT0 + 2 }),
          g('a3', 'A', { ...wide, runAt: CT0 + 3 }),
          g('b1', 'B', { ...wide, runAt: CT0 + 4 }),
          g('b2', 'B', { ...wide, runAt: CT0 + 5 }),
          newRecord('u1', { runAt: CT0 + 6 }),
        );
        const order: string[] = [];
        for (let i = 0; i < 6; i++) order.push(...ids((await store.claim(claimAll(CT0 + 10, { limit: 1 }))).jobs));
        assert.deepEqual(order, ['a1', 'b1', 'u1', 'a2', 'b2', 'a3']);
      });
    });

    it('remembers a group’s turn while it has jobs, even ones not yet due; an idle group comes back level', async (t) => {
      await withGroups(t, async (store) => {
        const wide = { groupConcurrency: 100 };
        await insert(store, g('a0', 'A', { ...wide, runAt: CT0 }), g('a1', 'A', { ...wide, runAt: CT0 + 1 }), g('b0', 'B', { ...wide, runAt: CT0 + 10 }));
        const [a0] = (await store.claim(claimAll(CT0, { limit: 1 }))).jobs;
        assert.equal(a0?.id, 'a0');
        await finish(store, a0);
        // A was served last: B goes first although a1 is due earlier.
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 20, { limit: 1 }))).jobs), ['b0']);
        const [a1] = (await store.claim(claimAll(CT0 + 20, { limit: 1 }))).jobs;
        assert.equal(a1?.id, 'a1');
        await finish(store, a1);
        // A is idle now (no job left): it comes back level with a group never served, and runAt decides.
        await insert(store, g('c0', 'C', { ...wide, runAt: CT0 + 31 }), g('a2', 'A', { ...wide, runAt: CT0 + 30 }));
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 40, { limit: 1 }))).jobs), ['a2']);
      });
    });

    it('serves the same rotation within one claim', async (t) => {
      await withGroups(t, async (store) => {
        const wide = { groupConcurrency: 100 };
        await insert(store, g('a1', 'A', { ...wide, runAt: CT0 + 1 }), g('a2', 'A', { ...wide, runAt: CT0 + 2 }), g('b1', 'B', { ...wide, runAt: CT0 + 3 }));
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10))).jobs), ['a1', 'b1', 'a2']);
      });
    });

    it('lets priority go before the rotation', async (t) => {
      await withGroups(t, async (store) => {
        const wide = { groupConcurrency: 100 };
        await insert(store, g('a1', 'A', { ...wide, runAt: CT0 + 1 }), g('a2', 'A', { ...wide, runAt: CT0 + 2, priority: 5 }), g('b1', 'B', { ...wide, runAt: CT0 + 3 }));
        // a2 first (priority), then B's turn: A was just served.
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10))).jobs), ['a2', 'b1', 'a1']);
      });
    });

    it('frees the group when its running job is cancelled, and drops a cancelled waiting job', async (t) => {
      await withGroups(t, async (store) => {
        await insert(store, g('g1', 'c:7'), g('g2', 'c:7', { runAt: CT0 + 1 }), g('g3', 'c:7', { runAt: CT0 + 2 }));
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10))).jobs), ['g1']);
        assert.ok(await store.cancel('g2', CT0), 'a ready job of a busy group can be cancelled');
        assert.ok(await store.cancel('g1', CT0));
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10))).jobs), ['g3']);
        assert.equal(store.counts().scheduled, 0);
      });
    });

    it('keeps groups across close and reopen: a recovered job is still its group’s first', async (t) => {
      const fixture = await makeStore();
      if (fixture.store.features?.groups !== true) {
        await fixture.cleanup();
        t.skip(`${name} does not support groups`);
        return;
      }
      let again: Store | undefined;
      try {
        const store = fixture.store;
        await store.open(storeContext());
        await insert(store, g('g1', 'c:5', { groupConcurrency: 1 }), g('g2', 'c:5', { runAt: CT0 + 1 }), g('h1', 'c:6', { groupConcurrency: 2 }));
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10))).jobs).sort(), ['g1', 'h1']);
        await store.close();
        again = fixture.reopen ? await fixture.reopen() : store;
        await again.open(storeContext());
        const h1 = await again.get('h1');
        assert.deepEqual([h1?.group, h1?.groupConcurrency], ['c:6', 2]);
        // g1 came back (its process is gone) and runs before g2; never both at once.
        const { jobs } = await again.claim(claimAll(CT0 + 10));
        assert.deepEqual(ids(jobs).sort(), ['g1', 'h1']);
        assert.deepEqual(ids((await again.claim(claimAll(CT0 + 10))).jobs), []);
        await finish(again, jobs.find((j) => j.id === 'g1'));
        assert.deepEqual(ids((await again.claim(claimAll(CT0 + 10))).jobs), ['g2']);
        await again.close();
        again = undefined;
      } finally {
        await again?.close().catch(() => undefined);
        await fixture.cleanup();
      }
    });

    it('lists grouped jobs that wait for their group, with the name filter', async (t) => {
      await withGroups(t, async (store) => {
        await insert(store, g('g1', 'c:3', { name: 'x' }), g('g2', 'c:3', { name: 'y', runAt: CT0 + 1 }), g('g3', 'c:3', { name: 'x', runAt: CT0 + 2 }));
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10))).jobs), ['g1']);
        assert.deepEqual(ids(await store.list({ states: ['scheduled'] })), ['g2', 'g3']);
        assert.deepEqual(ids(await store.list({ states: ['scheduled'], name: 'x' })), ['g3']);
        assert.deepEqual(ids(await store.list({})), ['g1', 'g2', 'g3']);
        assert.equal((await store.get('g3'))?.group, 'c:3');
      });
    });

    it('puts a retried job back in its group, in order, and the group waits for it', async (t) => {
      await withGroups(t, async (store) => {
        await insert(store, g('g1', 'c:9'), g('g2', 'c:9', { runAt: CT0 + 1 }));
        const [job] = (await store.claim(claimAll(CT0 + 10))).jobs;
        assert.equal(job?.id, 'g1');
        // Failed, retried at once: it is still the group's first job.
        assert.equal(await store.settle('g1', job.token as string, patchRecord(job, { state: 'scheduled', token: undefined })), true);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10))).jobs), ['g1']);
      });
    });
  });
}
