// The heap invariant checker (checkHeap and IdTable.check in src/heap-ids.ts)
// is the oracle behind every heap property test: a checker that accepts a
// broken heap would let those tests pass on broken code. Each test here
// builds a valid state by hand, checks it passes, breaks one invariant and
// checks the checker names that one.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../src/errors.js';
import { type HeapId, type HeapState, IdTable, MAX_CAPACITY, capacityFor, checkHeap, hashId, show, validateId, validateKey } from '../src/heap-ids.js';

interface Item {
  id: HeapId;
}

const CAP = 8;
/** Bits of a table word holding handle index + 1 (setCapacity's rule). */
const HANDLE_BITS = Math.log2(CAP) + 1;

/**
 * A valid heap state holding `keys` (sorted ascending: a sorted array is in
 * heap order) with ids `ids`, entry i at handle i and slot i.
 */
function validState(keys: number[], ids: HeapId[] = keys.map((_, i) => `job-${i}`)): HeapState<Item> & { ids: IdTable; items: (Item | undefined)[] } {
  const items: (Item | undefined)[] = new Array<Item | undefined>(CAP).fill(undefined);
  const table = new IdTable((h) => (items[h] as Item).id);
  table.setCapacity(CAP, []);
  const st = {
    name: 'TestHeap',
    arity: 4,
    length: keys.length,
    capacity: CAP,
    dead: 0,
    nextSeq: keys.length,
    seqLimit: 2 ** 27,
    keys: new Float64Array(CAP),
    words: Float64Array.from({ length: CAP }, (_, i) => i),
    keyOfHandle: new Float64Array(CAP),
    gen: new Int32Array(CAP),
    items,
    idOf: (item: Item) => item.id,
    ids: table,
  };
  keys.forEach((key, h) => {
    const id = ids[h] as HeapId;
    items[h] = { id };
    st.keys[h] = key;
    st.words[h] = h * MAX_CAPACITY + h;
    st.keyOfHandle[h] = key;
    const hash = hashId(id);
    table.link(table.probe(id, hash), h, hash);
  });
  return st;
}

/** Bucket of the table word naming handle index h. */
function bucketOf(table: IdTable, h: number): number {
  const t = table.table.findIndex((e) => e !== 0 && (e & ((1 << HANDLE_BITS) - 1)) === h + 1);
  assert.ok(t >= 0, `handle ${h} has no bucket`);
  return t;
}

const broken = (what: string | RegExp) => (error: unknown) => {
  assert.ok(error instanceof Error);
  if (typeof what === 'string') assert.equal(error.message, `TestHeap invariant broken: ${what}`);
  else assert.match(error.message, what);
  return true;
};

describe('checkHeap accepts valid heaps', () => {
  test('empty, one entry, several with equal keys, and a tombstone that is counted', () => {
    checkHeap(validState([]));
    checkHeap(validState([5]));
    checkHeap(validState([1, 2, 2, 3, 3, 3]));
    const st = validState([1, 2, 3]);
    // Entry 1 removed lazily: its item goes, its id word goes, it is counted dead.
    st.ids.unlink(1);
    st.items[1] = undefined;
    st.dead = 1;
    checkHeap(st);
  });
});

