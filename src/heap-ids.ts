/**
 * The optional id layer of QuaternaryHeap (src/heap.ts): ids map to handle
 * indexes through an open-addressing table (linear probing, backward-shift
 * deletion, load <= 1/2) of 32-bit words packing the handle index, the
 * distance from the home bucket and a few hash bits. Probing and deleting
 * read only the table (no per-entry load, a cache miss at a million
 * entries, except to confirm a match). A Map<id, handle> would cost ~30
 * bytes an entry; the table and the per-handle hash cost 12 a slot.
 * Also what both heap variants share: the public types, the argument
 * checks, and checkHeap(), the invariant check behind their check().
 */
import { ValidationError } from './errors.js';

/** An entry's identity, as returned by `HeapOptions.id`. */
export type HeapId = string | number;

/**
 * What QuaternaryHeap's `push` returns: names that one entry for
 * `removeHandle` and `updateHandle`
 * until it leaves the heap; refused after that, even once its slot is reused.
 */
export type HeapHandle = number;

/** Options of QuaternaryHeap. */
export interface HeapOptions<T> {
  /**
   * The id of an item: unique among the items in the heap, and stable while
   * the item is in it. A string, or a number other than NaN. Without it the
   * heap has no lookup by id (entries are named by their handles) and never
   * hashes.
   */
  id?: (item: T) => HeapId;
  /**
   * Entries to allocate room for up front; the heap doubles when full.
   * @default 64
   */
  initialCapacity?: number;
}

const MIN_CAPACITY = 4;
/** Handle indexes stay below this; a handle is index + generation * MAX_CAPACITY. */
export const MAX_CAPACITY = 2 ** 26;

/** The power of two at least `wanted` (and MIN_CAPACITY); RangeError past MAX_CAPACITY. */
export function capacityFor(wanted: number): number {
  let cap = MIN_CAPACITY;
  while (cap < wanted) cap *= 2;
  if (cap > MAX_CAPACITY) throw new RangeError(`QuaternaryHeap cannot hold more than ${MAX_CAPACITY} entries`);
  return cap;
}

/** Bits of a table word recording the distance from the home bucket; DIST_MAX means "that far or more". */
const DIST_BITS = 4;
const DIST_MAX = (1 << DIST_BITS) - 1;

// Scratch space to hash the bits of a number that is not an int32.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

export function isId(value: unknown): value is HeapId {
  return typeof value === 'string' || (typeof value === 'number' && value === value);
}

