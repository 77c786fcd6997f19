import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BINARY_HEAP_FILE, BINARY_SIFT_FILE, HEAP_SOURCE, SIFT_SOURCE, generateBinaryHeap, generateBinarySift } from '../bench/gen-heap-binary.js';
import { BinaryHeap } from '../bench/heap-binary.js';
import { ValidationError } from '../src/errors.js';
import { type HeapId, type HeapOptions, QuaternaryHeap } from '../src/heap.js';
import { prng } from './helpers.js';

interface Job {
  id: HeapId;
  name?: string;
}

const byId = { id: (job: Job) => job.id };

/** The API both heap variants share, so every test runs against both. */
interface AnyHeap<T> {
  readonly size: number;
  push(item: T, key: number): void;
  peek(): T | undefined;
  peekKey(): number | undefined;
  pop(): T | undefined;
  remove(itemOrId: T | HeapId): boolean;
  update(itemOrId: T | HeapId, key: number): boolean;
  has(id: HeapId): boolean;
  get(id: HeapId): T | undefined;
  keyOf(id: HeapId): number | undefined;
  clear(): void;
  check(): void;
  [Symbol.iterator](): IterableIterator<T>;
}

interface Variant {
  name: string;
  create<T>(options: HeapOptions<T>): AnyHeap<T>;
  from<T>(entries: Iterable<readonly [T, number]>, options: HeapOptions<T>): AnyHeap<T>;
}

const VARIANTS: Variant[] = [
  { name: 'QuaternaryHeap', create: (o) => new QuaternaryHeap(o), from: (e, o) => QuaternaryHeap.from(e, o) },
  { name: 'BinaryHeap (bench/heap-binary.ts)', create: (o) => new BinaryHeap(o), from: (e, o) => BinaryHeap.from(e, o) },
];

function drain<T>(heap: AnyHeap<T>): T[] {
  const out: T[] = [];
  while (heap.size > 0) out.push(heap.pop()!);
  return out;
}

function ids(jobs: readonly (Job | undefined)[]): (HeapId | undefined)[] {
  return jobs.map((j) => j?.id);
}

/**
 * Reference model: entries kept sorted by (key, seq). Map keys use
 * SameValueZero, like the heap's ids (0 and -0 are one id).
 */
class Model {
  entries: { job: Job; key: number; seq: number }[] = [];
  byId = new Map<HeapId, { job: Job; key: number; seq: number }>();
  nextSeq = 0;

  #sort(): void {
    this.entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.seq - b.seq));
  }
  push(job: Job, key: number): void {
    const e = { job, key, seq: this.nextSeq++ };
    this.entries.push(e);
    this.byId.set(job.id, e);
    this.#sort();
  }
  pop(): Job | undefined {
    const e = this.entries.shift();
    if (e) this.byId.delete(e.job.id);
    return e?.job;
  }
  remove(id: HeapId): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    this.byId.delete(id);
    this.entries.splice(this.entries.indexOf(e), 1);
    return true;
  }
  update(id: HeapId, key: number): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    e.key = key;
    e.seq = this.nextSeq++;
    this.#sort();
    return true;
  }
  load(list: readonly (readonly [Job, number])[]): void {
    this.entries = [];
    this.byId.clear();
    this.nextSeq = 0;
    for (const [job, key] of list) {
      const e = { job, key, seq: this.nextSeq++ };
      this.entries.push(e);
      this.byId.set(job.id, e);
    }
    this.#sort();
  }
  clear(): void {
    this.load([]);
  }
}

function assertSame(heap: AnyHeap<Job>, model: Model, context: string): void {
  heap.check();
  assert.equal(heap.size, model.entries.length, `size ${context}`);
  const first = model.entries[0];
  assert.equal(heap.peek(), first?.job, `peek ${context}`);
  assert.equal(heap.peekKey(), first?.key, `peekKey ${context}`);
  const seen = new Set<Job>(heap);
  assert.equal(seen.size, model.entries.length, `iteration size ${context}`);
  for (const e of model.entries) {
    assert.ok(seen.has(e.job), `iteration misses ${String(e.job.id)} ${context}`);
    assert.equal(heap.keyOf(e.job.id), e.key, `keyOf ${String(e.job.id)} ${context}`);
    assert.equal(heap.get(e.job.id), e.job, `get ${String(e.job.id)} ${context}`);
  }
}

