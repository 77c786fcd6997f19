/**
 * Fault 5: a full disk, a short write, EIO or EACCES at the Nth file-system
 * call, for N over every call an operation makes. Each time: the call either
 * succeeds or rejects with StorePersistError, a rejected call changed
 * nothing (in memory and on disk), no temp file is left, and once the fault
 * is gone the store works and reopens with exactly what it acknowledged.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { StorePersistError } from '../src/errors.js';
import { JsonFileStore, type JsonFileStoreOptions } from '../src/store/json-file.js';
import { FaultyFs, type FaultKind } from '../src/store/json-file/faulty-fs.js';
import type { JobRecord } from '../src/store/store.js';
import { claimAll } from './store-conformance.js';
import { until } from './helpers.js';
import { CT0, afterRecovery, allRecords, insertOne, newRecord, openStore, removeTempDirs, storeContext, tempDir, tempFiles } from './json-file-helpers.js';

after(removeTempDirs);

interface Scenario {
  name: string;
  options?: JsonFileStoreOptions;
  /** Builds the state before the operation (with faults off). Returns an open store, or none for open scenarios. */
  setup(dir: string, fs: FaultyFs): Promise<JsonFileStore | undefined>;
  /** The operation under test; `store` is undefined for open scenarios (the op opens it). */
  op(dir: string, fs: FaultyFs, store: JsonFileStore | undefined): Promise<JsonFileStore>;
  /** Checks the in-memory state right after the op: `ok` = it resolved. */
  check(store: JsonFileStore, ok: boolean, before: JobRecord[]): Promise<void>;
  /**
   * The oracle: each job's state after a reopen, from what the op acknowledged
   * (`ok`) or not, written out from the scenario alone — never read from the store.
   */
  acknowledged(ok: boolean): Record<string, JobRecord['state']>;
}

/** The three jobs every basic scenario starts with. */
const BASE: Record<string, JobRecord['state']> = { base0: 'scheduled', base1: 'scheduled', base2: 'scheduled' };

async function basicSetup(dir: string, fs: FaultyFs, options: JsonFileStoreOptions = {}): Promise<JsonFileStore> {
  const store = new JsonFileStore(dir, { ...options, fs });
  await store.open(storeContext());
  for (let i = 0; i < 3; i++) await insertOne(store, `base${i}`, { runAt: CT0 + i });
  return store;
}

const unchanged = async (store: JsonFileStore, ok: boolean, before: JobRecord[], changedIds: string[]): Promise<void> => {
  const now = await allRecords(store);
  if (!ok) assert.deepEqual(now, before, 'a rejected call changed nothing');
  else assert.notDeepEqual(now.filter((r) => changedIds.includes(r.id)), before.filter((r) => changedIds.includes(r.id)));
};