describe('checkHeap names the broken invariant', () => {
  test('length outside [0, capacity] or not an integer', () => {
    for (const length of [-1, CAP + 1, 1.5]) {
      const st = { ...validState([1]), length };
      assert.throws(() => checkHeap(st), broken(`length: ${length} outside [0, ${CAP}]`));
    }
  });

  test('an array whose length is not the capacity', () => {
    const cases = [
      ['keys', { keys: new Float64Array(4) }],
      ['words', { words: new Float64Array(4) }],
      ['keys by handle', { keyOfHandle: new Float64Array(4) }],
      ['generations', { gen: new Int32Array(4) }],
      ['items', { items: new Array<Item | undefined>(4).fill(undefined) }],
    ] as const;
    for (const [name, patch] of cases) {
      const st = { ...validState([1]), ...patch };
      assert.throws(() => checkHeap(st), broken(`capacity: ${name} has length 4, expected ${CAP}`));
    }
  });

  test('slots that are not a permutation of the handles', () => {
    const repeated = validState([1, 2]);
    repeated.words[3] = 2;
    assert.throws(() => checkHeap(repeated), broken('handle permutation: slot 3 holds handle 2 (out of range or repeated)'));
    for (const h of [-1, CAP, 0.5]) {
      const out = validState([1, 2]);
      out.words[5] = h;
      assert.throws(() => checkHeap(out), broken(`handle permutation: slot 5 holds handle ${h} (out of range or repeated)`));
    }
  });

  test('a free slot whose word carries a sequence number', () => {
    const st = validState([1, 2]);
    st.words[5] = 3 * MAX_CAPACITY + 5;
    assert.throws(() => checkHeap(st), broken(`free handles: free slot 5 holds word ${3 * MAX_CAPACITY + 5}, not a plain handle index`));
  });

  test('the first free slot (slot length) is checked as a free slot too', () => {
    const st = validState([1, 2]);
    st.words[2] = 3 * MAX_CAPACITY + 2;
    assert.throws(() => checkHeap(st), broken(`free handles: free slot 2 holds word ${3 * MAX_CAPACITY + 2}, not a plain handle index`));
  });

  test('a next sequence number past the limit', () => {
    const st = { ...validState([1, 2]), seqLimit: 1 };
    assert.throws(() => checkHeap(st), broken('sequence numbers: next 2 is past the limit 1'));
  });

  test('a NaN key', () => {
    const st = validState([1, 2]);
    st.keys[1] = Number.NaN;
    assert.throws(() => checkHeap(st), broken('keys: NaN in slot 1'));
  });

  test('sequence numbers repeated or not below nextSeq (a word is an integer: see the permutation test)', () => {
    const cases: [number, number][] = [
      [1, 0], // handle 1 repeats handle 0's
      [1, 2], // == nextSeq
    ];
    for (const [h, q] of cases) {
      const st = validState([1, 2]);
      st.words[h] = q * MAX_CAPACITY + h;
      assert.throws(() => checkHeap(st), broken(`sequence numbers: handle ${h} has ${q} (next 2; must be unique and smaller)`));
    }
  });

  test('heap order: a smaller key below its parent, and an equal key with an earlier sequence number', () => {
    const smaller = validState([1, 2, 3, 4, 5]);
    smaller.keys[4] = 0; // slot 4's parent is slot 0
    smaller.keyOfHandle[4] = 0;
    assert.throws(() => checkHeap(smaller), broken('heap order: slot 4 (key 0) sorts before its parent slot 0 (key 1)'));

    const tie = validState([7, 7]);
    tie.words[0] = 1 * MAX_CAPACITY + 0; // the parent was pushed after its child: not FIFO
    tie.words[1] = 0 * MAX_CAPACITY + 1;
    assert.throws(() => checkHeap(tie), broken('heap order: slot 1 (key 7) sorts before its parent slot 0 (key 7)'));
  });

  test('a key by handle that differs from the key in its slot (-0 is not 0 there)', () => {
    const st = validState([0, 2]);
    st.keyOfHandle[0] = -0;
    assert.throws(() => checkHeap(st), broken('keys by handle: handle 0 records 0, its slot 0 has 0'));
  });

  test('tombstones not counted, or counted but absent', () => {
    const uncounted = validState([1, 2, 3]);
    uncounted.ids.unlink(2);
    uncounted.items[2] = undefined;
    assert.throws(() => checkHeap(uncounted), broken('tombstones: 1 in the heap, 0 counted'));
    const phantom = { ...validState([1, 2, 3]), dead: 1 };
    assert.throws(() => checkHeap(phantom), broken('tombstones: 0 in the heap, 1 counted'));
  });

  test('an item left in a free handle', () => {
    const st = validState([1, 2]);
    st.items[5] = { id: 'ghost' };
    assert.throws(() => checkHeap(st), broken('free handles: handle 5 in free slot 5 still holds an item'));
  });

  test('ids: an item whose id is no longer valid, a stale hash, an id leading elsewhere', () => {
    const nan = validState([1, 2]);
    (nan.items[1] as Item).id = Number.NaN;
    assert.throws(() => checkHeap(nan), broken('ids: the item of handle 1 has id NaN'));

    const stale = validState([1, 2]);
    (stale.items[1] as Item).id = 'renamed';
    assert.throws(() => checkHeap(stale), broken('id map: handle 1 records a stale hash for id "renamed"'));

    // Two entries with one id: the second's word replaced the first's, so the first's id leads to the second.
    const twice = validState([1, 2], ['same', 'same']);
    assert.throws(() => checkHeap(twice), broken('id map: id "same" does not lead to handle 0'));
  });

  test('the id table: a word for a tombstone (not live)', () => {
    const st = validState([1, 2, 3]);
    st.items[2] = undefined; // removed without unlinking its id
    st.dead = 1;
    assert.throws(() => checkHeap(st), broken(`id map: bucket ${bucketOf(st.ids, 2)} holds handle 2, which is not live`));
  });
});

