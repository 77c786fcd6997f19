/**
 * The file-system seam of JsonFileStore: the few calls it makes, fd-based so
 * a wrapper can see (and break) every one of them. `nodeFs` is the real
 * thing; `FaultyFs` wraps any layer and fails the Nth call with ENOSPC, EIO,
 * EACCES or a short write, the way a full or failing disk does, so tests can
 * walk a fault across every call of an operation.
 */
import fs from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';

/** What JsonFileStore needs from a file system. Paths are absolute. */
export interface FsLayer {
  open(file: string, flags: string | number, mode?: number): Promise<number>;
  close(fd: number): Promise<void>;
  /** Positional write; resolves with the bytes written (may be fewer than asked). */
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Positional read; resolves with the bytes read (0 at end of file). */
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  fsync(fd: number): Promise<void>;
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  fstat(fd: number): Promise<{ size: number }>;
  readdir(dir: string): Promise<string[]>;
  /** Creates the directory and its parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Hard link: fails with EEXIST when `to` exists (the lock relies on it). */
  link(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  readFile(file: string): Promise<Buffer>;
  /**
   * Writes a small file through `write-file-atomic` (temp file, fsync,
   * rename). Known hole (SPEC §9): on a full disk it can leave a truncated
   * file and still resolve, so callers read back what it wrote.
   * `sync`: fsync the temp file before the rename (default true).
   */
  writeFileAtomic(file: string, data: string, sync?: boolean): Promise<void>;
}

function call<T>(fn: (cb: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((error, value) => (error ? reject(error) : resolve(value)));
  });
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
  fstat: (fd) => call((cb) => fs.fstat(fd, (e, s) => cb(e, s))),
  readdir: (dir) => call((cb) => fs.readdir(dir, (e, names) => cb(e, names))),
  mkdir: (dir) => call<void>((cb) => fs.mkdir(dir, { recursive: true }, (e) => cb(e, undefined))),
  rename: (from, to) => call<void>((cb) => fs.rename(from, to, (e) => cb(e, undefined))),
  link: (from, to) => call<void>((cb) => fs.link(from, to, (e) => cb(e, undefined))),
  unlink: (file) => call<void>((cb) => fs.unlink(file, (e) => cb(e, undefined))),
  readFile: (file) => call((cb) => fs.readFile(file, (e, data) => cb(e, data))),
  writeFileAtomic: (file, data, sync = true) => writeFileAtomic(file, data, { fsync: sync }),
};

