/**
 * PackedJobs: the plain scheduled jobs of a `MemoryStore({ packed: true })`,
 * kept as columns and bytes instead of a record object each, and made
 * records again when read. LocalState treats them as it treats a
 * JsonFileStore's cold jobs (cold-jobs.ts): the same protocol (`thaw` a job
 * in place on a read, `take` one out, `pop` the earliest, `forget` a thawed
 * one whose record changed), so every index and list that knows cold jobs
 * knows these.
 *
 * WHY: a scheduled job as a record costs ~350 B at 1e6 jobs (the record,
 * its payload's copy as objects, an index entry, a heap entry): issue 14
 * asks for 150 B, payload and ids included. A packed job is its id (the
 * string the caller was given), its payload as JSON bytes in a shared
 * 64 KiB block, and a few typed columns: about 100 B. What it costs: the
 * payload is written as JSON when the job is scheduled and parsed when it
 * is read or claimed.
 *
 * WHICH jobs: one scheduled by `scheduleIn` / `scheduleAt` with no option
 * that adds a field (no retry, timeout, group, priority, dedupe window,
 * retention, trace), whose payload is JSON of at most 16 KiB (`packable`).
 * Any other record is kept as a record, as without the option.
 *
 * Memory comes back: the blocks are copied into fresh ones when less than
 * half of their bytes belong to a packed job (`#compact`), and everything
 * is dropped when the last job leaves. The columns stay at the most jobs
 * held at once until then.
 */
import type { JobRecord } from './store.js';
import { scheduledRecord } from './record.js';
import { ROW, SlotHeap } from './slot-heap.js';
import type { CapturedJobs, WaitingBytes } from './waiting-bytes.js';

/** Bytes a block holds; a payload's bytes never span two. */
const BLOCK_SIZE = 1 << 16;
/** Largest payload (UTF-16 units of its JSON) kept packed; a larger one stays a record. */
export const MAX_PACKED_CHARS = 1 << 14;
/** Blocks held at once (a position is block << 16 | offset, a positive int32). */
const MAX_BLOCKS = 1 << 15;
/** Names packed jobs may have (a name's index shares 16 bits with two flags). */
const MAX_NAMES = 1 << 14;
const EMPTY = Buffer.alloc(0);
/**
 * A slot's row in `#rows`: runAt, createdAt and seq as doubles, then two
 * int32 (`#ints`): where its payload's bytes are (block << 16 | offset) and
 * their length << 16 | its meta (name index << 2 | ASCII | RELATIVE). One
 * row of 32 bytes: the reads of a pop or a sift's compare share a cache line.
 */
/** `meta` bits: the payload's bytes are ASCII; the job's runAt is relative. */
const ASCII = 2;
const RELATIVE = 1;

/** FNV-1a over the id's UTF-16 code units, as a non-negative int32. */
function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h & 0x7fffffff;
}

/**
 * Whether `job` has only the fields of a new scheduled one-off job
 * (scheduledRecord's, and the store's seq): the records PackedJobs rebuilds
 * exactly. test/packed-jobs.test.ts sets each other JobRecord field in turn.
 */
export function packable(job: JobRecord): boolean {
  return (
    job.state === 'scheduled' &&
    job.attempt === 0 &&
    job.priority === 0 &&
    job.retry === undefined &&
    job.timeout === undefined &&
    job.lastError === undefined &&
    job.result === undefined &&
    job.finishedAt === undefined &&
    job.token === undefined &&
    job.recur === undefined &&
    job.lost === undefined &&
    job.progress === undefined &&
    job.logs === undefined &&
    job.trace === undefined &&
    job.group === undefined &&
    job.groupConcurrency === undefined &&
    job.dedupe === undefined &&
    job.retain === undefined &&
    job.removal === undefined &&
    (job.relative === undefined || job.relative === true)
  );
}

/** The jobs packed when a capture was taken, each made when asked for (CapturedJobs). */
class PackedCapture implements CapturedJobs {
  constructor(
    private readonly ids: readonly string[],
    private readonly rebuild: (k: number) => JobRecord,
  ) {}

  get length(): number {
    return this.ids.length;
  }

  id(k: number): string {
    return this.ids[k] as string;
  }

  text(k: number): string {
    return JSON.stringify(this.rebuild(k));
  }
}

