/**
 * SimDisk: an in-memory file system that remembers what a power cut keeps.
 *
 * Every file (inode) holds two images: `data`, what reads see (the page
 * cache), and `durable`, what is on the platter, plus the list of data
 * changes (`pending`: writes and truncates) made since the last successful
 * fsync/fdatasync. Every directory likewise holds its `entries` and its
 * `durable` entries plus the pending namespace changes (create, rename,
 * link, unlink, mkdir) since its last fsync.
 *
 * - A process crash (kill -9) loses nothing: the page cache survives.
 * - A power cut (`powerCut`) rebuilds each directory from its durable
 *   entries plus a prefix of its pending changes (journaled file systems
 *   apply namespace changes in order), and each surviving file from its
 *   durable image plus a prefix of its pending writes, the first dropped
 *   write torn at a 4096-byte page boundary of the file, maybe followed by
 *   zeros, as FsLayer's contract says ('prefix'), or every pending write kept or lost
 *   512-byte sector by sector, holes reading as zeros ('scramble').
 * - A failed fsync drops the file's pending changes from what can become
 *   durable while reads still see them (Linux marks the pages clean: the
 *   "fsyncgate" behaviour), so a later successful fsync does not save them.
 *
 * Faults are armed per kind and fire at the n-th eligible call (see
 * `Fault`). Everything is synchronous and deterministic; randomness comes
 * only from the Prng handed to `powerCut`.
 */
import path from 'node:path';
import type { Prng } from './prng.js';

/** The page a torn write is cut at (FsLayer's contract). */
const PAGE = 4096;

export type DataOp = { kind: 'write'; pos: number; bytes: Uint8Array } | { kind: 'truncate'; size: number };

export class Inode {
  /** Reads see the first `size` bytes of `data`. */
  data: Uint8Array = new Uint8Array(0);
  size = 0;
  /** What a power cut keeps for sure: the first `durableSize` bytes of `durableData`. */
  private durableData: Uint8Array = new Uint8Array(0);
  private durableSize = 0;
  pending: DataOp[] = [];
  /** Directory entries naming this inode right now. */
  nlink = 0;
  constructor(readonly ino: number) {}

  get durable(): Uint8Array {
    return this.durableData.subarray(0, this.durableSize);
  }

  write(pos: number, bytes: Uint8Array): void {
    this.data = put(this.data, this.size, pos, bytes);
    if (pos + bytes.length > this.size) this.size = pos + bytes.length;
    this.pending.push({ kind: 'write', pos, bytes: bytes.slice() });
  }

  truncate(size: number): void {
    this.data = resize(this.data, this.size, size);
    this.size = size;
    this.pending.push({ kind: 'truncate', size });
  }

  content(): Uint8Array {
    return this.data.subarray(0, this.size);
  }

  /** fsync: the pending changes reach the platter (applied one by one: no whole-file copy). */
  sync(): void {
    for (const op of this.pending) {
      if (op.kind === 'write') {
        this.durableData = put(this.durableData, this.durableSize, op.pos, op.bytes);
        if (op.pos + op.bytes.length > this.durableSize) this.durableSize = op.pos + op.bytes.length;
      } else {
        this.durableData = resize(this.durableData, this.durableSize, op.size);
        this.durableSize = op.size;
      }
    }
    this.pending = [];
  }

  /** A failed fsync: pending changes will never reach the platter, though reads see them. */
  poison(): void {
    this.pending = [];
  }

  /** After a power cut: `image` is both what reads see and what is durable. */
  reset(image: Uint8Array): void {
    this.data = image.slice();
    this.size = image.length;
    this.durableData = image.slice();
    this.durableSize = image.length;
    this.pending = [];
  }
}

/** `buf` (holding `used` bytes) with `bytes` written at `pos`, zero-filling any gap; grows geometrically. */
function put(buf: Uint8Array, used: number, pos: number, bytes: Uint8Array): Uint8Array {
  const end = pos + bytes.length;
  let out = buf;
  if (end > buf.length) {
    out = new Uint8Array(Math.max(end, buf.length * 2, 64));
    out.set(buf.subarray(0, used));
  }
  if (pos > used) out.fill(0, used, pos);
  out.set(bytes, pos);
  return out;
}