describe('IdTable.check names the broken invariant', () => {
  const live = (st: ReturnType<typeof validState>) => (h: number) => st.items[h] !== undefined;
  const check = (st: ReturnType<typeof validState>, count = st.length) => st.ids.check(CAP, count, live(st), 'TestHeap');

  test('a valid table passes, and its live count must match', () => {
    const st = validState([1, 2, 3]);
    check(st);
    assert.throws(() => check(st, 4), broken('id map: 3 ids for 4 entries'));
  });

  test('table sized for another capacity, or hashes of another length', () => {
    const st = validState([1]);
    st.ids.setCapacity(CAP * 2, [0]);
    assert.throws(() => check(st), broken('id map: table size or handle field width'));
    const short = validState([1]);
    short.ids.hash = new Int32Array(CAP / 2);
    assert.throws(() => check(short), broken(`id map: hashes have length ${CAP / 2}, expected ${CAP}`));
  });

  test('a word naming no handle, and a handle listed twice', () => {
    const outOfRange = validState([1]);
    const t = bucketOf(outOfRange.ids, 0);
    outOfRange.ids.table[t] = (outOfRange.ids.table[t]! & ~((1 << HANDLE_BITS) - 1)) | (CAP + 1); // handle index CAP
    assert.throws(() => check(outOfRange), broken(`id map: bucket ${t} holds handle ${CAP}, which is not live`));

    const twice = validState([1]);
    const at = bucketOf(twice.ids, 0);
    // A copy after the word itself: the copy is the second one read.
    const copy = twice.ids.table.findIndex((e, i) => e === 0 && i > at);
    assert.ok(copy > at);
    twice.ids.table[copy] = twice.ids.table[at]!;
    assert.throws(() => check(twice), broken('id map: handle 0 is listed twice'));
  });

  test('a word naming a handle out of range is refused even when the heap would call that handle live', () => {
    // Each bound on its own: an isLive that answers true for anything cannot hide them.
    const anything = () => true;
    for (const [field, h] of [
      [0, -1],
      [CAP + 1, CAP],
    ] as const) {
      const st = validState([1]);
      const t = bucketOf(st.ids, 0);
      st.ids.table[t] = (st.ids.table[t]! & ~((1 << HANDLE_BITS) - 1)) | field;
      assert.throws(() => st.ids.check(CAP, 1, anything, 'TestHeap'), broken(`id map: bucket ${t} holds handle ${h}, which is not live`));
    }
  });

  test('a stale hash, a wrong distance, a wrong tag', () => {
    const stale = validState([1, 2]);
    stale.ids.hash[1] = stale.ids.hash[1]! ^ 1;
    assert.throws(() => check(stale), broken(/^TestHeap invariant broken: id map: handle 1 records a stale hash for id "job-1"$/));

    const distance = validState([1]);
    const t = bucketOf(distance.ids, 0);
    distance.ids.table[t] = distance.ids.table[t]! ^ (1 << HANDLE_BITS);
    assert.throws(() => check(distance), broken(`id map: bucket ${t} records a wrong distance`));

    const tag = validState([1]);
    const u = bucketOf(tag.ids, 0);
    tag.ids.table[u] = tag.ids.table[u]! ^ (1 << 31);
    assert.throws(() => check(tag), broken(`id map: bucket ${u} records a wrong tag`));
  });

  test('a word moved past an empty bucket is unreachable from its home bucket', () => {
    const st = validState([1]);
    const mask = 2 * CAP - 1;
    const home = st.ids.hash[0]! & mask;
    const t = bucketOf(st.ids, 0);
    assert.equal(t, home, 'alone in the table, the entry sits in its home bucket');
    const to = (home + 2) & mask;
    // Same handle and tag, distance 2 (right for bucket home + 2), bucket home + 1 empty.
    st.ids.table[to] = (st.ids.table[t]! & ~(15 << HANDLE_BITS)) | (2 << HANDLE_BITS);
    st.ids.table[t] = 0;
    assert.throws(() => check(st), broken(`id map: handle 0 in bucket ${to} is unreachable from its home bucket`));
  });
});