/** Plain scheduled jobs as columns and payload bytes, in a due heap of their own. */
export class PackedJobs implements WaitingBytes {
  /** More jobs may be added at any time (a JsonFileStore's cold set is fixed at its open). */
  readonly growable = true;
  /** Per slot: the id while the job is packed; undefined once thawed, taken or popped (a free slot). */
  #ids: (string | undefined)[] = [];
  /** Per slot, its row (ROW doubles; `#ints` views the same memory). */
  #rows: Float64Array = new Float64Array(64 * ROW);
  #ints: Int32Array = new Int32Array(this.#rows.buffer);
  /** Slots ever used; freed ones below it are reused first. */
  #count = 0;
  #free: number[] = [];
  /** Open addressing over the ids: a cell holds slot + 1, 0 (never used) or -1 (a job that left). */
  #table: Int32Array = new Int32Array(128);
  #used = 0;
  #live = 0;
  #heap = new SlotHeap(this.#rows);
  #blocks: Buffer[] = [];
  #blockLive: number[] = [];
  #freeBlocks: number[] = [];
  /** The block being written (-1: none yet) and where its free bytes begin. */
  #current = -1;
  #offset = BLOCK_SIZE;
  /** Bytes of packed payloads, and of blocks held: a compaction runs when the blocks hold over twice the first. */
  #liveBytes = 0;
  #blockBytes = 0;
  #names: string[] = [];
  readonly #nameIndex = new Map<string, number>();
  /** Jobs thawed in place (read by id, still waiting in the due heap), both ways. */
  readonly #thawedRecord = new Map<number, JobRecord>();
  readonly #thawedAt = new Map<JobRecord, number>();
  /** Whether the job `pop` returned last was thawed in place before (its record is already the current one). */
  poppedThawed = false;

  /** Jobs still packed (not thawed). */
  get size(): number {
    return this.#live;
  }

  /** Jobs in the due heap: the packed ones, and those thawed in place. */
  get queued(): number {
    return this.#heap.size;
  }

  /** 64 KiB blocks held for payload bytes (what a compaction gives back). */
  get blocksHeld(): number {
    return this.#blockBytes / BLOCK_SIZE;
  }

