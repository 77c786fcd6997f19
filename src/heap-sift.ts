/**
 * The sifts of QuaternaryHeap (src/heap.ts), over its two slot arrays:
 * `keys` (slot -> key) and `words` (slot -> sequence number * UNIT + handle
 * index). A word orders entries with equal keys (FIFO) in one comparison,
 * read beside the key, and a sift moves two numbers a level, as flatqueue
 * does. bench/gen-heap-binary.ts makes the arity-2 copy of this file.
 */
import { MAX_CAPACITY } from './heap-ids.js';

/** Children per node. The index math derives from it; siftDown's unrolled pick is written for it (bench/gen-heap-binary.ts makes the arity-2 copy). */
export const ARITY = 4;

/**
 * siftDown picks the least child without branches in the top levels (slots
 * below this, about 170 KB of keys, which stay in cache): a mispredicted
 * branch costs more than the arithmetic. Below them every level is a cache
 * miss and branches win: the CPU guesses the child and starts loading its
 * children early. Measured at N = 1e4..1e6; either pure form loses somewhere.
 */
const BRANCHLESS_BELOW = 21_845; // slots in the top 8 levels of a 4-ary heap

/**
 * Sequence numbers stay below this, so a word (sequence number *
 * MAX_CAPACITY + handle index) stays a safe integer; reaching it renumbers.
 */
const SEQ_LIMIT = 2 ** 53 / MAX_CAPACITY; // 2^27
let seqLimit = SEQ_LIMIT;

/** The current limit (SEQ_LIMIT unless a test lowered it). */
export function sequenceLimit(): number {
  return seqLimit;
}

/**
 * For tests only: renumber sequence numbers once they reach `limit` (at
 * least 1) instead of 2^27, so renumbering can be tested without 2^27
 * pushes. Returns the previous limit.
 */
export function setSequenceLimitForTests(limit: number): number {
  const previous = seqLimit;
  seqLimit = Math.min(Math.max(1, Math.floor(limit)), SEQ_LIMIT);
  return previous;
}

/**
 * MAX_CAPACITY as a local literal: the hot paths multiply and divide by it,
 * and an imported binding is loaded (and divided by) on every use.
 */
export const UNIT = 67_108_864;
if (UNIT !== MAX_CAPACITY) throw new Error('heap-sift: UNIT must equal MAX_CAPACITY');
/** 1 / UNIT, exact: dividing costs several times a multiply. */
const PER_UNIT = 1 / 67_108_864;

/** Handle index of a word (its low bits). */
export function handleOf(word: number): number {
  return word - Math.floor(word * PER_UNIT) * UNIT;
}

/** Floyd's heap construction over the first `n` slots. */
export function heapify(keys: Float64Array, words: Float64Array, n: number): void {
for (let s = n > 1 ? ((n - 2) / ARITY) | 0 : -1; s >= 0; s--) siftDown(keys, words, s, s, n);
}

/**
 * Moves a pushed entry (handle h, key, sequence number seq) up from `slot`
 * and writes it where it stops. Its sequence number is the newest, so an
 * equal key stops it. (Its word is made here, not passed in: a word is past
 * the small-integer range, and an argument would be boxed on every call.)
 */
export function siftUp(keys: Float64Array, words: Float64Array, slot: number, key: number, h: number, seq: number): void {
  while (slot > 0) {
    const parent = ((slot - 1) / ARITY) | 0;
    const pk = keys[parent]!;
    if (key >= pk) break;
    keys[slot] = pk;
    words[slot] = words[parent]!;
    slot = parent;
  }
  keys[slot] = key;
  words[slot] = seq * UNIT + h;
}

/**
 * Moves the entry in slot `from` (its key and word are read here: passed
 * in, a word would be boxed on every call) down from `slot` within the
 * first `n` slots, and writes it where it stops.
 */
export function siftDown(keys: Float64Array, words: Float64Array, slot: number, from: number, n: number): void {
  const key = keys[from]!;
  const word = words[from]!;
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
        // by index arithmetic; ties (rare) fall back to the words.
        let a = first + +(k1 < k0);
        if (k1 === k0) a = first + +(words[first + 1]! < words[first]!);
        let b = first + 2 + +(k3 < k2);
        if (k3 === k2) b = first + 2 + +(words[first + 3]! < words[first + 2]!);
        const ka = keys[a]!;
        const kb = keys[b]!;
        m = a + (b - a) * +(kb < ka);
        if (kb === ka && words[b]! < words[a]!) m = b;
        mk = keys[m]!;
      } else {
        // Levels that miss the cache: branches let the CPU guess the
        // child and start loading its children before the compare is done.
        m = first;
        mk = k0;
        if (k1 < mk || (k1 === mk && words[first + 1]! < words[first]!)) {
          m = first + 1;
          mk = k1;
        }
        let m2 = first + 2;
        let mk2 = k2;
        if (k3 < mk2 || (k3 === mk2 && words[first + 3]! < words[m2]!)) {
          m2 = first + 3;
          mk2 = k3;
        }
        if (mk2 < mk || (mk2 === mk && words[m2]! < words[m]!)) {
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
        if (k < mk || (k === mk && words[c]! < words[m]!)) {
          m = c;
          mk = k;
        }
      }
    } else {
      break;
    }
    // </arity-specific>
    if (mk > key) break;
    const mw = words[m]!;
    if (mk === key && mw > word) break;
    keys[slot] = mk;
    words[slot] = mw;
    slot = m;
  }
  keys[slot] = key;
  words[slot] = word;
}

/**
 * Gives the entries of the first `n` slots new sequence numbers 0..n-1, in
 * the order of their old ones (the caller's next one is then n), when the
 * next would no longer fit in a word: O(n log n), once every ~2^27 pushes.
 * Heap order and FIFO order stay as they were.
 */
export function renumber(words: Float64Array, n: number): void {
  // Words sort as their sequence numbers do (the handle is below them).
  const sorted = words.slice(0, n).sort();
  for (let s = 0; s < n; s++) {
    const w = words[s]!;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < w) lo = mid + 1;
      else hi = mid;
    }
    words[s] = lo * UNIT + handleOf(w);
  }
}

/**
 * Moves the live entries of the first `n` slots (`isDead(h)` false) to the
 * front, in their order, and the `dead` tombstones' handle indexes after them
 * (free); returns the live count. The caller re-heapifies.
 */
export function dropTombstones(keys: Float64Array, words: Float64Array, n: number, dead: number, isDead: (h: number) => boolean): number {
  const freed = new Int32Array(dead);
  let w = 0;
  let d = 0;
  for (let s = 0; s < n; s++) {
    const word = words[s]!;
    const h = handleOf(word);
    if (isDead(h)) {
      freed[d++] = h;
    } else {
      keys[w] = keys[s]!;
      words[w++] = word;
    }
  }
  words.set(freed, w);
  return w;
}
