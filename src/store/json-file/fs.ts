/**
 * The file-system seam of JsonFileStore: the few calls it makes, fd-based so
 * a wrapper can see (and break) every one of them. `nodeFs` is the real
 * thing; `FaultyFs` (faulty-fs.ts) fails chosen calls the way a full or
 * failing disk does; a simulation can implement the interface over an
 * in-memory file system and crash it at any await.
 *
 * The store never touches node:fs directly: every file it reads or writes,
 * including the /proc files that identify the process holding the lock,
 * goes through this interface.
 */
import fs from 'node:fs';

/** What `fstat` and `stat` report. */
export interface FileStat {
  size: number;
  /** Inode number: identity of the file while any link or open descriptor keeps it alive. */
  ino: number;
  /** Device: `ino` is unique per device. */
  dev: number;
  /** Hard links to the file; 0 once every name of it was removed. */
  nlink: number;
  /** Last content change, epoch ms, by the clock of the machine that wrote it. */
  mtimeMs: number;
  isFile: boolean;
  isDirectory: boolean;
}

/**
 * What JsonFileStore needs from a file system. Paths are absolute. Errors
 * are Node-style errno errors (`code`: 'ENOENT', 'EEXIST', 'ENOSPC', …).
 *
 * Durability (what survives a crash of the machine), which a simulation
 * must model exactly:
 * - Written bytes are visible to every reader as soon as `write` resolves,
 *   and durable once `fdatasync`/`fsync` of that descriptor resolves (or as
 *   soon as `write` resolves for a descriptor opened with O_DSYNC).
 * - A crash during or after a write that is not yet durable keeps, of that
 *   write, nothing, everything, or a prefix that ends at a multiple of 4096
 *   bytes from the start of the file (a page: the kernel extends a file page
 *   by page, and a process killed mid-write also stops at a page boundary).
 *   JsonFileStore relies on this to tell a crash's torn append from damage.
 * - Names (`mkdir`, `rename`, `link`, `unlink`, creating a file with `open`)
 *   are visible at once and durable once `fsync` of a descriptor of the
 *   directory that holds them resolves (`open(dir, 'r')` + `fsync`).
 * - `ftruncate` is durable once `fsync`/`fdatasync` of the descriptor resolves.
 * A process crash (not of the machine) loses nothing that was written.
 */
export interface FsLayer {
  /** `flags` as node:fs takes them ('r', 'r+', 'wx', or O_* numbers). */
  open(file: string, flags: string | number, mode?: number): Promise<number>;
  close(fd: number): Promise<void>;
  /** Positional write; resolves with the bytes written (may be fewer than asked: loop). */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Positional read; resolves with the bytes read (0 at end of file). */
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Makes the file's data and metadata durable (on a directory: its entries). */
  fsync(fd: number): Promise<void>;
  /** Makes the file's data and size durable. */
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  fstat(fd: number): Promise<FileStat>;
  /** Follows symbolic links; rejects with ENOENT when nothing is there. */
  stat(file: string): Promise<FileStat>;
  readdir(dir: string): Promise<string[]>;
  /** Creates one directory; rejects with EEXIST when the name exists, ENOENT when the parent does not. */
  mkdir(dir: string): Promise<void>;
  /** Atomically renames, replacing `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** Hard link: rejects with EEXIST when `to` exists (never replaces: the lock and new files rely on it). */
  link(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  readFile(file: string): Promise<Buffer>;
}

function call<T>(fn: (cb: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((error, value) => (error ? reject(error) : resolve(value)));
  });
}

function toStat(s: fs.Stats): FileStat {
  return { size: s.size, ino: s.ino, dev: s.dev, nlink: s.nlink, mtimeMs: s.mtimeMs, isFile: s.isFile(), isDirectory: s.isDirectory() };
}

