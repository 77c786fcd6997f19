/**
 * QuaternaryHeap: the scheduler's timer queue. A 4-ary min-heap of items keyed
 * by a number (a due time): O(1) peek, O(log n) push and pop, O(1) cancel by
 * the handle push returned, and (with the `id` option) lookup, removal and
 * re-keying by id.
 *
 * HOW
 * - Every entry owns a handle index, a small integer. The heap proper is two
 *   slot arrays (Float64Array): `keys`, and `words` packing the entry's
 *   sequence number above its handle index (src/heap-sift.ts). Comparisons
 *   read the slot, never the item, as Go's runtime/time.go keeps `when`
 *   beside the timer pointer; equal keys (FIFO) are told apart by the words,
 *   loaded only then; a sift moves two numbers a level, as flatqueue does.
 * - Cancel is lazy, as Go's runtime timers are: it drops the item (a
 *   tombstone stays in the heap with its key), pop and peek sweep tombstones
 *   off the top, and when tombstones outnumber live entries the heap is
 *   compacted and re-heapified in O(n). So no entry's position is tracked
 *   and a sift writes no per-entry record.
 * - Per handle, only the item and a generation, side by side in `#cells`: a
 *   pop and the push that reuses its handle touch one cache line. The
 *   handle push returns packs the index and the generation, which moves on
 *   when the entry leaves, so a stale handle is refused.
 * - Ids are an optional layer kept off the hot loop: without `options.id`
 *   the heap never hashes; with it, ids map to handle indexes through a
 *   compact open-addressing table (src/heap-ids.ts).
 * - A re-key (update) is a cancel plus a push ("behind equal keys, as if
 *   pushed now" for free).
 * - `words` from `length` on holds the free handle indexes, so a push takes
 *   the index a pop just released, whose cells are still in cache.
 *
 * WHY 4-ary: half the depth of a binary heap, the four children of a slot sit
 * side by side, and fewer levels mean fewer moves; the least child is picked
 * with straight-line code (src/heap-sift.ts).
 *
 * The core trusts itself: only the public methods validate arguments, and
 * check() re-derives every invariant for the tests.
 */
import { ValidationError } from './errors.js';
import {
  type HeapHandle,
  type HeapId,
  type HeapOptions,
  IdTable,
  MAX_CAPACITY,
  capacityFor,
  checkHeap,
  hashId,
  isId,
  show,
  validateId,
  validateKey,
} from './heap-ids.js';
import { type EmptySlots, checkEntries, checkItems, fillFromItems, fillFromPairs, initialCapacityOf, resized } from './heap-build.js';

import { ARITY, UNIT, dropTombstones, handleOf, heapify, renumber, sequenceLimit, siftDown, siftUp } from './heap-sift.js';

export type { HeapHandle, HeapId, HeapOptions } from './heap-ids.js';
export { setSequenceLimitForTests } from './heap-sift.js';

/** Generations wrap below this, so a handle stays a safe integer (< 2^52). */
const GENERATION_MASK = 2 ** 26 - 1;
/** Tombstones below this many never trigger a compaction (a small heap sweeps them on pop). */
const MIN_COMPACT = 32;

/**
 * A 4-ary min-heap for timer queues: items ordered by a numeric key, equal
 * keys in insertion (FIFO) order, with O(1) cancel by handle and, when
 * `options.id` is given, removal and re-keying by id.
 *
 * Keys may be any number but NaN (`Infinity` is a key like any other). Ids
 * come from `options.id` and must be unique within the heap.
 *
 * @example
 * const heap = new QuaternaryHeap<{ id: string }>({ id: (job) => job.id });
 * const handle = heap.push({ id: 'b' }, 20);
 * heap.push({ id: 'a' }, 10);
 * heap.update('b', 5);
 * heap.pop(); // { id: 'b' }
 * heap.removeHandle(handle); // false: 'b' left the heap
 */