function resize(buf: Uint8Array, used: number, size: number): Uint8Array {
  if (size <= used) return buf;
  let out = buf;
  if (size > buf.length) {
    out = new Uint8Array(size);
    out.set(buf.subarray(0, used));
  }
  out.fill(0, used, size);
  return out;
}

export class Dir {
  entries = new Map<string, Entry>();
  durable = new Map<string, Entry>();
  /** Namespace changes since the last fsync of this directory, each applied atomically. */
  log: DirChange[] = [];
  constructor(readonly path: string) {}

  sync(): void {
    this.durable = new Map(this.entries);
    this.log = [];
  }
}

export type Entry = { kind: 'file'; inode: Inode } | { kind: 'dir'; dir: Dir };
/** One atomic namespace change: names set (to an entry) or removed (undefined). */
export type DirChange = [name: string, entry: Entry | undefined][];

/**
 * Fault kinds.
 * - ENOSPC: sticky "disk full" from the n-th call that needs space until `heal`.
 * - short: the n-th write stops at the next 4 KiB file offset (a file system
 *   allocates whole blocks); then ENOSPC as above.
 * - EIO: the n-th call of any kind fails with EIO, changing nothing.
 * - EIO-landed: the n-th write lands in full but reports EIO.
 * - fsync-EIO: the n-th fsync/fdatasync of a file fails; its pending data never becomes durable.
 * - read-EIO: the n-th read/readFile/readdir/open for reading fails with EIO.
 */
export type FaultKind = 'ENOSPC' | 'short' | 'EIO' | 'EIO-landed' | 'fsync-EIO' | 'read-EIO';

export type CrashMode = 'kill' | 'power-prefix' | 'power-scramble';

interface Armed {
  kind: FaultKind;
  countdown: number;
}

/** Calls that need free space (fail on a full disk). */
const NEEDS_SPACE = new Set(['write', 'writeFileAtomic', 'mkdir', 'rename', 'link', 'fsync', 'fdatasync', 'create']);
const READS = new Set(['read', 'readFile', 'readdir', 'open']);

