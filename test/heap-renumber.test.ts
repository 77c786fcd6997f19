// QuaternaryHeap sequence numbers: each slot's word packs the entry's
// sequence number (FIFO among equal keys) above its handle index, so they
// must stay below 2^27; reaching the limit renumbers the entries in their old
// order. The limit is lowered here so renumbering runs every few dozen
// pushes (it must stay above the heap's slot count, as 2^27 is above the
// capacity's 2^26), and the heap is checked against a sorted model (check()
// also fails when the next sequence number is past the limit, i.e. when
// renumbering never ran).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { type HeapHandle, QuaternaryHeap, setSequenceLimitForTests } from '../src/heap.js';
import { MAX_CAPACITY } from '../src/heap-ids.js';
import { sequenceLimit } from '../src/heap-sift.js';

/** Above any slot count reached here: at most 15 live entries, and fewer than 32 tombstones. */
const LIMIT = 64;
let previous = 0;
before(() => {
  previous = setSequenceLimitForTests(LIMIT);
});
after(() => {
  setSequenceLimitForTests(previous);
});

type Op = { kind: 'push'; key: number } | { kind: 'pop' } | { kind: 'cancel'; pick: number } | { kind: 'update'; pick: number; key: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('push' as const), key: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), key: fc.integer({ min: 0, max: 3 }) }) },
);

interface Entry {
  name: number;
  key: number;
  seq: number;
  handle: HeapHandle;
}

test('renumbering keeps heap order, FIFO among equal keys and every handle (fast-check, limit 64)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300 }), fc.integer({ min: 0, max: 9 }), (ops, initial) => {
      // A heap built by from() starts with sequence numbers 0..initial-1, maybe at the limit already.
      const seed = Array.from({ length: initial }, (_, i) => [i, i % 2] as const);
      const heap = QuaternaryHeap.from<number>(seed);
      let live: Entry[] = seed.map(([name, key], i) => ({ name, key, seq: i, handle: -1 }));
      const handles = new Map<number, HeapHandle>([...heap.entries()].map(([name, handle]) => [name, handle]));
      for (const e of live) e.handle = handles.get(e.name)!;
      let seq = initial;
      let name = initial;
      const sorted = () => [...live].sort((a, b) => a.key - b.key || a.seq - b.seq);
      for (const op of ops) {
        if (op.kind === 'push') {
          if (live.length >= 15) continue;
          const n = name++;
          live.push({ name: n, key: op.key, seq: seq++, handle: heap.push(n, op.key) });
        } else if (op.kind === 'pop') {
          const first = sorted()[0];
          assert.equal(heap.pop(), first?.name);
          live = live.filter((e) => e !== first);
        } else {
          const e = live[op.pick % Math.max(1, live.length)];
          if (!e) continue;
          if (op.kind === 'cancel') {
            assert.equal(heap.removeHandle(e.handle), true);
            live = live.filter((x) => x !== e);
          } else {
            e.handle = heap.updateHandle(e.handle, op.key)!;
            e.key = op.key;
            e.seq = seq++;
          }
        }
        heap.check();
        assert.equal(heap.size, live.length);
        for (const e of live) assert.equal(heap.itemOf(e.handle), e.name, 'a renumbering leaves every handle valid');
      }
      assert.deepEqual(
        Array.from({ length: live.length }, () => heap.pop()),
        sorted().map((e) => e.name),
      );
    }),
    { numRuns: 300 },
  );
});

test('a queue of one key stays FIFO through many renumberings', () => {
  const heap = new QuaternaryHeap<number>();
  for (let i = 0; i < 10; i++) heap.push(i, 7);
  for (let i = 0; i < 1000; i++) {
    assert.equal(heap.pop(), i);
    heap.push(i + 10, 7);
    heap.check();
  }
});

test('the real limit, 2^27, keeps the largest word a safe integer; the test hook clamps to [1, 2^27]', () => {
  // Asking for more than the real limit gets the real limit: nothing can raise it.
  const lowered = setSequenceLimitForTests(Infinity);
  try {
    assert.equal(lowered, LIMIT, 'the hook returns the limit it replaced');
    const limit = sequenceLimit();
    assert.equal(limit, 2 ** 27);
    // The largest word: the last sequence number below the limit, above the last handle index.
    // Past 2^53 two words would round to one, and FIFO order and handles with them.
    assert.ok(Number.isSafeInteger((limit - 1) * MAX_CAPACITY + (MAX_CAPACITY - 1)));
    assert.equal(setSequenceLimitForTests(0.5), limit);
    assert.equal(sequenceLimit(), 1, 'at least 1');
    setSequenceLimitForTests(2 ** 20 + 0.7);
    assert.equal(sequenceLimit(), 2 ** 20, 'whole numbers');
  } finally {
    setSequenceLimitForTests(lowered);
  }
  assert.equal(sequenceLimit(), LIMIT);
});
