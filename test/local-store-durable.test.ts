// LocalStore's durable path (src/store/local.ts), driven directly through a
// LocalStore whose persist the test answers batch by batch: a change is
// visible at once, acknowledged only when persisted, and a batch that fails
// is undone together with every later batch still in flight (newest
// first), so a rejected call changed nothing. The oracle is what the test
// acknowledged and the changes handed to persist, never the store's own
// earlier answers. Also: running jobs recovered on open, the store-wide
// pause, and a clock step that moves nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DuplicateJobError, JobNotFoundError, StorePersistError, ValidationError } from '../src/errors.js';
import { type Change, LocalStore } from '../src/store/local.js';
import type { InsertRequest, JobRecord, StoreContext } from '../src/store/store.js';
import { CT0, claimAll, newRecord, storeContext } from './store-conformance.js';

interface Persisting {
  changes: Change[];
  resolve(): void;
  reject(error: unknown): void;
}

/** A durable LocalStore whose persist waits for the test to answer each batch. */
class HeldStore extends LocalStore {
  protected readonly durable = true;
  readonly batches: Persisting[] = [];
  /** Records openStorage hands over. */
  stored: JobRecord[] | undefined;
  pauses: boolean[] = [];

  protected persist(changes: Change[]): Promise<void> {
    return new Promise((resolve, reject) => this.batches.push({ changes: structuredClone(changes), resolve, reject }));
  }

  protected override openStorage(_context: StoreContext): Promise<Iterable<JobRecord> | undefined> {
    return Promise.resolve(this.stored);
  }

  protected override persistPause(paused: boolean): Promise<void> {
    this.pauses.push(paused);
    return Promise.resolve();
  }

  /** Answers the oldest unanswered batch. */
  answer(error?: unknown): Change[] {
    const batch = this.batches.shift();
    assert.ok(batch, 'a batch is waiting');
    if (error === undefined) batch.resolve();
    else batch.reject(error);
    return batch.changes;
  }
}

/** Settles `p` into its value or its error. */
function settled<T>(p: Promise<T>): Promise<T | Error> {
  return p.then(
    (v) => v,
    (e: unknown) => e as Error,
  );
}

async function open(context: Partial<StoreContext> = {}, stored?: JobRecord[]): Promise<HeldStore> {
  const store = new HeldStore();
  store.stored = stored;
  await store.open(storeContext(context));
  return store;
}

const insert = (id: string, over: Partial<InsertRequest['record']> = {}): InsertRequest[] => [{ record: newRecord(id, over), onDuplicate: 'reject' }];

/** Persisted changes as `put id state` / `del id`. */
const described = (changes: Change[]): string[] => changes.map((c) => (c.op === 'put' ? `put ${c.job.id} ${c.job.state}` : c.op === 'del' ? `del ${c.id}` : `unknown op ${String((c as { op: unknown }).op)}`));

/** Lets pending promise callbacks run. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function ids(store: HeldStore): Promise<string[]> {
  return (await store.list({})).map((j) => `${j.id}:${j.state}`);
}

/** Inserts job `a` and claims it with token `tok` (both persisted); the running record. */
async function claimedA(store: HeldStore): Promise<JobRecord> {
  const ins = store.insert(insert('a'));
  store.answer();
  await ins;
  const claim = store.claim(claimAll(CT0, { token: () => 'tok' }));
  store.answer();
  const [running] = (await claim).jobs;
  assert.ok(running);
  return running;
}

