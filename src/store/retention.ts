/**
 * Retention of a local store: finished (or dead) records in the order they
 * finished, so the oldest beyond `keepCompleted` / `keepDead` is dropped in
 * O(1) (see LocalState.evict).
 */
import type { JobRecord } from './store.js';

/** Slots of an empty ring (a power of two). */
const MIN_RING = 64;

/**
 * Finished (or dead) records in the order they finished, oldest first, for
 * retention: a drop takes the oldest in O(1), with no hashing. (LocalState
 * also queues its running records in one, to list them without a walk of
 * every job.) A record that leaves (revived, replaced, dropped) stays
 * queued and is skipped when reached; `tidy` filters such entries out once
 * they are most of the queue, so the queue stays within twice the records
 * it keeps.
 *
 * Each entry keeps beside its record where the id index put it (IdIndex.set's
 * answer), so a drop deletes it from the index without reading its id: the
 * oldest record's id string is the one thing of it long out of cache.
 */
export class Retention {
  /**
   * A ring: entry k (0 = oldest) is at (head + k) & mask. WHY a ring: the
   * queue takes an entry and drops one a fire once full (keepCompleted),
   * and an array pushed at its tail and sliced from its head now and then
   * allocated ~60 B a fire (its growth and the slices); a ring grows only
   * when the records it keeps do.
   */
  private items: (JobRecord | undefined)[] = new Array<JobRecord | undefined>(MIN_RING).fill(undefined);
  /** IdIndex.set's answer for each entry (-1: look the record up by id); a generated id's counter may pass 2^31. */
  private keys = new Float64Array(MIN_RING);
  private head = 0;
  private length = 0;
  private mask = MIN_RING - 1;
  /** Entries kept by the last tidy (a record restored twice may be queued twice). */
  private floor = 0;
  /**
   * At least the number of queued entries whose record left (LocalState
   * counts each record that leaves its finished state). While it is 0 every
   * entry is current, so a drop needs no id lookup to tell.
   */
  stale = 0;
  /** The key of the entry the last `shift` returned. */
  shiftedKey = -1;

  /** Queues `job`, which is `current` (byId holds it) unless said; `key`: where byId put it (IdIndex.set). */
  push(job: JobRecord, current = true, key = -1): void {
    if (this.length === this.items.length) this.resize(this.items.length * 2);
    const at = (this.head + this.length++) & this.mask;
    this.items[at] = job;
    this.keys[at] = key;
    if (!current) this.stale++;
  }

  /** The oldest entry, removed (its key in `shiftedKey`); undefined when empty. */
  shift(): JobRecord | undefined {
    if (this.length === 0) return undefined;
    const at = this.head;
    const job = this.items[at];
    this.shiftedKey = this.keys[at] as number;
    this.items[at] = undefined;
    this.head = (at + 1) & this.mask;
    this.length--;
    return job;
  }

  /** Drops entries whose record left, once they are most of the queue (`live`: records of this kind kept). */
  tidy(live: number, byId: { get(id: string): JobRecord | undefined }): void {
    if (this.length <= 2 * Math.max(live, this.floor) + 64) return;
    let kept = 0;
    // In place, oldest first: entry k moves to slot kept <= k, never over one not yet read.
    for (let k = 0; k < this.length; k++) {
      const from = (this.head + k) & this.mask;
      const job = this.items[from];
      this.items[from] = undefined;
      if (job !== undefined && byId.get(job.id) === job) {
        const to = (this.head + kept++) & this.mask;
        this.items[to] = job;
        this.keys[to] = this.keys[from] as number;
      }
    }
    this.length = kept;
    this.floor = kept;
    this.stale = 0;
  }

  /** Every queued record, oldest first: records that left and one queued twice too (the caller checks). */
  *records(): IterableIterator<JobRecord> {
    for (let k = 0; k < this.length; k++) {
      const job = this.items[(this.head + k) & this.mask];
      if (job !== undefined) yield job;
    }
  }

  clear(): void {
    this.items = new Array<JobRecord | undefined>(MIN_RING).fill(undefined);
    this.keys = new Float64Array(MIN_RING);
    this.head = 0;
    this.length = 0;
    this.mask = MIN_RING - 1;
    this.floor = 0;
    this.stale = 0;
  }

  /** Moves the entries to a ring of `size` slots (a power of two), oldest at slot 0. */
  private resize(size: number): void {
    const items = new Array<JobRecord | undefined>(size).fill(undefined);
    const keys = new Float64Array(size);
    for (let k = 0; k < this.length; k++) {
      const from = (this.head + k) & this.mask;
      items[k] = this.items[from];
      keys[k] = this.keys[from] as number;
    }
    this.items = items;
    this.keys = keys;
    this.head = 0;
    this.mask = size - 1;
  }
}
