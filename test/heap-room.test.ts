// QuaternaryHeap's room: a cancel leaves a tombstone, and the heap gets its
// room back by compacting (dropping every tombstone) instead of growing:
// - when a push finds it full and at least MIN_COMPACT (32) of its slots, and
//   a quarter of them, are tombstones;
// - on a cancel, and on a pop or peek, once tombstones (at least 32)
//   outnumber the live entries.
// Fewer than 32 tombstones never cause a compaction: a small heap sweeps them
// off the top as it pops.
//
// What shows it from outside: a handle packs the handle index of its entry
// (handle % MAX_CAPACITY, src/heap-ids.ts), and a push takes the first free
// index, so after a compaction the next push reuses a cancelled entry's index,
// and without one a full heap grows and the next index is its old capacity.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { type HeapHandle, QuaternaryHeap } from '../src/heap.js';
import { FAST_ARRAY_MAX } from '../src/heap-build.js';
import { MAX_CAPACITY } from '../src/heap-ids.js';

const indexOf = (handle: HeapHandle): number => handle % MAX_CAPACITY;

/** A heap of `n` entries (item i, key 1000 + i) in a heap of exactly `capacity` slots, and their handles. */
function filled(capacity: number, n: number): { heap: QuaternaryHeap<number>; handles: HeapHandle[] } {
  const heap = new QuaternaryHeap<number>({ initialCapacity: capacity });
  const handles: HeapHandle[] = [];
  for (let i = 0; i < n; i++) handles.push(heap.push(i, 1000 + i));
  assert.deepEqual(
    handles.map(indexOf),
    handles.map((_, i) => i),
    'a fresh heap hands out indexes in order',
  );
  return { heap, handles };
}

/** Cancels the `count` entries with the highest keys (never the top, so nothing is swept). */
function cancelLast(heap: QuaternaryHeap<number>, handles: HeapHandle[], count: number): Set<number> {
  const cancelled = new Set<number>();
  for (let i = handles.length - count; i < handles.length; i++) {
    assert.equal(heap.removeHandle(handles[i]!), true);
    cancelled.add(indexOf(handles[i]!));
  }
  return cancelled;
}

/** Pops everything left and checks it comes out in key order, as `expected`. */
function drain(heap: QuaternaryHeap<number>, expected: number[]): void {
  heap.check();
  const out: number[] = [];
  while (heap.size > 0) out.push(heap.pop()!);
  assert.deepEqual(out, expected);
}

test('a full heap whose slots are a quarter tombstones (32 or more) compacts instead of growing', () => {
  // 128 slots, 32 tombstones: exactly a quarter, exactly MIN_COMPACT.
  const { heap, handles } = filled(128, 128);
  const cancelled = cancelLast(heap, handles, 32);
  const next = heap.push(-1, 0);
  assert.ok(cancelled.has(indexOf(next)), `the push reused a cancelled entry's index, got index ${indexOf(next)}`);
  // Refilling to 128 entries needs no growth either.
  for (let i = 0; i < 31; i++) assert.ok(indexOf(heap.push(200 + i, 2000 + i)) < 128);
  drain(heap, [-1, ...Array.from({ length: 96 }, (_, i) => i), ...Array.from({ length: 31 }, (_, i) => 200 + i)]);
});

test('a full heap with fewer than 32 tombstones grows, even when they are most of it', () => {
  // 64 slots, 31 tombstones (and 33 live entries, so no cancel compacted them).
  const { heap, handles } = filled(64, 64);
  cancelLast(heap, handles, 31);
  assert.equal(indexOf(heap.push(-1, 0)), 64, 'the heap doubled: the next index is its old capacity');
  drain(heap, [-1, ...Array.from({ length: 33 }, (_, i) => i)]);
});

test('a full heap whose tombstones are fewer than a quarter of its slots grows', () => {
  // 256 slots, 63 tombstones: more than 32, less than a quarter.
  const { heap, handles } = filled(256, 256);
  cancelLast(heap, handles, 63);
  assert.equal(indexOf(heap.push(-1, 0)), 256);
  drain(heap, [-1, ...Array.from({ length: 193 }, (_, i) => i)]);
});

test('a cancel that leaves tombstones (32 or more) outnumbering live entries compacts at once', () => {
  // 63 entries: the 32nd cancel leaves 32 tombstones against 31 live entries.
  const { heap, handles } = filled(128, 63);
  const cancelled = cancelLast(heap, handles, 32);
  const next = heap.push(-1, 0);
  assert.ok(cancelled.has(indexOf(next)), `the push reused a cancelled entry's index, got index ${indexOf(next)}`);
  drain(heap, [-1, ...Array.from({ length: 31 }, (_, i) => i)]);
});

