// PlacedHeap (src/store/placed-heap.ts): a binary heap whose entries know their index. Checked
// against a sorted list under random pushes, pops, removals and replacements from anywhere in it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PlacedHeap } from '../src/store/placed-heap.js';

interface Entry {
  key: number;
  n: number;
  at: number;
}

type Op = { kind: 'push'; key: number } | { kind: 'pop' } | { kind: 'remove'; pick: number } | { kind: 'replace'; pick: number; key: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('push' as const), key: fc.integer({ min: 0, max: 1000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), key: fc.integer({ min: 0, max: 9 }) }) },
);

// Key, then insertion: no two entries tie.
const before = (a: Entry, b: Entry): boolean => a.key < b.key || (a.key === b.key && a.n < b.n);

test('PlacedHeap gives its entries in order and takes any of them out or moves it, keeping every index true', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 50, maxLength: 300 }), (ops) => {
      const heap = new PlacedHeap<Entry>(before);
      let model: Entry[] = [];
      let n = 0;
      for (const op of ops) {
        if (op.kind === 'push') {
          const e = { key: op.key, n: n++, at: -1 };
          heap.push(e);
          model.push(e);
        } else if (op.kind === 'pop') {
          model.sort((a, b) => (before(a, b) ? -1 : 1));
          assert.equal(heap.pop(), model.shift());
        } else if (model.length > 0) {
          const old = model[op.pick % model.length] as Entry;
          if (op.kind === 'remove') {
            heap.remove(old);
            model = model.filter((e) => e !== old);
          } else {
            const next = { key: op.key, n: n++, at: -1 };
            heap.replace(old, next);
            model = model.map((e) => (e === old ? next : e));
          }
        }
        heap.check('PlacedHeap');
        assert.equal(heap.size, model.length);
        model.sort((a, b) => (before(a, b) ? -1 : 1));
        assert.equal(heap.peek(), model[0]);
        for (const e of model) assert.equal(heap.items[e.at], e);
      }
    }),
    { numRuns: 300 },
  );
});