describe('durable commit: applied at once, acknowledged when persisted', () => {
  test('an insert is visible before it is persisted, persisted as one put with the next seq, and resolves after', async () => {
    const store = await open();
    let done = false;
    const result = store.insert(insert('a')).then((r) => ((done = true), r));
    assert.equal((await store.get('a'))?.id, 'a', 'visible before the disk answers');
    await tick();
    assert.equal(done, false);
    const changes = store.answer();
    assert.deepEqual(changes.map((c) => (c.op === 'put' ? `put ${c.job.id} seq ${c.job.seq}` : `del ${c.id}`)), ['put a seq 1']);
    const [r] = await result;
    assert.equal(r?.outcome, 'inserted');
    assert.equal(r?.record.seq, 1);
  });

  test('an undone cancel wakes the scheduler: the job it brings back may be due before the timer it armed without it (simulation seed 245030916)', async () => {
    let wakes = 0;
    const store = await open({ wake: () => void wakes++ });
    const ins = store.insert(insert('a'));
    store.answer();
    await ins;
    const cancel = settled(store.cancel('a', CT0));
    assert.equal(store.nextDueAt(), undefined, 'cancelled in memory at once');
    const before = wakes;
    store.answer(new Error('EIO'));
    assert.ok((await cancel) instanceof StorePersistError);
    assert.deepEqual(await ids(store), ['a:scheduled'], 'the cancel was undone');
    assert.notEqual(store.nextDueAt(), undefined, 'a is due again');
    assert.ok(wakes > before, 'the store woke the scheduler to re-arm for it');
  });

  test('a failed insert changed nothing: the job is gone, counts are back, and the next insert gets its seq', async () => {
    const store = await open();
    const failed = settled(store.insert(insert('a')));
    const error = new StorePersistError('disk full');
    store.answer(error);
    assert.equal(await failed, error, 'a StorePersistError is passed on as it is');
    assert.equal(await store.get('a'), undefined);
    assert.deepEqual(store.counts(), { scheduled: 0, running: 0, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 0 });
    assert.equal(store.nextDueAt(), undefined);
    const again = store.insert(insert('b'));
    store.answer();
    assert.equal((await again)[0]?.record.seq, 1);
  });

  test('a seq handed out by a later insert is not taken back when an earlier one fails', async () => {
    const store = await open();
    const first = settled(store.insert(insert('a')));
    const second = store.insert(insert('b'));
    // b persisted first (another persister might), then a fails: b stays, and its seq stays taken.
    const [one, two] = [store.batches[0], store.batches[1]];
    two?.resolve();
    await second;
    one?.reject(new StorePersistError('x'));
    store.batches.length = 0;
    assert.ok((await first) instanceof StorePersistError);
    const third = store.insert(insert('c'));
    store.answer();
    assert.equal((await third)[0]?.record.seq, 3);
  });

  test('errors that are not the store’s own are wrapped, naming how many changes were lost, with the cause; a ValidationError is passed on', async () => {
    const store = await open();
    const failed = settled(store.insert([...insert('a'), ...insert('b')]));
    const cause = new Error('EIO');
    store.answer(cause);
    const error = await failed;
    assert.ok(error instanceof StorePersistError, String(error));
    assert.equal(error.message, 'Could not persist 2 change(s): EIO');
    assert.equal(error.cause, cause);
    const invalid = new ValidationError('Expected `payload` to be at most 1 byte, got 2');
    const refused = settled(store.insert(insert('c')));
    store.answer(invalid);
    assert.equal(await refused, invalid);
    assert.deepEqual(await ids(store), []);
  });

  test('a failed batch undoes every later batch in flight, newest first; an earlier acknowledged batch stands', async () => {
    const store = await open();
    const a = store.insert(insert('a'));
    store.answer();
    await a;
    const b = settled(store.insert(insert('b')));
    const cancelA = settled(store.cancel('a', CT0 + 1));
    const rescheduleB = settled(store.reschedule('b', CT0 + 5));
    assert.deepEqual(await ids(store), ['a:cancelled', 'b:scheduled']);
    store.answer(new StorePersistError('b failed'));
    await tick();
    // The batches behind it are undone with it, before their own answers come.
    assert.deepEqual(await ids(store), ['a:scheduled']);
    assert.equal((await store.get('a'))?.finishedAt, undefined);
    store.answer(new StorePersistError('behind'));
    store.answer(new StorePersistError('behind'));
    for (const r of await Promise.all([b, cancelA, rescheduleB])) assert.ok(r instanceof StorePersistError, String(r));
    assert.deepEqual(await ids(store), ['a:scheduled']);
    assert.deepEqual(store.counts(), { scheduled: 1, running: 0, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 1 });
    // A batch applied after the revert stands on its own.
    const c = store.insert(insert('c'));
    store.answer();
    await c;
    assert.deepEqual(await ids(store), ['a:scheduled', 'c:scheduled']);
  });

  test('a later batch that fails after an earlier one was undone (already reverted) undoes nothing more', async () => {
    const store = await open();
    const a = settled(store.insert(insert('a')));
    const b = settled(store.insert(insert('b')));
    // The later batch's answer comes first: it fails and takes only itself back.
    const [first, second] = store.batches.splice(0);
    second?.reject(new StorePersistError('b'));
    assert.ok((await b) instanceof StorePersistError);
    assert.deepEqual(await ids(store), ['a:scheduled']);
    // A batch applied now, then the earlier one fails: it and the new one are undone.
    const c = settled(store.insert(insert('c')));
    first?.reject(new StorePersistError('a'));
    assert.ok((await a) instanceof StorePersistError);
    assert.deepEqual(await ids(store), []);
    store.answer(new StorePersistError('c'));
    assert.ok((await c) instanceof StorePersistError);
    assert.deepEqual(await ids(store), []);
  });

  test('a batch already undone by an earlier failure is not undone twice when a still earlier batch fails too', async () => {
    const store = await open();
    const a = settled(store.insert(insert('a')));
    const b = settled(store.insert(insert('b')));
    const cancelB = settled(store.cancel('b', CT0 + 1));
    const [pa, pb, pc] = store.batches.splice(0);
    // b fails: it and the cancel behind it are undone (b is gone again).
    pb?.reject(new StorePersistError('b'));
    assert.ok((await b) instanceof StorePersistError);
    assert.deepEqual(await ids(store), ['a:scheduled']);
    // Then a fails: only a is left to undo; undoing the cancel again would bring b back.
    pa?.reject(new StorePersistError('a'));
    assert.ok((await a) instanceof StorePersistError);
    pc?.reject(new StorePersistError('c'));
    assert.ok((await cancelB) instanceof StorePersistError);
    assert.deepEqual(await ids(store), []);
    assert.equal(await store.get('b'), undefined);
  });

  test('a batch applied after a revert stands, even when a batch the revert undid reports its failure later', async () => {
    const store = await open();
    const a = settled(store.insert(insert('a')));
    const b = settled(store.insert(insert('b')));
    const [pa, pb] = store.batches.splice(0);
    pa?.reject(new StorePersistError('a'));
    assert.ok((await a) instanceof StorePersistError);
    assert.deepEqual(await ids(store), []);
    const c = store.insert(insert('c'));
    pb?.reject(new StorePersistError('b'));
    assert.ok((await b) instanceof StorePersistError);
    store.answer();
    await c;
    assert.deepEqual(await ids(store), ['c:scheduled'], 'c was acknowledged');
  });

  test('a failed claim puts its jobs back, due at once; the claim persisted each as a running put that keeps its payload', async () => {
    const store = await open();
    const ins = store.insert([...insert('a'), ...insert('b', { priority: 5 })]);
    store.answer();
    await ins;
    const claim = settled(store.claim(claimAll(CT0, { token: () => 'tok' })));
    assert.deepEqual(await ids(store), ['a:running', 'b:running']);
    const changes = store.answer(new StorePersistError('claim failed'));
    assert.deepEqual(
      changes.map((c) => (c.op === 'put' ? [c.job.id, c.job.state, c.job.token, c.job.attempt, c.keep] : [])),
      [
        ['b', 'running', 'tok', 1, true],
        ['a', 'running', 'tok', 1, true],
      ],
    );
    assert.ok((await claim) instanceof StorePersistError);
    assert.deepEqual(await ids(store), ['a:scheduled', 'b:scheduled']);
    assert.equal(store.nextDueAt(), CT0);
    const again = store.claim(claimAll(CT0, { token: () => 'tok2' }));
    store.answer();
    const result = await again;
    assert.deepEqual(result.jobs.map((j) => [j.id, j.attempt]), [
      ['b', 1],
      ['a', 1],
    ]);
    assert.deepEqual(result.waiting, []);
    assert.equal('retryAt' in result, false);
  });

  test('a claim with nothing due persists nothing', async () => {
    const store = await open();
    const ins = store.insert(insert('later', { runAt: CT0 + 1000 }));
    store.answer();
    await ins;
    const result = await store.claim(claimAll(CT0));
    assert.deepEqual(result.jobs, []);
    assert.equal(store.batches.length, 0);
  });

  test('settle: only the running holder of the token; the token is dropped from what is persisted; a failed settle leaves it running', async () => {
    const store = await open();
    const running = await claimedA(store);
    const done: JobRecord = { ...running, state: 'completed', finishedAt: CT0 + 1, result: 7 };
    assert.equal(await store.settle('a', 'other', done), false);
    assert.equal(await store.settle('missing', 'tok', done), false);
    assert.equal(store.batches.length, 0);
    const failed = settled(store.settle('a', 'tok', done));
    const changes = store.answer(new StorePersistError('settle failed'));
    assert.ok((await failed) instanceof StorePersistError);
    assert.equal((changes[0] as { job: JobRecord }).job.token, undefined);
    assert.equal((changes[0] as { keep?: true }).keep, true);
    assert.equal((await store.get('a'))?.state, 'running');
    assert.equal((await store.get('a'))?.token, 'tok');
    const ok = store.settle('a', 'tok', done);
    store.answer();
    assert.equal(await ok, true);
    const after = await store.get('a');
    assert.equal(after?.state, 'completed');
    assert.equal(after?.token, undefined);
    assert.equal(after?.result, 7);
    // Settled already: the token no longer holds it.
    assert.equal(await store.settle('a', 'tok', done), false);
  });

  test('a settle that finds its job cancelled by a batch still in flight waits for it: the cancel fails, the settle lands (seed 202002832)', async () => {
    const store = await open();
    const running = await claimedA(store);
    const cancel = settled(store.cancel('a', CT0 + 1));
    assert.equal((await store.get('a'))?.state, 'cancelled', 'the cancel is applied at once');
    let answered: boolean | Error | undefined;
    const settle = settled(store.settle('a', 'tok', { ...running, state: 'completed', finishedAt: CT0 + 2, result: 1 })).then((r) => (answered = r));
    await tick();
    assert.equal(answered, undefined, 'no answer while the cancel may still be undone');
    assert.equal(store.batches.length, 1, 'only the cancel was handed to persist');
    store.answer(new StorePersistError('disk full'));
    assert.ok((await cancel) instanceof StorePersistError);
    await tick();
    assert.equal(store.batches.length, 1, 'the settle is persisted once the cancel is undone');
    assert.deepEqual(described(store.answer()), ['put a completed']);
    assert.equal(await settle, true);
    assert.equal((await store.get('a'))?.state, 'completed');
    assert.equal((await store.get('a'))?.result, 1);
  });

  test('a settle that finds its job cancelled by a batch still in flight is refused once the cancel is durable; a replace in flight likewise', async () => {
    const store = await open();
    const running = await claimedA(store);
    const cancel = store.cancel('a', CT0 + 1);
    const settle = store.settle('a', 'tok', { ...running, state: 'completed', finishedAt: CT0 + 2 });
    await tick();
    store.answer();
    assert.equal((await cancel)?.state, 'cancelled');
    assert.equal(await settle, false);
    assert.equal(store.batches.length, 0, 'nothing persisted for the refused settle');
    // A running job replaced by an insert of its id: the report waits for the insert too.
    const again = await open();
    const runningAgain = await claimedA(again);
    const replace = settled(again.insert([{ record: newRecord('a'), onDuplicate: 'replace' }]));
    let reported: boolean | Error | undefined;
    const report = settled(again.progress('a', 'tok', { ...runningAgain, progress: 5 })).then((r) => (reported = r));
    await tick();
    assert.equal(reported, undefined);
    again.answer(new StorePersistError('disk full'));
    assert.ok((await replace) instanceof StorePersistError);
    await tick();
    again.answer();
    assert.equal(await report, true, 'the replace was undone: the attempt still owns its job');
    assert.equal((await again.get('a'))?.progress, 5);
  });

  test('progress: only the running holder of the token; persisted with the report; refused otherwise', async () => {
    const store = await open();
    const running = await claimedA(store);
    assert.equal(await store.progress('a', 'nope', { ...running, progress: 1 }), false);
    assert.equal(await store.progress('zzz', 'tok', { ...running, progress: 1 }), false);
    const p = store.progress('a', 'tok', { ...running, progress: 50, logs: ['half'] });
    const changes = store.answer();
    assert.equal(await p, true);
    assert.deepEqual((changes[0] as { job: JobRecord }).job.progress, 50);
    assert.deepEqual((await store.get('a'))?.logs, ['half']);
    const s = store.settle('a', 'tok', { ...running, state: 'completed', finishedAt: CT0 });
    store.answer();
    await s;
    assert.equal(await store.progress('a', 'tok', { ...running, progress: 60 }), false, 'no longer running');
  });

  test('eviction beyond keepCompleted is persisted as a del in the same batch, and undone with it', async () => {
    const store = await open({ keepCompleted: 1 });
    const ins = store.insert([...insert('a'), ...insert('b')]);
    store.answer();
    await ins;
    const c1 = store.cancel('a', CT0 + 1);
    store.answer();
    await c1;
    const c2 = settled(store.cancel('b', CT0 + 2));
    const changes = store.answer(new StorePersistError('failed'));
    assert.deepEqual(described(changes), ['put b cancelled', 'del a']);
    assert.ok((await c2) instanceof StorePersistError);
    assert.deepEqual(await ids(store), ['a:cancelled', 'b:scheduled']);
    const c3 = store.cancel('b', CT0 + 3);
    store.answer();
    await c3;
    assert.deepEqual(await ids(store), ['b:cancelled']);
  });

  test('a removal caused by a settle is persisted as a del in its batch and undone with it; removal works again after the undo', async () => {
    const store = await open();
    const ins = store.insert([...insert('a'), ...insert('b')]);
    store.answer();
    await ins;
    const claim = store.claim(claimAll(CT0, { token: () => 'tok' }));
    store.answer();
    const [ra, rb] = (await claim).jobs;
    assert.ok(ra && rb);
    // removeOnComplete: { count: 1 } on each: b's completion removes a.
    const first = store.settle('a', 'tok', { ...ra, state: 'completed', finishedAt: CT0 + 1, removal: { count: 1 } });
    store.answer();
    assert.equal(await first, true);
    const second = settled(store.settle('b', 'tok', { ...rb, state: 'completed', finishedAt: CT0 + 2, removal: { count: 1 } }));
    assert.deepEqual(described(store.answer(new StorePersistError('failed'))), ['put b completed', 'del a']);
    assert.ok((await second) instanceof StorePersistError);
    assert.deepEqual(await ids(store), ['a:completed', 'b:running'], 'a is back: the batch that removed it was undone');
    // After the undo, a settle that removes its own job at once (removeOnComplete: true) still does.
    const third = store.settle('b', 'tok', { ...rb, state: 'completed', finishedAt: CT0 + 3, removal: { at: CT0 + 3 } });
    assert.deepEqual(described(store.answer()), ['put b completed', 'del b']);
    assert.equal(await third, true);
    assert.deepEqual(await ids(store), ['a:completed']);
  });

  test('undoing a failed batch evicts nothing: a finished job the batch did not touch stays', async () => {
    const store = await open({ keepCompleted: 2 });
    const ins = store.insert([...insert('x'), ...insert('y'), ...insert('b')]);
    store.answer();
    await ins;
    for (const [id, at] of [['x', CT0 + 1], ['y', CT0 + 2]] as const) {
      const c = store.cancel(id, at);
      store.answer();
      await c;
    }
    // Cancelling b evicts x (the oldest); the batch fails and is undone: x comes back first, while b is
    // still cancelled, so three finished jobs are held for a moment. y must not be evicted for it.
    const failed = settled(store.cancel('b', CT0 + 3));
    const changes = store.answer(new StorePersistError('x'));
    assert.deepEqual(described(changes), ['put b cancelled', 'del x']);
    assert.ok((await failed) instanceof StorePersistError);
    assert.deepEqual(await ids(store), ['x:cancelled', 'y:cancelled', 'b:scheduled']);
    assert.equal(store.batches.length, 0, 'the undo persists nothing');
  });

  test('a failed reschedule, revive or cancel restores the record as it was', async () => {
    const store = await open();
    const ins = store.insert([...insert('a'), ...insert('d')]);
    store.answer();
    await ins;
    const cancelD = store.cancel('d', CT0 + 1);
    store.answer();
    await cancelD;
    const before = structuredClone(await store.list({}));
    const r = settled(store.reschedule('a', CT0 + 99));
    store.answer(new StorePersistError('x'));
    assert.ok((await r) instanceof StorePersistError);
    const v = settled(store.revive('d', CT0 + 5));
    store.answer(new StorePersistError('x'));
    assert.ok((await v) instanceof StorePersistError);
    const c = settled(store.cancel('a', CT0 + 7));
    store.answer(new StorePersistError('x'));
    assert.ok((await c) instanceof StorePersistError);
    assert.deepEqual(await store.list({}), before);
    assert.equal(store.nextDueAt(), CT0);
  });
});

