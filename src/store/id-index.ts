/**
 * The id -> record index of a local store (LocalState.byId), a Map for any
 * id plus an array for the ids the scheduler generates.
 *
 * WHY: generated ids are a per-scheduler prefix plus a base-36 counter
 * (requests.ts idFactory), so they map one to one onto array indexes. A Map
 * entry costs ~40 B a job (entry, bucket, growth slack) and its hashing and
 * rehashing were a third of scheduleIn's time at 1e6 jobs; an array slot is
 * 8 B and a lookup parses a few characters. Every other id (given by the
 * caller, a schedule's default id, another scheduler's ids) stays in the Map.
 *
 * HOW: counters from `lo` on live in `dense[counter - lo]`; an id of the
 * prefix whose counter is below `lo` is in the Map (it was moved there when
 * the array's front was dropped). One whose counter is far beyond the array
 * (a caller-made id that looks generated) goes to the Map too, and from then
 * on every array miss checks the Map (`mixed`). Lookups are exact: a
 * counter is read only from its canonical base-36 form.
 */
import type { JobRecord } from './store.js';

/**
 * A local store's method the scheduler calls with its id prefix (see
 * IdIndex.expect). A symbol, not part of the Store interface: any other
 * store simply has no such method.
 */
export const GENERATED_IDS: unique symbol = Symbol('godelayq.generatedIds');

/** A store that indexes generated ids apart. */
/** What the dedupe windows and removals read of the id index: a Map or an IdIndex. */
export interface JobLookup {
  get(id: string): JobRecord | undefined;
}

export interface GeneratedIds {
  [GENERATED_IDS](prefix: string): void;
}

/** Base-36 digits of a counter below 2^53 (36^10 > 2^51 generated ids). */
const MAX_DIGITS = 10;
/**
 * An id may open a gap this long past the array's end, or as long as the
 * array (ids generated but never inserted: a refused scheduleMany); a
 * longer one goes to the Map.
 */
const MAX_GAP = 1024;
/** The array is compacted only past this length. */
const MIN_COMPACT = 4096;

export class IdIndex {
  readonly #map = new Map<string, JobRecord>();
  #prefix: string | undefined;
  #dense: (JobRecord | undefined)[] = [];
  /** Counter of dense[0]. */
  #lo = 0;
  /** Live entries in #dense. */
  #live = 0;
  /** An id of the prefix with a counter at or above `lo` may be in the Map. */
  #mixed = false;
  /** Deletes from #dense since the last compaction. */
  #deletes = 0;

  get size(): number {
    return this.#map.size + this.#live;
  }