// Under Stryker only src/heap.ts and src/heap-build.ts are mutated: the arity-2
// copy in bench/ cannot kill a heap.ts mutant and runs heap-build.ts as the
// 4-ary heap does, so it is not run there (half the time per mutant).
for (const variant of process.env.STRYKER_MUTATOR_WORKER === undefined ? VARIANTS : VARIANTS.slice(0, 1)) {
  describe(variant.name, () => {
    test('random op sequences match a sorted-array model after every op', () => {
      const rnd = prng(0xc0ffee);
      // Ids: ints, floats, negative, 0/-0, and strings, including '1' beside 1.
      const pool: HeapId[] = [];
      for (let i = 0; i < 60; i++) pool.push(i, `${i}`, `job-${i}`);
      pool.push(-0, -1.5, 0.1 + 0.2, 2 ** 40, -(2 ** 53), 'é', '', '\u{1F600}');
      const pickId = () => pool[Math.floor(rnd() * pool.length)]!;
      // Few distinct keys, so ties (and the FIFO tie-break) are everywhere.
      const specials = [Infinity, -Infinity, -0, 0.5, -3, 1e300];
      const pickKey = () => (rnd() < 0.05 ? specials[Math.floor(rnd() * specials.length)]! : Math.floor(rnd() * 12));
      const jobs = new Map<HeapId, Job>();
      const jobFor = (id: HeapId) => {
        let job = jobs.get(id);
        if (!job) jobs.set(id, (job = { id }));
        return job;
      };

      let heap = variant.create<Job>({ id: byId.id, initialCapacity: 2 });
      const model = new Model();
      const OPS = 12_000;
      const counts: Record<string, number> = {};
      for (let op = 0; op < OPS; op++) {
        const r = rnd();
        const id = pickId();
        const key = pickKey();
        let kind: string;
        if (r < 0.4) {
          kind = 'push';
          const job = jobFor(id);
          if (model.byId.has(id)) {
            kind = 'push duplicate';
            const before = heap.size;
            assert.throws(() => heap.push({ id }, key), ValidationError);
            assert.equal(heap.size, before);
          } else {
            heap.push(job, key);
            model.push(job, key);
          }
        } else if (r < 0.6) {
          kind = 'pop';
          assert.equal(heap.pop(), model.pop(), `pop at op ${op}`);
        } else if (r < 0.75) {
          kind = 'remove';
          // By id or by item (an equal-id object, not necessarily the same one).
          const arg = rnd() < 0.5 ? id : { id };
          assert.equal(heap.remove(arg), model.remove(id), `remove ${String(id)} at op ${op}`);
        } else if (r < 0.93) {
          kind = 'update';
          const arg = rnd() < 0.5 ? id : jobFor(id);
          assert.equal(heap.update(arg, key), model.update(id, key), `update ${String(id)} at op ${op}`);
        } else if (r < 0.995) {
          kind = 'from';
          // Rebuild from the current entries in a random order plus a few new ones.
          const list = model.entries.map((e) => [e.job, e.key] as const);
          for (let i = list.length - 1; i > 0; i--) {
            const j = Math.floor(rnd() * (i + 1));
            [list[i], list[j]] = [list[j]!, list[i]!];
          }
          for (let i = 0; i < 3; i++) {
            const extra = pickId();
            if (!list.some(([job]) => Object.is(job.id, extra) || job.id === extra)) list.push([jobFor(extra), pickKey()]);
          }
          heap = variant.from(list, { id: byId.id, initialCapacity: Math.floor(rnd() * 8) });
          model.load(list);
        } else {
          kind = 'clear';
          heap.clear();
          model.clear();
        }
        counts[kind] = (counts[kind] ?? 0) + 1;
        assertSame(heap, model, `after ${kind} (op ${op})`);
        assert.equal(heap.has(id), model.byId.has(id));
      }
      // Every kind of op ran a fair number of times.
      for (const kind of ['push', 'push duplicate', 'pop', 'remove', 'update', 'from', 'clear']) {
        assert.ok((counts[kind] ?? 0) >= 10, `${kind} ran ${counts[kind] ?? 0} times`);
      }
      // Drain: the full order, ties included.
      const expected = model.entries.map((e) => e.job);
      assert.deepEqual(drain(heap), expected);
    });

    test('from + drain is a stable sort by key (fast-check)', () => {
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.record({ id: fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), key: fc.integer({ min: -3, max: 3 }) }), {
            selector: (e) => e.id,
            maxLength: 120,
          }),
          (entries) => {
            const heap = variant.from(
              entries.map((e) => [{ id: e.id }, e.key] as const),
              byId,
            );
            heap.check();
            const stable = entries.map((e, i) => ({ ...e, i })).sort((a, b) => a.key - b.key || a.i - b.i);
            assert.deepEqual(ids(drain(heap)), ids(stable));
          },
        ),
        { numRuns: 150 },
      );
    });

    test('empty heap: pop, peek, peekKey give undefined; remove/update of absent ids give false', () => {
      const heap = variant.create<Job>(byId);
      assert.equal(heap.size, 0);
      assert.equal(heap.pop(), undefined);
      assert.equal(heap.peek(), undefined);
      assert.equal(heap.peekKey(), undefined);
      assert.equal(heap.remove('nope'), false);
      assert.equal(heap.remove({ id: 'nope' }), false);
      assert.equal(heap.update('nope', 1), false);
      assert.equal(heap.has('nope'), false);
      assert.equal(heap.get('nope'), undefined);
      assert.equal(heap.keyOf('nope'), undefined);
      assert.deepEqual([...heap], []);
      heap.push({ id: 'a' }, 1);
      assert.equal(heap.remove('b'), false);
      assert.equal(heap.update(2, 5), false);
      assert.equal(heap.keyOf('a'), 1);
      heap.check();
    });

    test('a duplicate id is rejected with ValidationError and leaves the heap unchanged', () => {
      const heap = variant.create<Job>({ id: byId.id, initialCapacity: 1 });
      const a = { id: 'a' };
      heap.push(a, 5);
      heap.push({ id: 'b' }, 1);
      assert.throws(
        () => heap.push({ id: 'a' }, 0),
        (err: unknown) => err instanceof ValidationError && err.code === 'ERR_VALIDATION',
      );
      assert.throws(() => heap.push(a, 0), /Expected item id "a" to be unused/);
      heap.check();
      assert.equal(heap.size, 2);
      assert.equal(heap.get('a'), a);
      assert.equal(heap.keyOf('a'), 5);
      assert.deepEqual(ids(drain(heap)), ['b', 'a']);
      assert.throws(
        () =>
          variant.from(
            [
              [{ id: 1 }, 1],
              [{ id: 1 }, 2],
            ],
            byId,
          ),
        ValidationError,
      );
    });

    test('keys: NaN and non-numbers are rejected, Infinity and -Infinity are keys', () => {
      const heap = variant.create<Job>(byId);
      heap.push({ id: 'x' }, 1);
      for (const bad of [NaN, '1', null, undefined, 1n, {}, Number('nope')]) {
        assert.throws(() => heap.push({ id: 'y' }, bad as number), ValidationError, `push key ${String(bad)}`);
        assert.throws(() => heap.update('x', bad as number), ValidationError, `update key ${String(bad)}`);
        assert.throws(() => variant.from([[{ id: 'z' }, bad as number]], byId), ValidationError, `from key ${String(bad)}`);
      }
      // The key is checked even when the id is absent.
      assert.throws(() => heap.update('absent', NaN), ValidationError);
      assert.equal(heap.size, 1);
      assert.equal(heap.keyOf('x'), 1);
      heap.push({ id: 'inf' }, Infinity);
      heap.push({ id: '-inf' }, -Infinity);
      heap.push({ id: 'max' }, Number.MAX_VALUE);
      heap.push({ id: 'inf2' }, Infinity);
      heap.check();
      assert.deepEqual(ids(drain(heap)), ['-inf', 'x', 'max', 'inf', 'inf2']);
    });

    test('ids: strings and numbers are distinct, 0 and -0 are one id, bad ids are rejected', () => {
      const heap = variant.create<Job>(byId);
      heap.push({ id: 1 }, 2);
      heap.push({ id: '1' }, 1);
      heap.push({ id: 0 }, 3);
      assert.throws(() => heap.push({ id: -0 }, 0), ValidationError);
      assert.equal(heap.keyOf(-0), 3);
      assert.equal(heap.keyOf(1), 2);
      assert.equal(heap.keyOf('1'), 1);
      for (const bad of [NaN, undefined, null, {}, Symbol('s'), true]) {
        assert.throws(() => heap.push({ id: bad as HeapId }, 1), ValidationError, `id ${String(bad)}`);
        assert.equal(heap.has(bad as HeapId), false);
        assert.equal(heap.remove(bad as HeapId), false);
      }
      assert.equal(heap.size, 3);
      heap.check();
    });

    test('FIFO among equal keys: on push, after update, after from, after remove', () => {
      const heap = variant.create<Job>(byId);
      for (const id of ['a', 'b', 'c', 'd', 'e']) heap.push({ id }, 7);
      heap.push({ id: 'early' }, 1);
      assert.equal(heap.update('b', 7), true); // same key: b goes behind the others
      assert.equal(heap.update('early', 7), true);
      assert.equal(heap.remove('c'), true);
      heap.check();
      assert.deepEqual(ids(drain(heap)), ['a', 'd', 'e', 'b', 'early']);

      const list = ['p', 'q', 'r', 's', 't', 'u', 'v', 'w', 'x'].map((id, i) => [{ id }, i % 3] as const);
      const built = variant.from(list, byId);
      built.check();
      assert.deepEqual(ids(drain(built)), ['p', 's', 'v', 'q', 't', 'w', 'r', 'u', 'x']);

      // Same key after a decrease: the re-keyed entry still goes last among equals.
      const h2 = variant.create<Job>(byId);
      h2.push({ id: 1 }, 5);
      h2.push({ id: 2 }, 9);
      h2.push({ id: 3 }, 5);
      h2.update(2, 5);
      assert.deepEqual(ids(drain(h2)), [1, 3, 2]);
    });

    test('from accepts any iterable, including a generator, and keeps its order among equal keys', () => {
      function* gen(): Generator<readonly [Job, number]> {
        for (let i = 0; i < 50; i++) yield [{ id: i }, i % 2];
      }
      const heap = variant.from(gen(), byId);
      heap.check();
      const out = ids(drain(heap));
      assert.deepEqual(out, [...Array.from({ length: 25 }, (_, i) => 2 * i), ...Array.from({ length: 25 }, (_, i) => 2 * i + 1)]);
      assert.throws(() => variant.from(null as unknown as [], byId), ValidationError);
      assert.throws(() => variant.from([null as unknown as readonly [Job, number]], byId), ValidationError);
      const empty = variant.from([], byId);
      empty.check();
      assert.equal(empty.size, 0);
    });

    test('iteration yields every item once; clear empties and the heap stays usable', () => {
      const heap = variant.create<Job>(byId);
      const jobs = Array.from({ length: 100 }, (_, i) => ({ id: `j${i}` }));
      jobs.forEach((j, i) => heap.push(j, (i * 37) % 11));
      assert.deepEqual(new Set(heap), new Set(jobs));
      assert.equal([...heap].length, 100);
      heap.clear();
      heap.check();
      assert.equal(heap.size, 0);
      assert.equal(heap.peek(), undefined);
      assert.equal(heap.has('j1'), false);
      assert.deepEqual([...heap], []);
      heap.push(jobs[5]!, 3);
      heap.push(jobs[6]!, 3);
      heap.check();
      assert.deepEqual(ids(drain(heap)), ['j5', 'j6']);
    });

    test('grows past initialCapacity, keeping order and ids', () => {
      for (const initialCapacity of [0, 1, 5]) {
        const heap = variant.create<Job>({ id: byId.id, initialCapacity });
        const rnd = prng(initialCapacity + 1);
        const keys = new Map<number, number>();
        for (let i = 0; i < 3000; i++) {
          const key = Math.floor(rnd() * 500);
          keys.set(i, key);
          heap.push({ id: i }, key);
          if ((i & (i - 1)) === 0) heap.check(); // right after each doubling
        }
        heap.check();
        for (const [id, key] of keys) assert.equal(heap.keyOf(id), key);
        const out = drain(heap).map((j) => keys.get(j.id as number)!);
        assert.deepEqual(
          out,
          [...out].sort((a, b) => a - b),
        );
      }
    });

    test('options are validated', () => {
      assert.throws(() => variant.create(null as unknown as HeapOptions<Job>), ValidationError);
      assert.throws(() => variant.create({ id: 5 } as unknown as HeapOptions<Job>), /Expected `options.id` to be a function or undefined/);
      for (const bad of [-1, 1.5, NaN, Infinity, '8']) {
        assert.throws(() => variant.create({ id: byId.id, initialCapacity: bad as number }), ValidationError, String(bad));
      }
      assert.throws(() => variant.from([], { id: byId.id, initialCapacity: -1 }), ValidationError);
    });

    test('check() names the broken invariant when an id changes while its item is in the heap', () => {
      const heap = variant.create<Job>(byId);
      const job = { id: 'before' };
      heap.push(job, 1);
      heap.push({ id: 'other' }, 2);
      heap.check();
      job.id = 'after';
      assert.throws(() => heap.check(), /(QuaternaryHeap|BinaryHeap) invariant broken: id map/);
    });

    test('items can be ids themselves (number heap)', () => {
      const heap = variant.create<number>({ id: (n) => n });
      for (const n of [5, 3, 9, 1]) heap.push(n, n * 10);
      assert.equal(heap.remove(9), true);
      assert.equal(heap.update(1, 100), true);
      heap.check();
      assert.deepEqual(drain(heap), [3, 5, 1]);
    });

    // A stress test: under Stryker (a run per mutant) it is most of the file's
    // time, and the random op sequences above check order after every op.
    test('100k pushes with random keys pop in order', { skip: process.env.STRYKER_MUTATOR_WORKER !== undefined && 'stress test, not run per mutant' }, () => {
      const heap = variant.create<Job>({ id: byId.id });
      const rnd = prng(7);
      for (let i = 0; i < 100_000; i++) heap.push({ id: i }, rnd());
      heap.check();
      let last = -Infinity;
      for (let i = 0; i < 100_000; i++) {
        const key = heap.peekKey()!;
        assert.ok(key >= last);
        last = key;
        heap.pop();
      }
      assert.equal(heap.size, 0);
      heap.check();
    });
  });
}

// Under Stryker src/heap.ts is instrumented, so the generated copy always differs: skipped there.
const instrumented = process.env.STRYKER_MUTATOR_WORKER === undefined ? false : 'src/heap.ts is instrumented by Stryker';
test('bench/heap-binary.ts and heap-sift-binary.ts are what bench/gen-heap-binary.ts makes from src/heap.ts and heap-sift.ts', { skip: instrumented }, () => {
  assert.ok(
    readFileSync(BINARY_HEAP_FILE, 'utf8') === generateBinaryHeap(readFileSync(HEAP_SOURCE, 'utf8')),
    'bench/heap-binary.ts is stale: run `npx tsx bench/gen-heap-binary.ts`',
  );
  assert.ok(
    readFileSync(BINARY_SIFT_FILE, 'utf8') === generateBinarySift(readFileSync(SIFT_SOURCE, 'utf8')),
    'bench/heap-sift-binary.ts is stale: run `npx tsx bench/gen-heap-binary.ts`',
  );
});
