// IdIndex (a local store's id -> record index): generated ids (prefix +
// base-36 counter) in an array, every other id in a Map. Checked against a
// Map under random sets, adds and deletes of generated ids (in order, with
// gaps, far ahead, non-canonical look-alikes, fresh ones through `set` as a
// store's load indexes them, taken ones added again) and other ids, a second
// prefix, and enough deletes to compact the array: same get, has, size and
// values (and toArray), whatever path each id took.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { IdIndex } from '../src/store/id-index.js';
import { LocalStore } from '../src/store/local.js';
import { MemoryStore } from '../src/store/memory.js';
import type { JobRecord } from '../src/store/store.js';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';

const P = 'AbCdEfGhIjKl';
const Q = 'ZyXwVuTsRqPo';

function rec(id: string, n = 0): JobRecord {
  return { id, name: 'a', payload: null, state: 'scheduled', runAt: 0, createdAt: 0, attempt: 0, priority: 0, seq: n };
}

type Op =
  | { kind: 'gen'; skip: number }
  | { kind: 'genSet' }
  | { kind: 'again'; pick: number }
  | { kind: 'far' }
  | { kind: 'alike'; which: number }
  | { kind: 'other'; n: number }
  | { kind: 'put'; pick: number }
  | { kind: 'del'; pick: number }
  | { kind: 'delMany'; count: number }
  | { kind: 'delAt'; pick: number; guess: number }
  | { kind: 'prefix' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('gen' as const), skip: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }) }) }) },
  // Fresh generated ids through `set`, as a store's load and put index them.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('genSet' as const) }) },
  // An id already taken, added again (a caller's id equal to a generated one): refused, nothing changed.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('again' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('far' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('alike' as const), which: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('other' as const), n: fc.nat(50) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('put' as const), pick: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('del' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delMany' as const), count: fc.integer({ min: 100, max: 6000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('prefix' as const) }) },
  // Deletes by what `set` answered for the record (maybe stale: compacted or another prefix since), or by a guess.
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('delAt' as const), pick: fc.nat(), guess: fc.integer({ min: -1, max: 400 }) }) },
);

test('IdIndex answers like a Map', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 30, maxLength: 120 }), (ops) => {
      const index = new IdIndex();
      const model = new Map<string, JobRecord>();
      let prefix = P;
      index.expect(prefix);
      let counter = 0;
      const probe = new Set<string>();
      /** What `set` answered for a record (where it went). */
      const keys = new Map<JobRecord, number>();
      const add = (id: string): void => {
        probe.add(id);
        const r = rec(id, counter);
        assert.equal(index.add(r), !model.has(id), `add ${id}`);
        if (!model.has(id)) model.set(id, r);
      };
      for (const op of ops) {
        const ids = [...model.keys()];
        if (op.kind === 'gen') {
          counter += op.skip;
          // A run of generated ids, as a burst of scheduleIn makes.
          for (let k = 0; k < 150; k++) add(prefix + (counter++).toString(36));
        } else if (op.kind === 'genSet') {
          for (let k = 0; k < 150; k++) {
            const id = prefix + (counter++).toString(36);
            probe.add(id);
            const r = rec(id, counter);
            keys.set(r, index.set(id, r));
            model.set(id, r);
          }
        } else if (op.kind === 'again' && ids.length > 0) {
          const id = ids[op.pick % ids.length]!;
          assert.equal(index.add(rec(id, -1)), false, `add ${id} again`);
        } else if (op.kind === 'far') add(prefix + (counter + 5000 + 36 ** 3).toString(36));
        else if (op.kind === 'alike') {
          // Not canonical or not base 36: never the same entry as a generated id.
          add([`${prefix}0${(counter > 0 ? counter - 1 : 0).toString(36)}`, `${prefix}A1`, `${prefix}-1`, prefix][op.which]!);
        } else if (op.kind === 'other') add(`order-${op.n}`);
        else if (op.kind === 'put' && ids.length > 0) {
          const id = ids[op.pick % ids.length]!;
          const r = rec(id, 99);
          keys.set(r, index.set(id, r));
          model.set(id, r);
        } else if (op.kind === 'del' && ids.length > 0) {
          const id = ids[op.pick % ids.length]!;
          assert.equal(index.delete(id), true);
          model.delete(id);
          assert.equal(index.delete(id), false);
        } else if (op.kind === 'delAt' && ids.length > 0) {
          const id = ids[op.pick % ids.length]!;
          const r = model.get(id)!;
          // Deletes this record, wherever it is now, and nothing else (the checks below see any other entry gone).
          assert.equal(index.deleteAt(keys.get(r) ?? op.guess, r), true, `deleteAt ${id}`);
          model.delete(id);
          assert.equal(index.get(id), undefined);
        } else if (op.kind === 'delMany') {
          // Most of the oldest go (jobs that ran and left retention), leaving survivors.
          for (const id of ids.slice(0, op.count)) if (!id.endsWith('7')) {
            index.delete(id);
            model.delete(id);
          }
        } else if (op.kind === 'prefix') {
          prefix = prefix === P ? Q : P;
          counter = 0;
          index.expect(prefix);
        }
        assert.equal(index.size, model.size);
        for (const id of probe) {
          assert.equal(index.get(id), model.get(id), `get ${id}`);
          assert.equal(index.has(id), model.has(id));
        }
      }
      assert.deepEqual(new Set(index.values()), new Set(model.values()));
      // toArray is values() as an array (a snapshot's view of the state), order included.
      assert.deepEqual(index.toArray(), [...index.values()]);
      assert.deepEqual(new Map(index), model);
      index.clear();
      assert.equal(index.size, 0);
      assert.equal([...index.values()].length, 0);
      for (const id of probe) assert.equal(index.get(id), undefined);
    }),
    { numRuns: 60 },
  );
});

