// QuaternaryHeap handles and lazy cancel: push returns a generation-checked
// handle; removeHandle leaves a tombstone that pop/peek sweep and a
// compaction drops; stale handles are refused. Checked against a sorted model.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../src/errors.js';
import { type HeapHandle, QuaternaryHeap } from '../src/heap.js';
import { BinaryHeap } from '../bench/heap-binary.js';

interface Entry {
  name: number;
  key: number;
  seq: number;
  handle: HeapHandle;
}

type Op =
  | { kind: 'push'; key: number }
  | { kind: 'pop' }
  | { kind: 'cancel'; pick: number }
  | { kind: 'update'; pick: number; key: number }
  | { kind: 'stale'; pick: number }
  | { kind: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('push' as const), key: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), key: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('stale' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
);

/** The handle API both heap variants share. */
interface HandleHeap {
  readonly size: number;
  push(item: number, key: number): HeapHandle;
  pop(): number | undefined;
  peek(): number | undefined;
  peekKey(): number | undefined;
  removeHandle(handle: HeapHandle): boolean;
  itemOf(handle: HeapHandle): number | undefined;
  entries(): IterableIterator<[number, HeapHandle]>;
  updateHandle(handle: HeapHandle, key: number): HeapHandle | undefined;
  clear(): void;
  check(): void;
  [Symbol.iterator](): IterableIterator<number>;
}

function run(heap: HandleHeap, ops: readonly Op[]): void {
  let live: Entry[] = [];
  const spent: HeapHandle[] = [];
  let seq = 0;
  let name = 0;
  const sorted = () => [...live].sort((a, b) => a.key - b.key || a.seq - b.seq);
  for (const op of ops) {
    switch (op.kind) {
      case 'push': {
        const n = name++;
        live.push({ name: n, key: op.key, seq: seq++, handle: heap.push(n, op.key) });
        break;
      }
      case 'pop': {
        const first = sorted()[0];
        assert.equal(heap.pop(), first?.name);
        if (first) {
          live = live.filter((e) => e !== first);
          spent.push(first.handle);
        }
        break;
      }
      case 'cancel': {
        const e = live[op.pick % Math.max(1, live.length)];
        if (!e) break;
        assert.equal(heap.removeHandle(e.handle), true);
        assert.equal(heap.removeHandle(e.handle), false, 'a handle is spent once its entry is cancelled');
        live = live.filter((x) => x !== e);
        spent.push(e.handle);
        break;
      }
      case 'update': {
        const e = live[op.pick % Math.max(1, live.length)];
        if (!e) break;
        const next = heap.updateHandle(e.handle, op.key);
        assert.notEqual(next, undefined);
        spent.push(e.handle);
        e.handle = next!;
        e.key = op.key;
        e.seq = seq++;
        break;
      }
      case 'stale': {
        // A spent handle names nothing, even after its index was reused by a later push.
        const h = spent[op.pick % Math.max(1, spent.length)];
        if (h === undefined) break;
        const before = heap.size;
        assert.equal(heap.removeHandle(h), false);
        assert.equal(heap.itemOf(h), undefined, 'a spent handle names no item');
        assert.equal(heap.updateHandle(h, 1), undefined);
        assert.equal(heap.size, before);
        break;
      }
      case 'clear':
        heap.clear();
        for (const e of live) spent.push(e.handle);
        live = [];
        seq = 0;
        break;
    }
    heap.check();
    assert.equal(heap.size, live.length);
    assert.equal(heap.peekKey(), sorted()[0]?.key);
    assert.deepEqual(new Set(heap), new Set(live.map((e) => e.name)));
    for (const e of live) assert.equal(heap.itemOf(e.handle), e.name, 'itemOf names the live entry');
    assert.deepEqual(new Map(heap.entries()), new Map(live.map((e) => [e.name, e.handle])), 'entries() is every live item with its handle');
  }
  assert.deepEqual(
    Array.from({ length: live.length }, () => heap.pop()),
    sorted().map((e) => e.name),
  );
  assert.equal(heap.size, 0);
  heap.check();
}

for (const [label, make] of [
  ['QuaternaryHeap', (cap: number) => new QuaternaryHeap<number>({ initialCapacity: cap })],
  ['BinaryHeap (bench/heap-binary.ts)', (cap: number) => new BinaryHeap<number>({ initialCapacity: cap })],
] as const) {
  test(`${label}: handles, lazy cancel and compaction match a sorted model (fast-check)`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), fc.integer({ min: 0, max: 8 }), (ops, cap) => run(make(cap), ops)),
      { numRuns: 200 },
    );
  });
}

test('cancelling most of a large heap compacts it: pops stay in order and the heap reuses its room', () => {
  const heap = new QuaternaryHeap<number>({ initialCapacity: 4096 });
  const handles: HeapHandle[] = [];
  for (let i = 0; i < 4096; i++) handles.push(heap.push(i, i % 97));
  // Cancel 3 of every 4: tombstones pass the live entries and a compaction runs.
  for (let i = 0; i < 4096; i++) if (i % 4 !== 0) assert.equal(heap.removeHandle(handles[i]!), true);
  heap.check();
  assert.equal(heap.size, 1024);
  // Refill to the old size: no growth is needed once the tombstones are gone.
  for (let i = 4096; i < 4096 + 3072; i++) heap.push(i, i % 97);
  heap.check();
  const out: number[] = [];
  let last = -Infinity;
  while (heap.size > 0) {
    const key = heap.peekKey()!;
    assert.ok(key >= last);
    last = key;
    out.push(heap.pop()!);
  }
  assert.equal(out.length, 4096);
});

test('a heap without options.id refuses lookups by id with a ValidationError, and undefined items', () => {
  const heap = new QuaternaryHeap<{ id: string }>();
  heap.push({ id: 'a' }, 1);
  assert.throws(() => heap.has('a'), ValidationError);
  assert.throws(() => heap.remove('a'), ValidationError);
  assert.throws(() => heap.update('a', 2), ValidationError);
  assert.throws(() => heap.push(undefined as unknown as { id: string }, 1), /Expected `item` to be defined/);
  assert.throws(() => QuaternaryHeap.from([[undefined as unknown as { id: string }, 1]]), ValidationError);
  assert.equal(heap.size, 1);
  heap.check();
});

test('handles of another shape are refused, not misread', () => {
  const heap = new QuaternaryHeap<string>();
  const h = heap.push('x', 1);
  for (const bad of [-1, 0.5, NaN, Infinity, 2 ** 60, '0', null, undefined, h + 1]) {
    assert.equal(heap.removeHandle(bad as number), false, String(bad));
  }
  assert.equal(heap.size, 1);
  assert.equal(heap.removeHandle(h), true);
  assert.equal(heap.size, 0);
});

test('update by id keeps the id lookup pointing at the re-keyed entry', () => {
  const heap = new QuaternaryHeap<{ id: string }>({ id: (j) => j.id });
  for (const id of ['a', 'b', 'c']) heap.push({ id }, 5);
  assert.equal(heap.update('a', 5), true);
  assert.equal(heap.keyOf('a'), 5);
  assert.equal(heap.update('b', 1), true);
  assert.equal(heap.keyOf('b'), 1);
  heap.check();
  assert.deepEqual([heap.pop()?.id, heap.pop()?.id, heap.pop()?.id], ['b', 'c', 'a']);
});