describe('heap argument helpers', () => {
  test('capacityFor: powers of two from 4, RangeError past MAX_CAPACITY', () => {
    assert.equal(capacityFor(0), 4);
    assert.equal(capacityFor(5), 8);
    assert.equal(capacityFor(MAX_CAPACITY), MAX_CAPACITY);
    assert.throws(() => capacityFor(MAX_CAPACITY + 1), { name: 'RangeError', message: `QuaternaryHeap cannot hold more than ${MAX_CAPACITY} entries` });
  });

  test('show names every kind of value a caller may pass', () => {
    assert.equal(show('a"b'), '"a\\"b"');
    assert.equal(show(Symbol('s')), 'Symbol(s)');
    assert.equal(show(() => 1), 'a function');
    assert.equal(show(12n), '12n');
    assert.equal(show([1]), 'an array');
    assert.equal(show({}), 'an object');
    assert.equal(show(null), 'null');
    assert.equal(show(undefined), 'undefined');
    assert.equal(show(Number.NaN), 'NaN');
  });

  test('validateKey and validateId refuse what is not a key or an id', () => {
    assert.throws(() => validateKey(1n), new ValidationError('Expected `key` to be a number other than NaN, got 1n'));
    assert.throws(() => validateKey(Number.NaN), new ValidationError('Expected `key` to be a number other than NaN, got NaN'));
    validateKey(Number.NEGATIVE_INFINITY);
    assert.throws(() => validateId([]), new ValidationError('Expected `options.id(item)` to return a string or a number other than NaN, got an array'));
    validateId(-0);
    validateId('');
  });

  test('hashId: 0 and -0 hash alike; integers, fractions and strings spread over the buckets', () => {
    assert.equal(hashId(0), hashId(-0));
    assert.notEqual(hashId(1), hashId('1'));
    assert.notEqual(hashId(0.5), hashId(0.25));
    // 4096 consecutive ids of each kind over 1024 buckets: no bucket gets a tenth of them.
    for (const make of [(i: number) => i, (i: number) => i + 0.5, (i: number) => `job-${i}`]) {
      const buckets = new Uint32Array(1024);
      for (let i = 0; i < 4096; i++) buckets[hashId(make(i)) & 1023]!++;
      assert.ok(Math.max(...buckets) < 410, `worst bucket ${Math.max(...buckets)}`);
    }
  });
});