test('IdIndex drops the holes of finished generated ids and keeps the long-lived ones findable', () => {
  const index = new IdIndex();
  index.expect(P);
  const ids = Array.from({ length: 20_000 }, (_, i) => P + i.toString(36));
  for (const id of ids) assert.equal(index.add(rec(id)), true);
  // Every id but those ending in 7 leaves (ran and left retention): the array is compacted on the way.
  for (const id of ids) if (!id.endsWith('7')) assert.equal(index.delete(id), true);
  const kept = ids.filter((id) => id.endsWith('7'));
  assert.equal(index.size, kept.length);
  for (const id of ids) assert.equal(index.get(id)?.id, id.endsWith('7') ? id : undefined);
  assert.deepEqual([...index.values()].map((r) => r.id).sort(), kept.sort());
  // New ids still go on after the compacted front.
  assert.equal(index.add(rec(P + (20_000).toString(36))), true);
  assert.equal(index.add(rec(kept[0]!)), false);
});

test('a scheduler on a local store finds its generated ids (get, cancel, stats, firing, retention) beside a given one', async () => {
  const clock = new VirtualClock(0);
  const store = new MemoryStore();
  const s = new Scheduler<{ a: { n: number } }>({ store, clock });
  s.register('a', () => undefined);
  await s.start();
  const ids: string[] = [];
  for (let i = 0; i < 3000; i++) ids.push((await s.scheduleIn('a', 1000 + i, { n: i })).id);
  const custom = await s.scheduleIn('a', 10, { n: -1 }, { id: 'mine' });
  const state = (store as unknown as { state: { byId: IdIndex } }).state;
  assert.equal(state.byId.size, 3001);
  // The Map's entries come first: it holds the one caller-given id, the array the rest.
  assert.deepEqual([...state.byId.values()].slice(0, 2).map((r) => r.id), ['mine', ids[0]]);
  assert.equal((await s.get(ids[1234]!))?.payload.n, 1234);
  assert.equal(await s.cancel(ids[5]!), true);
  assert.equal((await s.get(ids[5]!))?.state, 'cancelled');
  assert.equal(s.stats().scheduled, 3000);
  assert.equal((await s.get(custom.id))?.state, 'scheduled');
  await clock.runAll();
  assert.equal((await s.get(ids[2999]!))?.state, 'completed');
  // Retention (keepCompleted 1000) dropped the oldest finished, by id.
  assert.equal(await s.get(ids[5]!), undefined);
  assert.equal(await s.get(custom.id), undefined);
  assert.equal(s.stats().completed + s.stats().cancelled, 1000);
  await s.stop();
  assert.ok(store instanceof LocalStore);
});

test('IdIndex keeps uniformly thinned ids in its array (no move to the Map) and compacts a sparse front', () => {
  const index = new IdIndex();
  index.expect(P);
  const ids = Array.from({ length: 20_000 }, (_, i) => P + i.toString(36));
  const live = new Set(ids);
  const drop = (i: number): void => {
    assert.equal(index.delete(ids[i]!), true);
    live.delete(ids[i]!);
  };
  const check = (): void => {
    assert.equal(index.size, live.size);
    for (const id of ids) assert.equal(index.get(id)?.id, live.has(id) ? id : undefined);
  };
  for (const id of ids) index.add(rec(id));
  // Timed jobs finish in an order unrelated to their ids: three in four leave, spread over the array.
  for (let i = 0; i < ids.length; i += 4) drop(i);
  for (let i = 2; i < ids.length; i += 4) drop(i);
  for (let i = 1; i < ids.length; i += 8) drop(i);
  // A quarter live, spread evenly: compacted (leading holes) but no entry moved to the Map.
  assert.equal(index.layout.mapped, 0);
  assert.ok(index.layout.slots > 19_000, `slots ${index.layout.slots}`);
  check();
  // The older half thins to an eighth: its live entries move to the Map and the array drops it.
  for (let i = 3; i < 12_000; i += 4) drop(i);
  assert.ok(index.layout.mapped > 0);
  assert.ok(index.layout.slots <= 11_000, `slots ${index.layout.slots}`);
  check();
  // New ids still go on after the compacted front.
  assert.equal(index.add(rec(P + (20_000).toString(36))), true);
  assert.equal(index.add(rec([...live][0]!)), false);
});
