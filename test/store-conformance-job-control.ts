/**
 * Store conformance, job control (issue 16). A schedule's `recur.last` (the
 * last occurrence's outcome, for listSchedules) survives a settle and a
 * reopen on every store. `Store.progress` — what a
 * running attempt reports is stored on its job while the attempt owns it,
 * visible to `get`/`list`, kept through the settle and a reopen. A store
 * without `progress` skips these, and the scheduler refuses
 * `job.progress()` for it (job-progress.test.ts).
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRecord, NewJobRecord, Store } from '../src/store/store.js';
import { CT0, claimAll, newRecord, storeContext, type StoreFixture } from './store-conformance.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

type WithStore = (fn: (store: Store, fixture: StoreFixture) => Promise<void>) => Promise<void>;

async function insert(store: Store, ...records: NewJobRecord[]): Promise<void> {
  await store.insert(records.map((record) => ({ record, onDuplicate: 'reject' as const })));
}

/** The job-control part of the suite; called by storeConformance. */
export function jobControlConformance(withStore: WithStore, makeStore: () => Promise<StoreFixture>): void {
  /** `store.progress`, or undefined after marking the test skipped. */
  function progressOf(t: TestContext, store: Store): NonNullable<Store['progress']> | undefined {
    if (typeof store.progress !== 'function') {
      t.skip(`${store.constructor.name} does not record progress`);
      return undefined;
    }
    return store.progress.bind(store);
  }

  describe('schedule outcome', () => {
    it('keeps recur.last written by a settle, through a reopen', async () => {
      const fixture = await makeStore();
      try {
        const store = fixture.store;
        await store.open(storeContext());
        const recur = { every: 1000, misfire: 'once' as const, slot: CT0, count: 0, signature: 's' };
        await insert(store, newRecord('sched', { recur }));
        const [job] = (await store.claim(claimAll(CT0))).jobs;
        assert.ok(job?.token);
        const last = { state: 'dead' as const, slot: CT0, at: CT0 + 7 };
        const next: JobRecord = { ...job, state: 'scheduled', runAt: CT0 + 1000, attempt: 0, lastError: { name: 'RangeError', message: 'x' }, recur: { ...recur, count: 1, slot: CT0 + 1000, last } };
        const { token: _token, ...settled } = next;
        assert.equal(await store.settle('sched', job.token, settled as JobRecord), true);
        assert.deepEqual((await store.get('sched'))?.recur?.last, last);
        await store.close();
        const again = fixture.reopen ? await fixture.reopen() : store;
        await again.open(storeContext());
        const kept = await again.get('sched');
        assert.deepEqual(kept?.recur, { ...recur, count: 1, slot: CT0 + 1000, last });
        assert.deepEqual(kept?.lastError, { name: 'RangeError', message: 'x' });
        await again.close();
      } finally {
        await fixture.cleanup();
      }
    });
  });

  describe('progress', () => {
    it('records progress and logs of the attempt that owns the job, visible to get and list, kept by the settle', async (t) => {
      await withStore(async (store) => {
        const progress = progressOf(t, store);
        if (!progress) return;
        await insert(store, newRecord('p'), newRecord('other', { runAt: CT0 + 1000 }));
        const [job] = (await store.claim(claimAll(CT0))).jobs;
        assert.ok(job?.token);
        const reported: JobRecord = { ...job, progress: { done: 3, of: 10 }, logs: ['fetched', 'parsed 3'] };
        assert.equal(await progress('p', job.token, reported), true);
        const stored = await store.get('p');
        assert.deepEqual(stored?.progress, { done: 3, of: 10 });
        assert.deepEqual(stored?.logs, ['fetched', 'parsed 3']);
        assert.equal(stored?.state, 'running');
        assert.equal(stored?.token, job.token);
        assert.deepEqual((await store.list({ states: ['running'] }))[0]?.progress, { done: 3, of: 10 });
        assert.equal(await progress('p', job.token, { ...reported, progress: 7 }), true);
        assert.equal((await store.get('p'))?.progress, 7);
        assert.deepEqual((await store.get('p'))?.logs, ['fetched', 'parsed 3']);
        // The outcome carries what was reported (the scheduler's record of the attempt).
        assert.equal(await store.settle('p', job.token, { ...reported, progress: 7, state: 'completed', finishedAt: CT0 + 5 }), true);
        const done = await store.get('p');
        assert.equal(done?.state, 'completed');
        assert.equal(done?.progress, 7);
        assert.deepEqual(done?.logs, ['fetched', 'parsed 3']);
        assert.equal((await store.get('other'))?.progress, undefined);
      });
    });

    it('refuses a report from an attempt that no longer owns the job, changing nothing', async (t) => {
      await withStore(async (store) => {
        const progress = progressOf(t, store);
        if (!progress) return;
        await insert(store, newRecord('a'), newRecord('b'));
        const [a, b] = (await store.claim(claimAll(CT0))).jobs;
        assert.ok(a?.token && b?.token);
        assert.equal(await progress('a', 'wrong-token', { ...a, progress: 1 }), false);
        assert.equal(await progress('missing', a.token, { ...a, id: 'missing', progress: 1 }), false);
        assert.equal((await store.get('a'))?.progress, undefined);
        assert.equal(await store.settle('a', a.token, { ...a, state: 'completed', finishedAt: CT0 + 1 }), true);
        assert.equal(await progress('a', a.token, { ...a, progress: 2 }), false, 'a settled attempt reports nothing');
        assert.equal((await store.get('a'))?.progress, undefined);
        assert.ok(await store.cancel('b', CT0 + 2));
        assert.equal(await progress('b', b.token, { ...b, progress: 3, logs: ['late'] }), false, 'a cancelled job takes no report');
        const cancelled = await store.get('b');
        assert.equal(cancelled?.progress, undefined);
        assert.equal(cancelled?.logs, undefined);
      });
    });

    it('keeps progress, logs and the trace context across a reopen', async (t) => {
      const fixture = await makeStore();
      try {
        const store = fixture.store;
        await store.open(storeContext());
        const progress = progressOf(t, store);
        if (!progress) {
          await store.close();
          return;
        }
        await insert(store, newRecord('k', { trace: TRACEPARENT }));
        assert.equal((await store.get('k'))?.trace, TRACEPARENT);
        const [job] = (await store.claim(claimAll(CT0))).jobs;
        assert.ok(job?.token);
        await progress('k', job.token, { ...job, progress: 'half', logs: ['ü 😀 "quoted"\nsecond line'] });
        await store.settle('k', job.token, { ...job, progress: 'half', logs: ['ü 😀 "quoted"\nsecond line'], state: 'scheduled', runAt: CT0 + 10 });
        await store.close();
        const again = fixture.reopen ? await fixture.reopen() : store;
        await again.open(storeContext());
        const kept = await again.get('k');
        assert.equal(kept?.progress, 'half');
        assert.deepEqual(kept?.logs, ['ü 😀 "quoted"\nsecond line']);
        assert.equal(kept?.trace, TRACEPARENT, 'the trace context stored with the job (godelayq/otel)');
        await again.close();
      } finally {
        await fixture.cleanup();
      }
    });
  });
}