const scenarios: Scenario[] = [
  {
    name: 'insert one job',
    setup: (dir, fs) => basicSetup(dir, fs),
    op: async (_dir, _fs, store) => {
      await insertOne(store!, 'new');
      return store!;
    },
    check: (store, ok, before) => unchanged(store, ok, before, ['new']),
    acknowledged: (ok) => (ok ? { ...BASE, new: 'scheduled' } : BASE),
  },
  {
    name: 'insert a batch (all or none)',
    setup: (dir, fs) => basicSetup(dir, fs),
    op: async (_dir, _fs, store) => {
      await store!.insert(['n1', 'n2', 'n3'].map((id) => ({ record: newRecord(id), onDuplicate: 'reject' as const })));
      return store!;
    },
    check: async (store, ok, before) => {
      await unchanged(store, ok, before, ['n1', 'n2', 'n3']);
      const present = (await Promise.all(['n1', 'n2', 'n3'].map((id) => store.get(id)))).filter(Boolean).length;
      assert.equal(present, ok ? 3 : 0);
    },
    acknowledged: (ok) => (ok ? { ...BASE, n1: 'scheduled', n2: 'scheduled', n3: 'scheduled' } : BASE),
  },
  {
    name: 'claim, then settle',
    setup: (dir, fs) => basicSetup(dir, fs),
    op: async (_dir, _fs, store) => {
      const { jobs } = await store!.claim(claimAll(CT0, { limit: 1 }));
      const job = jobs[0] as JobRecord;
      await store!.settle(job.id, job.token as string, { ...job, state: 'completed', finishedAt: CT0 + 1 });
      return store!;
    },
    check: async (store, ok, before) => {
      const state = (await store.get('base0'))?.state;
      if (ok) assert.equal(state, 'completed');
      else assert.ok(state === 'scheduled' || state === 'running', state);
      if (state === 'scheduled') assert.deepEqual(await allRecords(store), before);
    },
    // Unacknowledged, base0 was never claimed, or its claim is recovered as a crash: scheduled either way.
    acknowledged: (ok) => (ok ? { ...BASE, base0: 'completed' } : BASE),
  },
  {
    name: 'cancel',
    setup: (dir, fs) => basicSetup(dir, fs),
    op: async (_dir, _fs, store) => {
      await store!.cancel('base1', CT0);
      return store!;
    },
    check: (store, ok, before) => unchanged(store, ok, before, ['base1']),
    acknowledged: (ok) => (ok ? { ...BASE, base1: 'cancelled' } : BASE),
  },
  {
    name: 'insert that triggers a rotation (background snapshot)',
    options: { snapshotEvery: { changes: 4 } },
    setup: (dir, fs) => basicSetup(dir, fs, { snapshotEvery: { changes: 4 } }),
    op: async (_dir, _fs, store) => {
      await insertOne(store!, 'rot');
      // Let the background snapshot finish or fail (close would abandon it
      // at a moment that depends on timing, and the walk counts calls).
      await until(() => (store as unknown as { snapshotTask?: unknown }).snapshotTask === undefined);
      return store!;
    },
    check: (store, ok, before) => unchanged(store, ok, before, ['rot']),
    acknowledged: (ok) => (ok ? { ...BASE, rot: 'scheduled' } : BASE),
  },
  {
    name: 'forced snapshot',
    setup: (dir, fs) => basicSetup(dir, fs),
    op: async (_dir, _fs, store) => {
      await store!.snapshot();
      return store!;
    },
    check: async (store, _ok, before) => {
      assert.deepEqual(await allRecords(store), before);
    },
    acknowledged: () => BASE,
  },
  {
    name: 'open an existing store (snapshot, journal, torn tail, leftovers)',
    setup: async (dir, fs) => {
      const store = await basicSetup(dir, fs);
      await store.snapshot();
      await insertOne(store, 'j1');
      await store.close();
      // The last journal (started by the close) ends with a write torn by a
      // crash at a page boundary; a temp file of this store and an obsolete
      // generation are left over.
      const journal = path.join(dir, 'journal-000003.jsonl');
      const size = (await stat(journal)).size;
      await appendFile(journal, '{"op":"put","job":{"id":"tor'.padEnd(4096 - size, 'n'));
      const storeId = (JSON.parse((await readFile(journal, 'utf8')).split('\n')[0] as string) as { store: string }).store;
      await writeFile(path.join(dir, `snapshot-000009.json.${storeId}-abcdefgh.tmp`), 'x');
      await writeFile(path.join(dir, 'journal-000001.jsonl'), '{"godelayq":"journal","version":1,"generation":1}\n');
      return undefined;
    },
    op: async (dir, fs) => {
      const store = new JsonFileStore(dir, { fs });
      await store.open(storeContext());
      return store;
    },
    check: async (store) => {
      assert.deepEqual((await allRecords(store)).map((r) => r.id), ['base0', 'base1', 'base2', 'j1']);
    },
    acknowledged: () => ({ ...BASE, j1: 'scheduled' }),
  },
  {
    name: 'open a new store',
    setup: () => Promise.resolve(undefined),
    op: async (dir, fs) => {
      const store = new JsonFileStore(path.join(dir, 'sub', 'store'), { fs });
      await store.open(storeContext());
      return store;
    },
    check: async (store) => {
      assert.deepEqual(await allRecords(store), []);
    },
    acknowledged: () => ({}),
  },
];

