/**
 * Retention of a local store: finished (or dead) records in the order they
 * finished, so the oldest beyond `keepCompleted` / `keepDead` is dropped in
 * O(1) (see LocalState.evict).
 */
import type { JobRecord } from './store.js';

/**
 * Finished (or dead) records in the order they finished, oldest first, for
 * retention: a drop takes the oldest in O(1), with no hashing. A record that
 * leaves (revived, replaced, dropped) stays queued and is skipped when
 * reached; `tidy` filters such entries out once they are most of the queue,
 * so the queue stays within twice the records it keeps.
 *
 * Each entry keeps beside its record where the id index put it (IdIndex.set's
 * answer), so a drop deletes it from the index without reading its id: the
 * oldest record's id string is the one thing of it long out of cache.
 */
export class Retention {
  private items: (JobRecord | undefined)[] = [];
  /** IdIndex.set's answer for each entry (-1: look the record up by id). */
  private keys: number[] = [];
  private head = 0;
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
    this.items.push(job);
    this.keys.push(key);
    if (!current) this.stale++;
  }

  /** The oldest entry, removed (its key in `shiftedKey`); undefined when empty. */
  shift(): JobRecord | undefined {
    if (this.head >= this.items.length) return undefined;
    const job = this.items[this.head];
    this.shiftedKey = this.keys[this.head] as number;
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.keys = this.keys.slice(this.head);
      this.head = 0;
    }
    return job;
  }

  /** Drops entries whose record left, once they are most of the queue (`live`: records of this kind kept). */
  tidy(live: number, byId: { get(id: string): JobRecord | undefined }): void {
    const length = this.items.length - this.head;
    if (length <= 2 * Math.max(live, this.floor) + 64) return;
    const kept: JobRecord[] = [];
    const keys: number[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const job = this.items[i];
      if (job !== undefined && byId.get(job.id) === job) {
        kept.push(job);
        keys.push(this.keys[i] as number);
      }
    }
    this.items = kept;
    this.keys = keys;
    this.head = 0;
    this.floor = kept.length;
    this.stale = 0;
  }

  clear(): void {
    this.items = [];
    this.keys = [];
    this.head = 0;
    this.floor = 0;
    this.stale = 0;
  }
}
