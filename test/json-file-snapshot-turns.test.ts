/**
 * A snapshot of a store opened with many jobs gives the event loop back
 * while it writes them. Found 5 December 2026: after a restart, the jobs a
 * JsonFileStore opened wait as bytes (cold jobs), and the first snapshot
 * made the text of every one of them in the one synchronous step that takes
 * its view of the state, blocking the event loop ~120 ms at 2e5 jobs and
 * ~0.6 s at 1e6 (timers, lease renewals and every other caller waited).
 *
 * No timing here: the test counts the cold jobs' texts made (Buffer
 * toString calls, which is how a cold job's text is made) between two
 * turns of the event loop. Before the fix all of them came in one turn.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { countPerTurn } from './helpers.js';
import { CT0, allRecords, newRecord, openStore, removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const N = 40_000;

/** Runs `body` counting Buffer#toString calls per turn of the event loop; returns the most in one turn and the total. */
function decodesPerTurn(body: () => Promise<void>): Promise<{ most: number; total: number }> {
  return countPerTurn(async (count) => {
    const original = Buffer.prototype.toString;
    Buffer.prototype.toString = function (this: Buffer, ...args: Parameters<Buffer['toString']>): string {
      count();
      return original.apply(this, args);
    };
    try {
      await body();
    } finally {
      Buffer.prototype.toString = original;
    }
  });
}

test('the first snapshot after opening many jobs makes their texts over many turns of the event loop, not in one', async () => {
  const dir = await tempDir('godelayq-snap-turns-', true);
  const everyChange = { snapshotEvery: { changes: 10 * N, bytes: 2 ** 40 }, fsync: false } as const;
  let { store } = await openStore(dir, everyChange);
  for (let i = 0; i < N; i += 5000) {
    const requests = [];
    for (let k = i; k < i + 5000; k++) requests.push({ record: newRecord(`job-${k}`, { runAt: CT0 + 3_600_000 + k, payload: { orderId: `A${k}`, amount: k % 977 } }), onDuplicate: 'reject' as const });
    await store.insert(requests);
  }
  await store.snapshot();
  const before = await allRecords(store);
  await store.close();

  // Reopened, the jobs wait as bytes; the next snapshot writes them back.
  ({ store } = await openStore(dir, everyChange));
  const { most, total } = await decodesPerTurn(() => store.snapshot());
  assert.ok(total >= N, `expected every cold job's text to be made (${N}), got ${total} texts`);
  assert.ok(most <= N / 3, `expected the ${N} texts spread over many turns of the event loop, got ${most} in one turn`);
  await store.close();

  // And the snapshot holds every job as it was.
  ({ store } = await openStore(dir, everyChange));
  assert.deepEqual(await allRecords(store), before);
  await store.close();
});

test('a snapshot holds the jobs as they were when it began, though cold jobs are read, cancelled and replaced while it is written', async () => {
  const dir = await tempDir('godelayq-snap-view-', true);
  const options = { snapshotEvery: { changes: 1e9, bytes: 2 ** 40 }, fsync: false } as const;
  let { store } = await openStore(dir, options);
  const n = 20_000;
  for (let i = 0; i < n; i += 5000) {
    const requests = [];
    for (let k = i; k < i + 5000; k++) requests.push({ record: newRecord(`job-${k}`, { runAt: CT0 + 3_600_000 + k }), onDuplicate: 'reject' as const });
    await store.insert(requests);
  }
  await store.snapshot();
  await store.close();

  ({ store } = await openStore(dir, options));
  const snapshot = store.snapshot();
  // While it is written: a read thaws a cold job, a cancel and a replace change others.
  assert.equal((await store.get('job-10'))?.id, 'job-10');
  assert.equal((await store.cancel('job-11', CT0))?.state, 'cancelled');
  await store.insert([{ record: newRecord('job-12', { runAt: CT0 + 5, payload: { v: 2 } }), onDuplicate: 'replace' }]);
  await snapshot;
  const expected = await allRecords(store);
  await store.close();

  ({ store } = await openStore(dir, options));
  const reopened = await allRecords(store);
  assert.deepEqual(reopened, expected);
  assert.equal(reopened.find((r) => r.id === 'job-11')?.state, 'cancelled');
  assert.deepEqual(reopened.find((r) => r.id === 'job-12')?.payload, { v: 2 });
  assert.equal(reopened.length, n);
  await store.close();
});
