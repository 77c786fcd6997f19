/**
 * Building a QuaternaryHeap's arrays (src/heap.ts), cold code kept out of the
 * heap's file: their (re)allocation at a capacity, the checks of the
 * constructor's options and of the arguments of `from` and `fromItems`, and
 * the O(n) fill behind those two, which writes the entries into an empty
 * heap's arrays for the heap to heapify. No arity in it, so both heap
 * variants share it (bench/heap-binary.ts too).
 */
import { ValidationError } from './errors.js';
import { type HeapId, type HeapOptions, type IdTable, MAX_CAPACITY, hashId, show, validateId, validateKey } from './heap-ids.js';
// handleOf has no arity in it: the arity-2 bench copy shares it with this file.
import { handleOf } from './heap-sift.js';

const DEFAULT_CAPACITY = 64;
/** The longest `new Array(n)` V8 makes a plain (not dictionary) array: 32 Mi elements (checked in test/heap-room.test.ts). */
export const FAST_ARRAY_MAX = 2 ** 25;

/** A heap's arrays (the heap's own; see its fields for what each holds). */
export interface HeapArrays {
  keys: Float64Array<ArrayBuffer>;
  words: Float64Array<ArrayBuffer>;
  keyOfHandle: Float64Array<ArrayBuffer>;
  cells: unknown[];
}

/** An empty heap's own arrays, already sized for the entries a fill writes, and its id layer. */
export interface EmptySlots<T> extends HeapArrays {
  ids: IdTable | undefined;
  idOf: ((item: T) => HeapId) | undefined;
}

/**
 * A heap's arrays (re)allocated for `cap` entries (a power of two, at least
 * the length `n`) from `old` entries: the handle indexes [old, cap) join the
 * free ones, and the id table, if any, is resized over the live entries.
 */
export function resized(arrays: HeapArrays, old: number, cap: number, n: number, ids: IdTable | undefined): HeapArrays {
  const keys = new Float64Array(cap);
  keys.set(arrays.keys);
  const words = new Float64Array(cap);
  words.set(arrays.words);
  for (let i = old; i < cap; i++) words[i] = i;
  const keyOfHandle = new Float64Array(ids === undefined ? 0 : cap);
  keyOfHandle.set(arrays.keyOfHandle);
  // One allocation of the final length, then written. Growing the array by
  // push made V8 reallocate and copy it at every 1.5x step: measured here,
  // 3x the time for fromItems' one step to 2.6e5 handles (most of a 2e5-job
  // fromItems) and 1.5x over a heap's doublings. The array is holey from
  // the start, in every heap, so the reads in the sifts see one elements kind.
  // Past FAST_ARRAY_MAX elements V8 makes `new Array(n)` a dictionary (every
  // access a hash lookup), so a heap that big grows in place, element by
  // element, which keeps it a plain array (of the kind it was).
  const before = arrays.cells;
  const cells = 2 * cap <= FAST_ARRAY_MAX ? new Array<unknown>(2 * cap) : before;
  if (cells !== before) for (let i = 0; i < 2 * old; i++) cells[i] = before[i];
  for (let i = 2 * old; i < 2 * cap; i += 2) {
    cells[i] = undefined;
    cells[i + 1] = 0;
  }
  ids?.setCapacity(cap, liveHandles(words, cells, n));
  return { keys, words, keyOfHandle, cells };
}

/** Handle indexes of the live entries among the first n slots. */
function* liveHandles(words: Float64Array, cells: readonly unknown[], n: number): IterableIterator<number> {
  for (let s = 0; s < n; s++) {
    const h = handleOf(words[s]!);
    if (cells[2 * h] !== undefined) yield h;
  }
}

/** Checks the constructor's options; returns the initial capacity asked for (not yet rounded). */
export function initialCapacityOf<T>(options: HeapOptions<T>): number {
  if (options === null || typeof options !== 'object') {
    throw new ValidationError(`Expected \`options\` to be an object, got ${show(options)}`);
  }
  if (options.id !== undefined && typeof options.id !== 'function') {
    throw new ValidationError(`Expected \`options.id\` to be a function or undefined, got ${show(options.id)}`);
  }
  const initial = options.initialCapacity ?? DEFAULT_CAPACITY;
  if (!Number.isSafeInteger(initial) || initial < 0) {
    throw new ValidationError(`Expected \`options.initialCapacity\` to be a non-negative integer, got ${show(initial)}`);
  }
  return initial;
}

/** Checks `from`'s entries argument (before the heap is made). */
export function checkEntries(entries: unknown): void {
  if (entries === null || typeof (entries as Partial<Iterable<unknown>>)?.[Symbol.iterator] !== 'function') {
    throw new ValidationError(`Expected \`entries\` to be an iterable of [item, key] pairs, got ${show(entries)}`);
  }
}

/** Checks `fromItems`'s items and keyOf arguments (before the heap is made). */
export function checkItems(items: unknown, keyOf: unknown): void {
  if (!Array.isArray(items)) throw new ValidationError(`Expected \`items\` to be an array, got ${show(items)}`);
  if (typeof keyOf !== 'function') throw new ValidationError(`Expected \`keyOf\` to be a function, got ${show(keyOf)}`);
}

/** Fills an empty heap from [item, key] pairs (see fill). */
export function fillFromPairs<T>(slots: EmptySlots<T>, list: readonly (readonly [T, number])[]): void {
  fill(
    slots,
    list.length,
    (i) => {
      const entry = list[i];
      if (entry === null || typeof entry !== 'object') {
        throw new ValidationError(`Expected entry ${i} to be an [item, key] pair, got ${show(entry)}`);
      }
      return entry[0];
    },
    (_item, i) => (list[i] as readonly [T, number])[1],
  );
}

/** Fills an empty heap from items keyed by `keyOf(item)` (see fill). */
export function fillFromItems<T>(slots: EmptySlots<T>, items: readonly T[], keyOf: (item: T) => number): void {
  fill(
    slots,
    items.length,
    (i) => items[i] as T,
    (item, i) => {
      if (item === undefined) throw new ValidationError(`Expected entry ${i}'s item to be defined, got undefined`);
      return keyOf(item);
    },
  );
}

/**
 * Fills an empty heap, whose slots are still the identity permutation, with
 * n entries; the heap then sets its length and next sequence number to n and
 * heapifies.
 */
function fill<T>(slots: EmptySlots<T>, n: number, itemAt: (i: number) => T, keyAt: (item: T, i: number) => number): void {
  const { keys, words, cells, ids } = slots;
  for (let i = 0; i < n; i++) {
    const item = itemAt(i);
    const key = keyAt(item, i);
    validateKey(key);
    if (item === undefined) throw new ValidationError(`Expected entry ${i}'s item to be defined, got undefined`);
    if (ids !== undefined) {
      const id = slots.idOf!(item);
      validateId(id);
      const hash = hashId(id);
      const t = ids.probe(id, hash);
      if (ids.table[t] !== 0) throw new ValidationError(`Expected unique ids, got id ${show(id)} twice`);
      // Items are written before the next probe reads them.
      cells[2 * i] = item;
      ids.link(t, i, hash);
    }
    // Entry i takes handle index i, in slot i, with sequence number i
    // (MAX_CAPACITY is the sifts' UNIT: src/heap-sift.ts checks they match).
    cells[2 * i] = item;
    keys[i] = key;
    if (ids !== undefined) slots.keyOfHandle[i] = key;
    words[i] = i * MAX_CAPACITY + i;
  }
}
