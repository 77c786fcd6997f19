/**
 * Finished jobs a local store must drop, many at once: a lowered
 * `keepCompleted` or `removeOnComplete: { count }`, or removal times
 * (`removeOnComplete: { age }`) that all passed during an idle spell or a
 * downtime. Found 5 December 2026: the next finish dropped all of them in
 * its one synchronous step, and the removal times were checked against the
 * list being built (`out.includes`), which made that step quadratic: one
 * finish after 8e4 expired jobs blocked the event loop 2.1 s (2e4: 0.23 s;
 * .tmp/removal-backlog.ts, untracked). Now a finish drops at most 1,000 past
 * a limit or a removal time (REMOVE_MAX in src/store/removal.ts, as
 * RedisStore and PostgresStore do), oldest first, and the finishes after it
 * work the rest off.
 *
 * No timing: the tests read how many finished jobs are left after each
 * finish. Before the fix the first finish left exactly the new limit.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { JsonFileStore } from '../src/store/json-file.js';
import type { LocalStore } from '../src/store/local.js';
import { MemoryStore } from '../src/store/memory.js';
import { REMOVE_MAX } from '../src/store/removal.js';
import type { JobRecord, NewJobRecord } from '../src/store/store.js';
import { claimAll } from './store-conformance.js';
import { CT0, newRecord, removeTempDirs, storeContext, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const HELD = 2500;
const STORES = ['MemoryStore', 'JsonFileStore'] as const;

/** A store of `kind` holding HELD completed jobs `done-0` … (oldest first), each made by `held(k)`; reopened with `keepCompleted`. */
async function holding(kind: (typeof STORES)[number], held: (k: number) => Partial<NewJobRecord>, keepCompleted: number): Promise<LocalStore> {
  const dir = await tempDir('godelayq-retention-', true);
  const make = (): LocalStore => (kind === 'MemoryStore' ? (memory ??= new MemoryStore()) : new JsonFileStore(dir, { fsync: false }));
  let memory: MemoryStore | undefined;
  let store = make();
  await store.open(storeContext({ keepCompleted: 10_000_000 }));
  for (let i = 0; i < HELD; i += 500) {
    const requests = [];
    for (let k = i; k < i + 500; k++) requests.push({ record: newRecord(`done-${k}`, { state: 'completed', finishedAt: CT0 - HELD + k, ...held(k) }), onDuplicate: 'reject' as const });
    await store.insert(requests);
  }
  assert.equal(store.counts().completed, HELD);
  await store.close();
  store = make();
  await store.open(storeContext({ keepCompleted }));
  return store;
}

/** Runs jobs `new-from` … `new-(from+n-1)` to completion one at a time (finished as `finished(i)` says); the completed count after each. */
async function finishOneByOne(store: LocalStore, n: number, finished: (i: number) => Partial<JobRecord>, from = 0): Promise<number[]> {
  const left: number[] = [];
  for (let i = from; i < from + n; i++) {
    await store.insert([{ record: newRecord(`new-${i}`, { runAt: CT0 }), onDuplicate: 'reject' }]);
    const { jobs } = await store.claim(claimAll(CT0 + i, { limit: 1 }));
    const job = jobs[0] as JobRecord;
    assert.equal(job.id, `new-${i}`);
    assert.equal(await store.settle(job.id, job.token as string, { ...job, state: 'completed', finishedAt: CT0 + 10_000 + i, ...finished(i) }), true);
    left.push(store.counts().completed);
  }
  return left;
}

const ids = async (store: LocalStore): Promise<Set<string>> => new Set((await store.list({ states: ['completed'] })).map((j) => j.id));

/** Finishes `new-0`, checks that the first REMOVE_MAX held jobs went (the oldest, or the first due), then `new-1` … `new-3`; the completed count after each. */
async function workedOff(store: LocalStore, finished: () => Partial<JobRecord>): Promise<number[]> {
  const left = await finishOneByOne(store, 1, finished);
  const kept = await ids(store);
  assert.equal(kept.has(`done-${REMOVE_MAX - 1}`), false, 'the oldest (or first due) went first');
  assert.equal(kept.has(`done-${REMOVE_MAX}`), true);
  left.push(...(await finishOneByOne(store, 3, finished, 1)));
  return left;
}

describe('a local store with many finished jobs to drop at once', () => {
  for (const kind of STORES) {
    it(`${kind}: keepCompleted lowered below what it holds: a finish drops at most ${REMOVE_MAX}, oldest first, and the finishes after it work the rest off`, async () => {
      const store = await holding(kind, () => ({}), 10);
      const left = await workedOff(store, () => ({}));
      assert.deepEqual(left, [HELD + 1 - REMOVE_MAX, HELD + 2 - 2 * REMOVE_MAX, 10, 10]);
      // The six newest held, and the four new ones.
      const kept = await ids(store);
      assert.deepEqual([...kept].sort(), [...Array.from({ length: 6 }, (_, k) => `done-${HELD - 6 + k}`), 'new-0', 'new-1', 'new-2', 'new-3'].sort());
      await store.close();
    });

    it(`${kind}: removal times that all passed while nothing finished: a finish drops at most ${REMOVE_MAX}, due first first`, async () => {
      // All finished at once, each to go 5 s later, long before the next finish (an idle spell, or a downtime).
      const store = await holding(kind, () => ({ finishedAt: CT0 - 10_000, removal: { at: CT0 - 5_000 } }), 10_000_000);
      const left = await workedOff(store, () => ({ removal: { at: CT0 + 3_600_000 } }));
      assert.deepEqual(left, [HELD + 1 - REMOVE_MAX, HELD + 2 - 2 * REMOVE_MAX, 3, 4]);
      assert.deepEqual([...(await ids(store))].sort(), ['new-0', 'new-1', 'new-2', 'new-3'], 'every held job gone after three finishes');
      await store.close();
    });

    it(`${kind}: a removeOnComplete count lowered for a name: the same bound, oldest first`, async () => {
      const store = await holding(kind, () => ({ removal: { count: 10_000_000 } }), 10_000_000);
      const left = await workedOff(store, () => ({ removal: { count: 10 } }));
      assert.deepEqual(left, [HELD + 1 - REMOVE_MAX, HELD + 2 - 2 * REMOVE_MAX, 10, 10]);
      await store.close();
    });
  }
});