export class QuaternaryHeap<T> {
  readonly #idOf: ((item: T) => HeapId) | undefined;
  /** id -> handle index of the live entries; undefined without options.id */
  readonly #ids: IdTable | undefined;
  /** slots in use: live entries and tombstones */
  #length = 0;
  /** tombstones among the first #length slots */
  #dead = 0;
  /** sequence number of the next push; renumbering keeps it below SEQ_LIMIT */
  #nextSeq = 0;
  #capacity = 0;
  /** slot -> key */
  #keys = new Float64Array(0);
  /**
   * slot -> word: sequence number * MAX_CAPACITY + handle index, so words
   * order entries with equal keys (FIFO) in one comparison, beside the key,
   * and a sift moves two words a level. [length, capacity) holds the free
   * handle indexes (plain, sequence number 0).
   */
  #words = new Float64Array(0);
  /** handle index -> key, for keyOf() without a position index; only with ids (keyOf needs them), empty otherwise: 8 B an entry */
  #keyOfHandle = new Float64Array(0);
  /**
   * handle index h -> [2h] its item (undefined when free or cancelled, a
   * tombstone, so the heap holds no dead items) and [2h + 1] its generation,
   * moved on when the entry leaves. Side by side, so a pop and the push that
   * reuses its handle touch one cache line for them (apart, the two misses
   * were a third of the hold model at N = 2e5).
   */
  #cells: unknown[] = [];

