/**
 * The running attempts of a Scheduler by job id (Attempts): a hash table
 * with open addressing (linear probing, backward-shift deletion) in three
 * arrays that only grow.
 *
 * WHY not a Map: an attempt is added and removed every fire. A Map that
 * deletes rebuilds its table as deleted entries fill it, and V8 links each
 * old table to its new one; once a table is in old space, that link keeps
 * the next table (and the attempts, records and tokens it holds) alive
 * through every scavenge until a full GC. A Map whose ended entries are set
 * to undefined and which is replaced now and then (the previous fix) avoids
 * that but allocates ~200 B a fire as it grows again. Here a removal moves
 * at most a few entries back and allocates nothing; the arrays grow only
 * when the running attempts outgrow them.
 *
 * Keys are hashed once (FNV-1a over the id's characters) and the hash kept
 * beside the key, so a removal's shifts read no id string.
 */

/** Smallest table; grown (doubled) when it would be more than half full. */
const MIN_CAPACITY = 64;

function hashOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  // An int32, as the Int32Array keeps it (the empty id skips the loop).
  return h | 0;
}

export class IdTable<T> {
  #keys: (string | undefined)[] = new Array<string | undefined>(MIN_CAPACITY).fill(undefined);
  #values: (T | undefined)[] = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
  #hashes = new Int32Array(MIN_CAPACITY);
  #mask = MIN_CAPACITY - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The slot holding `id`, or -1. */
  #find(id: string, hash: number): number {
    const keys = this.#keys;
    const mask = this.#mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const key = keys[i];
      if (key === undefined) return -1;
      if (this.#hashes[i] === hash && key === id) return i;
    }
  }

  get(id: string): T | undefined {
    const i = this.#find(id, hashOf(id));
    return i < 0 ? undefined : this.#values[i];
  }

  /** Sets `id`'s value; returns the value it replaced (undefined when `id` was not there). */
  set(id: string, value: T): T | undefined {
    const hash = hashOf(id);
    const found = this.#find(id, hash);
    if (found >= 0) {
      const old = this.#values[found];
      this.#values[found] = value;
      return old;
    }
    if ((this.#size + 1) * 2 > this.#keys.length) this.#grow();
    this.#insert(id, hash, value);
    this.#size++;
    return undefined;
  }

  /** Removes `id`'s entry (only if it holds `value`, when given); false when none was removed. */
  delete(id: string, value?: T): boolean {
    let i = this.#find(id, hashOf(id));
    if (i < 0 || (value !== undefined && this.#values[i] !== value)) return false;
    const keys = this.#keys;
    const values = this.#values;
    const hashes = this.#hashes;
    const mask = this.#mask;
    // Backward shift: each later entry of the run that may live at `i` moves there, so a probe never meets a hole in its run.
    for (let j = (i + 1) & mask; keys[j] !== undefined; j = (j + 1) & mask) {
      const home = (hashes[j] as number) & mask;
      // Stays when its home lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      keys[i] = keys[j];
      values[i] = values[j];
      hashes[i] = hashes[j] as number;
      i = j;
    }
    keys[i] = undefined;
    values[i] = undefined;
    this.#size--;
    return true;
  }

  /** Every value, in no particular order. Do not change the table while iterating. */
  *values(): IterableIterator<T> {
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== undefined) yield this.#values[i] as T;
  }

  #insert(id: string, hash: number, value: T): void {
    const keys = this.#keys;
    const mask = this.#mask;
    let i = hash & mask;
    while (keys[i] !== undefined) i = (i + 1) & mask;
    keys[i] = id;
    this.#values[i] = value;
    this.#hashes[i] = hash;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const hashes = this.#hashes;
    const capacity = keys.length * 2;
    this.#keys = new Array<string | undefined>(capacity).fill(undefined);
    this.#values = new Array<T | undefined>(capacity).fill(undefined);
    this.#hashes = new Int32Array(capacity);
    this.#mask = capacity - 1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (key !== undefined) this.#insert(key, hashes[i] as number, values[i] as T);
    }
  }
}
