// The heap's id table (src/heap-ids.ts) under collisions it cannot avoid:
// ids built to share a home bucket, to share a bucket and a tag (so only a
// comparison of the ids tells them apart), and clusters that wrap past the
// table's last bucket or run past the 15 buckets a word's distance field
// can count. Random ids almost never do this (load <= 1/2, a good hash), so
// the other heap tests never reach the probe's tag and distance checks, the
// saturated distance, or the backward shift across a wrap.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hashId } from '../src/heap-ids.js';
import { QuaternaryHeap } from '../src/heap.js';
import { prng } from './helpers.js';

interface Item {
  id: number;
  tag: string;
}

/** The int32 whose hashId is `hash`: hashId's finalizer (murmur3's fmix32) run backwards. */
function idWithHash(hash: number): number {
  let h = hash | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7ed1b41d); // inverse of 0xc2b2ae35 mod 2^32
  h ^= (h >>> 13) ^ (h >>> 26);
  h = Math.imul(h, 0xa5cb9243); // inverse of 0x85ebca6b mod 2^32
  h ^= h >>> 16;
  return h | 0;
}

/**
 * Ids for a heap of capacity <= 64 (a table of 128 buckets: 7 bucket bits,
 * then the 4 bits a word keeps its distance in, then the tag):
 * - `sameTag`: 16 ids with home bucket 125 and one tag, differing only in
 *   the 4 bits between (a probe must compare the ids themselves), so their
 *   cluster wraps past bucket 127 to 0, 1, ...;
 * - `sameHome`: 24 ids with home bucket 125 and distinct tags: with the 16
 *   above, a cluster of 40, most past distance 15;
 * - `near`: 12 ids with home buckets 0..3 (inside the wrapped cluster).
 */
function collidingIds(): { sameTag: number[]; sameHome: number[]; near: number[] } {
  const home = 125;
  const sameTag = Array.from({ length: 16 }, (_, mid) => idWithHash(home | (mid << 7) | (0x5a5 << 11)));
  const sameHome = Array.from({ length: 24 }, (_, i) => idWithHash(home | ((i * 7) & 15) << 7 | ((0x100 + i * 37) << 11)));
  const near = Array.from({ length: 12 }, (_, i) => idWithHash((i % 4) | ((i * 5) & 15) << 7 | ((0x300 + i) << 11)));
  return { sameTag, sameHome, near };
}

