/**
 * The file-system seam of DirectoryLoader: every call the loader makes on
 * its folders, fd-based where it reads or writes, so a wrapper can see (and
 * break) each one. `nodeLoaderFs` is the real thing. Tests wrap it to fail a
 * hard link with EXDEV (another device: the copy fallback), to count the
 * opens of a path (a refused entry is never read), or to fail a write.
 */
import fs from 'node:fs';

/** What the loader needs to know about a directory entry or an open file. */
export interface LoaderStats {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

/** A directory entry as `readdir` gives it. */
export interface LoaderDirent {
  name: string;
  isDirectory(): boolean;
}

/** What DirectoryLoader needs from a file system. Paths are absolute. */
export interface LoaderFs {
  /** Does not follow a symbolic link: describes the link itself. */
  lstat(path: string): Promise<LoaderStats>;
  /** Follows symbolic links. */
  stat(path: string): Promise<LoaderStats>;
  fstat(fd: number): Promise<LoaderStats>;
  readdir(dir: string): Promise<LoaderDirent[]>;
  /** Creates the directory and its parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  realpath(path: string): Promise<string>;
  /** `flags`: numeric `fs.constants` flags (O_NOFOLLOW, O_EXCL, …). */
  open(path: string, flags: number, mode?: number): Promise<number>;
  close(fd: number): Promise<void>;
  /** Resolves with the bytes read (0 at end of file). `position` null: from the current offset. */
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<number>;
  /** Resolves with the bytes written (may be fewer than asked). `position` null: at the current offset (or the end, with O_APPEND). */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<number>;
  fsync(fd: number): Promise<void>;
  /** Hard link: fails with EEXIST when `to` exists. Does not follow `from` if it is a symbolic link (Linux). */
  link(from: string, to: string): Promise<void>;
  /** Creates a symbolic link at `path` pointing to `target`; fails with EEXIST when `path` exists. */
  symlink(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

function call<T>(fn: (cb: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((error, value) => (error ? reject(error) : resolve(value)));
  });
}

const done = (cb: (error: NodeJS.ErrnoException | null, value: undefined) => void) => (error: NodeJS.ErrnoException | null) => cb(error, undefined);

/** The real file system (node:fs). */
export const nodeLoaderFs: LoaderFs = {
  lstat: (path) => call((cb) => fs.lstat(path, cb)),
  stat: (path) => call((cb) => fs.stat(path, cb)),
  fstat: (fd) => call((cb) => fs.fstat(fd, cb)),
  readdir: (dir) => call((cb) => fs.readdir(dir, { withFileTypes: true }, cb)),
  mkdir: (dir) => call<void>((cb) => fs.mkdir(dir, { recursive: true }, done(cb))),
  realpath: (path) => call((cb) => fs.realpath(path, cb)),
  open: (path, flags, mode = 0o666) => call((cb) => fs.open(path, flags, mode, cb)),
  close: (fd) => call<void>((cb) => fs.close(fd, done(cb))),
  read: (fd, buffer, offset, length, position) => call((cb) => fs.read(fd, buffer, offset, length, position, (e, n) => cb(e, n))),
  write: (fd, buffer, offset, length, position) => call((cb) => fs.write(fd, buffer, offset, length, position, (e, n) => cb(e, n))),
  fsync: (fd) => call<void>((cb) => fs.fsync(fd, done(cb))),
  link: (from, to) => call<void>((cb) => fs.link(from, to, done(cb))),
  symlink: (target, path) => call<void>((cb) => fs.symlink(target, path, done(cb))),
  readlink: (path) => call((cb) => fs.readlink(path, cb)),
  rename: (from, to) => call<void>((cb) => fs.rename(from, to, done(cb))),
  unlink: (path) => call<void>((cb) => fs.unlink(path, done(cb))),
};

/** Writes all of `buffer` at `position` (null: the current offset), looping over short writes. */
export async function writeAll(layer: LoaderFs, fd: number, buffer: Uint8Array, position: number | null): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const n = await layer.write(fd, buffer, written, buffer.length - written, position === null ? null : position + written);
    if (n <= 0) throw Object.assign(new Error(`ENOSPC: wrote 0 of ${buffer.length - written} bytes, write`), { code: 'ENOSPC', syscall: 'write' });
    written += n;
  }
}

/** fsyncs a directory so links, renames and unlinks in it are durable; a platform that cannot is not an error. */
export async function syncDir(layer: LoaderFs, dir: string): Promise<void> {
  let fd: number;
  try {
    fd = await layer.open(dir, fs.constants.O_RDONLY);
  } catch {
    return;
  }
  try {
    await layer.fsync(fd);
  } catch {
    // Some platforms and file systems cannot fsync a directory.
  } finally {
    await layer.close(fd);
  }
}
