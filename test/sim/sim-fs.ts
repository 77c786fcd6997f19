/**
 * SimFs: one simulated process's view of a SimDisk, as the `FsLayer` that
 * JsonFileStore takes (src/store/json-file/fs.ts). It owns the process's
 * file descriptors; when the process dies, every call in flight and every
 * later call stays pending forever (a dead process makes no more system
 * calls and sees no more results).
 *
 * Each call completes after a few event-loop turns chosen by the scenario
 * (0 = a microtask), and only then takes effect, so concurrent calls
 * interleave as they do on a thread pool. At completion the harness may kill
 * the process before or after the call's effect (a crash at that await
 * point), and the disk may fail it (see SimDisk faults).
 *
 * Lock files name their process by pid. All simulated processes share this
 * Node process's pid, so SimFs gives each one its own: `"pid":<real>` is
 * written as the simulated pid and read back as the real pid by its owner,
 * as a dead pid once that process died, and as a live foreign pid (our
 * parent's) while another simulated process is alive. The lock code thus
 * sees each simulated process as a separate OS process.
 *
 * Adding an FsLayer method: one wrapper here (`this.call(...)`) plus, when
 * it touches the disk model, a helper in disk.ts.
 */
import { constants } from 'node:fs';
import path from 'node:path';
import type { FileStat, FsLayer } from '../../src/store/json-file/fs.js';
import { errno, type Entry, type FaultKind, type Inode, type SimDisk } from './disk.js';

/** What SimFs asks of the simulated process it belongs to. */
export interface ProcessHooks {
  /** Simulated pid. */
  readonly pid: number;
  alive(): boolean;
  /**
   * Called as each call completes: 'before' kills the process before the
   * call takes effect, 'after' right after (the result is never seen).
   */
  crashPoint(method: string, what: string): 'before' | 'after' | undefined;
  /** Event-loop turns before the next call completes (0: a microtask). */
  latency(): number;
}

/** Which simulated pids are alive, for the lock pid translation. */
export class PidTable {
  private readonly alive = new Map<number, () => boolean>();
  register(pid: number, alive: () => boolean): void {
    this.alive.set(pid, alive);
  }
  isAlive(pid: number): boolean {
    return this.alive.get(pid)?.() ?? false;
  }
}

/** A pid no process has (Linux pid_max is at most 2^22). */
export const DEAD_PID = 2_000_000_000;

interface OpenFile {
  path: string;
  entry: Entry;
  read: boolean;
  write: boolean;
  dsync: boolean;
}

interface Flags {
  read: boolean;
  write: boolean;
  create: boolean;
  excl: boolean;
  trunc: boolean;
  dsync: boolean;
}

function parseFlags(flags: string | number): Flags {
  if (typeof flags === 'string') {
    switch (flags) {
      case 'r':
        return { read: true, write: false, create: false, excl: false, trunc: false, dsync: false };
      case 'r+':
        return { read: true, write: true, create: false, excl: false, trunc: false, dsync: false };
      case 'rs+':
        return { read: true, write: true, create: false, excl: false, trunc: false, dsync: true };
      case 'w':
        return { read: false, write: true, create: true, excl: false, trunc: true, dsync: false };
      case 'wx':
        return { read: false, write: true, create: true, excl: true, trunc: true, dsync: false };
      case 'w+':
        return { read: true, write: true, create: true, excl: false, trunc: true, dsync: false };
      default:
        throw new Error(`SimFs: open flags '${flags}' are not modelled yet`);
    }
  }
  const access = flags & 3;
  return {
    read: access === constants.O_RDONLY || access === constants.O_RDWR,
    write: access === constants.O_WRONLY || access === constants.O_RDWR,
    create: (flags & constants.O_CREAT) !== 0,
    excl: (flags & constants.O_EXCL) !== 0,
    trunc: (flags & constants.O_TRUNC) !== 0,
    dsync: (flags & constants.O_DSYNC) !== 0,
  };
}

/** File system block size (short writes end on a block boundary). */
const BLOCK = 4096;
const PID_RE = /"pid":(\d+)/g;
const isLockFile = (file: string): boolean => path.basename(file).startsWith('LOCK');

export class SimFs implements FsLayer {
  private readonly fds = new Map<number, OpenFile>();
  private nextFd = 3;
  private tempCounter = 0;
  /** Calls started and not yet completed. */
  inflight = 0;
  /** Calls made (completed or not). */
  calls = 0;
  /** Debugging: sees every completed call. */
  onCall: ((line: string) => void) | undefined;

