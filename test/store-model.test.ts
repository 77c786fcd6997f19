/**
 * MemoryStore and JsonFileStore against the plain model of what was
 * acknowledged (the harness and the model: store-model.ts).
 */
import { after, describe, it } from 'node:test';
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
