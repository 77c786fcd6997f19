/**
 * SlotHeap (src/store/slot-heap.ts): slots ordered by (runAt, seq) columns
 * it does not own, against a sorted list over random pushes, pops and
 * removes, with its own check() after every step.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ROW, SlotHeap } from '../src/store/slot-heap.js';
import { prng } from './helpers.js';

/** Rows for `runAt` and `seq` as the store lays them out (runAt at 0, seq at 2 of each row). */
function rowsOf(runAt: readonly number[], seq: readonly number[]): Float64Array {
  const rows = new Float64Array(runAt.length * ROW);
  runAt.forEach((r, i) => {
    rows[i * ROW] = r;
    rows[i * ROW + 2] = seq[i] as number;
  });
  return rows;
}

describe('SlotHeap', () => {
  test('pops slots in (runAt, seq) order and removes any slot, against a sorted list', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = prng(seed);
      let rows = new Float64Array(8 * ROW);
      const heap = new SlotHeap(rows);
      const inHeap = new Set<number>();
      let nextSeq = 1;
      let slots = 0;
      const order = (a: number, b: number): number => (rows[a * ROW] as number) - (rows[b * ROW] as number) || (rows[a * ROW + 2] as number) - (rows[b * ROW + 2] as number);
      for (let step = 0; step < 4000; step++) {
        const r = rnd();
        if (r < 0.5 || inHeap.size === 0) {
          const slot = slots++;
          if (slot * ROW === rows.length) {
            // The owner grows its rows and tells the heap (as PackedJobs does).
            const grown = new Float64Array(rows.length * 2);
            grown.set(rows);
            rows = grown;
            heap.rows(rows);
          }
          rows[slot * ROW] = Math.floor(rnd() * 20); // few keys: ties decided by seq
          rows[slot * ROW + 2] = nextSeq++;
          heap.push(slot);
          inHeap.add(slot);
        } else if (r < 0.8) {
          const want = [...inHeap].sort(order)[0];
          assert.equal(heap.peek(), want);
          assert.equal(heap.pop(), want);
          inHeap.delete(want as number);
        } else {
          const list = [...inHeap];
          const victim = list[Math.floor(rnd() * list.length)] as number;
          assert.equal(heap.remove(victim), true);
          assert.equal(heap.remove(victim), false, 'a slot removed twice');
          inHeap.delete(victim);
        }
        assert.equal(heap.size, inHeap.size);
        for (const s of inHeap) assert.equal(heap.has(s), true);
        heap.check();
      }
      const rest: number[] = [];
      for (let s = heap.pop(); s >= 0; s = heap.pop()) rest.push(s);
      assert.deepEqual(rest, [...inHeap].sort(order));
      assert.equal(heap.peek(), -1);
    }
  });

  test('a slot already in the heap is refused; clear empties it', () => {
    const heap = new SlotHeap(rowsOf([5, 1, 3], [1, 2, 3]));
    heap.push(0);
    heap.push(1);
    assert.throws(() => heap.push(0), /already in the heap/);
    heap.clear();
    assert.equal(heap.size, 0);
    assert.equal(heap.has(0), false);
    heap.push(2);
    heap.push(0);
    assert.equal(heap.pop(), 2);
  });

  test('check() reports a heap whose order was broken behind its back', () => {
    const rows = rowsOf([1, 2, 3], [1, 2, 3]);
    const heap = new SlotHeap(rows);
    heap.push(0);
    heap.push(1);
    heap.push(2);
    heap.check();
    rows[2 * ROW] = 0; // a row changed while its slot is in the heap
    assert.throws(() => heap.check(), /comes before its parent/);
  });
});
