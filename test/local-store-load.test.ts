// What a durable LocalStore (src/store/local.ts) holds after `open` loads
// stored records (LocalState.load), and after it is opened again on other
// records (a JsonFileStore closed and reopened): the counts by state, the
// order loaded jobs are claimed in, which finished records retention evicts
// first, group limits, dedupe windows and count-based removal carried by the
// records. The oracle is the stored records the test wrote by hand and what
// it acknowledged, never the store's earlier answers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Change, LocalStore } from '../src/store/local.js';
import { MemoryStore } from '../src/store/memory.js';
import type { InsertRequest, JobRecord, StoreContext } from '../src/store/store.js';
import { CT0, claimAll, newRecord, storeContext } from './store-conformance.js';

/** A durable LocalStore that acknowledges every batch at once and logs what it persisted. */
class LoadedStore extends LocalStore {
  protected readonly durable = true;
  /** Each persisted batch, as `put id state` / `del id` lines. */
  readonly persisted: string[][] = [];
  stored: JobRecord[] | undefined;

  protected persist(changes: Change[]): Promise<void> {
    this.persisted.push(changes.map((c) => (c.op === 'put' ? `put ${c.job.id} ${c.job.state}` : c.op === 'del' ? `del ${c.id}` : `unknown op ${String((c as { op: unknown }).op)}`)));
    return Promise.resolve();
  }

  protected override openStorage(_context: StoreContext): Promise<Iterable<JobRecord> | undefined> {
    return Promise.resolve(this.stored);
  }
}

/** MemoryStore (claims through the due-heap shortcut, LocalState.takeDue) opened on stored records. */
class LoadedMemoryStore extends MemoryStore {
  stored: JobRecord[] = [];
  protected override openStorage(_context: StoreContext): Promise<Iterable<JobRecord> | undefined> {
    return Promise.resolve(this.stored.map((r) => structuredClone(r)));
  }
}

async function openMemory(stored: JobRecord[]): Promise<LoadedMemoryStore> {
  const store = new LoadedMemoryStore();
  store.stored = stored;
  await store.open(storeContext());
  return store;
}

async function open(stored: JobRecord[], context: Partial<StoreContext> = {}, store = new LoadedStore()): Promise<LoadedStore> {
  store.stored = stored.map((r) => structuredClone(r));
  await store.open(storeContext(context));
  return store;
}

/** A stored record: `newRecord(id)` with a seq and whatever `over` says. */
function rec(id: string, seq: number, over: Partial<JobRecord> = {}): JobRecord {
  return { ...newRecord(id), seq, ...over };
}

const done = (id: string, seq: number, finishedAt: number, over: Partial<JobRecord> = {}): JobRecord => rec(id, seq, { state: 'completed', finishedAt, ...over });

async function ids(store: LocalStore): Promise<string[]> {
  return (await store.list({})).map((j) => `${j.id}:${j.state}`).sort();
}

const insert = (id: string, over: Partial<InsertRequest['record']> = {}): InsertRequest[] => [{ record: newRecord(id, over), onDuplicate: 'reject' }];

/** Claims what is due at `now` and settles each claimed job as `state`, one settle each. */
async function runAll(store: LocalStore, now: number, state: 'completed' | 'dead', over: Partial<JobRecord> = {}): Promise<string[]> {
  const { jobs } = await store.claim(claimAll(now));
  for (const job of jobs) assert.equal(await store.settle(job.id, job.token as string, { ...job, state, finishedAt: now, ...over }), true);
  return jobs.map((j) => j.id);
}

