/**
 * ColdJobs: the plain scheduled jobs of a snapshot a JsonFileStore opened,
 * left as bytes in the blocks the file was read in until a job is first
 * read (LocalState thaws it into a record then).
 *
 * WHY: opening a store of N scheduled jobs used to JSON.parse every line
 * into a record and index it: ~1.8x the CPU of one `JSON.parse` of the same
 * records at 2e5 (issue 14, item 4). Most of that is the records themselves:
 * the parse, and the garbage collector copying a million young objects
 * (or strings: keeping each line as a string cost as much, measured). A job
 * that waits an hour needs none of it until it runs or someone reads it.
 * What a cold job costs at open: its line's CRC (checked as before), a scan
 * of its bytes, its id as a string in a Map, three small integers, and a
 * heap entry keyed by its runAt; the file's bytes stay outside the JS heap
 * (a block is let go once none of its jobs is cold).
 *
 * WHICH jobs: a line is cold only when the scan proves the record is exactly
 * `{"id":…,"name":…,"payload":<one JSON value>,"state":"scheduled","runAt":
 * <integer>,"createdAt":<number>,"attempt":<integer>,"priority":0,"seq":
 * <integer>[,"relative":true]}` with no backslash in it (so every `"` opens
 * or closes a string, and the scan can tell where the payload ends): the
 * record `scheduleIn` / `scheduleAt` write. Anything else (a group, a dedupe
 * window, a recurrence, a retry's lastError, an escaped character) is parsed
 * at open as before, so every index but the due heap and the id lookup sees
 * only records (the scan: cold-scan.ts). test/cold-jobs.test.ts holds the
 * scan to what JSON.parse reads, and a cold-opened store to one opened in full.
 */
import { isAscii } from 'node:buffer';
import { QuaternaryHeap } from '../heap.js';
import { FAST_ARRAY_MAX } from '../heap-build.js';
import { ID_OPEN, NAME_OPEN, QUOTE, RELATIVE_END, at, scanCold, type ColdScan } from './cold-scan.js';
import type { JobRecord } from './store.js';
import type { CapturedJobs, WaitingBytes } from './waiting-bytes.js';

const NO_BLOCK = Buffer.alloc(0);
/** The byte before the `}` that ends a `scheduleIn` job's cold line (`,"relative":true}`). */
const RELATIVE_LAST = RELATIVE_END[RELATIVE_END.length - 2] as number;

/** FNV-1a of the bytes b[from, to), as a small integer (30 bits). */
function hashBytes(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ (b[i] as number), 0x01000193);
  return h & 0x3fffffff;
}

/** hashBytes of an ASCII string's characters, or -1 when it has another (no cold id does). */
function hashString(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c >= 0x80) return -1;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h & 0x3fffffff;
}

/** How `select` recognises a name: its bytes when it is ASCII, else the decoded name. */
interface NameMatch {
  ascii: Uint8Array | undefined;
  name: string;
}

/**
 * The NameMatch of `name`, or null when no cold job can have it: a cold
 * line holds no backslash, so a name JSON escapes (a quote, a backslash, a
 * control character, a lone surrogate) is never a cold job's. An ASCII
 * name is compared byte for byte (exact: other bytes never decode to
 * ASCII); any other is compared decoded.
 */
function nameMatcher(name: string): NameMatch | null {
  if (JSON.stringify(name).includes('\\')) return null;
  return { ascii: Buffer.byteLength(name) === name.length ? Buffer.from(name, 'latin1') : undefined, name };
}

/** A record's text at block[start, end): its bytes copied as latin1 when they are ASCII (a flat string, no decoding), else decoded. */
function textOf(block: Buffer, start: number, end: number): string {
  return block.toString(isAscii(block.subarray(start, end)) ? 'latin1' : 'utf8', start, end);
}

/** The texts of the jobs that were cold when ColdJobs.capture ran, each made when asked for. */
export class ColdTexts implements CapturedJobs {
  readonly #blocks: readonly Buffer[];
  readonly #block: Int32Array;
  readonly #start: Int32Array;
  readonly #end: Int32Array;

  /** The blocks, and per job its block and its record's bytes there. */
  constructor(blocks: readonly Buffer[], block: Int32Array, start: Int32Array, end: Int32Array) {
    this.#blocks = blocks;
    this.#block = block;
    this.#start = start;
    this.#end = end;
  }

  get length(): number {
    return this.#block.length;
  }