/** Runs `scenario` with a fault of `kind` at call `n` (0 = no fault); returns the calls the op made. */
async function walkOnce(scenario: Scenario, kind: FaultKind, n: number): Promise<{ calls: number; fired: boolean; methods: string[] }> {
  const dir = await tempDir('godelayq-fault-', true);
  const fs = new FaultyFs();
  const opened = await scenario.setup(dir, fs);
  const storeDir = scenario.name === 'open a new store' ? path.join(dir, 'sub', 'store') : dir;
  const before = opened ? await allRecords(opened) : [];
  const tempsBefore: string[] = await tempFiles(storeDir).catch(() => []);
  fs.resetCounts();
  fs.logCalls = true;
  if (n > 0) fs.failAt(n, kind);
  let store = opened;
  let ok = true;
  let error: unknown;
  try {
    store = await scenario.op(dir, fs, opened);
  } catch (e) {
    ok = false;
    error = e;
  }
  const where = `${scenario.name}, ${kind} at call ${n} (${fs.firedOn ?? 'not fired'})`;
  if (!ok) {
    assert.ok(error instanceof StorePersistError, `${where}: expected StorePersistError, got ${String(error)}`);
    assert.equal(error.code, 'ERR_STORE_PERSIST');
  }
  if (store && (ok || opened)) {
    await scenario.check(store, ok, before).catch((e: unknown) => {
      throw new Error(`${where}: ${String(e)}`, { cause: e });
    });
    // Let background work (a snapshot) finish or fail, faults still armed.
    await store.close();
  }
  const calls = fs.calls;
  const methods = fs.log.map((line) => line.split(' ')[0] as string);
  fs.logCalls = false;
  const fired = fs.fired;
  const firedOn = fs.firedOn;
  fs.heal();
  // No temp file left behind (unless the fault hit the very unlink that removes it: next open does).
  const temps = (await tempFiles(storeDir).catch((): string[] => [])).filter((t) => !tempsBefore.includes(t));
  if (!firedOn?.startsWith('unlink')) assert.deepEqual(temps, [], `${where}: temp files left`);

  // The fault is gone: the store opens, holds what it acknowledged, and works.
  const expected = store && (ok || opened) ? afterRecovery(await allRecords(store)) : undefined;
  const { store: again, warnings } = await openStore(storeDir, { ...scenario.options, fs, fsync: false });
  // The independent oracle: what the op acknowledged. A rejection whose outcome is unknown may have happened.
  const states = Object.fromEntries((await allRecords(again)).map((r) => [r.id, r.state]));
  const unknown = error instanceof StorePersistError && error.outcomeUnknown;
  if (unknown) assert.ok([scenario.acknowledged(true), scenario.acknowledged(false)].some((a) => isDeepStrictEqual(a, states)), `${where}: reopen holds ${JSON.stringify(states)}`);
  else assert.deepEqual(states, scenario.acknowledged(ok), `${where}: reopen holds what was acknowledged`);
  // And, record for record, what the store held in memory before it closed.
  if (expected) assert.deepEqual(await allRecords(again), expected, `${where}: reopen`);
  else if (!ok) await scenario.check(again, true, before).catch((e: unknown) => {
    throw new Error(`${where}: reopen after failed open: ${String(e)}`, { cause: e });
  });
  assert.ok(!warnings.some((w) => /corrupt/i.test(w)), warnings.join());
  await insertOne(again, 'after-fault');
  const final = await allRecords(again);
  await again.close();
  assert.deepEqual(await tempFiles(storeDir), [], `${where}: temp files after reopen`);
  const { store: third } = await openStore(storeDir, { fsync: false });
  assert.deepEqual(await allRecords(third), final, `${where}: third open`);
  await third.close();
  assert.ok(!(await readdir(storeDir)).includes('LOCK.takeover'));
  return { calls, fired, methods };
}

/** Which calls each kind of fault is walked over: where it happens in real life. */
const WHERE: Record<FaultKind, (method: string) => boolean> = {
  ENOSPC: () => true,
  EIO: () => true,
  short: (m) => m === 'write',
  EACCES: (m) => ['open', 'mkdir', 'rename', 'link', 'unlink', 'readdir', 'readFile', 'stat'].includes(m),
  'EIO-after': (m) => ['write', 'fsync', 'fdatasync', 'link', 'ftruncate'].includes(m),
};

