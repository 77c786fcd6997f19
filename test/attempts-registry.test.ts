/**
 * The running-attempt registry (AttemptRegistry in
 * scheduler/attempt-registry.ts, which Attempts extends; an
 * IdTable: scheduler/id-table.ts says why not a Map) holds exactly the
 * attempts running: ended ones leave it, running ones stay findable, and
 * cancel, stats and stop see only live ones. The table itself is checked
 * against a Map under random sets and deletes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { MemoryStore } from '../src/store/memory.js';
import { VirtualClock } from '../src/clock.js';
import { IdTable } from '../src/scheduler/id-table.js';
import fc from 'fast-check';

interface Registry {
  dispatcher: { attempts: { attempts: IdTable<unknown>; running: number } };
}

test('ended attempts do not pile up in the registry; running ones stay findable', async () => {
  const clock = new VirtualClock(0);
  const s = new Scheduler<{ quick: null; slow: null }>({ store: new MemoryStore(), clock, concurrency: 50 });
  const registry = (s as unknown as Registry).dispatcher.attempts;
  let quick = 0;
  s.register('quick', () => {
    quick++;
  });
  const release: (() => void)[] = [];
  let aborted = 0;
  s.register('slow', (job) => new Promise<void>((resolve) => {
    release.push(resolve);
    job.signal.addEventListener('abort', () => aborted++);
  }), { concurrency: 5 });
  await s.start();
  const slow = [];
  for (let i = 0; i < 5; i++) slow.push((await s.scheduleIn('slow', 1, null)).id);
  for (let i = 0; i < 5000; i++) await s.scheduleIn('quick', 2 + (i % 100), null);
  let most = 0;
  for (let t = 0; t < 110; t++) {
    await clock.advance(1);
    most = Math.max(most, registry.attempts.size);
  }
  assert.equal(quick, 5000);
  // Five slow attempts run throughout; 5000 quick ones came and went.
  assert.equal(registry.running, 5);
  assert.ok(most <= 50, `registry held ${most} entries`);
  assert.equal(registry.attempts.size, 5);
  assert.equal(s.stats().running, 5);
  // A running attempt is still found by id: cancel aborts it.
  assert.equal(await s.cancel(slow[0]!), true);
  assert.equal(aborted, 1);
  assert.equal(registry.running, 4);
  for (const resolve of release) resolve();
  await clock.advance(1);
  assert.equal(registry.running, 0);
  await s.stop();
});

test('IdTable answers like a Map under random sets and deletes (collisions, wrap-around, growth)', () => {
  // Few distinct ids in a small table: long probe runs, shifts across the end of the arrays, growth and shrinkage of runs.
  const idArb = fc.oneof(fc.integer({ min: 0, max: 300 }).map((n) => `job-${n}`), fc.string({ maxLength: 4 }));
  const opArb = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), id: idArb, value: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: idArb, only: fc.option(fc.nat(), { nil: undefined }) }) },
  );
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 600 }), (ops) => {
      const table = new IdTable<number>();
      const model = new Map<string, number>();
      const seen = new Set<string>();
      for (const op of ops) {
        seen.add(op.id);
        if (op.kind === 'set') {
          assert.equal(table.set(op.id, op.value), model.get(op.id));
          model.set(op.id, op.value);
        } else {
          const removes = model.has(op.id) && (op.only === undefined || model.get(op.id) === op.only);
          assert.equal(table.delete(op.id, op.only), removes);
          if (removes) model.delete(op.id);
        }
        assert.equal(table.size, model.size);
      }
      for (const id of seen) assert.equal(table.get(id), model.get(id), id);
      assert.deepEqual([...table.values()].sort((a, b) => a - b), [...model.values()].sort((a, b) => a - b));
    }),
    { numRuns: 200 },
  );
});
