/**
 * A name's ready queue in a local store (see LocalState): due jobs waiting
 * for a free slot, best first by key (-priority), equal keys in push order.
 *
 * WHY not always a heap: almost every ready queue holds jobs of one priority
 * (a burst of due jobs larger than the free concurrency), and for those the
 * heap's order is plain FIFO. A heap pop still walks a path of equal keys
 * down, comparing sequence numbers at each level, and the heap's arrays grow
 * and are copied as bursts arrive. So the queue is a FIFO array while every
 * entry has one key, and turns into a QuaternaryHeap (same order: key, then
 * push order) when a job with another key arrives; it becomes a FIFO again
 * once it empties.
 *
 * A job that arrives before the last one pushed in (runAt, seq) order (a
 * date in the past, a reschedule into the past, a missed slot caught up,
 * while others wait for capacity) would break "push order is (runAt, seq)
 * order". It goes into a small heap of its own beside the queue (pushEarly),
 * ordered by (priority, runAt, seq) outright, and peek/pop take the better
 * of the two heads. WHY: until 5 December 2026 such a job re-sorted the whole
 * queue, O(n log n) for each one: 200 of them with 1e5 jobs waiting cost
 * 6.7 s, ~33 ms a claim (.tmp/early-resort.ts, untracked).
 */
import { QuaternaryHeap } from '../heap.js';
import { type Placed, PlacedHeap } from './placed-heap.js';
import type { JobRecord } from './store.js';

/** What LocalState.pick and pickLanes read of a name's ready queue. */
export interface ReadyLane {
  readonly size: number;
  peek(): JobRecord | undefined;
  pop(): JobRecord | undefined;
}

/** Entries dropped from the FIFO's front are sliced off once they are at least this many and half the array. */
const COMPACT_AT = 1024;

/** Handles of early entries start here: the FIFO's and the QuaternaryHeap's stay below 2^52. */
const EARLY_BASE = 2 ** 52;

/** True when `a` leaves a ready queue before `b`: higher priority, then earlier runAt, then first inserted. */
function first(a: JobRecord, b: JobRecord): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  return a.runAt < b.runAt || (a.runAt === b.runAt && a.seq < b.seq);
}

interface EarlyEntry extends Placed {
  readonly job: JobRecord;
  readonly handle: number;
}

/** The jobs that arrived early (see ReadyQueue): a heap by `first`, each entry with a stable handle. */
class EarlyHeap {
  readonly heap = new PlacedHeap<EarlyEntry>((a, b) => first(a.job, b.job));
  readonly byHandle = new Map<number, EarlyEntry>();
  private next = EARLY_BASE;

  get size(): number {
    return this.heap.size;
  }

  push(job: JobRecord): number {
    const entry: EarlyEntry = { job, handle: this.next++, at: 0 };
    this.heap.push(entry);
    this.byHandle.set(entry.handle, entry);
    return entry.handle;
  }

  peek(): JobRecord | undefined {
    return this.heap.peek()?.job;
  }

  pop(): JobRecord | undefined {
    const top = this.heap.pop();
    if (top === undefined) return undefined;
    this.byHandle.delete(top.handle);
    return top.job;
  }

  remove(handle: number): boolean {
    const entry = this.byHandle.get(handle);
    if (entry === undefined) return false;
    this.heap.remove(entry);
    this.byHandle.delete(handle);
    return true;
  }

  /** Throws an Error naming the first broken invariant (order, positions, handles). */
  check(): void {
    this.heap.check('ReadyQueue early heap');
    if (this.byHandle.size !== this.heap.size) throw new Error(`ReadyQueue invariant broken: ${this.byHandle.size} early handles, ${this.heap.size} early entries`);
    for (const e of this.heap.items) if (this.byHandle.get(e.handle) !== e) throw new Error(`ReadyQueue invariant broken: early handle ${e.handle} names another entry`);
  }
}

export class ReadyQueue implements ReadyLane, Iterable<JobRecord> {
  /** FIFO entries; undefined where one was removed by handle (a tombstone). */
  #items: (JobRecord | undefined)[] = [];
  /** Index in #items of the first entry not yet popped. */
  #head = 0;
  /** Handle of #items[0]: handles only grow, so a spent FIFO handle never names a later entry. */
  #base = 0;
  /** Live FIFO entries. */
  #live = 0;
  /** The key of every FIFO entry. */
  #key = 0;
  /** Set while entries with different keys are queued. */
  #heap: QuaternaryHeap<JobRecord> | undefined;
  /** Jobs that arrived early (pushEarly), while any is queued. */
  #early: EarlyHeap | undefined;

  /**
   * @param moved told each entry's new handle when the FIFO turns into a
   *   heap (LocalState keeps a ready record's handle on the record).
   */
  constructor(private readonly moved: (job: JobRecord, handle: number) => void) {}