  /** Text k (0 <= k < length) of the capture. */
  text(k: number): string {
    return textOf(this.#blocks[this.#block[k] as number] as Buffer, this.#start[k] as number, this.#end[k] as number);
  }

  /** The id of job k, read from its bytes (a cold line's id is ASCII and holds no quote, so the first quote ends it). */
  id(k: number): string {
    const block = this.#blocks[this.#block[k] as number] as Buffer;
    const from = (this.#start[k] as number) + ID_OPEN.length;
    return block.toString('latin1', from, block.indexOf(QUOTE, from));
  }
}

/** The cold jobs of one open: collected line by line, then sealed into a due heap. */
export class ColdJobs implements WaitingBytes {
  /** Fixed at the open: no job is added once it is sealed. */
  readonly growable = false;
  /** Blocks of the file the jobs' bytes are in, and how many of their jobs are cold. */
  readonly #blocks: Buffer[] = [];
  readonly #blockLive: number[] = [];
  /**
   * Per job (typed arrays, sized from the snapshot header's count: no
   * growth, nothing for the garbage collector to trace): its block (-1 once
   * thawed), its record's bytes there, its id's hash, its runAt and seq
   * (kept after the seal too: a page of `list` is sorted before anything is
   * parsed, see `select`).
   */
  #count = 0;
  #block: Int32Array = new Int32Array(0);
  #start: Int32Array = new Int32Array(0);
  #end: Int32Array = new Int32Array(0);
  #hash: Int32Array = new Int32Array(0);
  #runAt: Float64Array = new Float64Array(0);
  #seq: Float64Array = new Float64Array(0);
  /**
   * The id index: open addressing over the ids' bytes where they lie (no
   * string, no Map entry a job: those were most of what open cost once
   * the records were gone). A cell holds job + 1, 0 (never used) or -1 (a
   * job that left). Ids of cold jobs are ASCII, so a string id's character
   * codes are its bytes.
   */
  #table = new Int32Array(1024);
  #mask = 1023;
  /** Cells holding a job or a tombstone. */
  #used = 0;
  #live = 0;
  #handles: Int32Array = new Int32Array(0);
  /** Jobs thawed in place (read by id, still waiting in the due heap), both ways. */
  readonly #thawedRecord = new Map<number, JobRecord>();
  readonly #thawedAt = new Map<JobRecord, number>();
  #heap: QuaternaryHeap<number> | undefined;
  /** Names in runs, in job order, for LocalState to count (dropped at seal). */
  #nameRuns: { name: string; count: number }[] = [];
  /** Per name, jobs taken out before the seal (see nameCounts). */
  #takenNames = new Map<string, number>();
  /** The bytes of the last name counted (#countName). */
  #lastName: Uint8Array = NO_BLOCK;
  readonly #scan: ColdScan = { idStart: 0, idEnd: 0, nameStart: 0, nameEnd: 0, runAt: 0, seq: 0 };
  /** Highest seq among the cold jobs (the store's next seq is above it). */
  maxSeq = 0;

  /** Cold jobs not yet thawed. */
  get size(): number {
    return this.#live;
  }

  /** Makes room for `n` more jobs (a snapshot's header says how many it holds). */
  reserve(n: number): void {
    const need = this.#count + n;
    if (need > this.#block.length) this.#grow(need);
    let size = this.#table.length;
    while (size < need * 2 + 2) size *= 2;
    if (size > this.#table.length) this.#rehash(size);
  }

  #grow(capacity: number): void {
    const n = this.#count;
    const ints = (a: Int32Array): Int32Array => {
      const b = new Int32Array(capacity);
      b.set(a.subarray(0, n));
      return b;
    };
    const doubles = (a: Float64Array): Float64Array => {
      const b = new Float64Array(capacity);
      b.set(a.subarray(0, n));
      return b;
    };
    this.#block = ints(this.#block);
    this.#start = ints(this.#start);
    this.#end = ints(this.#end);
    this.#hash = ints(this.#hash);
    this.#runAt = doubles(this.#runAt);
    this.#seq = doubles(this.#seq);
  }

  /**
   * Takes the record in block[start, end) when it is a cold one whose id is
   * new here (the block is kept: its bytes are the job's until it thaws);
   * false: parse it as usual. The bytes are UTF-8 (JSON text).
   */
  add(block: Buffer, start: number, end: number): boolean {
    const s = this.#scan;
    if (!scanCold(block, start, end, s)) return false;
    const hash = hashBytes(block, s.idStart, s.idEnd);
    if ((this.#used + 1) * 2 > this.#table.length) this.#rehash(this.#table.length * 2);
    // One probe finds a free cell, or the id already here: a second line
    // with a cold job's id (a damaged or hand-made snapshot) is parsed as
    // usual, and LocalState.load keeps that record.
    const table = this.#table;
    const mask = this.#mask;
    let cell = hash & mask;
    for (let entry = table[cell] as number; entry !== 0; entry = table[cell] as number) {
      if (entry > 0 && this.#hash[entry - 1] === hash && this.#sameBytes(entry - 1, block, s.idStart, s.idEnd)) return false;
      cell = (cell + 1) & mask;
    }
    const i = this.#count;
    if (i === this.#block.length) this.#grow(Math.max(1024, i * 2));
    table[cell] = i + 1;
    this.#used++;
    this.#live++;
    this.#count = i + 1;
    const blocks = this.#blocks;
    let b = blocks.length - 1;
    if (b < 0 || blocks[b] !== block) {
      blocks.push(block);
      this.#blockLive.push(0);
      b++;
    }
    this.#blockLive[b]!++;
    this.#block[i] = b;
    this.#start[i] = start;
    this.#end[i] = end;
    this.#hash[i] = hash;
    this.#runAt[i] = s.runAt;
    this.#seq[i] = s.seq;
    if (s.seq > this.maxSeq) this.maxSeq = s.seq;
    this.#countName(block, s.nameStart, s.nameEnd);
    return true;
  }

  /** The cell of the live job `same` accepts among those with `hash`, or -1. */
  #find(hash: number, same: (i: number) => boolean): number {
    const table = this.#table;
    const mask = this.#mask;
    for (let cell = hash & mask; ; cell = (cell + 1) & mask) {
      const entry = table[cell] as number;
      if (entry === 0) return -1;
      if (entry > 0 && this.#hash[entry - 1] === hash && same(entry - 1)) return cell;
    }
  }

  /** The table at `size` cells (a power of two, over twice the live jobs: at most half full), tombstones dropped. */
  #rehash(size: number): void {
    const table = new Int32Array(size);
    const mask = size - 1;
    const where = this.#block;
    for (let i = 0; i < this.#count; i++) {
      if (where[i] === -1) continue;
      let cell = (this.#hash[i] as number) & mask;
      while (table[cell] !== 0) cell = (cell + 1) & mask;
      table[cell] = i + 1;
    }
    this.#table = table;
    this.#mask = mask;
    this.#used = this.#live;
  }

  /** Whether job i's id is the bytes b[from, to). */
  #sameBytes(i: number, b: Uint8Array, from: number, to: number): boolean {
    const block = this.#blocks[this.#block[i] as number] as Buffer;
    const p = (this.#start[i] as number) + ID_OPEN.length;
    const n = to - from;
    if (block[p + n] !== QUOTE) return false;
    for (let k = 0; k < n; k++) if (block[p + k] !== b[from + k]) return false;
    return true;
  }

  /** Whether job i's id is `id` (ASCII: its character codes are its bytes). */
  #sameId(i: number, id: string): boolean {
    const block = this.#blocks[this.#block[i] as number] as Buffer;
    const p = (this.#start[i] as number) + ID_OPEN.length;
    if (block[p + id.length] !== QUOTE) return false;
    for (let k = 0; k < id.length; k++) if (block[p + k] !== id.charCodeAt(k)) return false;
    return true;
  }

  /** The job with id `id`, or -1. */
  #indexOf(id: string): number {
    if (this.#live === 0) return -1;
    const hash = hashString(id);
    if (hash < 0) return -1;
    const cell = this.#find(hash, (i) => this.#sameId(i, id));
    return cell < 0 ? -1 : (this.#table[cell] as number) - 1;
  }

  /** Jobs come in runs of one name: a run's name is decoded once (its bytes compared after). */
  #countName(block: Buffer, from: number, to: number): void {
    const runs = this.#nameRuns;
    const last = runs[runs.length - 1];
    const bytes = this.#lastName;
    if (last !== undefined && to - from === bytes.length && at(block, from, to, bytes)) {
      last.count++;
      return;
    }
    this.#lastName = Buffer.from(block.subarray(from, to));
    const name = block.toString('utf8', from, to);
    if (last !== undefined && last.name === name) last.count++;
    else runs.push({ name, count: 1 });
  }

  has(id: string): boolean {
    return this.#indexOf(id) >= 0;
  }

  /** How many cold jobs have each name (counting them in at load, before seal). */
  nameCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { name, count } of this.#nameRuns) counts.set(name, (counts.get(name) ?? 0) + count);
    // Jobs taken out before the seal (the journal changed them) were counted in their run.
    for (const [name, taken] of this.#takenNames) {
      const left = (counts.get(name) ?? 0) - taken;
      if (left > 0) counts.set(name, left);
      else counts.delete(name);
    }
    return counts;
  }

  /**
   * Builds the due heap over the jobs still cold (after the journal's
   * changes took theirs): keyed by runAt, equal runAts in seq order.
   */
  seal(): void {
    // Allocated at its length, not grown by push, up to the length V8 keeps a
    // plain array (see resized in src/heap-build.ts); past it, grown by appends.
    const live: number[] = this.#live <= FAST_ARRAY_MAX ? new Array<number>(this.#live) : [];
    const where = this.#block;
    for (let i = 0, k = 0; i < this.#count; i++) if (where[i] !== -1) live[k++] = i;
    const seq = this.#seq;
    let sorted = true;
    for (let k = 1; sorted && k < live.length; k++) sorted = (seq[live[k - 1] as number] as number) < (seq[live[k] as number] as number);
    if (!sorted) live.sort((a, b) => (seq[a] as number) - (seq[b] as number));
    const runAt = this.#runAt;
    const handles = new Int32Array(this.#count);
    this.#heap = QuaternaryHeap.fromItems(live, (i) => runAt[i] as number, {}, (i, handle) => {
      handles[i] = handle;
    });
    this.#handles = handles;
    this.#nameRuns = [];
    this.#takenNames = new Map();
  }

  /** Jobs in the due heap: the cold ones, and those thawed in place (`thaw`). */
  get queued(): number {
    return this.#heap?.size ?? 0;
  }

  /** The earliest runAt in the due heap (once sealed), or undefined when it is empty. */
  peekKey(): number | undefined {
    return this.#heap?.peekKey();
  }

  /** The seq of the job `peekKey` belongs to (ties with another heap's job go to the lower seq). */
  peekSeq(): number {
    return this.#seq[this.#heap?.peek() ?? -1] ?? Infinity;
  }

  /** Whether the job `pop` returned last was thawed in place before (so its record is already the current one). */
  poppedThawed = false;

  /** Takes the earliest job out of the due heap as a record, or undefined when it is empty. */
  pop(): JobRecord | undefined {
    const i = this.#heap?.pop();
    if (i === undefined) return undefined;
    const thawed = this.#thawedRecord.get(i);
    this.poppedThawed = thawed !== undefined;
    if (thawed === undefined) return this.#thaw(i);
    this.#thawedRecord.delete(i);
    this.#thawedAt.delete(thawed);
    return thawed;
  }

  /**
   * Job `id` as a record, left in its place in the due heap (a read: `forget`
   * takes it out when its record changes), or undefined when it is not cold.
   */
  thaw(id: string): JobRecord | undefined {
    const i = this.#indexOf(id);
    if (i < 0) return undefined;
    const job = this.#thaw(i);
    if (this.#heap !== undefined && this.#heap.itemOf(this.#handles[i] as number) === i) {
      this.#thawedRecord.set(i, job);
      this.#thawedAt.set(job, i);
    }
    return job;
  }

  /** Takes a job thawed in place (its record `job`) out of the due heap; false when it is not there. */
  forget(job: JobRecord): boolean {
    const i = this.#thawedAt.get(job);
    if (i === undefined) return false;
    this.#thawedAt.delete(job);
    this.#thawedRecord.delete(i);
    return this.#heap?.removeHandle(this.#handles[i] as number) ?? false;
  }

  /** Takes job `id` out for good as a record (sealed or not), or undefined when it is not cold. */
  take(id: string): JobRecord | undefined {
    const i = this.#indexOf(id);
    if (i < 0) return undefined;
    const heap = this.#heap;
    if (heap !== undefined) {
      const handle = this.#handles[i] as number;
      if (heap.itemOf(handle) === i) heap.removeHandle(handle);
    }
    return this.#thaw(i);
  }

  /**
   * The jobs still cold named `name` (any name when undefined), as indexes
   * for `runAtOf`, `seqOf` and `record`, in (runAt, seq) order when `sorted`:
   * a list sorts and pages them before it parses any (list-jobs.ts). A
   * name is compared as the bytes of the line, so no job is parsed to be
   * left out.
   */
  select(name: string | undefined, sorted: boolean): Int32Array {
    const match = name === undefined ? undefined : nameMatcher(name);
    if (match === null) return new Int32Array(0);
    const out = new Int32Array(this.#live);
    let n = 0;
    for (let i = 0; i < this.#count; i++) {
      if (this.#block[i] === -1) continue;
      if (match !== undefined && !this.#named(i, match)) continue;
      out[n++] = i;
    }
    if (!sorted) return out.subarray(0, n);
    const runAt = this.#runAt;
    const seq = this.#seq;
    return out.subarray(0, n).sort((a, b) => (runAt[a] as number) - (runAt[b] as number) || (seq[a] as number) - (seq[b] as number));
  }

  /** The runAt of job i (an index `select` gave). */
  runAtOf(i: number): number {
    return this.#runAt[i] as number;
  }

  /** The seq of job i (an index `select` gave). */
  seqOf(i: number): number {
    return this.#seq[i] as number;
  }

  /** Job i (an index `select` gave, still cold) parsed for the caller: it stays cold. */
  record(i: number): JobRecord {
    return JSON.parse(this.#text(i)) as JobRecord;
  }

  /** Whether cold job i's name is the one `match` stands for. */
  #named(i: number, match: NameMatch): boolean {
    const block = this.#blocks[this.#block[i] as number] as Buffer;
    // The id holds no quote (a cold line has no backslash), so the first one ends it; the name follows.
    const idEnd = block.indexOf(QUOTE, (this.#start[i] as number) + ID_OPEN.length);
    const from = idEnd + 1 + NAME_OPEN.length;
    if (match.ascii !== undefined) {
      const bytes = match.ascii;
      return block[from + bytes.length] === QUOTE && at(block, from, from + bytes.length, bytes);
    }
    return block.toString('utf8', from, block.indexOf(QUOTE, from)) === match.name;
  }

  /** Every job still cold as a record parsed for the caller (the job stays cold). */
  *records(): IterableIterator<JobRecord> {
    for (let i = 0; i < this.#count; i++) if (this.#block[i] !== -1) yield this.record(i);
  }

  /**
   * The jobs still cold, in snapshot order, as they are now: a new snapshot
   * writes their texts as they were read. Only where their bytes are is
   * copied here (typed arrays, and the blocks held); each text is made when
   * the writer reaches it. WHY: the snapshot takes its view of the state in
   * one synchronous step, and making every text there blocked the event loop
   * ~0.5 s at 1e6 cold jobs. Thaws and takes after this leave the view as it
   * was (it holds its own copy of the positions and the blocks).
   *
   * `relativeOnly`: only the `scheduleIn` jobs (the line ends with
   * `,"relative":true}`), the ones a clock step moves; told from the bytes,
   * so the jobs at a date are never parsed for a step.
   */
  capture(relativeOnly = false): ColdTexts {
    const count = this.#count;
    const where = this.#block;
    const starts = this.#start;
    const ends = this.#end;
    const block = new Int32Array(this.#live);
    const start = new Int32Array(this.#live);
    const end = new Int32Array(this.#live);
    let k = 0;
    for (let i = 0; i < count; i++) {
      const b = where[i] as number;
      if (b === -1) continue;
      // A cold line ends `"seq":<digits>}` or `,"relative":true}` (scanCold proved it): one byte tells them apart.
      if (relativeOnly && (this.#blocks[b] as Buffer)[(ends[i] as number) - 2] !== RELATIVE_LAST) continue;
      block[k] = b;
      start[k] = starts[i] as number;
      end[k] = ends[i] as number;
      k++;
    }
    return new ColdTexts(this.#blocks.slice(), block.subarray(0, k), start.subarray(0, k), end.subarray(0, k));
  }

  /** Job i's record text. */
  #text(i: number): string {
    return textOf(this.#blocks[this.#block[i] as number] as Buffer, this.#start[i] as number, this.#end[i] as number);
  }

  #thaw(i: number): JobRecord {
    const job = JSON.parse(this.#text(i)) as JobRecord;
    const cell = this.#find(this.#hash[i] as number, (j) => j === i);
    this.#table[cell] = -1;
    const b = this.#block[i] as number;
    this.#block[i] = -1;
    this.#live--;
    if (this.#heap === undefined) this.#takenNames.set(job.name, (this.#takenNames.get(job.name) ?? 0) + 1);
    // The block's last cold job: its bytes are no one's now.
    if (--this.#blockLive[b]! === 0) this.#blocks[b] = NO_BLOCK;
    return job;
  }
}