describe('operations on jobs in the wrong state', () => {
  test('reschedule and revive name the job and its state; cancel of a finished or missing job is undefined; nothing persisted', async () => {
    const store = await open();
    const ins = store.insert([...insert('a'), ...insert('b')]);
    store.answer();
    await ins;
    const cancel = store.cancel('b', CT0);
    store.answer();
    await cancel;
    await assert.rejects(store.reschedule('zz', CT0), (e: unknown) => e instanceof JobNotFoundError);
    await assert.rejects(store.reschedule('b', CT0), (e: unknown) => e instanceof JobNotFoundError && e.message === "Expected job `b` to be scheduled, got state 'cancelled'");
    await assert.rejects(store.revive('zz', CT0), (e: unknown) => e instanceof JobNotFoundError);
    await assert.rejects(store.revive('a', CT0), (e: unknown) => e instanceof JobNotFoundError && e.message === "Expected job `a` to be dead or cancelled, got state 'scheduled'");
    assert.equal(await store.cancel('b', CT0), undefined);
    assert.equal(await store.cancel('zz', CT0), undefined);
    assert.equal(store.batches.length, 0);
  });

  test('a duplicate id is refused before anything is applied or persisted', async () => {
    const store = await open();
    const ins = store.insert(insert('a'));
    store.answer();
    await ins;
    await assert.rejects(store.insert([...insert('b'), ...insert('a')]), DuplicateJobError);
    assert.equal(store.batches.length, 0);
    assert.deepEqual(await ids(store), ['a:scheduled']);
  });
});