describe('fault 5: fs errors at every call of an operation', { concurrency: 4 }, () => {
  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const { calls, methods } = await walkOnce(scenario, 'EIO', 0);
      assert.ok(calls > 0);
      for (const kind of ['ENOSPC', 'short', 'EIO', 'EACCES', 'EIO-after'] as const) {
        for (let n = 1; n <= calls; n++) {
          if (!WHERE[kind](methods[n - 1] as string)) continue;
          const { fired } = await walkOnce(scenario, kind, n);
          assert.ok(fired, `${kind} at call ${n} (${methods[n - 1]}) fired`);
        }
      }
    });
  }
});

describe('faults under concurrent load', () => {
  it('with EIO/ENOSPC striking at random calls, memory and disk hold exactly the acknowledged jobs', async () => {
    const dir = await tempDir('godelayq-fault-', true);
    const fs = new FaultyFs();
    const store = new JsonFileStore(dir, { fs, snapshotEvery: { changes: 60 } });
    await store.open(storeContext());
    const acked = new Set<string>();
    const rejected = new Set<string>();
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 60; round++) {
      fs.heal();
      if (round % 3 !== 2) fs.failAt(1 + rand(12), rand(2) === 0 ? 'EIO' : 'ENOSPC', { sticky: false });
      const ops = Array.from({ length: 1 + rand(25) }, (_, i) => {
        const ids = i % 5 === 4 ? [`r${round}-${i}a`, `r${round}-${i}b`] : [`r${round}-${i}`];
        return store
          .insert(ids.map((id) => ({ record: newRecord(id), onDuplicate: 'reject' as const })))
          .then(
            () => ids.forEach((id) => acked.add(id)),
            (error: unknown) => {
              assert.ok(error instanceof StorePersistError, String(error));
              ids.forEach((id) => rejected.add(id));
            },
          );
      });
      await Promise.all(ops);
    }
    fs.heal();
    assert.ok(acked.size > 100 && rejected.size > 10, `acked ${acked.size}, rejected ${rejected.size}`);
    const inMemory = (await store.list({})).map((r) => r.id).sort();
    assert.deepEqual(inMemory, [...acked].sort());
    await store.close();
    const { store: again } = await openStore(dir, { fsync: false });
    assert.deepEqual((await again.list({})).map((r) => r.id).sort(), [...acked].sort());
    await again.close();
  });

  it('a failed settle that would evict an old finished job leaves every job in place', async () => {
    const dir = await tempDir('godelayq-fault-', true);
    const fs = new FaultyFs();
    const store = new JsonFileStore(dir, { fs });
    await store.open(storeContext({ keepCompleted: 2 }));
    await store.insert(['A', 'B', 'C'].map((id) => ({ record: newRecord(id), onDuplicate: 'reject' as const })));
    const { jobs } = await store.claim(claimAll(CT0, { limit: 3 }));
    for (const job of jobs.slice(0, 2)) await store.settle(job.id, job.token as string, { ...job, state: 'completed', finishedAt: CT0 });
    const before = await allRecords(store);
    fs.failAt(1, 'EIO');
    const last = jobs[2] as JobRecord;
    await assert.rejects(store.settle(last.id, last.token as string, { ...last, state: 'completed', finishedAt: CT0 + 1 }), StorePersistError);
    assert.deepEqual(await allRecords(store), before);
    assert.equal(store.counts().completed, 2);
    fs.heal();
    assert.equal(await store.settle(last.id, last.token as string, { ...last, state: 'completed', finishedAt: CT0 + 1 }), true);
    const completed = (await store.list({ states: ['completed'] })).map((r) => r.id);
    assert.equal(completed.length, 2);
    assert.ok(completed.includes('C'));
    const final = await allRecords(store);
    await store.close();
    const { store: again } = await openStore(dir, {}, { keepCompleted: 2 });
    assert.deepEqual(await allRecords(again), final);
    await again.close();
  });
});
