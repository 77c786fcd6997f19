/**
 * QuaternaryHeap: the scheduler's timer queue. A 4-ary min-heap of items keyed
 * by a number (a due time), with O(1) peek and lookup by id, and O(log n)
 * push, pop, remove and re-key.
 *
 * HOW
 * - Every entry owns a handle, a small integer. The heap proper is two slot
 *   arrays, `keys` (Float64Array) and `slots` (Int32Array of handles), so a
 *   comparison reads the key from the slot, never through the item, as Go's
 *   runtime/time.go keeps `when` beside the timer pointer.
 * - Per handle, one 16-byte record holds the entry's slot (`pos`), its id hash
 *   and its sequence number, so the entry a push or a sift touches costs one
 *   cache line, not three. `pos` is rewritten on every move, so remove() and
 *   update() start at the entry without searching (node's setPosition).
 * - Equal keys leave in insertion order: the sequence number breaks ties and
 *   is loaded only when two keys are equal (loading it on every comparison
 *   cost ~34% at a million entries).
 * - Ids map to handles through an open-addressing table (linear probing,
 *   backward-shift deletion, load <= 1/2) of 32-bit words packing the handle,
 *   the distance from the home bucket and a few hash bits. Probing and
 *   deleting read only the table: no per-entry hash load (a cache miss at a
 *   million entries) except to confirm a match. A Map<id, handle> would cost
 *   ~30 bytes an entry; the table costs 8, which keeps the whole heap at
 *   about 46 bytes an entry at a million (44 per slot of capacity).
 * - `slots` is a permutation of all handles: [0, size) are the live entries,
 *   [size, capacity) the free ones, so a push takes `slots[size]`, usually
 *   the handle a pop just released, whose record is still in cache.
 *
 * WHY 4-ary: half the depth of a binary heap, the four children of a slot sit
 * side by side (usually one cache line), and each level moved costs three
 * writes (key, handle, position), so fewer levels win. The least of the four
 * children is picked with straight-line code (a loop is ~2x slower): without
 * branches in the cached top levels, with branches below (BRANCHLESS_BELOW).
 *
 * The core trusts itself: only the public methods validate arguments, and
 * check() re-derives every invariant for the tests.
 */
import { ValidationError } from './errors.js';

/** An entry's identity, as returned by {@link HeapOptions.id}. */
export type HeapId = string | number;

/** Options of {@link QuaternaryHeap}. */
export interface HeapOptions<T> {
  /**
   * The id of an item: unique among the items in the heap, and stable while
   * the item is in it. A string, or a number other than NaN.
   */
  id: (item: T) => HeapId;
  /**
   * Entries to allocate room for up front; the heap doubles when full.
   * @default 64
   */
  initialCapacity?: number;
}

/** Children per node. The index math derives from it; #siftDown's unrolled pick is written for it (bench/gen-heap-binary.ts makes the arity-2 copy). */
const ARITY = 4;
const DEFAULT_CAPACITY = 64;
const MIN_CAPACITY = 4;
/**
 * #siftDown picks the least child without branches in the top levels (slots
 * below this, about 170 KB of keys, which stay in cache): a mispredicted
 * branch costs more than the arithmetic. Below them every level is a cache
 * miss and branches win: the CPU guesses the child and starts loading its
 * children early. Measured at N = 1e4..1e6; either pure form loses somewhere.
 */
const BRANCHLESS_BELOW = 21_845; // slots in the top 8 levels of a 4-ary heap
/** Handle, distance and tag bits must share one int32 table word (see #setCapacity). */
const MAX_CAPACITY = 2 ** 26;
/** Bits of a table word recording the distance from the home bucket; DIST_MAX means "that far or more". */
const DIST_BITS = 4;
const DIST_MAX = (1 << DIST_BITS) - 1;

// Scratch space to hash the bits of a number that is not an int32.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function isId(value: unknown): value is HeapId {
  return typeof value === 'string' || (typeof value === 'number' && value === value);
}