  /**
   * @example
   * const timers = new QuaternaryHeap<Timer>({ initialCapacity: 1024 });
   * const byId = new QuaternaryHeap<Timer>({ id: (t) => t.id });
   */
  constructor(options: HeapOptions<T> = {}) {
    const initial = initialCapacityOf(options);
    this.#idOf = options.id;
    const idOf = options.id;
    this.#ids = idOf === undefined ? undefined : new IdTable((h) => idOf(this.#cells[2 * h] as T));
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
  static from<T>(entries: Iterable<readonly [item: T, key: number]>, options: HeapOptions<T> = {}): QuaternaryHeap<T> {
    checkEntries(entries);
    const heap = new QuaternaryHeap<T>(options);
    const list = Array.isArray(entries) ? (entries as readonly (readonly [T, number])[]) : [...entries];
    fillFromPairs(heap.#emptySlots(list.length), list);
    heap.#filled(list.length);
    return heap;
  }

  /**
   * Builds a heap of `items` keyed by `keyOf(item)` in O(n), as `from` does
   * without a pair per item. Equal keys keep the array's order (FIFO).
   * `onHandle(item, handle)` is called for each item with the handle that
   * `push` would have returned (for O(1) removal later). Throws
   * ValidationError on a NaN key or a duplicate id.
   *
   * @example
   * const heap = QuaternaryHeap.fromItems(jobs, (j) => j.runAt, {}, (j, h) => handles.set(j.id, h));
   */
  static fromItems<T>(items: readonly T[], keyOf: (item: T) => number, options: HeapOptions<T> = {}, onHandle?: (item: T, handle: HeapHandle) => void): QuaternaryHeap<T> {
    checkItems(items, keyOf);
    const heap = new QuaternaryHeap<T>(options);
    fillFromItems(heap.#emptySlots(items.length), items, keyOf);
    heap.#filled(items.length);
    // A fresh heap: entry i holds handle index i at generation 0.
    if (onHandle !== undefined) for (let i = 0; i < items.length; i++) onHandle(items[i] as T, i);
    return heap;
  }

  /** The arrays of this empty heap, grown to hold n entries, for a bulk fill (src/heap-build.ts). */
  #emptySlots(n: number): EmptySlots<T> {
    if (n > this.#capacity) this.#setCapacity(capacityFor(n));
    return { keys: this.#keys, words: this.#words, keyOfHandle: this.#keyOfHandle, cells: this.#cells, ids: this.#ids, idOf: this.#idOf };
  }

  /** Ends a bulk fill of n entries into slots [0, n) (each with sequence number its slot): heapifies. */
  #filled(n: number): void {
    this.#length = n;
    this.#nextSeq = n;
    heapify(this.#keys, this.#words, this.#length);
  }

  /** Number of entries (tombstones left by removals do not count). */
  get size(): number {
    return this.#length - this.#dead;
  }

  /**
   * Adds `item` with `key` and returns its handle. Throws ValidationError,
   * leaving the heap unchanged, when `key` is NaN or not a number, when
   * `item` is undefined (the heap's mark of a free or cancelled entry), or
   * when `item`'s id is already in the heap.
   *
   * @example
   * const handle = heap.push(job, Date.now() + 5_000);
   */
  push(item: T, key: number): HeapHandle {
    validateKey(key);
    if (item === undefined) throw new ValidationError('Expected `item` to be defined, got undefined');
    if (this.#ids === undefined) return this.#push(item, key, 0, -1);
    const id = this.#idOf!(item);
    validateId(id);
    return this.#pushWithId(item, key, id);
  }

  /**
   * The item with the least key (the earliest pushed among equals), or
   * undefined when empty. O(1) amortized.
   *
   * @example
   * const next = heap.peek();
   */
  peek(): T | undefined {
    if (this.#dead > 0) this.#sweepTop();
    return this.#length === 0 ? undefined : (this.#cells[2 * handleOf(this.#words[0]!)] as T);
  }

  /**
   * The least key, or undefined when empty. O(1) amortized.
   *
   * @example
   * const delay = (heap.peekKey() ?? Infinity) - now;
   */
  peekKey(): number | undefined {
    if (this.#dead > 0) this.#sweepTop();
    return this.#length === 0 ? undefined : this.#keys[0];
  }

  /**
   * Removes and returns the item with the least key (the earliest pushed
   * among equals), or undefined when empty. O(log n).
   *
   * @example
   * while (heap.size > 0 && heap.peekKey()! <= now) run(heap.pop()!);
   */
  pop(): T | undefined {
    if (this.#dead > 0) this.#sweepTop();
    const n = this.#length;
    if (n === 0) return undefined;
    const h = handleOf(this.#words[0]!);
    const item = this.#cells[2 * h] as T;
    this.#release(h);
    this.#removeTop(n);
    return item;
  }

  /**
   * Removes the entry this handle names. O(1): the entry becomes a tombstone
   * that a later pop sweeps (or a compaction, once tombstones outnumber the
   * entries). Returns false when the handle names no entry in the heap (it
   * left, or was never one of this heap's).
   *
   * @example
   * const handle = heap.push(timer, due);
   * heap.removeHandle(handle);
   */
  removeHandle(handle: HeapHandle): boolean {
    const h = this.#liveIndex(handle);
    if (h < 0) return false;
    this.#kill(h);
    return true;
  }

  /**
   * The item this handle names, or undefined when the handle names no entry
   * in the heap (it left, or was never one of this heap's). O(1).
   *
   * @example
   * if (heap.itemOf(handle) === job) heap.removeHandle(handle);
   */
  itemOf(handle: HeapHandle): T | undefined {
    const h = this.#liveIndex(handle);
    return h < 0 ? undefined : (this.#cells[2 * h] as T);
  }

  /**
   * Gives the entry this handle names a new key and returns its new handle
   * (the old one is spent), or undefined when the handle names no entry. The
   * entry goes behind entries with an equal key, as if pushed now. Throws
   * ValidationError when `key` is NaN or not a number.
   *
   * @example
   * handle = heap.updateHandle(handle, due + backoff) ?? heap.push(timer, due + backoff);
   */
  updateHandle(handle: HeapHandle, key: number): HeapHandle | undefined {
    validateKey(key);
    const h = this.#liveIndex(handle);
    if (h < 0) return undefined;
    return this.#rekey(h, key);
  }

  /**
   * Removes the entry with this id (a string or number), or with the id of
   * this item. O(1) (see removeHandle). Returns false when there is none.
   * Needs `options.id`.
   *
   * @example
   * heap.remove('job-42');
   */
  remove(itemOrId: T | HeapId): boolean {
    const h = this.#handleOf(itemOrId);
    if (h < 0) return false;
    this.#kill(h);
    return true;
  }

  /**
   * Gives the entry with this id (or this item's id) a new key. O(log n). The
   * entry goes behind entries with an equal key, as if pushed now. Returns
   * false when there is none; throws ValidationError when `key` is NaN or not
   * a number. Needs `options.id`.
   *
   * @example
   * heap.update(job, job.runAt + backoff);
   */
  update(itemOrId: T | HeapId, key: number): boolean {
    validateKey(key);
    const h = this.#handleOf(itemOrId);
    if (h < 0) return false;
    this.#rekey(h, key);
    return true;
  }

  /**
   * Whether an entry has this id. O(1). Needs `options.id`.
   *
   * @example
   * if (!heap.has(job.id)) heap.push(job, job.runAt);
   */
  has(id: HeapId): boolean {
    return this.#needIds() && isId(id) && this.#ids!.find(id) >= 0;
  }

  /**
   * The item with this id, or undefined. O(1). Needs `options.id`.
   *
   * @example
   * const job = heap.get('job-42');
   */
  get(id: HeapId): T | undefined {
    const h = this.#needIds() && isId(id) ? this.#ids!.find(id) : -1;
    return h < 0 ? undefined : (this.#cells[2 * h] as T);
  }

  /**
   * The key of the entry with this id, or undefined. O(1). Needs `options.id`.
   *
   * @example
   * const runAt = heap.keyOf('job-42');
   */
  keyOf(id: HeapId): number | undefined {
    const h = this.#needIds() && isId(id) ? this.#ids!.find(id) : -1;
    return h < 0 ? undefined : this.#keyOfHandle[h];
  }

  /**
   * Removes every entry; keeps the allocated capacity. Every handle given
   * out so far is spent.
   *
   * @example
   * heap.clear();
   */
  clear(): void {
    const words = this.#words;
    for (let s = 0; s < this.#length; s++) {
      const h = handleOf(words[s]!);
      if (this.#cells[2 * h] !== undefined) this.#cells[2 * h + 1] = ((this.#cells[2 * h + 1] as number) + 1) & GENERATION_MASK;
      this.#cells[2 * h] = undefined;
      words[s] = h;
    }
    this.#ids?.clear();
    this.#length = 0;
    this.#dead = 0;
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
    for (let i = 0; i < this.#length; i++) {
      const item = this.#cells[2 * handleOf(this.#words[i]!)] as T | undefined;
      if (item !== undefined) yield item;
    }
  }

  /**
   * Every item with its handle, in no particular order. O(n). Do not change
   * the heap while iterating.
   *
   * @example
   * const handles = new Map([...heap.entries()]);
   */
  *entries(): IterableIterator<[item: T, handle: HeapHandle]> {
    for (let i = 0; i < this.#length; i++) {
      const h = handleOf(this.#words[i]!);
      const item = this.#cells[2 * h] as T | undefined;
      if (item !== undefined) yield [item, h + (this.#cells[2 * h + 1] as number) * MAX_CAPACITY];
    }
  }

  /**
   * Re-derives every invariant (heap order with the FIFO tie-break over
   * entries and tombstones, the tombstone count, the free handles, the id
   * map) in O(n) and throws an Error naming the first broken one. For tests.
   *
   * @example
   * heap.check();
   */
  check(): void {
    checkHeap({
      name: 'QuaternaryHeap',
      arity: ARITY,
      length: this.#length,
      capacity: this.#capacity,
      dead: this.#dead,
      nextSeq: this.#nextSeq,
      seqLimit: sequenceLimit(),
      keys: this.#keys,
      words: this.#words,
      keyOfHandle: this.#keyOfHandle,
      gen: Int32Array.from({ length: this.#capacity }, (_, h) => this.#cells[2 * h + 1] as number),
      items: Array.from({ length: this.#capacity }, (_, h) => this.#cells[2 * h] as T | undefined),
      idOf: this.#idOf,
      ids: this.#ids,
    });
  }

  // ---- internals: trust their arguments ----

  /** Pushes a validated entry into a heap with ids; throws on a duplicate id before changing anything. */
  #pushWithId(item: T, key: number, id: HeapId): HeapHandle {
    // Grow first: a new capacity rebuilds the table, moving the bucket found below.
    if (this.#length === this.#capacity) this.#grow();
    const ids = this.#ids!;
    const hash = hashId(id);
    const t = ids.probe(id, hash);
    if (ids.table[t] !== 0) throw new ValidationError(`Expected item id ${show(id)} to be unused, got an entry with that id`);
    return this.#push(item, key, hash, t);
  }

  /** Pushes a validated entry; `t` is the id table's empty bucket for it (with its id hash), or -1 without ids. */
  #push(item: T, key: number, hash: number, t: number): HeapHandle {
    if (this.#length === this.#capacity) this.#grow();
    if (this.#nextSeq >= sequenceLimit()) {
      renumber(this.#words, this.#length);
      this.#nextSeq = this.#length;
    }
    const slot = this.#length++;
    const h = this.#words[slot]!;
    this.#cells[2 * h] = item;
    if (t >= 0) {
      this.#keyOfHandle[h] = key;
      this.#ids!.link(t, h, hash);
    }
    siftUp(this.#keys, this.#words, slot, key, h, this.#nextSeq++);
    return h + (this.#cells[2 * h + 1] as number) * UNIT;
  }

  /** Makes room: compacts when tombstones are many, else doubles the capacity. */
  #grow(): void {
    if (this.#dead >= MIN_COMPACT && this.#dead * 4 >= this.#length) this.#compact();
    else this.#setCapacity(capacityFor(this.#capacity * 2));
  }

  /** Handle index of a live entry named by `handle`, or -1. */
  #liveIndex(handle: HeapHandle): number {
    if (typeof handle !== 'number' || !Number.isSafeInteger(handle) || handle < 0) return -1;
    const h = handle % MAX_CAPACITY;
    if (h >= this.#capacity || this.#cells[2 * h] === undefined) return -1;
    return (handle - h) / MAX_CAPACITY === this.#cells[2 * h + 1] ? h : -1;
  }

  /** Handle index of the live entry with this id (or this item's id), or -1. */
  #handleOf(itemOrId: T | HeapId): number {
    if (itemOrId === undefined || itemOrId === null) return -1;
    this.#needIds();
    const id: unknown = typeof itemOrId === 'string' || typeof itemOrId === 'number' ? itemOrId : this.#idOf!(itemOrId);
    return isId(id) ? this.#ids!.find(id) : -1;
  }

  /** Throws unless the heap has the id layer; true otherwise. */
  #needIds(): true {
    if (this.#ids === undefined) {
      throw new ValidationError('Expected a heap built with `options.id` to look entries up by id, got one without it (use the handles push returns)');
    }
    return true;
  }

  /** Ends live entry h's life: spends its handle and drops its id. Its slot is the caller's business. */
  #release(h: number): void {
    this.#ids?.unlink(h);
    const cells = this.#cells;
    cells[2 * h] = undefined;
    cells[2 * h + 1] = ((cells[2 * h + 1] as number) + 1) & GENERATION_MASK;
  }

  /** Turns live entry h into a tombstone; compacts when tombstones outnumber entries. */
  #kill(h: number): void {
    this.#release(h);
    this.#dead++;
    if (handleOf(this.#words[0]!) === h) this.#sweepTop();
    else if (this.#dead >= MIN_COMPACT && this.#dead > this.#length - this.#dead) this.#compact();
  }

  /** Cancel + push: the entry keeps its item and id, with a new handle and sequence number. */
  #rekey(h: number, key: number): HeapHandle {
    const item = this.#cells[2 * h] as T;
    const id = this.#ids === undefined ? undefined : this.#idOf!(item);
    this.#kill(h);
    return id === undefined ? this.#push(item, key, 0, -1) : this.#pushWithId(item, key, id);
  }

  /**
   * Pops tombstones off the top until a live entry (or nothing) is there;
   * compacts instead once tombstones outnumber entries (pops shrink the live
   * count too), as sweeping each one costs a sift and compacting O(1).
   */
  #sweepTop(): void {
    if (this.#dead >= MIN_COMPACT && this.#dead > this.#length - this.#dead) this.#compact();
    const words = this.#words;
    const cells = this.#cells;
    while (this.#length > 0 && cells[2 * handleOf(words[0]!)] === undefined) {
      this.#dead--;
      this.#removeTop(this.#length);
    }
  }

  /** Removes slot 0 of a heap of n slots; its handle index joins the free ones. */
  #removeTop(n: number): void {
    const last = n - 1;
    this.#length = last;
    const words = this.#words;
    const top = handleOf(words[0]!);
    if (last > 0) siftDown(this.#keys, words, 0, last, last);
    words[last] = top;
    // Loads the next top's cell now (its handle is random: a cache miss), so
    // the miss overlaps what the caller does before the next pop (10-20% of
    // the hold model). The check (no tombstone counted, so the top is live)
    // keeps the load from being optimized away.
    if (this.#cells[2 * handleOf(words[0]!)] === undefined && last > 0 && this.#dead === 0) {
      throw new Error('QuaternaryHeap invariant broken: a tombstone on top with none counted');
    }
  }

  /** Drops every tombstone (their handle indexes become free) and re-heapifies: O(n). */
  #compact(): void {
    const cells = this.#cells;
    this.#length = dropTombstones(this.#keys, this.#words, this.#length, this.#dead, (h) => cells[2 * h] === undefined);
    this.#dead = 0;
    heapify(this.#keys, this.#words, this.#length);
  }

  /** (Re)allocates every array for `cap` entries (a power of two, at least the length); see resized. */
  #setCapacity(cap: number): void {
    const arrays = resized({ keys: this.#keys, words: this.#words, keyOfHandle: this.#keyOfHandle, cells: this.#cells }, this.#capacity, cap, this.#length, this.#ids);
    this.#capacity = cap;
    this.#keys = arrays.keys;
    this.#words = arrays.words;
    this.#keyOfHandle = arrays.keyOfHandle;
    this.#cells = arrays.cells;
  }
}
