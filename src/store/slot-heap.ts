/**
 * SlotHeap: a 4-ary min-heap of small integers (a store's slots), ordered
 * by (runAt, seq) read from the store's rows (a slot's row is ROW doubles,
 * runAt first and seq third): earliest due first, then first inserted.
 * PackedJobs (packed-jobs.ts) keeps its due order in it.
 *
 * WHY not QuaternaryHeap (heap.ts): that heap keeps its own key and word a
 * slot beside the item and a handle record, ~34 B an entry at 1e6; this one
 * keeps 8 (the slot, and its position for an O(log n) remove), and reads
 * the keys from the rows. A compare reads two rows the heap does not own,
 * which is the price of the bytes saved (packed jobs are the store's
 * memory-lean mode). A copy that kept each entry's runAt beside its slot
 * (16 B an entry) fired no faster (bench/ab.ts fire, 5 December).
 */
/** Doubles a slot's row has: runAt at 0, seq at 2. */
export const ROW = 4;

export class SlotHeap {
  /** heap[i]: the slot at position i. */
  #heap: Int32Array = new Int32Array(64);
  /** pos[slot]: its position in `heap`, or -1 when it is not in the heap. */
  #pos: Int32Array = new Int32Array(0);
  #size = 0;
  #rows: Float64Array;

  /** `rows`: the rows slots are ordered by (see `rows`). */
  constructor(rows: Float64Array) {
    this.#rows = rows;
    this.#pos = new Int32Array(rows.length / ROW).fill(-1);
  }

  get size(): number {
    return this.#size;
  }

  /** The rows were replaced (grown): reads go to these, and slots up to their count may be pushed. */
  rows(rows: Float64Array): void {
    this.#rows = rows;
    if (this.#pos.length < rows.length / ROW) {
      const pos = new Int32Array(rows.length / ROW).fill(-1);
      pos.set(this.#pos);
      this.#pos = pos;
    }
  }

  /** Whether `slot` is in the heap. */
  has(slot: number): boolean {
    return (this.#pos[slot] ?? -1) >= 0;
  }

  /** The first slot, or -1 when the heap is empty. */
  peek(): number {
    return this.#size === 0 ? -1 : (this.#heap[0] as number);
  }

  push(slot: number): void {
    if (this.has(slot)) throw new Error(`SlotHeap: slot ${slot} is already in the heap`);
    if (this.#size === this.#heap.length) {
      const grown = new Int32Array(this.#heap.length * 2);
      grown.set(this.#heap);
      this.#heap = grown;
    }
    this.#up(this.#size++, slot);
  }

  /** Takes the first slot out; -1 when the heap is empty. */
  pop(): number {
    if (this.#size === 0) return -1;
    const top = this.#heap[0] as number;
    this.#pos[top] = -1;
    const last = this.#heap[--this.#size] as number;
    if (this.#size > 0) this.#down(0, last);
    return top;
  }

  /** Takes `slot` out; false when it is not in the heap. */
  remove(slot: number): boolean {
    const i = this.#pos[slot] ?? -1;
    if (i < 0) return false;
    this.#pos[slot] = -1;
    const last = this.#heap[--this.#size] as number;
    if (i === this.#size) return true;
    // The last slot fills the hole and moves whichever way its keys say.
    if (i > 0 && this.#before(last, this.#heap[(i - 1) >> 2] as number)) this.#up(i, last);
    else this.#down(i, last);
    return true;
  }

  clear(): void {
    for (let i = 0; i < this.#size; i++) this.#pos[this.#heap[i] as number] = -1;
    this.#size = 0;
  }

  /** Checks the heap order and the positions; throws on the first break (tests, the simulation). */
  check(): void {
    for (let i = 0; i < this.#size; i++) {
      const slot = this.#heap[i] as number;
      if (this.#pos[slot] !== i) throw new Error(`SlotHeap: slot ${slot} at ${i} records position ${this.#pos[slot]}`);
      if (i > 0 && this.#before(slot, this.#heap[(i - 1) >> 2] as number)) throw new Error(`SlotHeap: slot ${slot} at ${i} comes before its parent`);
    }
  }

  /** Whether slot a comes before slot b: earlier runAt, then lower seq (seqs are unique). */
  #before(a: number, b: number): boolean {
    const rows = this.#rows;
    const ka = rows[a * ROW] as number;
    const kb = rows[b * ROW] as number;
    return ka < kb || (ka === kb && (rows[a * ROW + 2] as number) < (rows[b * ROW + 2] as number));
  }

  /** Puts `slot` at position i or above it. */
  #up(i: number, slot: number): void {
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      const above = heap[parent] as number;
      if (!this.#before(slot, above)) break;
      heap[i] = above;
      this.#pos[above] = i;
      i = parent;
    }
    heap[i] = slot;
    this.#pos[slot] = i;
  }

  /** Puts `slot` at position i or below it. */
  #down(i: number, slot: number): void {
    const heap = this.#heap;
    const n = this.#size;
    for (;;) {
      const first = i * 4 + 1;
      if (first >= n) break;
      let best = first;
      const end = Math.min(first + 4, n);
      for (let c = first + 1; c < end; c++) if (this.#before(heap[c] as number, heap[best] as number)) best = c;
      const child = heap[best] as number;
      if (!this.#before(child, slot)) break;
      heap[i] = child;
      this.#pos[child] = i;
      i = best;
    }
    heap[i] = slot;
    this.#pos[slot] = i;
  }
}