/** 32-bit hash of an id; -0 and 0 hash alike, as they are the same id. */
function hashId(id: HeapId): number {
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

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

function validateKey(key: unknown): asserts key is number {
  if (typeof key !== 'number' || key !== key) {
    throw new ValidationError(`Expected \`key\` to be a number other than NaN, got ${show(key)}`);
  }
}

function validateId(id: unknown): asserts id is HeapId {
  if (!isId(id)) {
    throw new ValidationError(`Expected \`options.id(item)\` to return a string or a number other than NaN, got ${show(id)}`);
  }
}

function capacityFor(wanted: number): number {
  let cap = MIN_CAPACITY;
  while (cap < wanted) cap *= 2;
  if (cap > MAX_CAPACITY) throw new RangeError(`QuaternaryHeap cannot hold more than ${MAX_CAPACITY} entries`);
  return cap;
}

/**
 * A 4-ary min-heap for timer queues: items ordered by a numeric key, equal
 * keys in insertion (FIFO) order, with removal and re-keying by id.
 *
 * Keys may be any number but NaN (`Infinity` is a key like any other). Ids
 * come from `options.id` and must be unique within the heap.
 *
 * @example
 * const heap = new QuaternaryHeap<{ id: string }>({ id: (job) => job.id });
 * heap.push({ id: 'b' }, 20);
 * heap.push({ id: 'a' }, 10);
 * heap.update('b', 5);
 * heap.pop(); // { id: 'b' }
 */
export class QuaternaryHeap<T> {
  readonly #idOf: (item: T) => HeapId;
  #size = 0;
  #nextSeq = 0;
  #capacity = 0;
  /** slot -> key */
  #keys = new Float64Array(0);
  /** slot -> handle; [size, capacity) holds the free handles */
  #slots = new Int32Array(0);
  /**
   * handle -> 16-byte record, two views of one buffer:
   * int32 [4h] slot, [4h + 1] id hash; float64 [2h + 1] sequence number.
   */
  #rec = new Int32Array(0);
  #recSeq = new Float64Array(0);
  /** handle -> item (undefined when free, so the heap holds no dead items) */
  #items: (T | undefined)[] = [];
  /**
   * Id table, 2 * capacity words, 0 when empty. A word packs, low to high:
   * handle + 1 (#handleBits bits), distance from the home bucket (DIST_BITS,
   * saturating at DIST_MAX) and the top bits of the id hash (the rest).
   */
  #table = new Int32Array(0);
  #handleBits = 0;
  /** (1 << #handleBits) - 1: extracts handle + 1 from a word */
  #handleMask = 0;
  /** the bits of a word (and of a hash) above handle and distance */
  #tagMask = 0;

  /**
   * @example
   * const timers = new QuaternaryHeap<Timer>({ id: (t) => t.id, initialCapacity: 1024 });
   */
  constructor(options: HeapOptions<T>) {
    if (options === null || typeof options !== 'object') {
      throw new ValidationError(`Expected \`options\` to be an object, got ${show(options)}`);
    }
    if (typeof options.id !== 'function') {
      throw new ValidationError(`Expected \`options.id\` to be a function, got ${show(options.id)}`);
    }
    const initial = options.initialCapacity ?? DEFAULT_CAPACITY;
    if (!Number.isSafeInteger(initial) || initial < 0) {
      throw new ValidationError(`Expected \`options.initialCapacity\` to be a non-negative integer, got ${show(initial)}`);
    }
    this.#idOf = options.id;
    this.#setCapacity(capacityFor(initial));
  }

  /**
   * Builds a heap from `[item, key]` pairs in O(n). Equal keys keep the
   * iteration order (FIFO). Throws ValidationError on a NaN key or a
   * duplicate id.
   *
   * @example
   * const heap = QuaternaryHeap.from(jobs.map((j) => [j, j.runAt] as const), { id: (j) => j.id });
   */
  static from<T>(entries: Iterable<readonly [item: T, key: number]>, options: HeapOptions<T>): QuaternaryHeap<T> {
    if (entries === null || typeof (entries as Partial<Iterable<unknown>>)?.[Symbol.iterator] !== 'function') {
      throw new ValidationError(`Expected \`entries\` to be an iterable of [item, key] pairs, got ${show(entries)}`);
    }
    const heap = new QuaternaryHeap<T>(options);
    const list = Array.isArray(entries) ? (entries as readonly (readonly [T, number])[]) : [...entries];
    if (list.length > heap.#capacity) heap.#setCapacity(capacityFor(list.length));
    heap.#load(list);
    return heap;
  }

  /** Fills an empty heap, whose slots are still the identity permutation, then heapifies. */
  #load(list: readonly (readonly [T, number])[]): void {
    const n = list.length;
    const keys = this.#keys;
    const items = this.#items;
    const rec = this.#rec;
    const recSeq = this.#recSeq;
    for (let i = 0; i < n; i++) {
      const entry = list[i];
      if (entry === null || typeof entry !== 'object') {
        throw new ValidationError(`Expected entry ${i} to be an [item, key] pair, got ${show(entry)}`);
      }
      const item = entry[0];
      const key = entry[1];
      validateKey(key);
      const id = this.#idOf(item);
      validateId(id);
      const hash = hashId(id);
      const t = this.#probe(id, hash);
      if (this.#table[t] !== 0) throw new ValidationError(`Expected unique ids, got id ${show(id)} twice`);
      // Entry i takes handle i, in slot i, with sequence number i.
      this.#link(t, i, hash);
      items[i] = item;
      keys[i] = key;
      rec[i << 2] = i;
      rec[(i << 2) + 1] = hash;
      recSeq[(i << 1) + 1] = i;
    }
    this.#size = n;
    this.#nextSeq = n;
    const slots = this.#slots;
    for (let s = n > 1 ? ((n - 2) / ARITY) | 0 : -1; s >= 0; s--) this.#siftDown(s, slots[s]!, keys[s]!, n);
  }

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds `item` with `key`. Throws ValidationError, leaving the heap
   * unchanged, when `key` is NaN or not a number, or when `item`'s id is
   * already in the heap.
   *
   * @example
   * heap.push(job, Date.now() + 5_000);
   */
  push(item: T, key: number): void {
    validateKey(key);
    const id = this.#idOf(item);
    validateId(id);
    if (this.#size === this.#capacity) this.#setCapacity(capacityFor(this.#capacity * 2));
    const hash = hashId(id);
    const t = this.#probe(id, hash);
    if (this.#table[t] !== 0) throw new ValidationError(`Expected item id ${show(id)} to be unused, got an entry with that id`);
    const slot = this.#size++;
    const h = this.#slots[slot]!;
    this.#link(t, h, hash);
    this.#items[h] = item;
    this.#rec[(h << 2) + 1] = hash;
    this.#recSeq[(h << 1) + 1] = this.#nextSeq++;
    this.#siftUp(slot, h, key);
  }

  /**
   * The item with the least key (the earliest pushed among equals), or
   * undefined when empty. O(1).
   *
   * @example
   * const next = heap.peek();
   */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#slots[0]!];
  }

  /**
   * The least key, or undefined when empty. O(1).
   *
   * @example
   * const delay = (heap.peekKey() ?? Infinity) - now;
   */
  peekKey(): number | undefined {
    return this.#size === 0 ? undefined : this.#keys[0];
  }

  /**
   * Removes and returns the item with the least key (the earliest pushed
   * among equals), or undefined when empty. O(log n).
   *
   * @example
   * while (heap.size > 0 && heap.peekKey()! <= now) run(heap.pop()!);
   */
  pop(): T | undefined {
    const n = this.#size;
    if (n === 0) return undefined;
    const slots = this.#slots;
    const h = slots[0]!;
    const item = this.#items[h];
    this.#unlink(h);
    this.#items[h] = undefined;
    const last = n - 1;
    this.#size = last;
    if (last > 0) {
      const moved = slots[last]!;
      slots[last] = h;
      this.#siftDown(0, moved, this.#keys[last]!, last);
    }
    return item;
  }

  /**
   * Removes the entry with this id (a string or number), or with the id of
   * this item. O(log n). Returns false when there is none.
   *
   * @example
   * heap.remove('job-42');
   */
  remove(itemOrId: T | HeapId): boolean {
    const h = this.#handleOf(itemOrId);
    if (h < 0) return false;
    this.#unlink(h);
    this.#items[h] = undefined;
    const slot = this.#rec[h << 2]!;
    const last = --this.#size;
    if (slot !== last) {
      const slots = this.#slots;
      const moved = slots[last]!;
      const key = this.#keys[last]!;
      slots[last] = h;
      if (this.#siftUp(slot, moved, key) === slot) this.#siftDown(slot, moved, key, last);
    }
    return true;
  }

  /**
   * Gives the entry with this id (or this item's id) a new key. O(log n). The
   * entry goes behind entries with an equal key, as if pushed now. Returns
   * false when there is none; throws ValidationError when `key` is NaN or not
   * a number.
   *
   * @example
   * heap.update(job, job.runAt + backoff);
   */
  update(itemOrId: T | HeapId, key: number): boolean {
    validateKey(key);
    const h = this.#handleOf(itemOrId);
    if (h < 0) return false;
    this.#recSeq[(h << 1) + 1] = this.#nextSeq++;
    const slot = this.#rec[h << 2]!;
    // With its new sequence number the entry sorts after equal keys, so only
    // a smaller key can move it up.
    if (key < this.#keys[slot]!) this.#siftUp(slot, h, key);
    else this.#siftDown(slot, h, key, this.#size);
    return true;
  }

  /**
   * Whether an entry has this id. O(1).
   *
   * @example
   * if (!heap.has(job.id)) heap.push(job, job.runAt);
   */
  has(id: HeapId): boolean {
    return isId(id) && this.#find(id) >= 0;
  }

  /**
   * The item with this id, or undefined. O(1).
   *
   * @example
   * const job = heap.get('job-42');
   */
  get(id: HeapId): T | undefined {
    const h = isId(id) ? this.#find(id) : -1;
    return h < 0 ? undefined : this.#items[h];
  }

  /**
   * The key of the entry with this id, or undefined. O(1).
   *
   * @example
   * const runAt = heap.keyOf('job-42');
   */
  keyOf(id: HeapId): number | undefined {
    const h = isId(id) ? this.#find(id) : -1;
    return h < 0 ? undefined : this.#keys[this.#rec[h << 2]!];
  }

  /**
   * Removes every entry; keeps the allocated capacity.
   *
   * @example
   * heap.clear();
   */
  clear(): void {
    this.#items.fill(undefined);
    this.#table.fill(0);
    this.#size = 0;
    this.#nextSeq = 0;
  }

  /**
   * Every item, in no particular order. O(n). Do not change the heap while
   * iterating.
   *
   * @example
   * const all = [...heap];
   */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#items[this.#slots[i]!] as T;
  }

  /**
   * Re-derives every invariant (heap order with the FIFO tie-break, the
   * position index, the free handles, the id table) in O(n) and throws an
   * Error naming the first broken one. For tests.
   *
   * @example
   * heap.check();
   */
  check(): void {
    const fail = (what: string): never => {
      throw new Error(`QuaternaryHeap invariant broken: ${what}`);
    };
    const n = this.#size;
    const cap = this.#capacity;
    const keys = this.#keys;
    const slots = this.#slots;
    const rec = this.#rec;
    const recSeq = this.#recSeq;
    const items = this.#items;
    const table = this.#table;
    if (!Number.isInteger(n) || n < 0 || n > cap) fail(`size: ${n} outside [0, ${cap}]`);
    for (const [name, length, expected] of [
      ['keys', keys.length, cap],
      ['slots', slots.length, cap],
      ['records', rec.length, 4 * cap],
      ['record sequence view', recSeq.length, 2 * cap],
      ['items', items.length, cap],
      ['id table', table.length, 2 * cap],
    ] as const) {
      if (length !== expected) fail(`capacity: ${name} has length ${length}, expected ${expected}`);
    }
    if (recSeq.buffer !== rec.buffer) fail('records: the two views do not share a buffer');

    const seen = new Uint8Array(cap);
    for (let s = 0; s < cap; s++) {
      const h = slots[s]!;
      if (h < 0 || h >= cap || seen[h] === 1) fail(`handle permutation: slot ${s} holds handle ${h} (out of range or repeated)`);
      seen[h] = 1;
    }
    const seqs = new Set<number>();
    for (let s = 0; s < n; s++) {
      const h = slots[s]!;
      if (rec[h << 2] !== s) fail(`position index: handle ${h} sits in slot ${s} but records slot ${rec[h << 2]}`);
      const key = keys[s]!;
      if (key !== key) fail(`keys: NaN in slot ${s}`);
      const q = recSeq[(h << 1) + 1]!;
      if (!Number.isInteger(q) || q < 0 || q >= this.#nextSeq || seqs.has(q)) {
        fail(`sequence numbers: handle ${h} has ${q} (next ${this.#nextSeq}; must be unique and smaller)`);
      }
      seqs.add(q);
      if (s > 0) {
        const p = ((s - 1) / ARITY) | 0;
        const pk = keys[p]!;
        if (key < pk || (key === pk && q < recSeq[(slots[p]! << 1) + 1]!)) {
          fail(`heap order: slot ${s} (key ${key}) sorts before its parent slot ${p} (key ${pk})`);
        }
      }
      if (items[h] === undefined) fail(`items: live handle ${h} has no item`);
      const id = this.#idOf(items[h] as T);
      if (!isId(id)) fail(`ids: the item of handle ${h} has id ${show(id)}`);
      if (rec[(h << 2) + 1] !== hashId(id)) fail(`id hash: handle ${h} records a stale hash for id ${show(id)}`);
      if (this.#find(id) !== h) fail(`id map: id ${show(id)} does not lead to handle ${h}`);
    }
    for (let s = n; s < cap; s++) {
      if (items[slots[s]!] !== undefined) fail(`free handles: handle ${slots[s]} in free slot ${s} still holds an item`);
    }

    const mask = table.length - 1;
    const hb = this.#handleBits;
    if (table.length !== 2 ** hb || this.#handleMask !== 2 ** hb - 1) fail('id map: handle field width');
    const listed = new Uint8Array(cap);
    let count = 0;
    for (let t = 0; t < table.length; t++) {
      const e = table[t]!;
      if (e === 0) continue;
      const h = (e & this.#handleMask) - 1;
      if (h < 0 || h >= cap) fail(`id map: bucket ${t} holds handle ${h}, out of range`);
      const slot = rec[h << 2]!;
      if (slot >= n || slots[slot] !== h) fail(`id map: bucket ${t} holds handle ${h}, which is not live`);
      if (listed[h] === 1) fail(`id map: handle ${h} is listed twice`);
      listed[h] = 1;
      count++;
      const hash = rec[(h << 2) + 1]!;
      const dist = (t - (hash & mask)) & mask;
      if (((e >>> hb) & DIST_MAX) !== Math.min(dist, DIST_MAX)) fail(`id map: bucket ${t} records a wrong distance`);
      if ((e & this.#tagMask) !== (hash & this.#tagMask)) fail(`id map: bucket ${t} records a wrong tag`);
      for (let j = hash & mask; j !== t; j = (j + 1) & mask) {
        if (table[j] === 0) fail(`id map: handle ${h} in bucket ${t} is unreachable from its home bucket`);
      }
    }
    if (count !== n) fail(`id map: ${count} entries for ${n} live entries`);
  }

  // ---- internals: trust their arguments ----

  /** Handle of the entry with this id (or this item's id), or -1. */
  #handleOf(itemOrId: T | HeapId): number {
    if (itemOrId === undefined || itemOrId === null) return -1;
    const id: unknown = typeof itemOrId === 'string' || typeof itemOrId === 'number' ? itemOrId : this.#idOf(itemOrId);
    return isId(id) ? this.#find(id) : -1;
  }

  #find(id: HeapId): number {
    return (this.#table[this.#probe(id, hashId(id))]! & this.#handleMask) - 1;
  }

  /** Bucket holding `id`, or the empty bucket where it would go. */
  #probe(id: HeapId, hash: number): number {
    const table = this.#table;
    const mask = table.length - 1;
    const hb = this.#handleBits;
    const handleMask = this.#handleMask;
    // A word can only be id's if its distance field and tag match ours.
    const tag = hash & this.#tagMask;
    const fieldMask = ~handleMask;
    const items = this.#items;
    let t = hash & mask;
    for (let dist = 0; ; dist++) {
      const e = table[t]!;
      if (e === 0) return t;
      if ((e & fieldMask) === (tag | ((dist < DIST_MAX ? dist : DIST_MAX) << hb))) {
        if (this.#idOf(items[(e & handleMask) - 1] as T) === id) return t;
      }
      t = (t + 1) & mask;
    }
  }

  /** Writes handle `h` into the empty bucket `t` found by #probe. */
  #link(t: number, h: number, hash: number): void {
    const table = this.#table;
    const dist = (t - hash) & (table.length - 1);
    table[t] = (h + 1) | ((dist < DIST_MAX ? dist : DIST_MAX) << this.#handleBits) | (hash & this.#tagMask);
  }

  /** Deletes handle `h` from the id table, shifting later words of its cluster back. */
  #unlink(h: number): void {
    const table = this.#table;
    const mask = table.length - 1;
    const hb = this.#handleBits;
    const handleMask = this.#handleMask;
    const rec = this.#rec;
    let hole = rec[(h << 2) + 1]! & mask;
    while ((table[hole]! & handleMask) !== h + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const e = table[j]!;
      if (e === 0) break;
      let dist = (e >>> hb) & DIST_MAX;
      if (dist === DIST_MAX) dist = (j - rec[(((e & handleMask) - 1) << 2) + 1]!) & mask;
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

  /** Moves entry (h, key) up from `slot`, writes it where it stops, returns that slot. */
  #siftUp(slot: number, h: number, key: number): number {
    const keys = this.#keys;
    const slots = this.#slots;
    const rec = this.#rec;
    while (slot > 0) {
      const parent = ((slot - 1) / ARITY) | 0;
      const pk = keys[parent]!;
      if (key > pk) break;
      const ph = slots[parent]!;
      if (key === pk && this.#recSeq[(h << 1) + 1]! > this.#recSeq[(ph << 1) + 1]!) break;
      keys[slot] = pk;
      slots[slot] = ph;
      rec[ph << 2] = slot;
      slot = parent;
    }
    keys[slot] = key;
    slots[slot] = h;
    rec[h << 2] = slot;
    return slot;
  }

  /** Moves entry (h, key) down from `slot` within the first `n` slots and writes it where it stops. */
  #siftDown(slot: number, h: number, key: number, n: number): void {
    const keys = this.#keys;
    const slots = this.#slots;
    const rec = this.#rec;
    const seq = this.#recSeq;
    for (;;) {
      const first = slot * ARITY + 1;
      let m: number;
      let mk: number;
      // <arity-specific>
      if (first + 3 < n) {
        const k0 = keys[first]!;
        const k1 = keys[first + 1]!;
        const k2 = keys[first + 2]!;
        const k3 = keys[first + 3]!;
        if (first < BRANCHLESS_BELOW) {
          // Cached levels: the least of each pair, then of the two winners,
          // by index arithmetic; ties (rare) fall back to sequence numbers.
          let a = first + +(k1 < k0);
          if (k1 === k0) a = first + +(seq[(slots[first + 1]! << 1) + 1]! < seq[(slots[first]! << 1) + 1]!);
          let b = first + 2 + +(k3 < k2);
          if (k3 === k2) b = first + 2 + +(seq[(slots[first + 3]! << 1) + 1]! < seq[(slots[first + 2]! << 1) + 1]!);
          const ka = keys[a]!;
          const kb = keys[b]!;
          m = a + (b - a) * +(kb < ka);
          if (kb === ka && seq[(slots[b]! << 1) + 1]! < seq[(slots[a]! << 1) + 1]!) m = b;
          mk = keys[m]!;
        } else {
          // Levels that miss the cache: branches let the CPU guess the
          // child and start loading its children before the compare is done.
          m = first;
          mk = k0;
          if (k1 < mk || (k1 === mk && seq[(slots[first + 1]! << 1) + 1]! < seq[(slots[first]! << 1) + 1]!)) {
            m = first + 1;
            mk = k1;
          }
          let m2 = first + 2;
          let mk2 = k2;
          if (k3 < mk2 || (k3 === mk2 && seq[(slots[first + 3]! << 1) + 1]! < seq[(slots[m2]! << 1) + 1]!)) {
            m2 = first + 3;
            mk2 = k3;
          }
          if (mk2 < mk || (mk2 === mk && seq[(slots[m2]! << 1) + 1]! < seq[(slots[m]! << 1) + 1]!)) {
            m = m2;
            mk = mk2;
          }
        }
      } else if (first < n) {
        // The one node with fewer than four children.
        m = first;
        mk = keys[first]!;
        for (let c = first + 1; c < n; c++) {
          const k = keys[c]!;
          if (k < mk || (k === mk && seq[(slots[c]! << 1) + 1]! < seq[(slots[m]! << 1) + 1]!)) {
            m = c;
            mk = k;
          }
        }
      } else {
        break;
      }
      // </arity-specific>
      if (mk > key) break;
      const mh = slots[m]!;
      if (mk === key && seq[(mh << 1) + 1]! > seq[(h << 1) + 1]!) break;
      keys[slot] = mk;
      slots[slot] = mh;
      rec[mh << 2] = slot;
      slot = m;
    }
    keys[slot] = key;
    slots[slot] = h;
    rec[h << 2] = slot;
  }

  /** (Re)allocates every array for `cap` entries (a power of two, at least the size) and rebuilds the id table. */
  #setCapacity(cap: number): void {
    const old = this.#capacity;
    const keys = new Float64Array(cap);
    keys.set(this.#keys);
    const slots = new Int32Array(cap);
    slots.set(this.#slots);
    for (let i = old; i < cap; i++) slots[i] = i;
    const buffer = new ArrayBuffer(16 * cap);
    const rec = new Int32Array(buffer);
    rec.set(this.#rec);
    const items = new Array<T | undefined>(cap).fill(undefined);
    for (let i = 0; i < old; i++) items[i] = this.#items[i];
    this.#capacity = cap;
    this.#keys = keys;
    this.#slots = slots;
    this.#rec = rec;
    this.#recSeq = new Float64Array(buffer);
    this.#items = items;
    // Table words: handle + 1 needs log2(cap) + 1 bits, then DIST_BITS, then
    // the tag; MAX_CAPACITY leaves the tag at least one bit.
    const hb = Math.log2(cap) + 1;
    this.#handleBits = hb;
    this.#handleMask = (1 << hb) - 1;
    this.#tagMask = -1 << (hb + DIST_BITS);
    this.#table = new Int32Array(2 * cap);
    for (let s = 0; s < this.#size; s++) {
      const h = slots[s]!;
      const hash = rec[(h << 2) + 1]!;
      let t = hash & (2 * cap - 1);
      while (this.#table[t] !== 0) t = (t + 1) & (2 * cap - 1);
      this.#link(t, h, hash);
    }
  }
}