  /** Where the entries are (tests and benches): array slots, holes included, and Map entries. */
  get layout(): { slots: number; mapped: number } {
    return { slots: this.#dense.length, mapped: this.#map.size };
  }

  /**
   * Ids `prefix` + base-36 counter are generated (by one scheduler). A new
   * prefix (another scheduler on this store) moves the previous one's ids to the Map.
   */
  expect(prefix: string): void {
    if (prefix === this.#prefix) return;
    for (const job of this.#dense) if (job !== undefined) this.#map.set(job.id, job);
    this.#prefix = prefix;
    this.#dense = [];
    this.#lo = 0;
    this.#live = 0;
    this.#deletes = 0;
    // Ids of this prefix met before (moved aside when another prefix came) are in the Map.
    this.#mixed = false;
    for (const id of this.#map.keys()) {
      if (id.startsWith(prefix)) {
        this.#mixed = true;
        break;
      }
    }
  }

  get(id: string): JobRecord | undefined {
    const i = this.#index(id);
    if (i >= 0) {
      const job = this.#dense[i];
      if (job !== undefined || !this.#mixed) return job;
    }
    return this.#map.get(id);
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /**
   * Sets `job` under `id`. Returns where it went, for `deleteAt`: the id's
   * counter when it is in the array, else -1.
   */
  set(id: string, job: JobRecord): number {
    const i = this.#slot(id);
    if (i < 0) {
      this.#map.set(id, job);
      return -1;
    }
    const dense = this.#dense;
    if (dense[i] === undefined) {
      if (this.#mixed && this.#map.has(id)) {
        this.#map.set(id, job);
        return -1;
      }
      this.#live++;
    }
    dense[i] = job;
    return i + this.#lo;
  }

  /** Adds `job` under its id unless the id is taken; false when it is. */
  add(job: JobRecord): boolean {
    const id = job.id;
    const i = this.#slot(id);
    if (i < 0) {
      if (this.#map.has(id)) return false;
      this.#map.set(id, job);
      return true;
    }
    const dense = this.#dense;
    if (dense[i] !== undefined || (this.#mixed && this.#map.has(id))) return false;
    dense[i] = job;
    this.#live++;
    return true;
  }

  delete(id: string): boolean {
    const i = this.#index(id);
    if (i >= 0 && this.#dense[i] !== undefined) {
      this.#deleteSlot(i);
      return true;
    }
    return this.#map.delete(id);
  }

  /**
   * Deletes `job`, the record under its id, given what `set` returned for it:
   * where it still is, without reading its id (a record retention drops was
   * indexed long before, and its id string is no longer in cache). Anywhere
   * else (moved to the Map since, or -1) it is deleted by id.
   */
  deleteAt(counter: number, job: JobRecord): boolean {
    const i = counter - this.#lo;
    if (counter >= 0 && i >= 0 && i < this.#dense.length && this.#dense[i] === job) {
      this.#deleteSlot(i);
      return true;
    }
    return this.delete(job.id);
  }

  #deleteSlot(i: number): void {
    this.#dense[i] = undefined;
    this.#live--;
    // Compacted once the array is mostly holes, and only after deletes as many as a quarter of its
    // length since the last compaction: each O(length) pass is paid for by them (no cascade).
    if (++this.#deletes * 4 >= this.#dense.length && this.#dense.length >= MIN_COMPACT && this.#live * 2 < this.#dense.length) this.#compact();
  }

  clear(): void {
    this.#map.clear();
    this.#lo = 0;
    this.#dense = [];
    this.#live = 0;
    this.#mixed = false;
    this.#deletes = 0;
  }

  /** Every record: the Map's in insertion order, then the generated ones by counter. */
  *values(): IterableIterator<JobRecord> {
    yield* this.#map.values();
    const dense = this.#dense;
    for (let i = 0; i < dense.length; i++) {
      const job = dense[i];
      if (job !== undefined) yield job;
    }
  }

  /** Calls `fn` with every record, in values' order: a walk with no generator step (or array) per record. */
  forEach(fn: (job: JobRecord) => void): void {
    this.#map.forEach(fn);
    const dense = this.#dense;
    for (let i = 0; i < dense.length; i++) {
      const job = dense[i];
      if (job !== undefined) fn(job);
    }
  }

  /**
   * Every record, in values' order, as a new array. O(n) like values(), but
   * ~10x faster at 1e6 records (no generator step per record): a snapshot
   * takes its view of the state with this, in one synchronous step.
   */
  toArray(): JobRecord[] {
    const out = Array.from(this.#map.values());
    const dense = this.#dense;
    if (this.#live === 0) return out;
    let k = out.length;
    out.length = k + this.#live;
    for (let i = 0; i < dense.length; i++) {
      const job = dense[i];
      if (job !== undefined) out[k++] = job;
    }
    return out;
  }

  /** [id, record] pairs, as a Map iterates (values' order). */
  *[Symbol.iterator](): IterableIterator<[string, JobRecord]> {
    for (const job of this.values()) yield [job.id, job];
  }

  /** Index in #dense of a generated id's counter (maybe past the end), or -1 when `id` is not one there. */
  #index(id: string): number {
    const prefix = this.#prefix;
    if (prefix === undefined) return -1;
    const p = prefix.length;
    const n = id.length;
    if (n <= p || n > p + MAX_DIGITS || !id.startsWith(prefix)) return -1;
    let counter = 0;
    for (let k = p; k < n; k++) {
      const c = id.charCodeAt(k);
      const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
      // Canonical form only (no leading zero): one counter, one id.
      if (digit < 0 || (digit === 0 && k === p && n > p + 1)) return -1;
      counter = counter * 36 + digit;
    }
    const i = counter - this.#lo;
    return i >= 0 ? i : -1;
  }

  /** Where `set` keeps a generated id (the array grown to hold it), or -1 for the Map. */
  #slot(id: string): number {
    const i = this.#index(id);
    if (i < 0) return -1;
    const dense = this.#dense;
    if (i < dense.length) return i;
    if (i > dense.length + Math.max(MAX_GAP, dense.length)) {
      this.#mixed = true;
      return -1;
    }
    while (dense.length < i) dense.push(undefined);
    dense.push(undefined);
    return i;
  }

  /**
   * Drops the array's front once most of it is holes: leading holes go, and
   * when the older half is sparse (under a fifth live: long-lived jobs among
   * many finished ones), its live entries move to the Map and it goes too.
   * A half as dense as the rest stays: a Map entry costs ~40 B, five slots
   * as much, and moving the entries of a uniformly thinned array (jobs that
   * finish in an order unrelated to their ids, as timed jobs do) would only
   * turn cheap slot writes into Map writes.
   */
  #compact(): void {
    this.#deletes = 0;
    const dense = this.#dense;
    let cut = 0;
    while (cut < dense.length && dense[cut] === undefined) cut++;
    const half = cut + ((dense.length - cut) >> 1);
    let older = 0;
    for (let i = cut; i < half; i++) if (dense[i] !== undefined) older++;
    if (older * 5 < half - cut) {
      for (let i = cut; i < half; i++) {
        const job = dense[i];
        if (job === undefined) continue;
        this.#map.set(job.id, job);
        this.#live--;
      }
      cut = half;
    }
    if (cut === 0) return;
    this.#dense = dense.slice(cut);
    this.#lo += cut;
  }
}