describe('open on stored records', () => {
  test('counts every state and the recurring jobs; the next insert follows the highest seq, also a finished one’s', async () => {
    const every = { every: 1000, misfire: 'once' as const, slot: CT0, count: 0, signature: 'e' };
    const store = await open([
      rec('s1', 7, { runAt: CT0 + 20 }),
      rec('s2', 3, { runAt: CT0 + 10, recur: every }),
      rec('s3', 8, { runAt: CT0 + 30, recur: { ...every, signature: 'f' } }),
      done('c', 12, CT0),
      rec('d', 4, { state: 'dead', finishedAt: CT0 }),
      rec('x', 5, { state: 'cancelled', finishedAt: CT0 }),
      // A schedule's last occurrence, finished: it keeps its recur, but is not a recurring job any more.
      done('last', 6, CT0, { recur: every }),
    ]);
    assert.deepEqual(store.counts(), { scheduled: 3, running: 0, completed: 2, dead: 1, cancelled: 1, recurring: 2, indexed: 3 });
    assert.equal(store.nextDueAt(), CT0 + 10);
    const [inserted] = await store.insert(insert('n'));
    assert.equal(inserted?.record.seq, 13);
  });

  test('a single stored job of seq 1: the next insert gets seq 2', async () => {
    const store = await open([done('only', 1, CT0)]);
    const [inserted] = await store.insert(insert('n'));
    assert.equal(inserted?.record.seq, 2);
  });

  test('a loaded job cancelled before it was ever claimed is not claimed', async () => {
    const store = await open([rec('s', 1), rec('t', 2, { runAt: CT0 + 5 })]);
    assert.equal((await store.cancel('s', CT0))?.state, 'cancelled');
    assert.equal(store.nextDueAt(), CT0 + 5);
    assert.deepEqual((await store.claim(claimAll(CT0 + 5))).jobs.map((j) => j.id), ['t']);
  });

  test('jobs due at one instant are claimed in seq order, whatever order storage lists them in', async () => {
    const store = await open([rec('e', 6), rec('b', 3), rec('late', 2, { runAt: CT0 + 1 }), rec('f', 9), rec('a', 1), rec('c', 4)]);
    const { jobs } = await store.claim(claimAll(CT0 + 1));
    assert.deepEqual(
      jobs.map((j) => j.id),
      ['a', 'b', 'c', 'e', 'f', 'late'],
    );
  });

  test('MemoryStore’s direct claim path: loaded jobs due at one instant leave in seq order, one at a time, whatever order storage lists them in', async () => {
    const store = await openMemory([rec('e', 6), rec('b', 3), rec('f', 9), rec('a', 1), rec('c', 4)]);
    const order: string[] = [];
    for (let i = 0; i < 5; i++) order.push(...(await store.claim(claimAll(CT0, { limit: 1 }))).jobs.map((j) => j.id));
    assert.deepEqual(order, ['a', 'b', 'c', 'e', 'f']);
  });

  test('MemoryStore’s direct claim path: a loaded job of higher priority, or of another name held by its capacity, is seen', async () => {
    // The shortcut leaves due jobs in the heap only while every scheduled job is of one name and priority: loaded jobs count.
    const prio = await openMemory([rec('a', 1), rec('b', 2), rec('urgent', 3, { priority: 5 })]);
    assert.deepEqual((await prio.claim(claimAll(CT0, { limit: 1 }))).jobs.map((j) => j.id), ['urgent']);
    const other = await openMemory([rec('a', 1), rec('m', 2, { name: 'mail' }), rec('b', 3)]);
    const r = await other.claim(claimAll(CT0, { limit: 1, capacity: (name) => (name === 'mail' ? 0 : 10) }));
    assert.deepEqual({ jobs: r.jobs.map((j) => j.id), waiting: r.waiting }, { jobs: ['a'], waiting: ['mail'] });
  });

  test('retention: the next finish evicts the loaded finished records oldest finishedAt first, ties by seq; dead ones by keepDead', async () => {
    const store = await open(
      [
        done('A', 1, CT0 + 30),
        // Finished records of a group are kept and evicted like any other.
        done('C', 3, CT0 + 10, { group: 'customer:1' }),
        done('B', 2, CT0 + 10),
        rec('D', 4, { state: 'cancelled', finishedAt: CT0 + 20 }),
        rec('E', 5, { state: 'dead', finishedAt: CT0 + 50 }),
        rec('F', 6, { state: 'dead', finishedAt: CT0 + 40, group: 'customer:2' }),
        rec('G', 7, { state: 'dead' }),
        rec('j1', 8),
        rec('j2', 9),
      ],
      { keepCompleted: 3, keepDead: 2 },
    );
    // Loaded as they were: retention is applied by the next finish, not by open.
    assert.deepEqual(store.counts(), { scheduled: 2, running: 0, completed: 3, dead: 3, cancelled: 1, recurring: 0, indexed: 2 });
    await store.cancel('j1', CT0 + 60);
    assert.deepEqual(store.persisted.at(-1), ['put j1 cancelled', 'del B', 'del C']);
    await store.cancel('j2', CT0 + 61);
    assert.deepEqual(store.persisted.at(-1), ['put j2 cancelled', 'del D']);
    assert.deepEqual(await ids(store), ['A:completed', 'E:dead', 'F:dead', 'G:dead', 'j1:cancelled', 'j2:cancelled']);
    // A dead record without a finish time counts as the oldest.
    await store.insert(insert('k'));
    await runAll(store, CT0, 'dead', { finishedAt: CT0 + 70 });
    assert.deepEqual(store.persisted.at(-1), ['put k dead', 'del G', 'del F']);
  });

  test('a grouped job left running by a crash holds its group until it ends, not twice', async () => {
    const store = await open([rec('r', 1, { group: 'g', state: 'running', token: 'old', attempt: 1 }), rec('s', 2, { group: 'g' }), rec('t', 3, { group: 'g' })]);
    assert.deepEqual(store.counts(), { scheduled: 3, running: 0, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 3 });
    // Group concurrency 1: one at a time, in seq order, the recovered one first.
    assert.deepEqual(await runAll(store, CT0, 'completed'), ['r']);
    const { jobs } = await store.claim(claimAll(CT0));
    assert.deepEqual(
      jobs.map((j) => j.id),
      ['s'],
    );
    assert.deepEqual((await store.claim(claimAll(CT0))).jobs, [], 's still runs: t waits');
  });

  test('of two stored windows of one key, the newer job’s (higher seq) holds the key after load, even when it ends first', async () => {
    const window = { key: 'k', ttlMs: 10_000, mode: 'throttle' as const };
    // w1 opened first with a long window; its job started, and a debounce call opened w2's shorter one.
    const store = await open([rec('w2', 2, { dedupe: { key: 'k', until: CT0 + 5000 } }), rec('w1', 1, { dedupe: { key: 'k', until: CT0 + 20_000 } })]);
    const [r] = await store.insert([{ record: newRecord('n', { createdAt: CT0 + 1000 }), onDuplicate: 'reject', dedupe: window }]);
    assert.deepEqual([r?.outcome, r?.record.id], ['throttled', 'w2']);
    const [after] = await store.insert([{ record: newRecord('m', { createdAt: CT0 + 6000 }), onDuplicate: 'reject', dedupe: window }]);
    assert.equal(after?.outcome, 'inserted', 'w2’s window has ended; w1’s was replaced by it');
  });

  test('a stored job’s dedupe window is open after load; of two stored windows of one key, the newer one', async () => {
    const window = { key: 'k', ttlMs: 10_000, mode: 'throttle' as const };
    const store = await open([rec('w2', 2, { dedupe: { key: 'k', until: CT0 + 20_000 } }), rec('w1', 1, { dedupe: { key: 'k', until: CT0 + 5000 } })]);
    const [r] = await store.insert([{ record: newRecord('n', { createdAt: CT0 + 10_000 }), onDuplicate: 'reject', dedupe: window }]);
    assert.equal(r?.outcome, 'throttled');
    assert.equal(r?.record.id, 'w2');
    const [after] = await store.insert([{ record: newRecord('m', { createdAt: CT0 + 20_000 }), onDuplicate: 'reject', dedupe: window }]);
    assert.equal(after?.outcome, 'inserted', 'the window ends at its until');
  });

  test('count-based removal counts the loaded finished records: completed ones of the name, dead ones apart', async () => {
    const store = await open([
      done('old1', 1, CT0 + 1, { removal: { count: 2 } }),
      done('old2', 2, CT0 + 2, { removal: { count: 2 } }),
      rec('dead1', 3, { state: 'dead', finishedAt: CT0 + 3, removal: { count: 1 } }),
      rec('n1', 4),
      rec('n2', 5, { runAt: CT0 + 1 }),
    ]);
    await runAll(store, CT0, 'completed', { removal: { count: 2 } });
    assert.deepEqual(store.persisted.at(-1), ['put n1 completed', 'del old1']);
    await runAll(store, CT0 + 1, 'dead', { removal: { count: 1 } });
    assert.deepEqual(store.persisted.at(-1), ['put n2 dead', 'del dead1']);
    assert.deepEqual(await ids(store), ['n1:completed', 'n2:dead', 'old2:completed']);
  });
});

