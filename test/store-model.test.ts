/**
 * MemoryStore and JsonFileStore against the plain model of what was
 * acknowledged (the harness and the model: store-model.ts).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NewJobRecord } from '../src/store/store.js';
import { storeContext } from './store-conformance.js';
import { MemoryStore } from '../src/store/memory.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';
import { runModel } from './store-model.js';

after(removeTempDirs);

describe('Store model: MemoryStore', () => {
  it('agrees with the model over random command sequences', async () => {
    await runModel(
      () => Promise.resolve({ store: new MemoryStore(), claimed: new Map(), cleanup: () => Promise.resolve() }),
      false,
      150,
      () => Date.UTC(2027, 0, 1),
    );
  });
});

describe('Store model: MemoryStore({ packed: true })', () => {
  it('agrees with the model over random command sequences', async () => {
    await runModel(
      () => Promise.resolve({ store: new MemoryStore({ packed: true }), claimed: new Map(), cleanup: () => Promise.resolve() }),
      false,
      150,
      () => Date.UTC(2027, 0, 1),
    );
  });
});

describe('Store model: claim order found by the model test', () => {
  it('a job rescheduled into the past while others of its name wait is claimed by its runAt, not by when it became due', async () => {
    const store = new MemoryStore();
    const base = 1_800_000_000_000;
    await store.open(storeContext({ now: () => base }));
    const rec = (id: string, name: string, runAt: number, priority: number): NewJobRecord => ({ id, name, payload: 0, state: 'scheduled', runAt, createdAt: base, attempt: 0, priority });
    await store.insert([
      { record: rec('d', 'y', base - 1000, 2), onDuplicate: 'reject' },
      { record: rec('c', 'y', base + 3_600_000, 2), onDuplicate: 'reject' },
      { record: rec('a', 'x', base - 1001, 2), onDuplicate: 'reject' },
    ]);
    const first = await store.claim({ now: base, limit: 1, capacity: () => 1000, token: () => 't1' });
    assert.deepEqual(first.jobs.map((j) => j.id), ['a']); // d is now waiting in y's ready queue
    await store.reschedule('c', base - 1001);
    const second = await store.claim({ now: base, limit: 1, capacity: () => 1000, token: () => 't2' });
    assert.deepEqual(second.jobs.map((j) => j.id), ['c'], 'same priority: the earlier runAt first');
    await store.close();
  });
});

describe('Store model: JsonFileStore', () => {
  it('agrees with the model over random command sequences, reopens included', async () => {
    await runModel(
      async () => {
        const dir = await tempDir('godelayq-model-', true);
        const make = (): JsonFileStore => new JsonFileStore(dir, { fsync: false, snapshotEvery: { changes: 7 } });
        return { store: make(), claimed: new Map(), reopen: () => Promise.resolve(make()), cleanup: () => Promise.resolve() };
      },
      true,
      30,
      () => Date.UTC(2027, 0, 1),
    );
  });
});
