/**
 * The simplified heaps of bench/heap-ladder.ts must be heaps: a figure
 * measured on a heap that pops out of order would say nothing. Each pops
 * what it was given in key order; the FIFO ones, equal keys in push order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fifo2, Fifo4, TypedFifoQueue, TypedQueue } from '../bench/heap-ladder.js';
import type { Item } from '../bench/heap.js';

interface LadderHeap {
  push(item: Item, key: number): void;
  pop(): Item | undefined;
  peekKey(): number | undefined;
}

const heaps: [string, () => LadderHeap, boolean][] = [
  ['TypedQueue', () => new TypedQueue(), false],
  ['TypedFifoQueue', () => new TypedFifoQueue(), true],
  ['Fifo2', () => new Fifo2(), true],
  ['Fifo4', () => new Fifo4(), true],
];

/** Seeded, so a failure replays. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

for (const [name, make, fifo] of heaps) {
  test(`bench/heap-ladder.ts ${name}: pops in key order${fifo ? ', equal keys first in first out' : ''}, through growth and a hold`, () => {
    const rnd = lcg(7);
    const h = make();
    // Items are numbered in push order; keys with many ties (0..49).
    const pushed: { item: Item; key: number; order: number }[] = [];
    let order = 0;
    const push = (key: number): void => {
      const item = { id: `i${order}`, key };
      pushed.push({ item, key, order: order++ });
      h.push(item, key);
    };
    for (let i = 0; i < 500; i++) push(Math.floor(rnd() * 50)); // past the initial 64 slots
    // A hold phase: pop one, push one with a key not below it, as bench/heap.ts does.
    const popped: Item[] = [];
    for (let i = 0; i < 300; i++) {
      const key = h.peekKey()!;
      const item = h.pop()!;
      assert.equal(item.key, key, 'peekKey is the key of what pop returns');
      popped.push(item);
      push(key + Math.floor(rnd() * 20));
    }
    for (let item = h.pop(); item !== undefined; item = h.pop()) popped.push(item);
    assert.equal(h.peekKey(), undefined);
    assert.equal(popped.length, pushed.length);
    // Keys never go down, and every item pushed comes out once.
    for (let i = 1; i < popped.length; i++) assert.ok(popped[i]!.key >= popped[i - 1]!.key, `pop ${i}: key ${popped[i]!.key} after ${popped[i - 1]!.key}`);
    assert.equal(new Set(popped).size, pushed.length);
    if (fifo) {
      const orderOf = new Map(pushed.map((p) => [p.item, p.order]));
      for (let i = 1; i < popped.length; i++) {
        if (popped[i]!.key === popped[i - 1]!.key) assert.ok(orderOf.get(popped[i]!)! > orderOf.get(popped[i - 1]!)!, `pop ${i}: equal keys out of push order`);
      }
    }
  });
}