export function errno(code: string, syscall: string, what: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: simulated, ${syscall} '${what}'`);
  error.code = code;
  error.syscall = syscall;
  return error;
}

/** Counters for the coverage report. */
export type DiskCounters = Record<string, number>;

export class SimDisk {
  readonly root = new Dir('/');
  private nextIno = 1;
  private armed: Armed[] = [];
  /** The disk is full until healed. */
  full = false;
  readonly counters: DiskCounters = {};

  constructor() {
    this.root.sync();
  }

  count(what: string, n = 1): void {
    this.counters[what] = (this.counters[what] ?? 0) + n;
  }

  newInode(): Inode {
    return new Inode(this.nextIno++);
  }

  // ------------------------------------------------------------ namespace

  /** The directory at `dir`, or undefined. */
  dir(dir: string): Dir | undefined {
    const parts = path.resolve(dir).split('/').filter(Boolean);
    let cur = this.root;
    for (const part of parts) {
      const e = cur.entries.get(part);
      if (!e || e.kind !== 'dir') return undefined;
      cur = e.dir;
    }
    return cur;
  }

  /** Parent directory and base name of `file`; ENOENT when the parent is missing. */
  parent(file: string, syscall: string): { dir: Dir; name: string } {
    const abs = path.resolve(file);
    const dir = this.dir(path.dirname(abs));
    if (!dir) throw errno('ENOENT', syscall, file);
    return { dir, name: path.basename(abs) };
  }

  lookup(file: string): Entry | undefined {
    const abs = path.resolve(file);
    if (abs === '/') return { kind: 'dir', dir: this.root };
    const dir = this.dir(path.dirname(abs));
    return dir?.entries.get(path.basename(abs));
  }

  /** Applies one atomic namespace change to `dir` and logs it for the crash model. */
  change(dir: Dir, change: DirChange): void {
    for (const [name, entry] of change) {
      const old = dir.entries.get(name);
      if (old?.kind === 'file') old.inode.nlink--;
      if (entry === undefined) dir.entries.delete(name);
      else {
        dir.entries.set(name, entry);
        if (entry.kind === 'file') entry.inode.nlink++;
      }
    }
    dir.log.push(change);
  }

  /** Creates every missing directory of `dir` (each creation pending in its parent). */
  mkdirp(dir: string): void {
    const parts = path.resolve(dir).split('/').filter(Boolean);
    let cur = this.root;
    for (const part of parts) {
      const e = cur.entries.get(part);
      if (e?.kind === 'file') throw errno('ENOTDIR', 'mkdir', dir);
      if (e?.kind === 'dir') {
        cur = e.dir;
        continue;
      }
      const next = new Dir(path.join(cur.path, part));
      this.change(cur, [[part, { kind: 'dir', dir: next }]]);
      cur = next;
    }
  }

  /** Makes a directory tree durable at once (the harness's setup, not a store call). */
  syncTree(dir: Dir = this.root): void {
    dir.sync();
    for (const e of dir.entries.values()) {
      if (e.kind === 'dir') this.syncTree(e.dir);
      else e.inode.sync();
    }
  }

  /** One line per file: name, size, durable size, pending changes; per directory its pending namespace changes. */
  describe(dir: Dir = this.root): string {
    const parts: string[] = [];
    if (dir.log.length > 0) parts.push(`${dir.path}: ${dir.log.length} namespace change(s) not synced [${dir.log.map((c) => c.map(([n, e]) => (e ? `+${n}` : `-${n}`)).join(' ')).join(', ')}]`);
    for (const [name, e] of dir.entries) {
      if (e.kind === 'dir') parts.push(this.describe(e.dir));
      else parts.push(`${path.join(dir.path, name)} ${e.inode.size}B (durable ${e.inode.durable.length}B, ${e.inode.pending.length} pending)`);
    }
    return parts.filter(Boolean).join('; ');
  }

  // --------------------------------------------------------------- faults

  arm(kind: FaultKind, afterCalls: number): void {
    this.armed.push({ kind, countdown: Math.max(1, afterCalls) });
  }

  /** Ends the disk-full condition and disarms every fault not yet fired. */
  heal(): void {
    this.full = false;
    this.armed = [];
  }

  get faultsArmed(): number {
    return this.armed.length;
  }

  private eligible(kind: FaultKind, method: string): boolean {
    switch (kind) {
      case 'ENOSPC':
        return NEEDS_SPACE.has(method);
      case 'short':
      case 'EIO-landed':
        return method === 'write' || method === 'writeFileAtomic';
      case 'EIO':
        return method !== 'close';
      case 'fsync-EIO':
        return method === 'fsync' || method === 'fdatasync';
      case 'read-EIO':
        return READS.has(method);
    }
  }

  /**
   * Decides the fate of one call: undefined (go ahead) or the fault that
   * fires now. A full disk fails every call that needs space.
   */
  fault(method: string): FaultKind | undefined {
    if (this.full && NEEDS_SPACE.has(method)) {
      this.count('fault.ENOSPC(full)');
      return 'ENOSPC';
    }
    for (let i = 0; i < this.armed.length; i++) {
      const a = this.armed[i] as Armed;
      if (!this.eligible(a.kind, method)) continue;
      if (--a.countdown > 0) continue;
      this.armed.splice(i, 1);
      this.count(`fault.${a.kind}`);
      if (a.kind === 'ENOSPC' || a.kind === 'short') this.full = true;
      return a.kind;
    }
    return undefined;
  }

  // ---------------------------------------------------------------- crash

  /**
   * A power cut: what is not durable may be lost or torn (see the file
   * header). Afterwards everything that survived is durable.
   */
  powerCut(mode: 'prefix' | 'scramble', prng: Prng): { truncatesLost: number; journalsUnlinked: number } {
    this.count(`crash.power-${mode}`);
    const before = this.counters['crash.truncatesLost'] ?? 0;
    const unlinkedBefore = this.counters['crash.journalsUnlinked'] ?? 0;
    const files = new Set<Inode>();
    this.rebuild(this.root, prng, files);
    for (const inode of files) {
      this.rebuildFile(inode, mode, prng);
      inode.nlink = 0;
    }
    this.countLinks(this.root);
    return {
      truncatesLost: (this.counters['crash.truncatesLost'] ?? 0) - before,
      journalsUnlinked: (this.counters['crash.journalsUnlinked'] ?? 0) - unlinkedBefore,
    };
  }

  private rebuild(dir: Dir, prng: Prng, files: Set<Inode>): void {
    const keep = dir.log.length === 0 ? 0 : keepCount(dir.log.length, prng);
    if (keep < dir.log.length) this.count('crash.dirChangesUndone', dir.log.length - keep);
    const entries = new Map(dir.durable);
    for (let i = 0; i < keep; i++) {
      for (const [name, entry] of dir.log[i] as DirChange) {
        if (entry === undefined) entries.delete(name);
        else entries.set(name, entry);
      }
    }
    // A journal holding synced changes whose name was never made durable (see known.ts dirSyncOnOpen).
    for (const [name, e] of dir.entries) {
      if (e.kind === 'file' && /^journal-\d+\.jsonl$/.test(name) && !entries.has(name) && e.inode.durable.length > 60) this.count('crash.journalsUnlinked');
    }
    dir.entries = entries;
    dir.sync();
    for (const e of entries.values()) {
      if (e.kind === 'dir') this.rebuild(e.dir, prng, files);
      else files.add(e.inode);
    }
  }

  private countLinks(dir: Dir): void {
    for (const e of dir.entries.values()) {
      if (e.kind === 'dir') this.countLinks(e.dir);
      else e.inode.nlink++;
    }
  }

  private rebuildFile(inode: Inode, mode: 'prefix' | 'scramble', prng: Prng): void {
    const ops = inode.pending;
    const image = new Inode(inode.ino);
    image.write(0, inode.durable);
    image.truncate(inode.durable.length);
    if (ops.length > 0) {
      if (mode === 'prefix') {
        const keep = keepCount(ops.length, prng);
        for (let i = 0; i < keep; i++) applyOp(image, ops[i] as DataOp);
        const torn = ops[keep];
        if (torn?.kind === 'write' && torn.bytes.length > 1 && prng.chance(0.5)) {
          // FsLayer's contract (src/store/json-file/fs.ts): a torn write keeps a
          // prefix that ends at a page boundary of the file, possibly followed
          // by zeros (the size grew, the data did not land). A cut inside the
          // write's first page keeps none of it.
          const cut = prng.int(1, torn.bytes.length - 1);
          const kept = Math.floor((torn.pos + cut) / PAGE) * PAGE - torn.pos;
          if (kept > 0) {
            image.write(torn.pos, torn.bytes.subarray(0, kept));
            if (prng.chance(0.5)) {
              image.write(torn.pos + kept, new Uint8Array(torn.bytes.length - kept));
              this.count('crash.tornWritesZeroTail');
            }
            this.count('crash.tornWrites');
          } else this.count('crash.tornWritesInFirstPage');
        }
        if (keep < ops.length) this.count('crash.dataChangesLost', ops.length - keep);
        for (let i = keep; i < ops.length; i++) if ((ops[i] as DataOp).kind === 'truncate') this.count('crash.truncatesLost');
      } else {
        for (const op of ops) {
          if (op.kind === 'truncate') {
            if (prng.chance(0.5)) image.truncate(op.size);
            else this.count('crash.truncatesLost');
            continue;
          }
          for (let s = 0; s < op.bytes.length; s += 512) {
            if (prng.chance(0.5)) image.write(op.pos + s, op.bytes.subarray(s, Math.min(op.bytes.length, s + 512)));
            else this.count('crash.sectorsLost');
          }
        }
      }
    }
    inode.reset(image.content());
  }
}

/** How many of `n` pending changes survive: often none or all, else any prefix. */
function keepCount(n: number, prng: Prng): number {
  const r = prng.float();
  if (r < 0.3) return 0;
  if (r < 0.55) return n;
  return prng.int(0, n);
}

function applyOp(inode: Inode, op: DataOp): void {
  if (op.kind === 'write') inode.write(op.pos, op.bytes);
  else inode.truncate(op.size);
}