describe('the heap id table under collisions', () => {
  test('the crafted ids hash where the test needs them (the rest of this file rests on it)', () => {
    const { sameTag, sameHome, near } = collidingIds();
    const all = [...sameTag, ...sameHome, ...near];
    assert.equal(new Set(all).size, all.length, 'distinct ids');
    for (const id of [...sameTag, ...sameHome]) assert.equal(hashId(id) & 127, 125);
    const tags = new Set(sameTag.map((id) => hashId(id) >>> 11));
    assert.equal(tags.size, 1, 'one tag');
    assert.equal(new Set(sameHome.map((id) => hashId(id) >>> 11)).size, 24, 'distinct tags');
    near.forEach((id, i) => assert.equal(hashId(id) & 127, i % 4));
    for (const h of [0, 1, -1, 0x7fffffff, -0x80000000, 123456789]) assert.equal(hashId(idWithHash(h)), h | 0);
  });

  test('push, find, update and remove in every order keep each id on its own entry (against a model)', () => {
    const { sameTag, sameHome, near } = collidingIds();
    const pool = [...sameTag, ...sameHome, ...near];
    for (let seed = 1; seed <= 40; seed++) {
      const random = prng(seed);
      // Capacity 64 (the pool has 52 ids), a table of 128 buckets, until tombstones fill the
      // heap: it grows (bit 7 then splits the cluster) or compacts, and the test goes on.
      const heap = new QuaternaryHeap<Item>({ id: (item) => item.id, initialCapacity: 64 });
      /** id -> [key, order pushed]: pops must follow (key, order). */
      const model = new Map<number, [number, number]>();
      let order = 0;
      for (let step = 0; step < 400; step++) {
        const id = pool[Math.floor(random() * pool.length)]!;
        const op = random();
        const key = Math.floor(random() * 8);
        if (op < 0.45) {
          if (model.has(id)) {
            assert.throws(() => heap.push({ id, tag: 'dup' }, key), /to be unused/, `seed ${seed} step ${step}: duplicate ${id}`);
          } else {
            heap.push({ id, tag: `s${step}` }, key);
            model.set(id, [key, order++]);
          }
        } else if (op < 0.65) {
          assert.equal(heap.remove(id), model.delete(id), `seed ${seed} step ${step}: remove ${id}`);
        } else if (op < 0.8) {
          const had = model.has(id);
          assert.equal(heap.update(id, key), had, `seed ${seed} step ${step}: update ${id}`);
          if (had) model.set(id, [key, order++]);
        } else if (op < 0.9) {
          let best: number | undefined;
          for (const [k, [kk, oo]] of model) {
            const b = best === undefined ? undefined : model.get(best)!;
            if (b === undefined || kk < b[0] || (kk === b[0] && oo < b[1])) best = k;
          }
          const popped = heap.pop();
          assert.equal(popped?.id, best, `seed ${seed} step ${step}: pop`);
          if (best !== undefined) model.delete(best);
        } else {
          assert.equal(heap.keyOf(id), model.get(id)?.[0], `seed ${seed} step ${step}: keyOf ${id}`);
        }
        heap.check();
        assert.equal(heap.size, model.size);
        for (const probe of pool) {
          assert.equal(heap.has(probe), model.has(probe), `seed ${seed} step ${step}: has ${probe}`);
          assert.equal(heap.get(probe)?.id, model.has(probe) ? probe : undefined, `seed ${seed} step ${step}: get ${probe}`);
        }
      }
    }
  });

  test('removing each member of a full wrapped cluster leaves every other one findable', () => {
    const { sameTag, sameHome, near } = collidingIds();
    const pool = [...sameTag, ...sameHome, ...near];
    for (const gone of pool) {
      const heap = new QuaternaryHeap<Item>({ id: (item) => item.id, initialCapacity: 64 });
      pool.forEach((id, i) => heap.push({ id, tag: `k${i}` }, i));
      assert.equal(heap.remove(gone), true);
      heap.check();
      for (const id of pool) assert.equal(heap.has(id), id !== gone, `after removing ${gone}: ${id}`);
      // The rest pop in push order (keys 0, 1, ...), the removed one skipped.
      const popped: number[] = [];
      for (let item = heap.pop(); item !== undefined; item = heap.pop()) popped.push(item.id);
      assert.deepEqual(popped, pool.filter((id) => id !== gone));
    }
  });

  test('growing the table with a cluster in it (capacity 4 to 64, then 128 splits the bucket) loses no id', () => {
    const { sameTag, sameHome, near } = collidingIds();
    const pool = [...sameTag, ...sameHome, ...near];
    const heap = new QuaternaryHeap<Item>({ id: (item) => item.id, initialCapacity: 4 });
    pool.forEach((id, i) => {
      heap.push({ id, tag: `k${i}` }, 1_000 - i);
      heap.check();
      for (const seen of pool.slice(0, i + 1)) assert.equal(heap.get(seen)?.id, seen, `after ${i + 1} pushes: ${seen}`);
    });
    // Past 64 entries the table has 256 buckets: bit 7 of the hash splits the cluster.
    const more = Array.from({ length: 20 }, (_, i) => idWithHash(125 | (1 << 7) | ((0x700 + i) << 11)));
    more.forEach((id, i) => heap.push({ id, tag: `m${i}` }, 2_000 + i));
    heap.check();
    for (const id of [...pool, ...more]) assert.equal(heap.has(id), true, `after growing: ${id}`);
    for (const id of sameTag) assert.equal(heap.remove(id), true);
    heap.check();
    for (const id of [...sameHome, ...near, ...more]) assert.equal(heap.has(id), true, `after removals: ${id}`);
  });
});
