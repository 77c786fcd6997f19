/**
 * A clock step's re-base over a big local store gives the event loop back
 * while it runs, and stays one batch, all or none. Found 5 December 2026:
 * `Store.shift` walked, moved, indexed and journaled every delay in one
 * synchronous step: ~0.7 s for 2e5 jobs made in this process, ~1.6 s for
 * 2e5 just opened (each cold job parsed twice, the ones at a date too), and
 * timers, lease renewals and every other caller of the process waited.
 *
 * No timing here: the tests count records re-based (LocalState.apply calls)
 * between two turns of the event loop, and JSON.parse calls. Before the fix
 * every record came in one turn, and a reopened store parsed its dates.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { StorePersistError } from '../src/errors.js';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { FaultyFs } from '../src/store/json-file/faulty-fs.js';
import { type LocalStore, setStepTurnForTests } from '../src/store/local.js';
import { MemoryStore } from '../src/store/memory.js';
import type { JobRecord } from '../src/store/store.js';
import { T0, countPerTurn, until } from './helpers.js';
import { CT0, allRecords, crashCopy, newRecord, openStore, removeTempDirs, storeContext, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const STEP = 60_000;
const H = 3_600_000;
/** Records a turn in these tests (the store's default is larger; the logic is the same). */
const TURN = 500;
let restoreTurn: () => void = () => undefined;
beforeEach(() => {
  restoreTurn = setStepTurnForTests(TURN);
});
afterEach(() => restoreTurn());

/** The store's in-memory state (a private field), to count what a step does to it. */
interface StateView {
  apply: (...args: unknown[]) => void;
  coldCount: number;
}
const stateOf = (store: LocalStore): StateView => (store as unknown as { state: StateView }).state;

/** Runs `body` counting the store's applied changes per turn of the event loop (the most in one turn, the total) and JSON.parse calls. */
async function perTurn(store: LocalStore, body: () => Promise<void>): Promise<{ most: number; total: number; parses: number }> {
  const state = stateOf(store);
  const apply = state.apply;
  const parse = JSON.parse;
  let parses = 0;
  const counted = await countPerTurn(async (count) => {
    state.apply = function (this: unknown, ...args: unknown[]): void {
      count();
      apply.apply(this, args);
    };
    JSON.parse = (...args: Parameters<typeof JSON.parse>): unknown => {
      parses++;
      return parse(...args) as unknown;
    };
    try {
      await body();
    } finally {
      state.apply = apply;
      JSON.parse = parse;
    }
  });
  return { ...counted, parses };
}

/** n delays (`rel-i`, relative) and n dates (`abs-i`), inserted 1000 at a time. */
async function fill(store: LocalStore, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const requests = [];
    for (let k = i; k < Math.min(n, i + 1000); k++) {
      requests.push({ record: newRecord(`rel-${k}`, { runAt: CT0 + H + k, relative: true }), onDuplicate: 'reject' as const });
      requests.push({ record: newRecord(`abs-${k}`, { runAt: CT0 + H + k }), onDuplicate: 'reject' as const });
    }
    await store.insert(requests);
  }
}

/** Every delay moved by `moved`, every date where it was. */
function assertMoved(records: readonly JobRecord[], n: number, moved: number): void {
  assert.equal(records.length, 2 * n);
  for (const job of records) {
    const k = Number(job.id.slice(4));
    const want = CT0 + H + k + (job.id.startsWith('rel-') ? moved : 0);
    if (job.runAt !== want) assert.fail(`${job.id}: expected runAt ${want}, got ${job.runAt}`);
  }
}

/** Lines in the store's journals (each acknowledged batch is one). */
async function journalLines(dir: string): Promise<number> {
  let lines = 0;
  for (const name of await readdir(dir)) if (name.startsWith('journal-')) lines += (await readFile(path.join(dir, name), 'utf8')).split('\n').filter((l) => l.length > 0).length;
  return lines;
}

const options = { snapshotEvery: { changes: 1e9, bytes: 2 ** 40 }, fsync: false } as const;

/** A FaultyFs that copies the store's folder, as a crash would leave it, just before the `nth` write from when it is armed (failAt). */
class CrashCopyAt extends FaultyFs {
  copy: string | undefined;
  #writes = 0;
  constructor(
    private readonly dir: string,
    private readonly nth: number,
  ) {
    super();
  }

  override failAt(...args: Parameters<FaultyFs['failAt']>): void {
    this.#writes = 0;
    super.failAt(...args);
  }

  override async write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    if (++this.#writes === this.nth) this.copy = await crashCopy(this.dir);
    return super.write(fd, buffer, offset, length, position);
  }
}

