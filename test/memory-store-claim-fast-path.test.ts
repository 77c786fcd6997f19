/**
 * MemoryStore claims through shortcuts (LocalState.takeDue: due jobs taken
 * straight off the time index, and left there past a claim's limit); a
 * JsonFileStore claims through the general path (promote every due job,
 * then pick). Fed the same random inserts, claims (limits, capacities of 0),
 * retries and reschedules, both must hand out the same jobs in the same
 * order and report the same names waiting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryStore } from '../src/store/memory.js';
import { JsonFileStore } from '../src/store/json-file.js';
import type { JobRecord, NewJobRecord, Store } from '../src/store/store.js';
import { CT0, storeContext } from './store-conformance.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';

test.after(removeTempDirs);

type Op =
  | { kind: 'insert'; jobs: { name: string; at: number; priority: number }[] }
  | { kind: 'claim'; at: number; limit: number; capA: number; capB: number }
  | { kind: 'retry'; pick: number; at: number }
  | { kind: 'reschedule'; pick: number; at: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      jobs: fc.array(fc.record({ name: fc.constantFrom('a', 'a', 'a', 'b'), at: fc.integer({ min: 0, max: 6 }), priority: fc.constantFrom(0, 0, 0, 0, 3) }), { minLength: 1, maxLength: 12 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('claim' as const), at: fc.integer({ min: 0, max: 8 }), limit: fc.integer({ min: 1, max: 6 }), capA: fc.constantFrom(0, 2, 100), capB: fc.constantFrom(0, 100) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), pick: fc.nat(), at: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reschedule' as const), pick: fc.nat(), at: fc.integer({ min: 0, max: 6 }) }) },
);

async function run(ops: Op[]): Promise<void> {
  const dir = await tempDir('godelayq-claim-fast-', true);
  const stores: Store[] = [new MemoryStore(), new JsonFileStore(dir, { fsync: false })];
  for (const store of stores) await store.open(storeContext());
  const running: JobRecord[][] = [[], []];
  let n = 0;
  let t = 0;
  try {
    for (const op of ops) {
      if (op.kind === 'insert') {
        const records = op.jobs.map(
          (j): NewJobRecord => ({ id: `j${n++}`, name: j.name, payload: null, state: 'scheduled', runAt: CT0 + j.at, createdAt: CT0, attempt: 0, priority: j.priority }),
        );
        // Each store owns the records it is given: one copy each.
        for (const store of stores) await store.insert(records.map((record) => ({ record: { ...record }, onDuplicate: 'reject' as const })));
      } else if (op.kind === 'claim') {
        const results = [];
        for (let s = 0; s < stores.length; s++) {
          const token = `t${t}`;
          const capacity = (name: string): number => (name === 'a' ? op.capA : op.capB) - running[s]!.filter((j) => j.name === name).length;
          const claimed = await stores[s]!.claim({ now: CT0 + op.at, limit: op.limit, capacity, token: () => `${token}.${running[s]!.length}` });
          running[s]!.push(...claimed.jobs);
          results.push({ ids: claimed.jobs.map((j) => j.id), waiting: [...claimed.waiting].sort() });
        }
        t++;
        assert.deepEqual(results[0], results[1], `claim at +${op.at} limit ${op.limit}`);
      } else if (op.kind === 'retry') {
        // A failed attempt retried: the record keeps its seq and goes back on the time index.
        for (let s = 0; s < stores.length; s++) {
          const list = running[s]!;
          if (list.length === 0) continue;
          const [job] = list.splice(op.pick % list.length, 1) as [JobRecord];
          const next: JobRecord = { ...job, state: 'scheduled', runAt: CT0 + op.at };
          delete next.token;
          assert.equal(await stores[s]!.settle(job.id, job.token!, next), true);
        }
      } else {
        const scheduled = (await stores[0]!.list({ states: ['scheduled'] })).map((j) => j.id).sort();
        if (scheduled.length === 0) continue;
        const id = scheduled[op.pick % scheduled.length]!;
        for (const store of stores) await store.reschedule(id, CT0 + op.at);
      }
    }
  } finally {
    for (const store of stores) await store.close();
  }
}

test('MemoryStore claims what the general claim path claims, in its order, with the same names waiting', async () => {
  await fc.assert(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), run), { numRuns: 150 });
});

test('a claim whose limit cuts a burst of one name leaves the rest due in (runAt, seq) order', async () => {
  await run([
    { kind: 'insert', jobs: [3, 1, 1, 2, 1, 0, 2].map((at) => ({ name: 'a', at, priority: 0 })) },
    { kind: 'claim', at: 5, limit: 2, capA: 100, capB: 100 },
    { kind: 'claim', at: 5, limit: 2, capA: 100, capB: 100 },
    // A job of a name nobody runs (capacity 0) becomes due among the rest: it is reported waiting.
    { kind: 'insert', jobs: [{ name: 'b', at: 2, priority: 0 }] },
    { kind: 'claim', at: 5, limit: 1, capA: 100, capB: 0 },
    { kind: 'retry', pick: 0, at: 1 },
    { kind: 'claim', at: 5, limit: 2, capA: 100, capB: 0 },
    { kind: 'claim', at: 5, limit: 9, capA: 100, capB: 100 },
  ]);
});

test('a retried job due at the same instant as later-inserted ones goes first, also when a claim limit cuts them', async () => {
  await run([
    { kind: 'insert', jobs: [1, 1, 1, 1].map((at) => ({ name: 'a', at, priority: 0 })) },
    { kind: 'claim', at: 5, limit: 1, capA: 100, capB: 100 },
    // j0 is back on the time index behind j1..j3, with the lowest seq: it ranks first among equal runAts.
    { kind: 'retry', pick: 0, at: 1 },
    { kind: 'claim', at: 5, limit: 1, capA: 100, capB: 100 },
    { kind: 'claim', at: 5, limit: 2, capA: 100, capB: 100 },
    { kind: 'claim', at: 5, limit: 2, capA: 100, capB: 100 },
  ]);
});

test('a retried job due at the same instant as later-inserted ones goes first when one claim takes them all', async () => {
  await run([
    { kind: 'insert', jobs: [1, 1, 1, 1].map((at) => ({ name: 'a', at, priority: 0 })) },
    { kind: 'claim', at: 5, limit: 1, capA: 100, capB: 100 },
    // j0 is back on the time index behind j1..j3 (pushed last, lowest seq): the shortcut must not take them in heap order.
    { kind: 'retry', pick: 0, at: 1 },
    { kind: 'claim', at: 5, limit: 9, capA: 100, capB: 100 },
  ]);
});