  /**
   * Packs scheduled `job` (packable, with its seq set, its id new to the
   * store); false when it cannot be (a payload over MAX_PACKED_CHARS, or
   * too many names or blocks): the caller keeps the record instead.
   */
  add(job: JobRecord): boolean {
    const text = JSON.stringify(job.payload);
    if (text === undefined || text.length > MAX_PACKED_CHARS) return false;
    let name = this.#nameIndex.get(job.name);
    if (name === undefined) {
      if (this.#names.length === MAX_NAMES) return false;
      name = this.#names.length;
      this.#names.push(job.name);
      this.#nameIndex.set(job.name, name);
    }
    // UTF-8 takes at most 3 bytes a UTF-16 unit: room for that, so the write is never cut short.
    if (this.#offset + text.length * 3 > BLOCK_SIZE && !this.#newBlock()) return false;
    const block = this.#current;
    const written = (this.#blocks[block] as Buffer).write(text, this.#offset, 'utf8');
    const slot = this.#slot();
    this.#ids[slot] = job.id;
    const row = slot * ROW;
    this.#rows[row] = job.runAt;
    this.#rows[row + 1] = job.createdAt;
    this.#rows[row + 2] = job.seq;
    this.#ints[row * 2 + 6] = (block << 16) | this.#offset;
    // As many bytes as units: every one is ASCII (JSON.stringify escapes lone surrogates).
    this.#ints[row * 2 + 7] = (written << 16) | (name << 2) | (written === text.length ? ASCII : 0) | (job.relative === true ? RELATIVE : 0);
    this.#offset += written;
    this.#liveBytes += written;
    this.#blockLive[block]!++;
    this.#insertId(job.id, slot);
    this.#live++;
    this.#heap.push(slot);
    return true;
  }

  has(id: string): boolean {
    return this.#cell(id) >= 0;
  }

  /** The earliest runAt in the due heap, or undefined when it is empty. */
  peekKey(): number | undefined {
    const slot = this.#heap.peek();
    return slot < 0 ? undefined : this.#rows[slot * ROW];
  }

  /** The seq of the job `peekKey` belongs to (Infinity when empty). */
  peekSeq(): number {
    const slot = this.#heap.peek();
    return slot < 0 ? Infinity : (this.#rows[slot * ROW + 2] as number);
  }

  /** Takes the earliest job out of the due heap as a record, or undefined when it is empty. */
  pop(): JobRecord | undefined {
    const slot = this.#heap.pop();
    if (slot < 0) return undefined;
    const thawed = this.#thawedRecord.get(slot);
    this.poppedThawed = thawed !== undefined;
    if (thawed !== undefined) {
      this.#thawedRecord.delete(slot);
      this.#thawedAt.delete(thawed);
      this.#release(slot);
      return thawed;
    }
    const job = this.#unpack(slot);
    this.#release(slot);
    return job;
  }

  /**
   * Job `id` as a record, left in its place in the due heap (a read: `forget`
   * takes it out when its record changes), or undefined when it is not packed.
   */
  thaw(id: string): JobRecord | undefined {
    const slot = this.#slotOf(id);
    if (slot < 0) return undefined;
    const job = this.#unpack(slot);
    this.#unpacked(slot);
    this.#thawedRecord.set(slot, job);
    this.#thawedAt.set(job, slot);
    return job;
  }

  /** Takes a job thawed in place (its record `job`) out of the due heap; false when it is not there. */
  forget(job: JobRecord): boolean {
    const slot = this.#thawedAt.get(job);
    if (slot === undefined) return false;
    this.#thawedAt.delete(job);
    this.#thawedRecord.delete(slot);
    this.#heap.remove(slot);
    this.#release(slot);
    return true;
  }

  /** Takes packed job `id` out for good as a record, or undefined when it is not packed. */
  take(id: string): JobRecord | undefined {
    const slot = this.#slotOf(id);
    if (slot < 0) return undefined;
    const job = this.#unpack(slot);
    this.#heap.remove(slot);
    this.#release(slot);
    return job;
  }

  /**
   * The packed jobs named `name` (any name when undefined), as slots for
   * `runAtOf`, `seqOf` and `record`, in (runAt, seq) order when `sorted`
   * (a list sorts and pages them before it parses any, list-jobs.ts).
   */
  select(name: string | undefined, sorted: boolean): Int32Array {
    const index = name === undefined ? -1 : this.#nameIndex.get(name);
    if (index === undefined) return new Int32Array(0);
    const out = new Int32Array(this.#live);
    let n = 0;
    for (let slot = 0; slot < this.#count; slot++) {
      if (this.#ids[slot] === undefined) continue;
      if (index >= 0 && (this.#meta(slot) >> 2) !== index) continue;
      out[n++] = slot;
    }
    if (!sorted) return out.subarray(0, n);
    const rows = this.#rows;
    return out.subarray(0, n).sort((a, b) => (rows[a * ROW] as number) - (rows[b * ROW] as number) || (rows[a * ROW + 2] as number) - (rows[b * ROW + 2] as number));
  }

  runAtOf(slot: number): number {
    return this.#rows[slot * ROW] as number;
  }

  seqOf(slot: number): number {
    return this.#rows[slot * ROW + 2] as number;
  }

  /** Packed job `slot` (from `select`) as a record made for the caller: it stays packed. */
  record(slot: number): JobRecord {
    return this.#unpack(slot);
  }

  /** Every packed job as a record made for the caller (each stays packed). */
  *records(): IterableIterator<JobRecord> {
    for (let slot = 0; slot < this.#count; slot++) if (this.#ids[slot] !== undefined) yield this.#unpack(slot);
  }

  /**
   * The jobs packed now (`relativeOnly`: those scheduled with a delay, which
   * a clock step moves), as they are now: their columns are copied, their
   * bytes kept (a block's bytes are never written twice), so later changes
   * leave the capture as it was.
   */
  capture(relativeOnly = false): CapturedJobs {
    const slots: number[] = [];
    const ids: string[] = [];
    for (let slot = 0; slot < this.#count; slot++) {
      const id = this.#ids[slot];
      if (id === undefined || (relativeOnly && (this.#meta(slot) & RELATIVE) === 0)) continue;
      slots.push(slot);
      ids.push(id);
    }
    const pick = (at: number): Float64Array => Float64Array.from(slots, (s) => this.#rows[s * ROW + at] as number);
    const runAt = pick(0);
    const createdAt = pick(1);
    const seq = pick(2);
    const where = Int32Array.from(slots, (s) => this.#where(s));
    const bytes = Int32Array.from(slots, (s) => this.#size(s));
    const meta = Int32Array.from(slots, (s) => this.#meta(s));
    const blocks = this.#blocks.slice();
    const names = this.#names.slice();
    return new PackedCapture(ids, (k) =>
      build(ids[k] as string, names, blocks, where[k] as number, bytes[k] as number, meta[k] as number, runAt[k] as number, createdAt[k] as number, seq[k] as number),
    );
  }

  /** Checks the due heap, the id table and the counts; throws on the first break (tests, the simulation). */
  check(): void {
    this.#heap.check();
    let packed = 0;
    let bytes = 0;
    for (let slot = 0; slot < this.#count; slot++) {
      const id = this.#ids[slot];
      if (id === undefined) {
        if (this.#heap.has(slot) !== this.#thawedRecord.has(slot)) throw new Error(`PackedJobs: slot ${slot} is free but in the due heap, or thawed but not`);
        continue;
      }
      packed++;
      bytes += this.#size(slot);
      if (!this.#heap.has(slot)) throw new Error(`PackedJobs: job ${id} is packed but not in the due heap`);
      const cell = this.#cell(id);
      if (cell < 0 || this.#table[cell] !== slot + 1) throw new Error(`PackedJobs: job ${id} is not found by its id`);
    }
    if (packed !== this.#live || bytes !== this.#liveBytes) throw new Error(`PackedJobs: counts ${this.#live} jobs / ${this.#liveBytes} B, holds ${packed} / ${bytes} B`);
    if (this.#heap.size !== packed + this.#thawedRecord.size) throw new Error(`PackedJobs: due heap holds ${this.#heap.size}, expected ${packed + this.#thawedRecord.size}`);
  }

  /** The record of packed `slot`. */
  #unpack(slot: number): JobRecord {
    return build(
      this.#ids[slot] as string,
      this.#names,
      this.#blocks,
      this.#where(slot),
      this.#size(slot),
      this.#meta(slot),
      this.#rows[slot * ROW] as number,
      this.#rows[slot * ROW + 1] as number,
      this.#rows[slot * ROW + 2] as number,
    );
  }

  /** Frees `slot` (taken out of the due heap already): its id leaves the table, its bytes their block. */
  #release(slot: number): void {
    if (this.#ids[slot] !== undefined) this.#unpacked(slot);
    this.#free.push(slot);
    // The last job left a big set: its memory goes back (a small one is kept, not rebuilt at every drain).
    if (this.#heap.size === 0 && this.#count > 1024) this.#reset();
  }

  /** Packed `slot` is a record now (thawed, or leaving): its id leaves the table, its bytes their block; its heap entry stays. */
  #unpacked(slot: number): void {
    const id = this.#ids[slot] as string;
    this.#table[this.#cell(id)] = -1;
    this.#ids[slot] = undefined;
    this.#live--;
    this.#dropBytes(slot);
  }

  #dropBytes(slot: number): void {
    const block = this.#where(slot) >>> 16;
    this.#liveBytes -= this.#size(slot);
    if (--this.#blockLive[block]! === 0 && block !== this.#current) {
      this.#blocks[block] = EMPTY;
      this.#blockBytes -= BLOCK_SIZE;
      this.#freeBlocks.push(block);
    }
    if (this.#blockBytes > 2 * this.#liveBytes + 4 * BLOCK_SIZE) this.#compact();
  }

  /** No job left, none thawed: back to the first, empty, state (the columns' memory is let go). */
  #reset(): void {
    if (this.#thawedRecord.size > 0 || this.#live > 0) return;
    this.#ids = [];
    this.#count = 0;
    this.#free = [];
    this.#grow(64);
    this.#table = new Int32Array(128);
    this.#used = 0;
    this.#blocks = [];
    this.#blockLive = [];
    this.#freeBlocks = [];
    this.#current = -1;
    this.#offset = BLOCK_SIZE;
    this.#blockBytes = 0;
  }

  /**
   * Copies every packed payload into fresh blocks and lets the old ones go:
   * jobs that leave in another order than they came leave blocks mostly
   * empty, each held by a few long waits. Run when the blocks hold over
   * twice the packed bytes, so its O(jobs) cost is paid for by the bytes
   * freed since the last one. A capture keeps the old blocks it reads.
   */
  #compact(): void {
    const old = this.#blocks;
    this.#blocks = [];
    this.#blockLive = [];
    this.#freeBlocks = [];
    this.#current = -1;
    this.#offset = BLOCK_SIZE;
    this.#blockBytes = 0;
    for (let slot = 0; slot < this.#count; slot++) {
      if (this.#ids[slot] === undefined) continue;
      const where = this.#where(slot);
      const n = this.#size(slot);
      if (this.#offset + n > BLOCK_SIZE) this.#newBlock();
      const from = where & 0xffff;
      (old[where >>> 16] as Buffer).copy(this.#blocks[this.#current] as Buffer, this.#offset, from, from + n);
      this.#ints[slot * ROW * 2 + 6] = (this.#current << 16) | this.#offset;
      this.#offset += n;
      this.#blockLive[this.#current]!++;
    }
  }

  /** Starts a new block to write; false when MAX_BLOCKS are held. */
  #newBlock(): boolean {
    const current = this.#current;
    // The block written until now: let go if none of its jobs is left.
    if (current >= 0 && this.#blockLive[current] === 0) {
      this.#blocks[current] = EMPTY;
      this.#blockBytes -= BLOCK_SIZE;
      this.#freeBlocks.push(current);
    }
    let block = this.#freeBlocks.pop();
    if (block === undefined) {
      if (this.#blocks.length === MAX_BLOCKS) {
        this.#current = -1;
        this.#offset = BLOCK_SIZE;
        return false;
      }
      block = this.#blocks.length;
      this.#blocks.push(EMPTY);
      this.#blockLive.push(0);
    }
    // Never a block written before: a capture may still read its old bytes.
    this.#blocks[block] = Buffer.allocUnsafeSlow(BLOCK_SIZE);
    this.#blockLive[block] = 0;
    this.#blockBytes += BLOCK_SIZE;
    this.#current = block;
    this.#offset = 0;
    return true;
  }

  /** A free slot, the columns grown when every one is taken. */
  #slot(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    const slot = this.#count++;
    if (slot * ROW === this.#rows.length) this.#grow(slot * 2);
    this.#ids.push(undefined);
    return slot;
  }

  /** The rows for `capacity` slots, the first `#count` kept. */
  #grow(capacity: number): void {
    const rows = new Float64Array(capacity * ROW);
    rows.set(this.#rows.subarray(0, Math.min(this.#count, capacity) * ROW));
    this.#rows = rows;
    this.#ints = new Int32Array(rows.buffer);
    if (this.#count === 0) this.#heap = new SlotHeap(rows);
    else this.#heap.rows(rows);
  }

  /** Where slot's payload bytes are: block << 16 | offset. */
  #where(slot: number): number {
    return this.#ints[slot * ROW * 2 + 6] as number;
  }

  /** The length of slot's payload bytes. */
  #size(slot: number): number {
    return (this.#ints[slot * ROW * 2 + 7] as number) >>> 16;
  }

  /** Slot's name index << 2 | ASCII | RELATIVE. */
  #meta(slot: number): number {
    return (this.#ints[slot * ROW * 2 + 7] as number) & 0xffff;
  }

  /** The slot of packed job `id`, or -1. */
  #slotOf(id: string): number {
    const cell = this.#cell(id);
    return cell < 0 ? -1 : (this.#table[cell] as number) - 1;
  }

  /** The table cell holding `id`, or -1. */
  #cell(id: string): number {
    const table = this.#table;
    const mask = table.length - 1;
    for (let cell = hashId(id) & mask; ; cell = (cell + 1) & mask) {
      const entry = table[cell] as number;
      if (entry === 0) return -1;
      if (entry > 0 && this.#ids[entry - 1] === id) return cell;
    }
  }

  #insertId(id: string, slot: number): void {
    // At most half full, tombstones counted: a full table of tombstones is rebuilt at its size, a full one of jobs doubles.
    if ((this.#used + 1) * 2 > this.#table.length) this.#rehash((this.#live + 1) * 4 > this.#table.length ? this.#table.length * 2 : this.#table.length);
    const table = this.#table;
    const mask = table.length - 1;
    let cell = hashId(id) & mask;
    while ((table[cell] as number) > 0) cell = (cell + 1) & mask;
    if (table[cell] === 0) this.#used++;
    table[cell] = slot + 1;
  }

  /** The table at `size` cells (a power of two), tombstones dropped. */
  #rehash(size: number): void {
    const table = new Int32Array(size);
    const mask = size - 1;
    for (let slot = 0; slot < this.#count; slot++) {
      const id = this.#ids[slot];
      if (id === undefined) continue;
      let cell = hashId(id) & mask;
      while (table[cell] !== 0) cell = (cell + 1) & mask;
      table[cell] = slot + 1;
    }
    this.#table = table;
    this.#used = this.#live;
  }
}

/** A packed job's record, from its columns and its payload's bytes. */
function build(
  id: string,
  names: readonly string[],
  blocks: readonly Buffer[],
  where: number,
  bytes: number,
  meta: number,
  runAt: number,
  createdAt: number,
  seq: number,
): JobRecord {
  const block = blocks[where >>> 16] as Buffer;
  const from = where & 0xffff;
  // Not frozen here: a JobInfo makes what it shares read-only (validate.ts readOnlyJson); the handler gets a copy.
  const payload: unknown = JSON.parse(block.toString((meta & ASCII) !== 0 ? 'latin1' : 'utf8', from, from + bytes));
  const job = scheduledRecord(id, names[meta >> 2] as string, payload as JobRecord['payload'], runAt, createdAt, (meta & RELATIVE) !== 0) as JobRecord;
  job.seq = seq;
  return job;
}
