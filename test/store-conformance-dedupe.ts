/**
 * Store conformance for dedupe windows (InsertRequest.dedupe): every store
 * whose `features.dedupe` is true passes these; storeConformance registers
 * them. Windows run in the createdAt frame, so no case waits for real time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DuplicateJobError } from '../src/errors.js';
import { patchRecord } from '../src/store/record.js';
import type { DedupeRequest, InsertRequest, InsertResult, NewJobRecord, Store, StoreContext } from '../src/store/store.js';
import { CT0, claimAll, newRecord, storeContext, type StoreFixture } from './store-conformance.js';
import { featureFixture, withFeature } from './store-conformance-feature.js';

const TTL = 60_000;
const throttle = (key = 'k'): DedupeRequest => ({ key, ttlMs: TTL, mode: 'throttle' });
const debounce = (key = 'k'): DedupeRequest => ({ key, ttlMs: TTL, mode: 'debounce' });

/** A request of job `id` made at `at` (its createdAt), due at `runAt`. */
function call(id: string, at: number, dedupe: DedupeRequest, overrides: Partial<NewJobRecord> = {}): InsertRequest {
  return { record: newRecord(id, { createdAt: at, runAt: at, ...overrides }), onDuplicate: 'reject', dedupe };
}

async function one(store: Store, request: InsertRequest): Promise<InsertResult> {
  return (await store.insert([request]))[0] as InsertResult;
}

