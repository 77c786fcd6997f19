/**
 * The Store conformance suite: one set of behaviours every Store passes
 * (MemoryStore, JsonFileStore, later RedisStore). Call `storeConformance`
 * from a `*.test.ts` file with a factory for fresh, unopened stores.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DuplicateJobError, JobNotFoundError } from '../src/errors.js';
import { VirtualClock } from '../src/clock.js';
import type { ClaimRequest, JobRecord, NewJobRecord, Store, StoreContext } from '../src/store/store.js';
import { jobControlConformance } from './store-conformance-job-control.js';
import { groupConformance } from './store-conformance-groups.js';
import { rateLimitConformance } from './store-conformance-rate-limits.js';
import { dedupeConformance } from './store-conformance-dedupe.js';
import { removalConformance } from './store-conformance-removal.js';

export interface StoreFixture {
  /** A fresh store, not yet opened. */
  store: Store;
  cleanup(): Promise<void>;
  /**
   * The store to open after `store.close()` to see what survived: a new
   * instance over the same storage for a durable store. Default: the same instance.
   */
  reopen?(): Promise<Store>;
}

export const CT0 = Date.UTC(2027, 0, 1);

/**
 * `store.nextDueAt()` becomes `want`. A shared store's nextDueAt is a cache
 * that replies and pushes refresh, and the push of an earlier change can land
 * after a later reply (Redis Cluster's bus did, in CI): the cache is then
 * early, never late, until the store's next round trip. The scheduler pays
 * for that with one empty claim at the early time, and so does this helper:
 * while the cache is early it claims at the cached time, which must take
 * nothing, and looks again, within a bound. A local store answers at once.
 */