  constructor(
    readonly disk: SimDisk,
    private readonly hooks: ProcessHooks,
    private readonly pids: PidTable,
  ) {}

  // ------------------------------------------------------------- plumbing

  /**
   * Runs `body` when the call completes, unless the process died. `body`
   * gets the fault the disk decided on (if any) and must honour it.
   */
  private call<T>(method: string, what: string, body: (fault: FaultKind | undefined) => T): Promise<T> {
    this.calls++;
    if (!this.hooks.alive()) return new Promise<T>(() => undefined);
    this.inflight++;
    return new Promise<T>((resolve, reject) => {
      const complete = (): void => {
        this.inflight--;
        if (!this.hooks.alive()) return;
        const crash = this.hooks.crashPoint(method, what);
        if (crash === 'before') {
          this.onCall?.(`${method} ${what}: crash before it`);
          return;
        }
        let value: T;
        const fault = this.disk.fault(method);
        try {
          value = body(fault);
        } catch (error) {
          this.onCall?.(`${method} ${what}${fault ? ` [${fault}]` : ''} -> ${(error as Error).message}${crash ? ` (crash ${crash})` : ''}`);
          if (crash === 'after') return;
          reject(error);
          return;
        }
        this.onCall?.(`${method} ${what}${fault ? ` [${fault}]` : ''} -> ok${crash ? ` (crash ${crash})` : ''}`);
        if (crash === 'after') return;
        resolve(value);
      };
      let turns = this.hooks.latency();
      if (turns <= 0) {
        queueMicrotask(complete);
        return;
      }
      const tick = (): void => {
        if (--turns <= 0) complete();
        else setImmediate(tick);
      };
      setImmediate(tick);
    });
  }

  private fd(fd: number, syscall: string): OpenFile {
    const f = this.fds.get(fd);
    if (!f) throw errno('EBADF', syscall, `fd ${fd}`);
    return f;
  }

  private fileOf(fd: number, syscall: string): { f: OpenFile; inode: Inode } {
    const f = this.fd(fd, syscall);
    if (f.entry.kind !== 'file') throw errno('EISDIR', syscall, f.path);
    return { f, inode: f.entry.inode };
  }

  /** Real pid → this process's simulated pid, in lock files. */
  private toDisk(file: string, text: string): string {
    if (!isLockFile(file)) return text;
    return text.replace(PID_RE, (m, pid: string) => (Number(pid) === process.pid ? `"pid":${this.hooks.pid}` : m));
  }