describe('open, pause and clock steps', () => {
  test('open: records left running by a crash are scheduled again with their attempt kept, marked lost, without a token; others as stored', async () => {
    const base = newRecord('x');
    const stored: JobRecord[] = [
      { ...base, id: 'r', state: 'running', attempt: 2, token: 'old', seq: 4 },
      { ...base, id: 's', state: 'scheduled', seq: 2 },
      { ...base, id: 'c', state: 'completed', finishedAt: CT0, seq: 1 },
    ];
    const store = await open({}, stored);
    const r = await store.get('r');
    assert.equal(r?.state, 'scheduled');
    assert.equal(r?.attempt, 2);
    assert.equal(r?.lost, 'crash');
    assert.equal(r?.token, undefined);
    assert.equal((await store.get('s'))?.lost, undefined);
    assert.deepEqual(store.counts(), { scheduled: 2, running: 0, completed: 1, dead: 0, cancelled: 0, recurring: 0, indexed: 2 });
    assert.equal(store.batches.length, 0, 'the recovery is not persisted');
    // The next insert's seq follows the highest stored one.
    const ins = store.insert(insert('n'));
    store.answer();
    assert.equal((await ins)[0]?.record.seq, 5);
  });

  test('setPaused persists only a change; the version counts every call', async () => {
    const store = await open();
    assert.deepEqual(store.pauseState(), { paused: false, version: 0 });
    assert.deepEqual(await store.setPaused(false), { paused: false, version: 1 });
    assert.deepEqual(store.pauses, []);
    assert.deepEqual(await store.setPaused(true), { paused: true, version: 2 });
    assert.deepEqual(await store.setPaused(true), { paused: true, version: 3 });
    assert.deepEqual(await store.setPaused(false), { paused: false, version: 4 });
    assert.deepEqual(store.pauses, [true, false]);
    assert.deepEqual(store.pauseState(), { paused: false, version: 4 });
  });

  test('shift by 0, NaN or Infinity changes and persists nothing; a step that moves no job persists nothing', async () => {
    const store = await open();
    const ins = store.insert([...insert('date'), ...insert('rel', { relative: true })]);
    store.answer();
    await ins;
    // A relative delay is there to be moved: a step that is not a finite, non-zero number moves nothing.
    for (const delta of [0, Number.NaN, Infinity, -Infinity]) await store.shift(delta);
    assert.equal(store.batches.length, 0);
    assert.equal((await store.get('rel'))?.runAt, CT0);
    const dateOnly = await open();
    const insDate = dateOnly.insert(insert('date'));
    dateOnly.answer();
    await insDate;
    await dateOnly.shift(5000);
    assert.equal(dateOnly.batches.length, 0);
    assert.equal((await dateOnly.get('date'))?.runAt, CT0);
  });

  test('shift moves a relative delay, persisted as a put that keeps the payload; a failed shift moves it back', async () => {
    const store = await open();
    const ins = store.insert(insert('rel', { relative: true }));
    store.answer();
    await ins;
    const shifted = settled(store.shift(5000));
    const changes = store.answer(new StorePersistError('x'));
    assert.deepEqual(changes.map((c) => (c.op === 'put' ? [c.job.id, c.job.runAt, c.keep] : [])), [['rel', CT0 + 5000, true]]);
    assert.ok((await shifted) instanceof StorePersistError);
    assert.equal((await store.get('rel'))?.runAt, CT0);
    const ok = store.shift(5000);
    store.answer();
    await ok;
    assert.equal((await store.get('rel'))?.runAt, CT0 + 5000);
  });
});