/** The real file system (node:fs). */
export const nodeFs: FsLayer = {
  open: (file, flags, mode = 0o666) => call((cb) => fs.open(file, flags, mode, cb)),
  close: (fd) => call<void>((cb) => fs.close(fd, (e) => cb(e, undefined))),
  write: (fd, buffer, offset, length, position) => call((cb) => fs.write(fd, buffer, offset, length, position, (e, n) => cb(e, n))),
  read: (fd, buffer, offset, length, position) => call((cb) => fs.read(fd, buffer, offset, length, position, (e, n) => cb(e, n))),
  fsync: (fd) => call<void>((cb) => fs.fsync(fd, (e) => cb(e, undefined))),
  fdatasync: (fd) => call<void>((cb) => fs.fdatasync(fd, (e) => cb(e, undefined))),
  ftruncate: (fd, length) => call<void>((cb) => fs.ftruncate(fd, length, (e) => cb(e, undefined))),
  fstat: (fd) => call((cb) => fs.fstat(fd, (e, s) => cb(e, e ? (undefined as never) : toStat(s)))),
  stat: (file) => call((cb) => fs.stat(file, (e, s) => cb(e, e ? (undefined as never) : toStat(s)))),
  readdir: (dir) => call((cb) => fs.readdir(dir, (e, names) => cb(e, names))),
  mkdir: (dir) => call<void>((cb) => fs.mkdir(dir, (e) => cb(e, undefined))),
  rename: (from, to) => call<void>((cb) => fs.rename(from, to, (e) => cb(e, undefined))),
  link: (from, to) => call<void>((cb) => fs.link(from, to, (e) => cb(e, undefined))),
  unlink: (file) => call<void>((cb) => fs.unlink(file, (e) => cb(e, undefined))),
  readFile: (file) => call((cb) => fs.readFile(file, (e, data) => cb(e, data))),
};

/** fsync a directory so the names created or removed in it are durable. */
export function syncDir(layer: FsLayer, dir: string): Promise<void> {
  return syncPath(layer, dir);
}

/** Makes `file` durable (a file's data and size, a directory's entries) through a read-only descriptor. */
export async function syncPath(layer: FsLayer, file: string): Promise<void> {
  const fd = await layer.open(file, 'r');
  try {
    await layer.fsync(fd);
  } finally {
    await layer.close(fd);
  }
}

/** Writes all of `buffer` at `position`, looping over short writes. */
export async function writeAll(layer: FsLayer, fd: number, buffer: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const n = await layer.write(fd, buffer, done, buffer.length - done, position + done);
    if (n <= 0) throw errnoError('ENOSPC', 'write', `wrote 0 of ${buffer.length - done} bytes`);
    done += n;
  }
}

/** Reads up to `length` bytes at `position` (fewer only at end of file). */
export async function readAt(layer: FsLayer, fd: number, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = await layer.read(fd, buffer, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buffer : buffer.subarray(0, got);
}

/**
 * Creates `file` holding `data`, never replacing an existing file: the data
 * goes to `temp` (created exclusively), is synced when `sync`, then
 * hard-linked to `file` (EEXIST if it exists) and `temp` removed. The
 * caller syncs the directory. On failure `temp` is removed.
 */
export async function createFile(layer: FsLayer, temp: string, file: string, data: Uint8Array, sync: boolean): Promise<void> {
  let fd: number | undefined;
  try {
    fd = await layer.open(temp, 'wx');
    await writeAll(layer, fd, data, 0);
    if (sync) await layer.fsync(fd);
    await layer.close(fd);
    fd = undefined;
    await layer.link(temp, file);
  } finally {
    if (fd !== undefined) await layer.close(fd).catch(() => undefined);
    await layer.unlink(temp).catch(() => undefined);
  }
}

/** A Node-style errno error. */
export function errnoError(code: string, syscall: string, detail: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: ${detail}, ${syscall}`);
  error.code = code;
  error.syscall = syscall;
  return error;
}

/** True for an errno error with this code. */
export function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
