/**
 * Store conformance for start-rate limits (ClaimRequest.rateLimit /
 * globalRateLimit, Store.pushBack): every store whose `features.rateLimits`
 * is true passes these; storeConformance registers them. Windows run on
 * claim's `now`, so these cases are deterministic on every store.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClaimRequest, JobRecord, NewJobRecord, RateLimit, Store } from '../src/store/store.js';
import { patchRecord } from '../src/store/record.js';
import { CT0, claimAll, newRecord, type StoreFixture } from './store-conformance.js';
import { withFeature } from './store-conformance-feature.js';

const ids = (jobs: readonly JobRecord[]): string[] => jobs.map((j) => j.id);

/** Registers the rate-limit cases for the stores `makeStore` builds (skipped where not supported). */
export function rateLimitConformance(name: string, makeStore: () => Promise<StoreFixture>): void {
  const withStore = (t: { skip(message?: string): void }, fn: (store: Store) => Promise<void>): Promise<void> => withFeature(t, name, makeStore, 'rateLimits', fn);


  async function insert(store: Store, ...records: NewJobRecord[]): Promise<void> {
    await store.insert(records.map((record) => ({ record, onDuplicate: 'reject' as const })));
  }

  /** A claim at `now` with per-name limits `limits`. */
  const limited = (now: number, limits: Record<string, RateLimit>, more: Partial<ClaimRequest> = {}): ClaimRequest =>
    claimAll(now, { rateLimit: (n) => limits[n], ...more });

  const api = (id: string, runAt = CT0, more: Partial<NewJobRecord> = {}): NewJobRecord => newRecord(id, { name: 'api', runAt, ...more });

  describe(`Store conformance (rate limits): ${name}`, () => {
    it('starts at most max jobs of a name per window; the rest wait in order and the claim says until when', async (t) => {
      await withStore(t, async (store) => {
        await insert(store, api('a1'), api('a2', CT0 + 1), api('a3', CT0 + 2), api('a4', CT0 + 3), api('a0', CT0 + 4, { priority: 1 }), newRecord('free'));
        const limits = { api: { max: 2, durationMs: 1000 } };
        const first = await store.claim(limited(CT0 + 10, limits));
        assert.deepEqual(ids(first.jobs).sort(), ['a0', 'a1', 'free'], 'priority first, then runAt; other names are not limited');
        assert.equal(first.retryAt, CT0 + 1010);
        const none = await store.claim(limited(CT0 + 500, limits));
        assert.deepEqual(ids(none.jobs), []);
        assert.equal(none.retryAt, CT0 + 1010);
        assert.equal(store.counts().scheduled, 3, 'jobs over the limit wait; they do not fail');
        const next = await store.claim(limited(CT0 + 1010, limits));
        assert.deepEqual(ids(next.jobs), ['a2', 'a3']);
        assert.equal(next.retryAt, CT0 + 2010);
      });
    });

    it('slides the window: a slot frees when the oldest start leaves it', async (t) => {
      await withStore(t, async (store) => {
        await insert(store, api('a1'), api('a2'), api('a3'), api('a4'));
        const limits = { api: { max: 2, durationMs: 1000 } };
        assert.deepEqual(ids((await store.claim(limited(CT0, limits, { limit: 1 }))).jobs), ['a1']);
        assert.deepEqual(ids((await store.claim(limited(CT0 + 600, limits))).jobs), ['a2']);
        const waiting = await store.claim(limited(CT0 + 999, limits));
        assert.deepEqual([ids(waiting.jobs), waiting.retryAt], [[], CT0 + 1000]);
        const one = await store.claim(limited(CT0 + 1000, limits));
        assert.deepEqual([ids(one.jobs), one.retryAt], [['a3'], CT0 + 1600]);
      });
    });

    it('refundStart: a claim that did not start its job leaves the windows (the name’s and the store-wide one)', async (t) => {
      await withStore(t, async (store) => {
        await insert(store, api('a1'), api('a2', CT0 + 1), newRecord('x1', { name: 'x', runAt: CT0 + 2 }));
        const limits = { api: { max: 1, durationMs: 1000 } };
        const global = { max: 2, durationMs: 1000 };
        const first = await store.claim(limited(CT0 + 10, limits, { limit: 1, globalRateLimit: global }));
        assert.deepEqual(ids(first.jobs), ['a1']);
        const claimed = first.jobs[0] as JobRecord;
        assert.ok(store.refundStart, 'a store with rate limits has refundStart');
        await store.refundStart('api', claimed.token as string);
        const back = patchRecord(claimed, { state: 'scheduled', attempt: claimed.attempt - 1, token: undefined });
        assert.equal(await store.settle('a1', claimed.token as string, back), true);
        const again = await store.claim(limited(CT0 + 20, limits, { globalRateLimit: global }));
        assert.deepEqual(ids(again.jobs), ['a1', 'x1'], 'the refunded start counts in neither window: a1 again, and x1 within the global 2');
        const none = await store.claim(limited(CT0 + 30, limits, { globalRateLimit: global }));
        assert.deepEqual([ids(none.jobs), none.retryAt], [[], CT0 + 1020], 'the starts that happened still count');
      });
    });

    it('limits every name together with globalRateLimit', async (t) => {
      await withStore(t, async (store) => {
        await insert(store, newRecord('x1', { name: 'x' }), newRecord('y1', { name: 'y', runAt: CT0 + 1 }), newRecord('x2', { name: 'x', runAt: CT0 + 2 }), newRecord('y2', { name: 'y', runAt: CT0 + 3 }));
        const global = { max: 3, durationMs: 60_000 };
        const first = await store.claim(claimAll(CT0 + 10, { globalRateLimit: global }));
        assert.deepEqual(ids(first.jobs), ['x1', 'y1', 'x2']);
        assert.equal(first.retryAt, CT0 + 60_010);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 60_009, { globalRateLimit: global }))).jobs), []);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 60_010, { globalRateLimit: global }))).jobs), ['y2']);
      });
    });

    it('pushBack holds every job of a name until the given instant, in order', async (t) => {
      await withStore(t, async (store) => {
        await insert(store, api('a1'), api('a2', CT0 + 1), newRecord('free'));
        assert.ok(store.pushBack, 'a store with rate limits has pushBack');
        await store.pushBack('api', CT0 + 5000);
        const first = await store.claim(claimAll(CT0 + 10));
        assert.deepEqual([ids(first.jobs), first.retryAt], [['free'], CT0 + 5000]);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 4999))).jobs), []);
        // An earlier push-back does not shorten a later one.
        await store.pushBack('api', CT0 + 100);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 4999))).jobs), []);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 5000))).jobs), ['a1', 'a2']);
      });
    });

    it('keeps a rate-limited name from starting grouped jobs too', async (t) => {
      await withStore(t, async (store) => {
        if (store.features?.groups !== true) return;
        const wide = { groupConcurrency: 10 };
        await insert(store, api('g1', CT0, { group: 'G', ...wide }), api('g2', CT0 + 1, { group: 'G', ...wide }), api('p1', CT0 + 2));
        const limits = { api: { max: 2, durationMs: 1000 } };
        const first = await store.claim(limited(CT0 + 10, limits));
        assert.equal(first.jobs.length, 2);
        assert.equal(first.retryAt, CT0 + 1010);
        assert.equal(store.counts().scheduled, 1);
      });
    });

    it('claims as before, and says nothing of retryAt, when no limit is set', async (t) => {
      await withStore(t, async (store) => {
        await insert(store, api('a1'), api('a2'));
        const result = await store.claim(claimAll(CT0));
        assert.deepEqual(ids(result.jobs), ['a1', 'a2']);
        assert.equal(result.retryAt, undefined);
      });
    });
  });
}