  /** Simulated pids → what the lock code should see (see the file header). */
  private fromDisk(file: string, bytes: Uint8Array): Buffer {
    if (!isLockFile(file)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const buffer = Buffer.from(bytes);
    const text = buffer.toString('utf8');
    const mapped = text.replace(PID_RE, (_m, pid: string) => {
      const p = Number(pid);
      if (p === this.hooks.pid) return `"pid":${process.pid}`;
      return `"pid":${this.pids.isAlive(p) ? process.ppid : DEAD_PID}`;
    });
    return mapped === text ? buffer : Buffer.from(mapped);
  }

  private static fail(fault: FaultKind | undefined, syscall: string, what: string): void {
    if (fault === undefined) return;
    throw errno(fault === 'short' ? 'ENOSPC' : fault === 'ENOSPC' ? 'ENOSPC' : 'EIO', syscall, what);
  }

  // ------------------------------------------------------------- FsLayer

  open(file: string, flags: string | number, _mode?: number): Promise<number> {
    return this.call('open', file, (fault) => {
      const fl = parseFlags(flags);
      if (fault === 'EIO' || fault === 'read-EIO') throw errno('EIO', 'open', file);
      const abs = path.resolve(file);
      let entry = this.disk.lookup(abs);
      if (entry && fl.create && fl.excl) throw errno('EEXIST', 'open', file);
      if (!entry) {
        if (!fl.create) throw errno('ENOENT', 'open', file);
        if (this.disk.full || fault === 'ENOSPC') throw errno('ENOSPC', 'open', file);
        const { dir, name } = this.disk.parent(abs, 'open');
        entry = { kind: 'file', inode: this.disk.newInode() };
        this.disk.change(dir, [[name, entry]]);
      } else if (entry.kind === 'dir' && fl.write) {
        throw errno('EISDIR', 'open', file);
      } else if (entry.kind === 'file' && fl.trunc && entry.inode.size > 0) {
        entry.inode.truncate(0);
      }
      const fd = this.nextFd++;
      this.fds.set(fd, { path: abs, entry, read: fl.read, write: fl.write, dsync: fl.dsync });
      return fd;
    });
  }

  close(fd: number): Promise<void> {
    return this.call('close', `fd ${fd}`, () => {
      this.fd(fd, 'close');
      this.fds.delete(fd);
    });
  }

  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.call('write', `fd ${fd} ${length}B@${position}`, (fault) => {
      const { f, inode } = this.fileOf(fd, 'write');
      if (!f.write) throw errno('EBADF', 'write', f.path);
      if (fault === 'ENOSPC' || fault === 'EIO') throw errno(fault, 'write', f.path);
      let bytes = buffer.subarray(offset, offset + length);
      if (isLockFile(f.path)) bytes = Buffer.from(this.toDisk(f.path, Buffer.from(bytes).toString('utf8')));
      // A file system allocates whole blocks: a write that runs out of space stops at the
      // first block it could not allocate, so a short write ends at a 4 KiB file offset.
      const n = fault === 'short' ? Math.min(bytes.length, BLOCK - (position % BLOCK)) : bytes.length;
      if (n > 0) inode.write(position, bytes.subarray(0, n));
      if (f.dsync && fault !== 'EIO-landed') inode.sync();
      if (fault === 'EIO-landed') throw errno('EIO', 'write', f.path);
      this.disk.count('fs.bytesWritten', n);
      return n === bytes.length ? length : n;
    });
  }

  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.call('read', `fd ${fd}`, (fault) => {
      const { f, inode } = this.fileOf(fd, 'read');
      if (!f.read) throw errno('EBADF', 'read', f.path);
      if (fault === 'EIO' || fault === 'read-EIO') throw errno('EIO', 'read', f.path);
      const content = this.fromDisk(f.path, inode.content());
      if (position >= content.length) return 0;
      const n = Math.min(length, content.length - position);
      buffer.set(content.subarray(position, position + n), offset);
      return n;
    });
  }

  fsync(fd: number): Promise<void> {
    return this.call('fsync', `fd ${fd}`, (fault) => this.doSync(fd, 'fsync', fault));
  }

  fdatasync(fd: number): Promise<void> {
    return this.call('fdatasync', `fd ${fd}`, (fault) => this.doSync(fd, 'fdatasync', fault));
  }

  private doSync(fd: number, syscall: string, fault: FaultKind | undefined): void {
    const f = this.fd(fd, syscall);
    if (f.entry.kind === 'dir') {
      SimFs.fail(fault === 'fsync-EIO' ? 'EIO' : fault, syscall, f.path);
      f.entry.dir.sync();
      return;
    }
    if (fault === 'fsync-EIO' || fault === 'EIO') {
      // The kernel drops the dirty pages' error state: this data never becomes durable.
      if (f.entry.inode.pending.length > 0) this.disk.count('fs.fsyncDataDropped');
      f.entry.inode.poison();
      throw errno('EIO', syscall, f.path);
    }
    SimFs.fail(fault, syscall, f.path);
    f.entry.inode.sync();
  }

  ftruncate(fd: number, length: number): Promise<void> {
    return this.call('ftruncate', `fd ${fd} to ${length}`, (fault) => {
      const { f, inode } = this.fileOf(fd, 'ftruncate');
      if (!f.write) throw errno('EINVAL', 'ftruncate', f.path);
      if (fault === 'EIO') throw errno('EIO', 'ftruncate', f.path);
      inode.truncate(length);
    });
  }

  fstat(fd: number): Promise<FileStat> {
    return this.call('fstat', `fd ${fd}`, (fault) => {
      const f = this.fd(fd, 'fstat');
      SimFs.fail(fault === 'EIO' ? 'EIO' : undefined, 'fstat', f.path);
      return this.statOf(f.path, f.entry);
    });
  }

  stat(file: string): Promise<FileStat> {
    return this.call('stat', file, (fault) => {
      SimFs.fail(fault === 'EIO' ? 'EIO' : undefined, 'stat', file);
      const entry = this.disk.lookup(file);
      if (!entry) throw errno('ENOENT', 'stat', file);
      return this.statOf(file, entry);
    });
  }

  /** The simulated disk keeps no times: mtimeMs is 0 (the lock reads it only for locks of another boot). */
  private statOf(file: string, entry: Entry): FileStat {
    const isFile = entry.kind === 'file';
    const size = entry.kind === 'file' ? this.fromDisk(file, entry.inode.content()).length : 4096;
    const ino = entry.kind === 'file' ? entry.inode.ino : 0;
    const nlink = entry.kind === 'file' ? entry.inode.nlink : 2;
    return { size, ino, nlink, dev: 1, mtimeMs: 0, isFile, isDirectory: !isFile };
  }

  readdir(dir: string): Promise<string[]> {
    return this.call('readdir', dir, (fault) => {
      if (fault === 'EIO' || fault === 'read-EIO') throw errno('EIO', 'readdir', dir);
      const d = this.disk.dir(dir);
      if (!d) throw errno(this.disk.lookup(dir) ? 'ENOTDIR' : 'ENOENT', 'readdir', dir);
      return [...d.entries.keys()];
    });
  }

  mkdir(dir: string): Promise<void> {
    return this.call('mkdir', dir, (fault) => {
      if (this.disk.dir(dir)) return;
      SimFs.fail(fault, 'mkdir', dir);
      this.disk.mkdirp(dir);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.call('rename', `${path.basename(from)} -> ${path.basename(to)}`, (fault) => {
      SimFs.fail(fault, 'rename', from);
      const src = this.disk.parent(from, 'rename');
      const entry = src.dir.entries.get(src.name);
      if (!entry) throw errno('ENOENT', 'rename', from);
      const dst = this.disk.parent(to, 'rename');
      if (dst.dir.entries.get(dst.name)?.kind === 'dir') throw errno('EISDIR', 'rename', to);
      if (src.dir === dst.dir) {
        if (src.name !== dst.name) this.disk.change(src.dir, [[dst.name, entry], [src.name, undefined]]);
      } else {
        this.disk.change(dst.dir, [[dst.name, entry]]);
        this.disk.change(src.dir, [[src.name, undefined]]);
      }
    });
  }

  link(from: string, to: string): Promise<void> {
    return this.call('link', `${path.basename(from)} -> ${path.basename(to)}`, (fault) => {
      SimFs.fail(fault, 'link', from);
      const src = this.disk.lookup(from);
      if (!src) throw errno('ENOENT', 'link', from);
      if (src.kind === 'dir') throw errno('EPERM', 'link', from);
      const dst = this.disk.parent(to, 'link');
      if (dst.dir.entries.has(dst.name)) throw errno('EEXIST', 'link', to);
      this.disk.change(dst.dir, [[dst.name, src]]);
    });
  }

  unlink(file: string): Promise<void> {
    return this.call('unlink', file, (fault) => {
      SimFs.fail(fault === 'EIO' ? 'EIO' : undefined, 'unlink', file);
      const { dir, name } = this.disk.parent(file, 'unlink');
      const entry = dir.entries.get(name);
      if (!entry) throw errno('ENOENT', 'unlink', file);
      if (entry.kind === 'dir') throw errno('EISDIR', 'unlink', file);
      this.disk.change(dir, [[name, undefined]]);
    });
  }

  readFile(file: string): Promise<Buffer> {
    return this.call('readFile', file, (fault) => {
      if (fault === 'EIO' || fault === 'read-EIO') throw errno('EIO', 'readFile', file);
      const entry = this.disk.lookup(file);
      if (!entry) throw errno('ENOENT', 'open', file);
      if (entry.kind === 'dir') throw errno('EISDIR', 'read', file);
      return Buffer.from(this.fromDisk(file, entry.inode.content()));
    });
  }

  /**
   * write-file-atomic's steps (temp file, write, optional fsync, rename; no
   * directory fsync), including its short-write hole (SPEC §9): a short
   * write is not noticed, the truncated temp file is renamed into place.
   */
  writeFileAtomic(file: string, data: string, sync = true): Promise<void> {
    return this.call('writeFileAtomic', file, (fault) => {
      const abs = path.resolve(file);
      const { dir } = this.disk.parent(abs, 'open');
      const tempName = `${path.basename(abs)}.${++this.tempCounter}${this.hooks.pid}`;
      if (this.disk.full || fault === 'ENOSPC') throw errno('ENOSPC', 'open', file);
      if (fault === 'EIO') throw errno('EIO', 'write', file);
      const inode = this.disk.newInode();
      this.disk.change(dir, [[tempName, { kind: 'file', inode }]]);
      const bytes = Buffer.from(this.toDisk(abs, data));
      const n = fault === 'short' ? Math.floor(bytes.length / 2) : bytes.length;
      if (n > 0) inode.write(0, bytes.subarray(0, n));
      if (sync) inode.sync();
      this.disk.change(dir, [[path.basename(abs), { kind: 'file', inode }], [tempName, undefined]]);
      if (fault === 'EIO-landed') throw errno('EIO', 'rename', file);
    });
  }
}
