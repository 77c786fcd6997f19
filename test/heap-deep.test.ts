// QuaternaryHeap past its top 8 levels (21,845 slots): there #siftDown picks
// the least child with branches instead of index arithmetic, a separate code
// path with its own FIFO tie-break. Equal keys must still pop in insertion
// order, and every lookup of a value that is no id answers "absent".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { QuaternaryHeap } from '../src/heap.js';

/** A fixed scramble of i into `keys` keys (a multiplicative hash): ties everywhere, in no order. */
const scrambled = (i: number, keys: number): number => (Math.imul(i + 1, 0x9e3779b1) >>> 0) % keys;

test('50k entries over 4 keys pop as a stable sort (FIFO among equal keys in the deep levels too)', () => {
  const N = 50_000;
  const heap = new QuaternaryHeap<{ n: number; key: number }>();
  const items = Array.from({ length: N }, (_, n) => ({ n, key: scrambled(n, 4) }));
  for (const item of items) heap.push(item, item.key);
  heap.check();
  // Interleave pops and pushes so entries sift down through the deep levels
  // many times with ties on every side.
  const popped: { n: number; key: number }[] = [];
  for (let i = 0; i < N / 2; i++) popped.push(heap.pop()!);
  heap.check();
  const more = Array.from({ length: N / 2 }, (_, i) => ({ n: N + i, key: 3 + scrambled(N + i, 2) }));
  for (const item of more) heap.push(item, item.key);
  while (heap.size > 0) popped.push(heap.pop()!);
  // Oracle: a stable sort of the first half's pushes, then (all keys >= 3
  // popped after the first N/2) the rest of them merged with the later pushes.
  const firstHalf = [...items].sort((a, b) => a.key - b.key || a.n - b.n).slice(0, N / 2);
  const rest = [...items].sort((a, b) => a.key - b.key || a.n - b.n).slice(N / 2);
  const tail = [...rest, ...more].sort((a, b) => a.key - b.key || a.n - b.n);
  const want = [...firstHalf, ...tail].map((x) => x.n);
  const got = popped.map((x) => x.n);
  const at = got.findIndex((n, i) => n !== want[i]);
  assert.equal(at, -1, `first difference at pop ${at}: got ${got[at]}, want ${want[at]}`);
  assert.equal(got.length, N + N / 2);
});

test('has, get and keyOf of a value that is no id: absent, never an error', () => {
  const heap = new QuaternaryHeap<{ id: string }>({ id: (x) => x.id });
  heap.push({ id: 'NaN' }, 1);
  heap.push({ id: '[object Object]' }, 2);
  for (const bad of [Number.NaN, {}, undefined, null, Symbol('s')]) {
    assert.equal(heap.has(bad as never), false);
    assert.equal(heap.get(bad as never), undefined);
    assert.equal(heap.keyOf(bad as never), undefined);
  }
  assert.equal(heap.keyOf('NaN'), 1);
});
