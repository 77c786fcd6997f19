/**
 * FaultyFs: an FsLayer wrapper that fails the Nth call with ENOSPC, EIO,
 * EACCES, a short write or a write that lands but reports EIO, the way a
 * full or failing disk does, so tests can walk a fault across every call of
 * an operation.
 */
import path from 'node:path';
import { type FileStat, type FsLayer, errnoError, nodeFs } from './fs.js';

/**
 * What a FaultyFs does at the armed call. `'short'`: a write stops at the
 * last 4096-byte boundary inside its range (ENOSPC when there is none), as a
 * disk filling up mid-write does. `'EIO-after'`: the call takes effect but
 * reports EIO (a write that reached the file, an fsync that happened).
 */
export type FaultKind = 'ENOSPC' | 'EIO' | 'EACCES' | 'short' | 'EIO-after';

export type FsMethod = keyof FsLayer;

export interface FaultOptions {
  /**
   * Keep failing every later call (the disk stays full) until `heal()`.
   * For 'short': the armed write is cut short, later calls fail with ENOSPC.
   * @default true for 'ENOSPC' and 'short', false otherwise
   */
  sticky?: boolean;
  /** Count and fail only these methods. Default: every method. */
  only?: readonly FsMethod[];
}

const MUTATING: ReadonlySet<FsMethod> = new Set<FsMethod>(['write', 'fsync', 'fdatasync', 'ftruncate', 'mkdir', 'rename', 'link', 'unlink']);

const PAGE = 4096;

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

  private errorCode(): string {
    return this.kind === 'short' ? 'ENOSPC' : this.kind === 'EIO-after' ? 'EIO' : this.kind;
  }

  /** Decides the fate of one call: undefined = go ahead, 'short' / 'after' = see the kinds, else throw. */
  private check(method: FsMethod, what: string): 'short' | 'after' | undefined {
    this.calls++;
    this.counts[method] = (this.counts[method] ?? 0) + 1;
    if (this.logCalls) this.log.push(`${method} ${what}`);
    if (this.armedAt === 0) return undefined;
    if (this.only && !this.only.has(method)) return undefined;
    if (this.tripped) {
      if (!this.sticky) return undefined;
      // A full disk: only calls that need space fail.
      if (MUTATING.has(method) && method !== 'unlink' && method !== 'ftruncate') {
        throw errnoError(this.errorCode(), method, `injected (sticky) at ${what}`);
      }
      return undefined;
    }
    this.seen++;
    if (this.seen < this.armedAt) return undefined;
    this.tripped = true;
    this.firedOn = `${method} ${what}`;
    if (this.kind === 'short' && method === 'write') return 'short';
    if (this.kind === 'EIO-after') return 'after';
    throw errnoError(this.errorCode(), method, `injected at call ${this.armedAt}: ${what}`);
  }

  private async guard<T>(method: FsMethod, what: string, run: () => Promise<T>): Promise<T> {
    const fate = this.check(method, what);
    const value = await run();
    if (fate === 'after') throw errnoError('EIO', method, `injected after the call took effect: ${what}`);
    return value;
  }

  open(file: string, flags: string | number, mode?: number): Promise<number> {
    return this.guard('open', file, () => this.base.open(file, flags, mode));
  }
  close(fd: number): Promise<void> {
    return this.guard('close', `fd ${fd}`, () => this.base.close(fd));
  }
  async write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const fate = this.check('write', `fd ${fd} ${length}B@${position}`);
    if (fate === 'short') {
      const cut = Math.floor((position + length - 1) / PAGE) * PAGE - position;
      if (cut <= 0) throw errnoError('ENOSPC', 'write', `injected short write of 0 of ${length} bytes at ${position}`);
      return this.base.write(fd, buffer, offset, cut, position);
    }
    const n = await this.base.write(fd, buffer, offset, length, position);
    if (fate === 'after') throw errnoError('EIO', 'write', `injected after ${n} bytes reached the file at ${position}`);
    return n;
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
  fstat(fd: number): Promise<FileStat> {
    return this.guard('fstat', `fd ${fd}`, () => this.base.fstat(fd));
  }
  stat(file: string): Promise<FileStat> {
    return this.guard('stat', file, () => this.base.stat(file));
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
}