  get size(): number {
    return (this.#heap === undefined ? this.#live : this.#heap.size) + (this.#early === undefined ? 0 : this.#early.size);
  }

  /**
   * Queues `job`, which goes before some job pushed earlier (in runAt, seq
   * order), beside the queue in O(log n); returns its handle.
   */
  pushEarly(job: JobRecord): number {
    this.#early ??= new EarlyHeap();
    return this.#early.push(job);
  }

  /** Queues `job` with `key` (lower first); returns its handle. */
  push(job: JobRecord, key: number): number {
    let heap = this.#heap;
    if (heap !== undefined) {
      if (heap.size > 0) return heap.push(job, key);
      this.#heap = heap = undefined;
    }
    if (this.#live === 0) {
      this.#reset();
      this.#key = key;
    } else if (key !== this.#key) return this.#toHeap().push(job, key);
    this.#live++;
    return this.#base + this.#items.push(job) - 1;
  }

  /** The first entry, or undefined when empty. */
  peek(): JobRecord | undefined {
    const main = this.#peekMain();
    const early = this.#early?.peek();
    return early !== undefined && (main === undefined || first(early, main)) ? early : main;
  }

  /** Removes and returns the first entry, or undefined when empty. */
  pop(): JobRecord | undefined {
    const early = this.#early;
    if (early !== undefined) {
      const e = early.peek();
      const main = this.#peekMain();
      if (e !== undefined && (main === undefined || first(e, main))) {
        early.pop();
        if (early.size === 0) this.#early = undefined;
        return e;
      }
    }
    return this.#popMain();
  }

  #peekMain(): JobRecord | undefined {
    if (this.#heap !== undefined) return this.#heap.peek();
    this.#skip();
    return this.#items[this.#head];
  }

  #popMain(): JobRecord | undefined {
    if (this.#heap !== undefined) return this.#heap.pop();
    this.#skip();
    const items = this.#items;
    const head = this.#head;
    if (head >= items.length) return undefined;
    const job = items[head];
    items[head] = undefined;
    this.#head = head + 1;
    this.#live--;
    if (this.#live === 0) this.#reset();
    else if (this.#head >= COMPACT_AT && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    return job;
  }

  /** The entry this handle names, or undefined (spent, or another queue's). */
  itemOf(handle: number): JobRecord | undefined {
    if (handle >= EARLY_BASE) return this.#early?.byHandle.get(handle)?.job;
    if (this.#heap !== undefined) return this.#heap.itemOf(handle);
    const i = handle - this.#base;
    return i >= this.#head && i < this.#items.length ? this.#items[i] : undefined;
  }

  /** Removes the entry this handle names; false when it names none. */
  removeHandle(handle: number): boolean {
    if (handle >= EARLY_BASE) {
      const early = this.#early;
      if (early === undefined || !early.remove(handle)) return false;
      if (early.size === 0) this.#early = undefined;
      return true;
    }
    if (this.#heap !== undefined) return this.#heap.removeHandle(handle);
    const i = handle - this.#base;
    if (i < this.#head || i >= this.#items.length || this.#items[i] === undefined) return false;
    this.#items[i] = undefined;
    this.#live--;
    if (this.#live === 0) this.#reset();
    return true;
  }

  clear(): void {
    this.#heap = undefined;
    this.#early = undefined;
    this.#reset();
  }

  /**
   * Re-derives the invariants (the heap's own check in heap mode; in FIFO
   * mode the live count, nothing before the head) and throws an Error naming
   * the first broken one. For tests (the simulation calls it on every step).
   */
  check(): void {
    this.#early?.check();
    if (this.#heap !== undefined) {
      this.#heap.check();
      return;
    }
    let live = 0;
    for (let i = 0; i < this.#items.length; i++) {
      if (this.#items[i] === undefined) continue;
      if (i < this.#head) throw new Error(`ReadyQueue invariant broken: entry ${i} before the head ${this.#head}`);
      live++;
    }
    if (live !== this.#live) throw new Error(`ReadyQueue invariant broken: ${live} entries, ${this.#live} counted`);
  }

  /** Every entry, in no particular order. Do not change the queue while iterating. */
  *[Symbol.iterator](): IterableIterator<JobRecord> {
    if (this.#early !== undefined) for (const e of this.#early.heap.items) yield e.job;
    if (this.#heap !== undefined) {
      yield* this.#heap;
      return;
    }
    for (let i = this.#head; i < this.#items.length; i++) {
      const job = this.#items[i];
      if (job !== undefined) yield job;
    }
  }

  /** Empties the FIFO; its handles are spent. */
  #reset(): void {
    this.#base += this.#items.length;
    this.#items = [];
    this.#head = 0;
    this.#live = 0;
  }

  /** Steps the head over tombstones. */
  #skip(): void {
    const items = this.#items;
    let head = this.#head;
    while (head < items.length && items[head] === undefined) head++;
    this.#head = head;
  }

  /** The FIFO's entries, in order, moved into a heap (each told its new handle). */
  #toHeap(): QuaternaryHeap<JobRecord> {
    const heap = new QuaternaryHeap<JobRecord>();
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) {
      const job = items[i];
      if (job !== undefined) this.moved(job, heap.push(job, this.#key));
    }
    this.#reset();
    this.#heap = heap;
    return heap;
  }
}