/** fsync a directory so renames, links and unlinks in it are durable. */
export async function syncDir(layer: FsLayer, dir: string): Promise<void> {
  const fd = await layer.open(dir, 'r');
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

/** What a FaultyFs does at the armed call. */
export type FaultKind = 'ENOSPC' | 'EIO' | 'EACCES' | 'short';

export type FsMethod = keyof FsLayer;

export interface FaultOptions {
  /**
   * Keep failing every later call (the disk stays full) until `heal()`.
   * For 'short': the armed write writes half its bytes, later calls fail with ENOSPC.
   * @default true for 'ENOSPC' and 'short', false otherwise
   */
  sticky?: boolean;
  /** Count and fail only these methods. Default: every method. */
  only?: readonly FsMethod[];
}

const MUTATING: ReadonlySet<FsMethod> = new Set<FsMethod>([
  'write',
  'fsync',
  'fdatasync',
  'ftruncate',
  'mkdir',
  'rename',
  'link',
  'unlink',
  'writeFileAtomic',
]);

/**
 * Fault-injecting wrapper. `calls` counts every call (tests use a dry run to
 * learn how many calls an operation makes); `counts` per method (group
 * commit tests count fdatasync). `failAt(n, kind)` breaks the nth call from
 * now. A sticky ENOSPC behaves like a full disk: reads, opens and closes
 * still work, anything that would need space fails.
 */
export class FaultyFs implements FsLayer {
  calls = 0;
  readonly counts: Partial<Record<FsMethod, number>> = {};
  /** Every call made, `method path-or-fd`, for debugging a failing walk. */
  readonly log: string[] = [];
  logCalls = false;
  private armedAt = 0;
  private kind: FaultKind = 'EIO';
  private sticky = false;
  private tripped = false;
  private only: ReadonlySet<FsMethod> | undefined;
  private seen = 0;
  /** The call the armed fault hit, `method what`. */
  firedOn: string | undefined;

  constructor(readonly base: FsLayer = nodeFs) {}

  /** Fails the `n`th (1-based) counted call from now. */
  failAt(n: number, kind: FaultKind, options: FaultOptions = {}): void {
    this.armedAt = n;
    this.kind = kind;
    this.sticky = options.sticky ?? (kind === 'ENOSPC' || kind === 'short');
    this.only = options.only ? new Set(options.only) : undefined;
    this.seen = 0;
    this.tripped = false;
    this.firedOn = undefined;
  }

  /** Stops failing (the disk has space again). */
  heal(): void {
    this.armedAt = 0;
    this.tripped = false;
  }

  /** True once the armed fault fired. */
  get fired(): boolean {
    return this.tripped;
  }

  resetCounts(): void {
    this.calls = 0;
    for (const k of Object.keys(this.counts) as FsMethod[]) delete this.counts[k];
    this.log.length = 0;
  }

  /** Decides the fate of one call: undefined = go ahead, 'short' = short write, else throw. */
  private check(method: FsMethod, what: string): 'short' | undefined {
    this.calls++;
    this.counts[method] = (this.counts[method] ?? 0) + 1;
    if (this.logCalls) this.log.push(`${method} ${what}`);
    if (this.armedAt === 0) return undefined;
    if (this.only && !this.only.has(method)) return undefined;
    if (this.tripped) {
      if (!this.sticky) return undefined;
      // A full disk: only calls that need space fail.
      if (MUTATING.has(method) && method !== 'unlink' && method !== 'ftruncate') {
        throw errnoError(this.kind === 'short' ? 'ENOSPC' : this.kind, method, `injected (sticky) at ${what}`);
      }
      return undefined;
    }
    this.seen++;
    if (this.seen < this.armedAt) return undefined;
    this.tripped = true;
    this.firedOn = `${method} ${what}`;
    if (this.kind === 'short' && (method === 'write' || method === 'writeFileAtomic')) return 'short';
    throw errnoError(this.kind === 'short' ? 'ENOSPC' : this.kind, method, `injected at call ${this.armedAt}: ${what}`);
  }

  open(file: string, flags: string | number, mode?: number): Promise<number> {
    return this.guard('open', file, () => this.base.open(file, flags, mode));
  }
  close(fd: number): Promise<void> {
    return this.guard('close', `fd ${fd}`, () => this.base.close(fd));
  }
  async write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const fate = this.check('write', `fd ${fd} ${length}B@${position}`);
    if (fate === 'short') return this.base.write(fd, buffer, offset, Math.floor(length / 2), position);
    return this.base.write(fd, buffer, offset, length, position);
  }
  read(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.guard('read', `fd ${fd}`, () => this.base.read(fd, buffer, offset, length, position));
  }
  fsync(fd: number): Promise<void> {
    return this.guard('fsync', `fd ${fd}`, () => this.base.fsync(fd));
  }
  fdatasync(fd: number): Promise<void> {
    return this.guard('fdatasync', `fd ${fd}`, () => this.base.fdatasync(fd));
  }
  ftruncate(fd: number, length: number): Promise<void> {
    return this.guard('ftruncate', `fd ${fd} to ${length}`, () => this.base.ftruncate(fd, length));
  }
  fstat(fd: number): Promise<{ size: number }> {
    return this.guard('fstat', `fd ${fd}`, () => this.base.fstat(fd));
  }
  readdir(dir: string): Promise<string[]> {
    return this.guard('readdir', dir, () => this.base.readdir(dir));
  }
  mkdir(dir: string): Promise<void> {
    return this.guard('mkdir', dir, () => this.base.mkdir(dir));
  }
  rename(from: string, to: string): Promise<void> {
    return this.guard('rename', `${path.basename(from)} -> ${path.basename(to)}`, () => this.base.rename(from, to));
  }
  link(from: string, to: string): Promise<void> {
    return this.guard('link', `${path.basename(from)} -> ${path.basename(to)}`, () => this.base.link(from, to));
  }
  unlink(file: string): Promise<void> {
    return this.guard('unlink', file, () => this.base.unlink(file));
  }
  readFile(file: string): Promise<Buffer> {
    return this.guard('readFile', file, () => this.base.readFile(file));
  }
  async writeFileAtomic(file: string, data: string, sync?: boolean): Promise<void> {
    const fate = this.check('writeFileAtomic', file);
    // The SPEC §9 hole: on a full disk write-file-atomic renames a truncated
    // temp file over the target and resolves anyway.
    if (fate === 'short') return this.base.writeFileAtomic(file, data.slice(0, Math.floor(data.length / 2)), sync);
    return this.base.writeFileAtomic(file, data, sync);
  }

  private async guard<T>(method: FsMethod, what: string, run: () => Promise<T>): Promise<T> {
    this.check(method, what);
    return run();
  }
}