/** Registers the dedupe cases for the stores `makeStore` builds (skipped where dedupe is not supported). */
export function dedupeConformance(name: string, makeStore: () => Promise<StoreFixture>): void {
  const withDedupe = (
    t: { skip(message?: string): void },
    fn: (store: Store, fixture: StoreFixture) => Promise<void>,
    context: Partial<StoreContext> = {},
  ): Promise<void> => withFeature(t, name, makeStore, 'dedupe', fn, context);

  describe(`Store conformance (dedupe): ${name}`, () => {
    it('throttle: a call inside the window creates nothing and answers with the window job', async (t) => {
      await withDedupe(t, async (store) => {
        const first = await one(store, call('a', CT0, throttle()));
        assert.equal(first.outcome, 'inserted');
        const second = await one(store, call('b', CT0 + TTL - 1, throttle(), { payload: { other: true } }));
        assert.equal(second.outcome, 'throttled');
        assert.equal(second.record.id, 'a');
        assert.deepEqual(second.record.payload, { id: 'a' });
        assert.equal(await store.get('b'), undefined);
        assert.equal(store.counts().scheduled, 1);
      });
    });

    it('throttle: the window ends ttlMs after the job was created; the next call opens a new one', async (t) => {
      await withDedupe(t, async (store) => {
        await one(store, call('a', CT0, throttle()));
        assert.equal((await one(store, call('b', CT0 + TTL, throttle()))).outcome, 'inserted');
        assert.equal((await one(store, call('c', CT0 + TTL + 1, throttle()))).record.id, 'b', 'the window is now b’s');
        assert.deepEqual((await store.list({})).map((j) => j.id).sort(), ['a', 'b']);
      });
    });

    it('throttle: the window holds while its job runs and after it finished', async (t) => {
      await withDedupe(t, async (store) => {
        await one(store, call('a', CT0, throttle()));
        const [running] = (await store.claim(claimAll(CT0))).jobs;
        assert.ok(running);
        const during = await one(store, call('b', CT0 + 1, throttle()));
        assert.deepEqual([during.outcome, during.record.id, during.record.state], ['throttled', 'a', 'running']);
        assert.equal(await store.settle('a', running.token as string, patchRecord(running, { state: 'completed', finishedAt: CT0 + 2, token: undefined })), true);
        const after = await one(store, call('c', CT0 + 3, throttle()));
        assert.deepEqual([after.outcome, after.record.id, after.record.state], ['throttled', 'a', 'completed']);
      });
    });

    it('a key is scoped to its job name', async (t) => {
      await withDedupe(t, async (store) => {
        await one(store, call('a', CT0, throttle()));
        assert.equal((await one(store, call('b', CT0 + 1, throttle(), { name: 'other' }))).outcome, 'inserted');
        assert.equal((await one(store, call('c', CT0 + 1, throttle('k2')))).outcome, 'inserted', 'another key');
      });
    });

    it('debounce: replaces the pending job’s payload and due time, restarts the window', async (t) => {
      await withDedupe(t, async (store) => {
        await one(store, call('a', CT0, debounce(), { runAt: CT0 + 5000 }));
        const second = await one(store, call('b', CT0 + 1000, debounce(), { runAt: CT0 + 6000, payload: { v: 2 } }));
        assert.equal(second.outcome, 'debounced');
        assert.equal(second.record.id, 'a');
        assert.equal(second.previous?.runAt, CT0 + 5000);
        const stored = await store.get('a');
        assert.deepEqual([stored?.payload, stored?.runAt, stored?.state], [{ v: 2 }, CT0 + 6000, 'scheduled']);
        assert.equal(await store.get('b'), undefined);
        // The window restarted at CT0 + 1000: a call after the first window's end still debounces.
        const third = await one(store, call('c', CT0 + TTL + 500, debounce(), { runAt: CT0 + TTL + 9000, payload: { v: 3 } }));
        assert.deepEqual([third.outcome, third.record.id], ['debounced', 'a']);
        assert.deepEqual((await store.claim(claimAll(CT0 + TTL + 8999))).jobs, [], 'pushed back: not due before its new time');
        const [claimed] = (await store.claim(claimAll(CT0 + TTL + 9000))).jobs;
        assert.deepEqual([claimed?.id, claimed?.payload], ['a', { v: 3 }]);
        assert.equal(store.counts().scheduled, 0);
      });
    });

    it('debounce: can pull the pending job earlier', async (t) => {
      await withDedupe(t, async (store) => {
        await one(store, call('a', CT0, debounce(), { runAt: CT0 + 50_000 }));
        await one(store, call('b', CT0 + 1, debounce(), { runAt: CT0 + 10 }));
        assert.equal(store.nextDueAt(), CT0 + 10);
        assert.deepEqual((await store.claim(claimAll(CT0 + 10))).jobs.map((j) => j.id), ['a']);
      });
    });

    it('debounce: once the job started, a call creates a new job and window', async (t) => {
      await withDedupe(t, async (store) => {
        await one(store, call('a', CT0, debounce()));
        assert.equal((await store.claim(claimAll(CT0))).jobs.length, 1);
        const second = await one(store, call('b', CT0 + 1, debounce(), { runAt: CT0 + 100 }));
        assert.deepEqual([second.outcome, second.record.id], ['inserted', 'b']);
        const third = await one(store, call('c', CT0 + 2, debounce(), { runAt: CT0 + 200 }));
        assert.deepEqual([third.outcome, third.record.id, third.record.runAt], ['debounced', 'b', CT0 + 200]);
      });
    });

    it('a cancelled window job: a throttle gets it as it is (cancelled), a debounce creates a new job and window', async (t) => {
      await withDedupe(t, async (store) => {
        await one(store, call('a', CT0, debounce()));
        assert.equal((await store.cancel('a', CT0 + 1))?.state, 'cancelled');
        const throttled = await one(store, call('b', CT0 + 2, throttle()));
        assert.deepEqual([throttled.outcome, throttled.record.id, throttled.record.state], ['throttled', 'a', 'cancelled']);
        const second = await one(store, call('c', CT0 + 3, debounce(), { runAt: CT0 + 100 }));
        assert.deepEqual([second.outcome, second.record.id, second.record.state], ['inserted', 'c', 'scheduled']);
        const third = await one(store, call('d', CT0 + 4, debounce(), { runAt: CT0 + 200 }));
        assert.deepEqual([third.outcome, third.record.id, third.record.runAt], ['debounced', 'c', CT0 + 200], 'the window is now c’s');
        assert.equal((await store.get('a'))?.state, 'cancelled', 'the cancelled job stays as it was');
      });
    });

    it('a window whose job is gone is closed', async (t) => {
      await withDedupe(
        t,
        async (store) => {
          await one(store, call('a', CT0, throttle()));
          const [running] = (await store.claim(claimAll(CT0))).jobs;
          assert.ok(running);
          await store.settle('a', running.token as string, patchRecord(running, { state: 'completed', finishedAt: CT0, token: undefined }));
          assert.equal(await store.get('a'), undefined, 'keepCompleted 0 removed it');
          assert.equal((await one(store, call('b', CT0 + 1, throttle()))).outcome, 'inserted');
        },
        { keepCompleted: 0 },
      );
    });

    it('a job whose window ended leaving the store does not close the newer window of its key', async (t) => {
      await withDedupe(
        t,
        async (store) => {
          await one(store, call('a', CT0, throttle()));
          assert.equal((await one(store, call('b', CT0 + TTL, throttle(), { runAt: CT0 + 10 * TTL }))).outcome, 'inserted', 'a’s window ended: b opens the next');
          const [running] = (await store.claim(claimAll(CT0 + TTL))).jobs;
          assert.equal(running?.id, 'a');
          await store.settle('a', running.token as string, patchRecord(running, { state: 'completed', finishedAt: CT0 + TTL, token: undefined }));
          assert.equal(await store.get('a'), undefined, 'keepCompleted 0 removed a');
          const c = await one(store, call('c', CT0 + TTL + 10, throttle()));
          assert.deepEqual([c.outcome, c.record.id], ['throttled', 'b']);
        },
        { keepCompleted: 0 },
      );
    });

    it('one insert call: a later request sees the window an earlier one opened', async (t) => {
      await withDedupe(t, async (store) => {
        const results = await store.insert([call('a', CT0, throttle()), call('b', CT0, throttle()), call('c', CT0, debounce('d')), call('e', CT0, debounce('d'), { runAt: CT0 + 7 })]);
        assert.deepEqual(
          results.map((r) => [r.outcome, r.record.id]),
          [
            ['inserted', 'a'],
            ['throttled', 'a'],
            ['inserted', 'c'],
            ['debounced', 'c'],
          ],
        );
        assert.equal((await store.get('c'))?.runAt, CT0 + 7);
        assert.equal(store.counts().scheduled, 2);
      });
    });

    it('all or none: a refused batch opens no window; a created job’s taken id is a DuplicateJobError', async (t) => {
      await withDedupe(t, async (store) => {
        await store.insert([{ record: newRecord('taken'), onDuplicate: 'reject' }]);
        await assert.rejects(store.insert([call('a', CT0, throttle()), { record: newRecord('taken'), onDuplicate: 'reject' }]), DuplicateJobError);
        await assert.rejects(one(store, call('taken', CT0, throttle())), DuplicateJobError);
        assert.equal((await one(store, call('b', CT0 + 1, throttle()))).outcome, 'inserted', 'no window was opened');
        assert.equal((await one(store, call('taken', CT0 + 2, throttle()))).record.id, 'b', 'inside b’s window the id is not checked');
      });
    });

    /** Runs `before` on an open store, closes it, opens it again (a new store object where the fixture makes one) and runs `after`. */
    async function acrossReopen(t: { skip(message?: string): void }, before: (store: Store) => Promise<void>, after: (store: Store) => Promise<void>): Promise<void> {
      const fixture = await featureFixture(t, name, makeStore, 'dedupe');
      if (fixture === undefined) return;
      try {
        const store = fixture.store;
        await store.open(storeContext());
        await before(store);
        await store.close();
        const again = fixture.reopen ? await fixture.reopen() : store;
        await again.open(storeContext());
        try {
          await after(again);
        } finally {
          await again.close();
        }
      } finally {
        await fixture.cleanup();
      }
    }

    it('after close and reopen, a key whose window ended and opened again answers with the newer window', async (t) => {
      await acrossReopen(
        t,
        async (store) => {
          await one(store, call('a', CT0, throttle()));
          assert.equal((await one(store, call('b', CT0 + TTL, throttle()))).outcome, 'inserted', 'a’s window ended: b opens the next');
        },
        async (again) => {
          const c = await one(again, call('c', CT0 + TTL + 10, throttle()));
          assert.deepEqual([c.outcome, c.record.id], ['throttled', 'b']);
          assert.equal(await again.get('c'), undefined);
        },
      );
    });

    it('a window survives close and reopen', async (t) => {
      await acrossReopen(
        t,
        async (store) => {
          await one(store, call('a', CT0, throttle()));
          await one(store, call('d', CT0, debounce('d'), { runAt: CT0 + 100 }));
        },
        async (again) => {
          const t1 = await one(again, call('b', CT0 + 10, throttle()));
          assert.deepEqual([t1.outcome, t1.record.id], ['throttled', 'a']);
          const d1 = await one(again, call('e', CT0 + 10, debounce('d'), { runAt: CT0 + 300 }));
          assert.deepEqual([d1.outcome, d1.record.id, (await again.get('d'))?.runAt], ['debounced', 'd', CT0 + 300]);
        },
      );
    });
  });
}