describe('a clock step over a big local store', () => {
  it('JsonFileStore: the delays move over many turns of the event loop, written as one batch; the dates stay', async () => {
    const n = 4000;
    const dir = await tempDir('godelayq-step-turns-', true);
    let { store } = await openStore(dir, options);
    await fill(store, n);
    const lines = await journalLines(dir);
    const { most, total } = await perTurn(store, () => store.shift(STEP));
    assert.equal(total, n, 'one change a delay, none for a date');
    assert.ok(most <= TURN, `expected at most ${TURN} records re-based a turn, got ${most} in one turn`);
    assertMoved(await allRecords(store), n, STEP);
    assert.equal(await journalLines(dir), lines + 1, 'the re-base is one journal line: all or none');
    await store.close();
    ({ store } = await openStore(dir, options));
    assertMoved(await allRecords(store), n, STEP);
    await store.close();
  });

  it('JsonFileStore just opened: the cold delays move in turns, and the cold dates are not even parsed', async () => {
    const n = 3000;
    const dir = await tempDir('godelayq-step-cold-', true);
    let { store } = await openStore(dir, options);
    await fill(store, n);
    await store.snapshot();
    await store.close();
    ({ store } = await openStore(dir, options));
    assert.equal(stateOf(store).coldCount, 2 * n, 'every job opened cold');
    const { most, total, parses } = await perTurn(store, () => store.shift(-STEP));
    assert.equal(total, n);
    assert.ok(most <= TURN, `expected at most ${TURN} records re-based a turn, got ${most} in one turn`);
    assert.equal(parses, n, 'each cold delay parsed once; no date parsed');
    assert.equal(stateOf(store).coldCount, n, 'the dates are still cold');
    assertMoved(await allRecords(store), n, -STEP);
    await store.close();
    ({ store } = await openStore(dir, options));
    assertMoved(await allRecords(store), n, -STEP);
    await store.close();
  });

  it('MemoryStore: the delays move over many turns too', async () => {
    const n = 2000;
    const store = new MemoryStore();
    await store.open(storeContext());
    await fill(store, n);
    const { most, total } = await perTurn(store, () => store.shift(STEP));
    assert.equal(total, n);
    assert.ok(most <= TURN, `expected at most ${TURN} records re-based a turn, got ${most} in one turn`);
    assertMoved(await allRecords(store), n, STEP);
  });

  it('calls made while it runs wait for it: reads see it whole, writes land after it (and a new delay is not moved), a snapshot follows it', async () => {
    const n = 2000;
    const dir = await tempDir('godelayq-step-calls-', true);
    let { store } = await openStore(dir, options);
    await fill(store, n);
    const shifting = store.shift(STEP);
    const read = store.get('rel-1999');
    const listed = store.list({});
    const cancelled = store.cancel('rel-7', CT0);
    const inserted = store.insert([{ record: newRecord('new', { runAt: CT0 + 5, relative: true }), onDuplicate: 'reject' }]);
    // No snapshot may start while the re-base is half applied; one asked for meanwhile waits and is taken after it.
    const snapshotted = store.snapshot();
    await shifting;
    await snapshotted;
    assert.equal((await read)?.runAt, CT0 + H + 1999 + STEP);
    assert.equal((await listed).filter((j) => j.id.startsWith('rel-') && j.runAt < CT0 + H + STEP).length, 0, 'no delay listed unmoved');
    assert.equal((await cancelled)?.state, 'cancelled');
    await inserted;
    const check = async (s: JsonFileStore): Promise<void> => {
      assert.equal((await s.get('new'))?.runAt, CT0 + 5);
      assert.equal((await s.get('rel-7'))?.state, 'cancelled');
      assert.equal((await s.get('rel-8'))?.runAt, CT0 + H + 8 + STEP);
    };
    await check(store);
    await store.close();
    ({ store } = await openStore(dir, options));
    await check(store);
    await store.close();
  });

  it('a refused write, at the first or a later piece of its one line, undoes the whole re-base; a crash then leaves a tail recovery drops; the next re-base lands once', async () => {
    // ~2.5 MB of changes: three writes of ~1 MiB, each but the last ending on a page boundary.
    const n = 15_000;
    for (const failing of [1, 2, 3]) {
      const dir = await tempDir('godelayq-step-eio-', true);
      const fs = new CrashCopyAt(dir, failing);
      const store = new JsonFileStore(dir, { ...options, fs });
      await store.open(storeContext());
      await fill(store, n);
      const before = await allRecords(store);
      fs.failAt(failing, 'EIO', { only: ['write'] });
      await assert.rejects(store.shift(STEP), StorePersistError);
      assert.match(fs.firedOn ?? '', /^write/, `write ${failing} of the line was refused`);
      assert.deepEqual(await allRecords(store), before, `write ${failing} refused: nothing moved`);
      // A crash just before the refused write: the writes before it are in the file.
      const { store: crashed, warnings } = await openStore(fs.copy as string, options);
      assert.deepEqual(await allRecords(crashed), before, 'a crash after part of the line: the state before the re-base');
      if (failing > 1) assert.ok(warnings.some((w) => /torn/i.test(w)), `expected a warning about the torn tail, got ${JSON.stringify(warnings)}`);
      await crashed.close();
      fs.heal();
      await store.shift(STEP);
      assertMoved(await allRecords(store), n, STEP);
      await store.close();
      const { store: again } = await openStore(dir, options);
      assertMoved(await allRecords(again), n, STEP);
      await again.close();
    }
  });

  it('with a scheduler: stepped back an hour, 1,500 delays of 50 minutes each run after 50 elapsed minutes, none early', async () => {
    const dir = await tempDir('godelayq-step-sched-', true);
    const store = new JsonFileStore(dir, options);
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<{ work: { n: number } }>({ clock, store, concurrency: 100 });
    scheduler.on('error', () => undefined);
    const early: number[] = [];
    let runs = 0;
    const start = clock.now();
    let stepped = false;
    scheduler.register('work', () => {
      // 50 elapsed minutes end at wall T0 - 10 min after the step.
      if (!stepped || clock.now() < start - H + 50 * 60_000) early.push(clock.now());
      runs++;
    });
    await scheduler.start();
    await scheduler.scheduleMany(Array.from({ length: 1500 }, (_, n) => ({ name: 'work' as const, payload: { n }, delay: 50 * 60_000 })));
    stepped = true;
    await clock.set(start - H);
    await clock.advance(49 * 60_000);
    await until(async () => (await scheduler.list({ state: 'scheduled' })).length === 1500);
    assert.equal(runs, 0, 'nothing due yet');
    await clock.advance(60_000);
    await until(() => runs === 1500);
    assert.deepEqual(early, []);
    await scheduler.stop();
  });
});