export async function dueSettles(store: Store, want: number | undefined): Promise<void> {
  for (let i = 0; i < 100 && store.nextDueAt() !== want; i++) {
    const early = store.nextDueAt();
    if (early !== undefined && (want === undefined || early < want)) {
      const { jobs } = await store.claim(claimAll(early));
      assert.deepEqual(ids(jobs), [], `nothing is due at ${early}, before ${want}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.equal(store.nextDueAt(), want);
}

export function storeContext(overrides: Partial<StoreContext> = {}): StoreContext & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    now: () => CT0,
    clock: new VirtualClock(CT0),
    wake: () => undefined,
    keepCompleted: 1000,
    keepDead: 1000,
    maxPayloadBytes: 1 << 20,
    warn: (message: string) => {
      warnings.push(message);
    },
    ...overrides,
    warnings,
  };
}

export function newRecord(id: string, overrides: Partial<NewJobRecord> = {}): NewJobRecord {
  return {
    id,
    name: 'work',
    payload: { id },
    state: 'scheduled',
    runAt: CT0,
    createdAt: CT0,
    attempt: 0,
    priority: 0,
    ...overrides,
  };
}

let tokens = 0;
export function claimAll(now: number, overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return { now, limit: 1000, capacity: () => 1000, token: () => `t${++tokens}`, ...overrides };
}

function sameSchedule(signature: string): Pick<NewJobRecord, 'recur'> {
  return { recur: { every: 1000, misfire: 'once', slot: CT0, count: 0, signature } };
}

const ids = (jobs: readonly JobRecord[]): string[] => jobs.map((j) => j.id);

/** Registers the conformance suite for the stores `makeStore` builds. */
export function storeConformance(name: string, makeStore: () => Promise<StoreFixture>): void {
  /** Runs `fn` with an opened store and cleans up whatever happens. */
  async function withStore(
    fn: (store: Store, fixture: StoreFixture) => Promise<void>,
    context: Partial<StoreContext> = {},
  ): Promise<void> {
    const fixture = await makeStore();
    let closed = false;
    try {
      await fixture.store.open(storeContext(context));
      await fn(fixture.store, fixture);
      await fixture.store.close();
      closed = true;
    } finally {
      // A failed test must still close the store: an open Redis client would
      // keep reconnecting after the server is gone and the file would never exit.
      if (!closed) await fixture.store.close().catch(() => undefined);
      await fixture.cleanup();
    }
  }

  async function insert(store: Store, ...records: NewJobRecord[]): Promise<JobRecord[]> {
    const results = await store.insert(records.map((record) => ({ record, onDuplicate: 'reject' as const })));
    return results.map((r) => r.record);
  }

  // Job control (issue 16): each feature's cases, skipped by stores without it.
  groupConformance(name, makeStore);
  rateLimitConformance(name, makeStore);
  dedupeConformance(name, makeStore);
  removalConformance(name, makeStore);

  describe(`Store conformance: ${name}`, () => {
    describe('insert', () => {
      it('inserts records, assigns increasing seq, reports outcome', async () => {
        await withStore(async (store) => {
          const results = await store.insert([
            { record: newRecord('a'), onDuplicate: 'reject' },
            { record: newRecord('b'), onDuplicate: 'reject' },
          ]);
          assert.deepEqual(results.map((r) => r.outcome), ['inserted', 'inserted']);
          const [a, b] = results.map((r) => r.record) as [JobRecord, JobRecord];
          assert.ok(b.seq > a.seq);
          assert.deepEqual(await store.get('a'), a);
          assert.equal(a.state, 'scheduled');
          assert.deepEqual(a.payload, { id: 'a' });
        });
      });

      it('is all or none: a duplicate in the batch inserts nothing', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('old'));
          await assert.rejects(
            store.insert([
              { record: newRecord('new1'), onDuplicate: 'reject' },
              { record: newRecord('old', { payload: 'changed' }), onDuplicate: 'reject' },
              { record: newRecord('new2'), onDuplicate: 'reject' },
            ]),
            (e: unknown) => e instanceof DuplicateJobError && e.id === 'old',
          );
          assert.equal(await store.get('new1'), undefined);
          assert.equal(await store.get('new2'), undefined);
          assert.deepEqual((await store.get('old'))?.payload, { id: 'old' });
          assert.equal(store.counts().scheduled, 1);
        });
      });

      it('rejects the same id twice in one batch', async () => {
        await withStore(async (store) => {
          await assert.rejects(
            store.insert([
              { record: newRecord('x'), onDuplicate: 'reject' },
              { record: newRecord('x'), onDuplicate: 'reject' },
            ]),
            DuplicateJobError,
          );
          assert.equal(await store.get('x'), undefined);
        });
      });

      it("onDuplicate 'keep' returns the existing job unchanged", async () => {
        await withStore(async (store) => {
          const [old] = await insert(store, newRecord('k', { payload: 1 }));
          const [result] = await store.insert([{ record: newRecord('k', { payload: 2 }), onDuplicate: 'keep' }]);
          assert.equal(result?.outcome, 'kept');
          assert.deepEqual(result?.record, old);
          assert.deepEqual(await store.get('k'), old);
        });
      });

      it("onDuplicate 'replace' replaces it and returns the previous one", async () => {
        await withStore(async (store) => {
          const [old] = await insert(store, newRecord('r', { payload: 1, runAt: CT0 + 1000 }));
          const [result] = await store.insert([{ record: newRecord('r', { payload: 2, runAt: CT0 + 5 }), onDuplicate: 'replace' }]);
          assert.equal(result?.outcome, 'replaced');
          assert.deepEqual(result?.previous, old);
          assert.equal((await store.get('r'))?.payload, 2);
          assert.equal(store.counts().scheduled, 1);
          assert.equal(store.nextDueAt(), CT0 + 5);
        });
      });

      it("onDuplicate 'keepIfSame' keeps a schedule with the same signature, rejects another", async () => {
        await withStore(async (store) => {
          const [old] = await insert(store, newRecord('s', sameSchedule('every 1000')));
          const [same] = await store.insert([{ record: newRecord('s', { ...sameSchedule('every 1000'), payload: 9 }), onDuplicate: 'keepIfSame' }]);
          assert.equal(same?.outcome, 'kept');
          assert.deepEqual(same?.record, old);
          await assert.rejects(
            store.insert([{ record: newRecord('s', sameSchedule('every 2000')), onDuplicate: 'keepIfSame' }]),
            DuplicateJobError,
          );
          assert.deepEqual(await store.get('s'), old);
        });
      });
    });

    describe('get and list', () => {
      it('get of an unknown id is undefined', async () => {
        await withStore(async (store) => {
          assert.equal(await store.get('nope'), undefined);
        });
      });

      it('lists by runAt, then insertion order, with filters, offset and limit', async () => {
        await withStore(async (store) => {
          await insert(
            store,
            newRecord('c', { runAt: CT0 + 30 }),
            newRecord('a', { runAt: CT0 + 10 }),
            newRecord('b1', { runAt: CT0 + 20, name: 'other' }),
            newRecord('b2', { runAt: CT0 + 20 }),
          );
          await store.cancel('c', CT0);
          assert.deepEqual(ids(await store.list({})), ['a', 'b1', 'b2', 'c']);
          assert.deepEqual(ids(await store.list({ name: 'other' })), ['b1']);
          assert.deepEqual(ids(await store.list({ states: ['scheduled'] })), ['a', 'b1', 'b2']);
          assert.deepEqual(ids(await store.list({ states: ['cancelled', 'dead'] })), ['c']);
          assert.deepEqual(ids(await store.list({ offset: 1, limit: 2 })), ['b1', 'b2']);
          assert.deepEqual(ids(await store.list({ offset: 3 })), ['c']);
          assert.deepEqual(ids(await store.list({ limit: 0 })), []);
          assert.deepEqual(ids(await store.list({ name: 'work', states: ['scheduled'], limit: 1 })), ['a']);
        });
      });
    });

    describe('cancel', () => {
      it('cancels a scheduled job and takes it out of the due index', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('a', { runAt: CT0 + 10 }), newRecord('b', { runAt: CT0 + 20 }));
          const cancelled = await store.cancel('a', CT0 + 1);
          assert.equal(cancelled?.state, 'cancelled');
          assert.equal(cancelled?.finishedAt, CT0 + 1);
          assert.deepEqual(await store.get('a'), cancelled);
          // Out of the due index: a claim up to just before b's time takes nothing (a was due at CT0 + 10).
          // It also refreshes a shared store's cached due time: PostgresStore's cache can take the insert's
          // NOTIFY after the cancel's reply and stay early (never late) until its next round trip (two CI runs).
          assert.deepEqual(ids((await store.claim(claimAll(CT0 + 15))).jobs), []);
          await dueSettles(store, CT0 + 20);
          assert.deepEqual(ids((await store.claim(claimAll(CT0 + 100))).jobs), ['b']);
        });
      });

      it('cancels a running job; its late outcome is ignored', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('a'));
          const [running] = (await store.claim(claimAll(CT0))).jobs;
          assert.ok(running?.token);
          const cancelled = await store.cancel('a', CT0 + 5);
          assert.equal(cancelled?.state, 'cancelled');
          assert.equal(cancelled?.token, undefined);
          const late = await store.settle('a', running.token, { ...running, state: 'completed', finishedAt: CT0 + 6, result: 'late' });
          assert.equal(late, false);
          assert.deepEqual(await store.get('a'), cancelled);
        });
      });

      it('returns undefined for a final or unknown job', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('a'));
          await store.cancel('a', CT0);
          assert.equal(await store.cancel('a', CT0), undefined);
          assert.equal(await store.cancel('missing', CT0), undefined);
          await insert(store, newRecord('b'));
          const [job] = (await store.claim(claimAll(CT0))).jobs;
          assert.ok(job?.token);
          assert.equal(await store.settle('b', job.token, { ...job, state: 'completed', finishedAt: CT0 }), true);
          assert.equal(await store.cancel('b', CT0), undefined);
          assert.equal((await store.get('b'))?.state, 'completed');
        });
      });
    });

    describe('reschedule and revive', () => {
      it('reschedules a scheduled job', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('a', { runAt: CT0 + 100 }), newRecord('b', { runAt: CT0 + 50 }));
          const moved = await store.reschedule('a', CT0 + 10);
          assert.equal(moved.runAt, CT0 + 10);
          assert.equal(store.nextDueAt(), CT0 + 10);
          assert.deepEqual(await store.get('a'), moved);
          await store.reschedule('a', CT0 + 500);
          await dueSettles(store, CT0 + 50);
          assert.deepEqual(ids((await store.claim(claimAll(CT0 + 100))).jobs), ['b']);
        });
      });

      it("reschedules a schedule's next slot: its recurrence moves with it, everything else stays", async () => {
        await withStore(async (store) => {
          const recur = { every: 1000, misfire: 'once' as const, slot: CT0 + 1000, count: 3, signature: 'sig' };
          await insert(store, newRecord('s', { runAt: CT0 + 1000, recur }));
          const moved = await store.reschedule('s', CT0 + 7777);
          assert.equal(moved.runAt, CT0 + 7777);
          assert.deepEqual(moved.recur, { ...recur, slot: CT0 + 7777 });
          assert.deepEqual(await store.get('s'), moved);
          await dueSettles(store, CT0 + 7777);
          assert.deepEqual(ids((await store.claim(claimAll(CT0 + 7776))).jobs), []);
          const [job] = (await store.claim(claimAll(CT0 + 7777))).jobs;
          assert.equal(job?.id, 's');
          assert.equal(job?.recur?.slot, CT0 + 7777);
        });
      });

      it('refuses to reschedule an unknown or non-scheduled job', async () => {
        await withStore(async (store) => {
          await assert.rejects(store.reschedule('missing', CT0), JobNotFoundError);
          await insert(store, newRecord('a'));
          await store.claim(claimAll(CT0));
          await assert.rejects(store.reschedule('a', CT0 + 10), JobNotFoundError);
          assert.equal((await store.get('a'))?.state, 'running');
        });
      });

      it('revives a dead or cancelled job with attempts reset', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('d'), newRecord('c', { runAt: CT0 + 1 }));
          const [job] = (await store.claim(claimAll(CT0))).jobs;
          assert.ok(job?.token);
          await store.settle('d', job.token, { ...job, state: 'dead', finishedAt: CT0, lastError: { name: 'Error', message: 'x' } });
          await store.cancel('c', CT0);
          const d = await store.revive('d', CT0 + 100);
          assert.equal(d.state, 'scheduled');
          assert.equal(d.attempt, 0);
          assert.equal(d.runAt, CT0 + 100);
          assert.equal(d.finishedAt, undefined);
          const c = await store.revive('c', CT0 + 50);
          assert.equal(c.state, 'scheduled');
          await dueSettles(store, CT0 + 50);
          assert.equal(store.counts().scheduled, 2);
          await assert.rejects(store.revive('c', CT0), JobNotFoundError);
          await assert.rejects(store.revive('missing', CT0), JobNotFoundError);
        });
      });
    });

    describe('claim', () => {
      it('claims only due jobs, sets running, attempt + 1 and the token', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('now', { runAt: CT0 }), newRecord('later', { runAt: CT0 + 1000, attempt: 2 }));
          const first = await store.claim(claimAll(CT0, { token: () => 'tok-1' }));
          assert.deepEqual(ids(first.jobs), ['now']);
          assert.equal(first.jobs[0]?.state, 'running');
          assert.equal(first.jobs[0]?.attempt, 1);
          assert.equal(first.jobs[0]?.token, 'tok-1');
          assert.deepEqual(await store.get('now'), first.jobs[0]);
          assert.deepEqual((await store.claim(claimAll(CT0 + 999))).jobs, []);
          const second = await store.claim(claimAll(CT0 + 1000));
          assert.deepEqual(ids(second.jobs), ['later']);
          assert.equal(second.jobs[0]?.attempt, 3);
          assert.deepEqual(store.counts(), { ...store.counts(), scheduled: 0, running: 2 });
        });
      });

      it('orders by priority, then runAt, then insertion', async () => {
        await withStore(async (store) => {
          await insert(
            store,
            newRecord('late-low', { runAt: CT0 + 3 }),
            newRecord('early-low', { runAt: CT0 + 1 }),
            newRecord('fifo-1', { runAt: CT0 + 2 }),
            newRecord('fifo-2', { runAt: CT0 + 2 }),
            newRecord('high', { runAt: CT0 + 3, priority: 5, name: 'other' }),
            newRecord('mid', { runAt: CT0 + 3, priority: 1 }),
          );
          const { jobs } = await store.claim(claimAll(CT0 + 10));
          assert.deepEqual(ids(jobs), ['high', 'mid', 'early-low', 'fifo-1', 'fifo-2', 'late-low']);
        });
      });

      // SPEC: equal due time and priority, first scheduled runs first. A replace is a
      // new schedule: the replacement queues behind every equal job scheduled before
      // the replace, whatever the name, and keeps no place of the job it replaced.
      it('a replacement queues as scheduled at its replace, behind equal jobs of any name', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('a', { name: 'x' }), newRecord('b', { name: 'x' }));
          // 'a' runs: this process now knows name 'x' (RedisStore once preferred known names).
          assert.deepEqual(ids((await store.claim(claimAll(CT0, { limit: 1 }))).jobs), ['a']);
          await insert(store, newRecord('e', { name: 'y' }));
          const replaced = await store.insert([
            { record: newRecord('a', { name: 'x' }), onDuplicate: 'replace' },
            { record: newRecord('b', { name: 'x' }), onDuplicate: 'replace' },
          ]);
          assert.deepEqual(
            replaced.map((r) => r.outcome),
            ['replaced', 'replaced'],
          );
          const order: string[] = [];
          for (let round = 0; round < 4; round++) order.push(...ids((await store.claim(claimAll(CT0, { limit: 1 }))).jobs));
          assert.deepEqual(order, ['e', 'a', 'b'], 'e was scheduled before both replacements; a was replaced before b');
        });
      });

      it('respects per-name capacity and the limit, and reports waiting names', async () => {
        await withStore(async (store) => {
          await insert(
            store,
            newRecord('a1', { name: 'a' }),
            newRecord('a2', { name: 'a' }),
            newRecord('a3', { name: 'a' }),
            newRecord('b1', { name: 'b' }),
            newRecord('c1', { name: 'c' }),
          );
          const cap: Record<string, number> = { a: 2, b: 5, c: 0 };
          const r1 = await store.claim(claimAll(CT0, { capacity: (n) => cap[n] ?? 0 }));
          assert.deepEqual(ids(r1.jobs).sort(), ['a1', 'a2', 'b1']);
          assert.deepEqual([...r1.waiting].sort(), ['a', 'c']);
          const r2 = await store.claim(claimAll(CT0, { capacity: () => 10, limit: 1 }));
          assert.equal(r2.jobs.length, 1);
          const r3 = await store.claim(claimAll(CT0, { capacity: () => 10 }));
          assert.equal(r3.jobs.length, 1);
          assert.deepEqual(ids([...r2.jobs, ...r3.jobs]).sort(), ['a3', 'c1']);
          assert.equal(store.counts().running, 5);
          await dueSettles(store, undefined);
        });
      });

      it('claims nothing from an empty store', async () => {
        await withStore(async (store) => {
          assert.deepEqual(await store.claim(claimAll(CT0)), { jobs: [], waiting: [] });
        });
      });
    });

    describe('settle', () => {
      it('applies the outcome only with the claimed token', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('a'));
          const [job] = (await store.claim(claimAll(CT0))).jobs;
          assert.ok(job?.token);
          const done: JobRecord = { ...job, state: 'completed', finishedAt: CT0 + 5, result: { ok: true } };
          assert.equal(await store.settle('a', 'wrong-token', done), false);
          assert.equal((await store.get('a'))?.state, 'running');
          assert.equal(await store.settle('a', job.token, done), true);
          const stored = await store.get('a');
          assert.equal(stored?.state, 'completed');
          assert.deepEqual(stored?.result, { ok: true });
          assert.equal(stored?.token, undefined);
          assert.equal(await store.settle('a', job.token, done), false, 'a second settle is ignored');
          assert.equal(await store.settle('missing', 'x', done), false);
          assert.equal(store.counts().completed, 1);
          assert.equal(store.counts().running, 0);
        });
      });

      it('a retry settles back into the due index', async () => {
        await withStore(async (store) => {
          await insert(store, newRecord('a'));
          const [job] = (await store.claim(claimAll(CT0))).jobs;
          assert.ok(job?.token);
          assert.equal(await store.settle('a', job.token, { ...job, state: 'scheduled', runAt: CT0 + 100, lastError: { name: 'Error', message: 'boom' } }), true);
          await dueSettles(store, CT0 + 100);
          assert.deepEqual((await store.claim(claimAll(CT0 + 99))).jobs, []);
          const [again] = (await store.claim(claimAll(CT0 + 100))).jobs;
          assert.equal(again?.attempt, 2);
          assert.deepEqual(again?.lastError, { name: 'Error', message: 'boom' });
          assert.notEqual(again?.token, job.token);
        });
      });

      it('keeps `lost` and `relative` through a claim, and a settle that writes a record without them drops them', async () => {
        await withStore(async (store) => {
          const [inserted] = await insert(store, newRecord('l', { attempt: 1, lost: 'lease', relative: true }));
          assert.equal(inserted?.lost, 'lease');
          assert.deepEqual(await store.get('l'), inserted);
          const [job] = (await store.claim(claimAll(CT0))).jobs;
          assert.equal(job?.lost, 'lease', 'the claim hands the lost attempt to the scheduler');
          assert.equal(job?.relative, true);
          assert.equal(job?.attempt, 2);
          const { lost: _lost, relative: _relative, ...rest } = job as JobRecord;
          assert.equal(await store.settle('l', job!.token!, { ...rest, state: 'scheduled', runAt: CT0 + 10 }), true);
          const stored = await store.get('l');
          assert.equal(stored?.lost, undefined);
          assert.equal(stored?.relative, undefined);
          assert.equal(stored?.attempt, 2);
        });
      });
    });

    describe('retention', () => {
      it('keeps only the newest keepCompleted finished and keepDead dead jobs', async () => {
        await withStore(
          async (store) => {
            for (let i = 0; i < 4; i++) await insert(store, newRecord(`c${i}`, { runAt: CT0 + i }));
            for (let i = 0; i < 3; i++) await insert(store, newRecord(`d${i}`, { runAt: CT0 + 10 + i, name: 'dies' }));
            const { jobs } = await store.claim(claimAll(CT0 + 100));
            let t = CT0 + 1000;
            for (const job of jobs) {
              const next: JobRecord =
                job.name === 'dies' ? { ...job, state: 'dead', finishedAt: ++t } : { ...job, state: 'completed', finishedAt: ++t };
              assert.equal(await store.settle(job.id, job.token as string, next), true);
            }
            assert.deepEqual(ids(await store.list({ states: ['completed'] })), ['c2', 'c3']);
            assert.deepEqual(ids(await store.list({ states: ['dead'] })), ['d2']);
            assert.equal(await store.get('c0'), undefined);
            const counts = store.counts();
            assert.equal(counts.completed, 2);
            assert.equal(counts.dead, 1);
            // Cancelled jobs count as finished.
            await insert(store, newRecord('x', { runAt: CT0 + 5000 }));
            await store.cancel('x', t + 1);
            assert.deepEqual(ids(await store.list({ states: ['completed', 'cancelled'] })), ['c3', 'x']);
          },
          { keepCompleted: 2, keepDead: 1 },
        );
      });

      it('drops the oldest finished record still finished: one that left (revived, replaced) is never dropped for its old entry', async () => {
        await withStore(
          async (store) => {
            let t = CT0 + 1000;
            for (const id of ['x1', 'x2']) {
              await insert(store, newRecord(id, { runAt: CT0 + 5000 }));
              await store.cancel(id, ++t);
            }
            // x1 leaves the finished records and comes back later: its first entry is stale.
            await store.revive('x1', CT0 + 6000);
            await store.cancel('x1', ++t);
            await insert(store, newRecord('x3', { runAt: CT0 + 5000 }));
            await store.cancel('x3', ++t);
            assert.deepEqual(ids(await store.list({ states: ['cancelled'] })).sort(), ['x1', 'x3']);
            // x3 is replaced by a new scheduled job (it leaves too), and x2 comes back as a new job.
            await store.insert([{ record: newRecord('x3', { runAt: CT0 + 7000 }), onDuplicate: 'replace' }]);
            await insert(store, newRecord('x2', { runAt: CT0 + 5000 }));
            await store.cancel('x2', ++t);
            await insert(store, newRecord('x4', { runAt: CT0 + 5000 }));
            await store.cancel('x4', ++t);
            assert.deepEqual(ids(await store.list({ states: ['cancelled'] })).sort(), ['x2', 'x4']);
            assert.equal((await store.get('x3'))?.state, 'scheduled');
            assert.equal(await store.get('x1'), undefined);
            const counts = store.counts();
            assert.equal(counts.cancelled, 2);
            assert.equal(counts.scheduled, 1);
          },
          { keepCompleted: 2, keepDead: 1 },
        );
      });
    });

    describe('nextDueAt and counts', () => {
      it('tracks the earliest scheduled runAt and the counts per state', async () => {
        await withStore(async (store) => {
          assert.equal(store.nextDueAt(), undefined);
          await insert(store, newRecord('a', { runAt: CT0 + 30 }), newRecord('b', { runAt: CT0 + 10 }), newRecord('c', { runAt: CT0 + 20 }));
          assert.equal(store.nextDueAt(), CT0 + 10);
          let counts = store.counts();
          assert.equal(counts.scheduled, 3);
          assert.equal(counts.indexed, 3);
          const { jobs } = await store.claim(claimAll(CT0 + 10));
          assert.deepEqual(ids(jobs), ['b']);
          await dueSettles(store, CT0 + 20);
          await store.cancel('c', CT0);
          await dueSettles(store, CT0 + 30);
          counts = store.counts();
          assert.deepEqual(
            { scheduled: counts.scheduled, running: counts.running, cancelled: counts.cancelled, completed: counts.completed, dead: counts.dead, indexed: counts.indexed },
            { scheduled: 1, running: 1, cancelled: 1, completed: 0, dead: 0, indexed: 1 },
          );
        });
      });
    });

    describe('close and reopen', () => {
      it('keeps every job; running ones come back scheduled with their attempt, marked lost by a crash', async () => {
        const fixture = await makeStore();
        try {
          const store = fixture.store;
          await store.open(storeContext());
          await insert(
            store,
            newRecord('run', { runAt: CT0, attempt: 1 }),
            newRecord('wait', { runAt: CT0 + 60_000, priority: 3, retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 10 } } }),
            newRecord('gone', { runAt: CT0 + 1 }),
            newRecord('done', { runAt: CT0 + 2, payload: { nested: [1, 'two', null, { three: true }] } }),
          );
          await store.cancel('gone', CT0 + 3);
          const claimed = await store.claim(claimAll(CT0 + 2, { limit: 2 }));
          assert.deepEqual(ids(claimed.jobs), ['run', 'done']);
          const done = claimed.jobs[1] as JobRecord;
          await store.settle('done', done.token as string, { ...done, state: 'completed', finishedAt: CT0 + 4, result: 'ok' });
          const before = await store.list({});
          await store.close();

          const again = fixture.reopen ? await fixture.reopen() : store;
          await again.open(storeContext());
          const after = await again.list({});
          const run = before.find((j) => j.id === 'run') as JobRecord;
          assert.equal(run.state, 'running');
          const { token: _token, ...runWithoutToken } = run;
          // A local store found it running at open (a crash); a shared one took it back when its lease lapsed.
          const lost = after.find((j) => j.id === 'run')?.lost;
          assert.ok(lost === 'crash' || lost === 'lease', `expected the recovered record to be marked lost, got ${String(lost)}`);
          const expected = before.map((j) => (j.id === 'run' ? { ...runWithoutToken, state: 'scheduled' as const, lost } : j));
          assert.deepEqual(after, expected);
          assert.equal((await again.get('run'))?.attempt, 2);
          assert.equal(again.nextDueAt(), CT0);
          const counts = again.counts();
          assert.equal(counts.scheduled, 2);
          assert.equal(counts.running, 0);
          const [rerun] = (await again.claim(claimAll(CT0))).jobs;
          assert.equal(rerun?.id, 'run');
          assert.equal(rerun?.attempt, 3);
          // New inserts after reopen order after the old ones.
          const [late] = await insert(again, newRecord('new', { runAt: CT0 + 60_000, priority: 3 }));
          assert.ok((late as JobRecord).seq > Math.max(...before.map((j) => j.seq)));
          await again.close();
        } finally {
          await fixture.cleanup();
        }
      });
    });

    jobControlConformance(withStore, makeStore);
  });
}