/** 32-bit hash of an id; -0 and 0 hash alike, as they are the same id. */
export function hashId(id: HeapId): number {
  let h: number;
  if (typeof id === 'number') {
    if ((id | 0) === id) {
      h = id | 0;
    } else {
      f64[0] = id;
      h = u32[0]! ^ Math.imul(u32[1]!, 0x9e3779b1);
    }
  } else {
    h = 0x811c9dc5; // FNV-1a over UTF-16 code units
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  }
  // murmur3's finalizer: every input bit reaches both the low bits that pick
  // the bucket and the high bits kept as a tag.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

export function validateKey(key: unknown): asserts key is number {
  if (typeof key !== 'number' || key !== key) {
    throw new ValidationError(`Expected \`key\` to be a number other than NaN, got ${show(key)}`);
  }
}

export function validateId(id: unknown): asserts id is HeapId {
  if (!isId(id)) {
    throw new ValidationError(`Expected \`options.id(item)\` to return a string or a number other than NaN, got ${show(id)}`);
  }
}

/**
 * Id -> handle index for the live entries of one heap. `idAt(h)` gives the id
 * of the live entry with handle index h (the heap reads it from the item).
 */
export class IdTable {
  /** 2 * capacity words, 0 when empty: handle index + 1, distance, tag (low to high). */
  table = new Int32Array(0);
  /** handle index -> id hash */
  hash = new Int32Array(0);
  #handleBits = 0;
  /** (1 << #handleBits) - 1: extracts handle index + 1 from a word */
  #handleMask = 0;
  /** the bits of a word (and of a hash) above handle and distance */
  #tagMask = 0;
  readonly #idAt: (h: number) => HeapId;

  constructor(idAt: (h: number) => HeapId) {
    this.#idAt = idAt;
  }

  /** Handle index of the entry with this id, or -1. */
  find(id: HeapId): number {
    return (this.table[this.probe(id, hashId(id))]! & this.#handleMask) - 1;
  }

  /** Bucket holding `id`, or the empty bucket where it would go. */
  probe(id: HeapId, hash: number): number {
    const table = this.table;
    const mask = table.length - 1;
    const hb = this.#handleBits;
    const handleMask = this.#handleMask;
    // A word can only be id's if its distance field and tag match ours.
    const tag = hash & this.#tagMask;
    const fieldMask = ~handleMask;
    let t = hash & mask;
    for (let dist = 0; ; dist++) {
      const e = table[t]!;
      if (e === 0) return t;
      if ((e & fieldMask) === (tag | ((dist < DIST_MAX ? dist : DIST_MAX) << hb))) {
        if (this.#idAt((e & handleMask) - 1) === id) return t;
      }
      t = (t + 1) & mask;
    }
  }

  /** Writes handle index `h` (with this id hash) into the empty bucket `t` found by probe(). */
  link(t: number, h: number, hash: number): void {
    const table = this.table;
    const dist = (t - hash) & (table.length - 1);
    table[t] = (h + 1) | ((dist < DIST_MAX ? dist : DIST_MAX) << this.#handleBits) | (hash & this.#tagMask);
    this.hash[h] = hash;
  }

  /** Deletes handle index `h`, shifting later words of its cluster back. */
  unlink(h: number): void {
    const table = this.table;
    const mask = table.length - 1;
    const hb = this.#handleBits;
    const handleMask = this.#handleMask;
    const hashes = this.hash;
    let hole = hashes[h]! & mask;
    while ((table[hole]! & handleMask) !== h + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const e = table[j]!;
      if (e === 0) break;
      let dist = (e >>> hb) & DIST_MAX;
      if (dist === DIST_MAX) dist = (j - hashes[(e & handleMask) - 1]!) & mask;
      const back = (j - hole) & mask;
      // The word may move back to the hole if its home bucket is not after the hole.
      if (dist >= back) {
        dist -= back;
        table[hole] = (e & ~(DIST_MAX << hb)) | ((dist < DIST_MAX ? dist : DIST_MAX) << hb);
        hole = j;
      }
    }
    table[hole] = 0;
  }

  /** Empties the table. */
  clear(): void {
    this.table.fill(0);
  }

  /** Resizes for `cap` handle indexes (a power of two) and relinks the live ones listed. */
  setCapacity(cap: number, live: Iterable<number>): void {
    // Words: handle index + 1 needs log2(cap) + 1 bits, then DIST_BITS, then
    // the tag; the heap's MAX_CAPACITY (2^26) leaves the tag at least one bit.
    const hb = Math.log2(cap) + 1;
    this.#handleBits = hb;
    this.#handleMask = (1 << hb) - 1;
    this.#tagMask = -1 << (hb + DIST_BITS);
    const hashes = new Int32Array(cap);
    hashes.set(this.hash);
    this.hash = hashes;
    this.table = new Int32Array(2 * cap);
    const mask = 2 * cap - 1;
    for (const h of live) {
      const hash = hashes[h]!;
      let t = hash & mask;
      while (this.table[t] !== 0) t = (t + 1) & mask;
      this.link(t, h, hash);
    }
  }

  /**
   * Re-derives the table's invariants against the heap: every word names a
   * live entry (`isLive`) once, reachable from its home bucket, with the
   * right distance and tag, and there are `live` words. Throws an Error.
   */
  check(cap: number, live: number, isLive: (h: number) => boolean, heapName: string): void {
    const fail = (what: string): never => {
      throw new Error(`${heapName} invariant broken: id map: ${what}`);
    };
    const table = this.table;
    const mask = table.length - 1;
    const hb = this.#handleBits;
    if (table.length !== 2 * cap || table.length !== 2 ** hb || this.#handleMask !== 2 ** hb - 1) fail('table size or handle field width');
    if (this.hash.length !== cap) fail(`hashes have length ${this.hash.length}, expected ${cap}`);
    const listed = new Uint8Array(cap);
    let count = 0;
    for (let t = 0; t < table.length; t++) {
      const e = table[t]!;
      if (e === 0) continue;
      const h = (e & this.#handleMask) - 1;
      if (h < 0 || h >= cap || !isLive(h)) fail(`bucket ${t} holds handle ${h}, which is not live`);
      if (listed[h] === 1) fail(`handle ${h} is listed twice`);
      listed[h] = 1;
      count++;
      const hash = this.hash[h]!;
      if (hash !== hashId(this.#idAt(h))) fail(`handle ${h} records a stale hash for id ${show(this.#idAt(h))}`);
      const dist = (t - (hash & mask)) & mask;
      if (((e >>> hb) & DIST_MAX) !== Math.min(dist, DIST_MAX)) fail(`bucket ${t} records a wrong distance`);
      if ((e & this.#tagMask) !== (hash & this.#tagMask)) fail(`bucket ${t} records a wrong tag`);
      for (let j = hash & mask; j !== t; j = (j + 1) & mask) {
        if (table[j] === 0) fail(`handle ${h} in bucket ${t} is unreachable from its home bucket`);
      }
    }
    if (count !== live) fail(`${count} ids for ${live} entries`);
  }
}

/** A heap's state as checkHeap() reads it (the arrays are the heap's own). */
export interface HeapState<T> {
  name: string;
  arity: number;
  length: number;
  capacity: number;
  dead: number;
  nextSeq: number;
  /** sequence numbers stay below this (a word must stay a safe integer) */
  seqLimit: number;
  keys: Float64Array;
  /** slot -> sequence number * MAX_CAPACITY + handle index; from `length` on, free handle indexes */
  words: Float64Array;
  keyOfHandle: Float64Array;
  gen: Int32Array;
  items: readonly (T | undefined)[];
  idOf: ((item: T) => HeapId) | undefined;
  ids: IdTable | undefined;
}

/**
 * Re-derives every invariant of a heap (heap order with the FIFO tie-break
 * over entries and tombstones, the tombstone count, the handle permutation,
 * the free handles, the id table) in O(n) and throws an Error naming the
 * first broken one.
 */
export function checkHeap<T>(st: HeapState<T>): void {
  const fail = (what: string): never => {
    throw new Error(`${st.name} invariant broken: ${what}`);
  };
  const { length: n, capacity: cap, keys, words, items, ids } = st;
  const handleAt = (s: number): number => words[s]! % MAX_CAPACITY;
  if (!Number.isInteger(n) || n < 0 || n > cap) fail(`length: ${n} outside [0, ${cap}]`);
  for (const [name, length] of [
    ['keys', keys.length],
    ['words', words.length],
    ['keys by handle', ids === undefined ? cap : st.keyOfHandle.length],
    ['generations', st.gen.length],
    ['items', items.length],
  ] as const) {
    if (length !== cap) fail(`capacity: ${name} has length ${length}, expected ${cap}`);
  }
  if (st.nextSeq > st.seqLimit) fail(`sequence numbers: next ${st.nextSeq} is past the limit ${st.seqLimit}`);
  const seen = new Uint8Array(cap);
  for (let s = 0; s < cap; s++) {
    const word = words[s]!;
    const h = handleAt(s);
    if (!Number.isSafeInteger(word) || word < 0 || h >= cap || seen[h] === 1) {
      fail(`handle permutation: slot ${s} holds handle ${h} (out of range or repeated)`);
    }
    if (s >= n && word !== h) fail(`free handles: free slot ${s} holds word ${word}, not a plain handle index`);
    seen[h] = 1;
  }
  const seqs = new Set<number>();
  let dead = 0;
  for (let s = 0; s < n; s++) {
    const h = handleAt(s);
    const key = keys[s]!;
    if (key !== key) fail(`keys: NaN in slot ${s}`);
    const q = (words[s]! - h) / MAX_CAPACITY;
    if (!Number.isInteger(q) || q < 0 || q >= st.nextSeq || seqs.has(q)) {
      fail(`sequence numbers: handle ${h} has ${q} (next ${st.nextSeq}; must be unique and smaller)`);
    }
    seqs.add(q);
    if (s > 0) {
      const p = ((s - 1) / st.arity) | 0;
      const pk = keys[p]!;
      if (key < pk || (key === pk && words[s]! < words[p]!)) {
        fail(`heap order: slot ${s} (key ${key}) sorts before its parent slot ${p} (key ${pk})`);
      }
    }
    if (items[h] === undefined) {
      dead++;
      continue;
    }
    if (ids !== undefined && !Object.is(st.keyOfHandle[h], key)) fail(`keys by handle: handle ${h} records ${st.keyOfHandle[h]}, its slot ${s} has ${key}`);
    if (ids !== undefined) {
      const id = st.idOf!(items[h] as T);
      if (!isId(id)) fail(`ids: the item of handle ${h} has id ${show(id)}`);
      if (ids.hash[h] !== hashId(id)) fail(`id map: handle ${h} records a stale hash for id ${show(id)}`);
      if (ids.find(id) !== h) fail(`id map: id ${show(id)} does not lead to handle ${h}`);
    }
  }
  if (dead !== st.dead) fail(`tombstones: ${dead} in the heap, ${st.dead} counted`);
  for (let s = n; s < cap; s++) {
    if (items[handleAt(s)] !== undefined) fail(`free handles: handle ${handleAt(s)} in free slot ${s} still holds an item`);
  }
  ids?.check(cap, n - dead, (h) => items[h] !== undefined, st.name);
}