test('no compaction on cancel while tombstones are fewer than 32, or no more than the live entries', () => {
  // 61 entries, 31 cancelled: more tombstones than live ones, but fewer than 32.
  const few = filled(128, 61);
  cancelLast(few.heap, few.handles, 31);
  assert.equal(indexOf(few.heap.push(-1, 0)), 61, 'the next free index is the first never used');
  drain(few.heap, [-1, ...Array.from({ length: 30 }, (_, i) => i)]);
  // 100 entries, 50 cancelled: as many tombstones as live entries.
  const even = filled(128, 100);
  cancelLast(even.heap, even.handles, 50);
  assert.equal(indexOf(even.heap.push(-1, 0)), 100);
  drain(even.heap, [-1, ...Array.from({ length: 50 }, (_, i) => i)]);
});

test('pops that leave tombstones (32 or more) outnumbering live entries compact', () => {
  // 80 entries, the 32 highest cancelled (32 tombstones, 48 live): no compaction yet.
  const { heap, handles } = filled(128, 80);
  const cancelled = cancelLast(heap, handles, 32);
  // Popping the lowest 17 leaves 31 live entries: the peek that finds 32 tombstones against 31 compacts.
  for (let i = 0; i < 17; i++) assert.equal(heap.pop(), i);
  assert.equal(heap.peekKey(), 1017);
  const next = heap.push(-1, 0);
  assert.ok(cancelled.has(indexOf(next)), `the push reused a cancelled entry's index, got index ${indexOf(next)}`);
  drain(heap, [-1, ...Array.from({ length: 31 }, (_, i) => 17 + i)]);
});

test('cancelling the top entry frees its room at once: the next push reuses its index', () => {
  const { heap, handles } = filled(128, 10);
  assert.equal(heap.removeHandle(handles[0]!), true);
  assert.equal(indexOf(heap.push(-1, 5000)), 0, 'the cancelled top was swept, its index is the first free one');
  drain(heap, [...Array.from({ length: 9 }, (_, i) => 1 + i), -1]);
});

test('pops do not compact while tombstones are fewer than 32, or no more than the live entries', () => {
  // A pop puts its index first among the free ones: the push after it reuses it. While the
  // tombstones stay in the heap the push after that takes a fresh index; after a compaction it
  // would take a cancelled one.
  const few = filled(128, 10);
  const fewCancelled = cancelLast(few.heap, few.handles, 6); // 6 tombstones against 4 live entries
  assert.equal(few.heap.pop(), 0);
  assert.equal(indexOf(few.heap.push(-1, 0)), 0);
  const fewNext = indexOf(few.heap.push(-2, 0));
  assert.ok(!fewCancelled.has(fewNext) && fewNext === 10, `got index ${fewNext}`);
  drain(few.heap, [-1, -2, 1, 2, 3]);
  // 100 entries, 40 cancelled, 20 popped: 40 tombstones against 40 live entries.
  const even = filled(128, 100);
  cancelLast(even.heap, even.handles, 40);
  for (let i = 0; i < 20; i++) assert.equal(even.heap.pop(), i);
  assert.equal(even.heap.peekKey(), 1020);
  // Popped indexes are reused last popped first; after a compaction a cancelled one would come first.
  assert.equal(indexOf(even.heap.push(-1, 0)), 19);
  assert.equal(indexOf(even.heap.push(-2, 0)), 18);
  drain(even.heap, [-1, -2, ...Array.from({ length: 40 }, (_, i) => 20 + i)]);
});

test('clear() spends every handle for good: an index reused after it never answers to an older handle', () => {
  const heap = new QuaternaryHeap<string>({ initialCapacity: 4 });
  const first = heap.push('a', 1);
  assert.equal(heap.pop(), 'a');
  const second = heap.push('b', 1);
  assert.equal(indexOf(second), indexOf(first), 'the popped index was reused');
  heap.clear();
  const third = heap.push('c', 1);
  assert.equal(indexOf(third), indexOf(first));
  for (const old of [first, second]) {
    assert.equal(heap.itemOf(old), undefined);
    assert.equal(heap.removeHandle(old), false);
  }
  assert.equal(heap.itemOf(third), 'c');
  assert.equal(heap.size, 1);
});

test('FAST_ARRAY_MAX is where V8 stops making `new Array(n)` a plain array (the heap grows its cells in place past it)', () => {
  // Elements kinds are visible only to V8's natives syntax, so a child process checks them.
  const code = `const n = ${FAST_ARRAY_MAX}; console.log(JSON.stringify([%HasDictionaryElements(new Array(n)), %HasDictionaryElements(new Array(n + 1))]));`;
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '-e', code], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(out), [false, true], 'a plain array at FAST_ARRAY_MAX elements, a dictionary past it');
});