describe('opened again on other records (closed and reopened)', () => {
  test('holds exactly the new records: nothing of the earlier state is claimed, counted, evicted or deduplicated', async () => {
    const store = await open([], { keepCompleted: 1 });
    const window = { key: 'k', ttlMs: 60_000, mode: 'throttle' as const };
    await store.insert([{ record: newRecord('w'), onDuplicate: 'reject', dedupe: window }]);
    await store.insert([...insert('p1'), ...insert('p2', { group: 'g' }), ...insert('later', { runAt: CT0 + 5000 })]);
    await store.insert(insert('f'));
    await store.cancel('f', CT0);
    await store.insert(insert('running'));
    // Promoted into their ready queues, but not taken: no capacity.
    assert.deepEqual((await store.claim(claimAll(CT0, { capacity: () => 0 }))).jobs, []);
    await store.close();

    await open([rec('a', 2, { runAt: CT0 + 10 }), done('k', 1, CT0)], { keepCompleted: 1 }, store);
    assert.deepEqual(await ids(store), ['a:scheduled', 'k:completed']);
    assert.deepEqual(store.counts(), { scheduled: 1, running: 0, completed: 1, dead: 0, cancelled: 0, recurring: 0, indexed: 1 });
    assert.equal(store.nextDueAt(), CT0 + 10);
    assert.deepEqual((await store.claim(claimAll(CT0 + 5000, { capacity: () => 0 }))).jobs, []);
    const claimed = (await store.claim(claimAll(CT0 + 5000))).jobs.map((j) => j.id);
    assert.deepEqual(claimed, ['a'], 'no job of the earlier state is claimed');
    // The earlier dedupe window is gone with its job, and seqs follow the new records.
    const [again] = await store.insert([{ record: newRecord('w2'), onDuplicate: 'reject', dedupe: window }]);
    assert.equal(again?.outcome, 'inserted');
    assert.equal(again?.record.seq, 3);
    // Retention evicts the loaded finished record, not one of before.
    store.persisted.length = 0;
    await store.cancel('w2', CT0 + 1);
    assert.deepEqual(store.persisted, [['put w2 cancelled', 'del k']]);
    assert.deepEqual(await ids(store), ['a:running', 'w2:cancelled']);
  });

  test('dead records of before are not evicted for the new ones', async () => {
    const store = await open([], { keepDead: 1 });
    await store.insert(insert('before'));
    await runAll(store, CT0, 'dead');
    await store.close();
    await open([rec('d', 1, { state: 'dead', finishedAt: CT0 }), rec('n', 2)], { keepDead: 1 }, store);
    await runAll(store, CT0, 'dead');
    assert.deepEqual(store.persisted.at(-1), ['put n dead', 'del d']);
    assert.deepEqual(await ids(store), ['n:dead']);
    assert.deepEqual(store.counts(), { scheduled: 0, running: 0, completed: 0, dead: 1, cancelled: 0, recurring: 0, indexed: 0 });
  });

  test('a group of the earlier state does not hold a job of the new one', async () => {
    const store = await open([]);
    await store.insert(insert('busy', { group: 'g' }));
    assert.deepEqual(
      (await store.claim(claimAll(CT0))).jobs.map((j) => j.id),
      ['busy'],
    );
    await store.close();
    await open([rec('next', 1, { group: 'g' })], {}, store);
    assert.deepEqual(
      (await store.claim(claimAll(CT0))).jobs.map((j) => j.id),
      ['next'],
    );
  });

  test('count-based removal starts over: a record of before is neither counted nor removed', async () => {
    const store = await open([]);
    await store.insert(insert('before'));
    await runAll(store, CT0, 'completed', { removal: { count: 1 } });
    await store.close();
    await open([rec('n1', 1), rec('n2', 2, { runAt: CT0 + 1 })], {}, store);
    await runAll(store, CT0, 'completed', { removal: { count: 1 } });
    assert.deepEqual(store.persisted.at(-1), ['put n1 completed']);
    await runAll(store, CT0 + 1, 'completed', { removal: { count: 1 } });
    assert.deepEqual(store.persisted.at(-1), ['put n2 completed', 'del n1']);
  });
});
