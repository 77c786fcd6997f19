/**
 * Shared fixtures of the DirectoryLoader tests: temp folders removed after
 * the test, a loader on its own VirtualClock with every event recorded (the
 * assertions run afterwards, never inside a listener), careful submission
 * (write beside, rename in), and a counting / fault-injecting fs layer.
 */
import type { TestContext } from 'node:test';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryLoader, type DirectoryLoaderEvents, type DirectoryLoaderOptions } from '../src/index.js';
import { VirtualClock } from '../src/clock.js';
import type { Scheduler } from '../src/scheduler.js';
import type { JobMap } from '../src/types.js';
import { type LoaderFs, nodeLoaderFs } from '../src/loader/fs-layer.js';
import { T0, virtualScheduler } from './helpers.js';

/** Runs the registered functions last-in first-out after the test. */
export function cleanup(t: TestContext): (fn: () => unknown) => void {
  const fns: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return (fn) => {
    fns.push(fn);
  };
}

export async function tempDir(defer: (fn: () => unknown) => void, prefix = 'godelayq-loader-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  defer(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every event of a loader, in order. */
export interface Log {
  loaded: DirectoryLoaderEvents['fileLoaded'][];
  failed: DirectoryLoaderEvents['fileFailed'][];
  errors: DirectoryLoaderEvents['error'][];
}

export function record(loader: DirectoryLoader): Log {
  const log: Log = { loaded: [], failed: [], errors: [] };
  loader.on('fileLoaded', (e) => log.loaded.push(e));
  loader.on('fileFailed', (e) => log.failed.push(e));
  loader.on('error', (e) => log.errors.push(e));
  return log;
}

/** Settling and rescans on the loader's VirtualClock: nothing waits in real time. */
export const FAST = { settleMs: 40, graceMs: 400, rescanMs: 150 } as const;

export interface Started {
  loader: DirectoryLoader;
  log: Log;
  /** The loader's own clock (not the scheduler's). */
  clock: VirtualClock;
}

/** A loader on its own VirtualClock (unless `options.clock` is given), started, stopped after the test. */
export async function startLoader(defer: (fn: () => unknown) => void, scheduler: Scheduler<JobMap>, options: DirectoryLoaderOptions): Promise<Started> {
  const clock = options.clock instanceof VirtualClock ? options.clock : new VirtualClock(T0);
  const loader = new DirectoryLoader(scheduler, { ...FAST, clock, ...options });
  const log = record(loader);
  defer(() => loader.stop());
  await drive(clock, loader, loader.start());
  return { loader, log, clock };
}

/**
 * Awaits `promise` while moving the loader's clock forward in `stepMs`
 * steps: what start() or scan() waits for (settling) happens on that clock,
 * and real file-system calls in between need real turns of the event loop.
 */
export async function drive<T>(clock: VirtualClock, loader: DirectoryLoader, promise: Promise<T>, stepMs = 10, maxSteps = 10_000): Promise<T> {
  let done = false;
  const guarded = promise.finally(() => {
    done = true;
  });
  // Handled by the caller once returned; not an unhandled rejection while the loop runs.
  guarded.catch(() => undefined);
  for (let i = 0; i < maxSteps && !done; i++) {
    await loader.onIdle();
    // A macrotask turn: every promise reaction the idle loader set off has run.
    await new Promise((r) => setImmediate(r));
    if (done) break;
    await clock.advance(stepMs);
    await new Promise((r) => setImmediate(r));
  }
  return guarded;
}

/** Moves the loader's clock forward by `ms` and waits until everything that started on the way has finished. */
export async function advance(clock: VirtualClock, loader: DirectoryLoader, ms: number): Promise<void> {
  await loader.onIdle();
  await clock.advance(ms);
  await loader.onIdle();
}

/** Written elsewhere, then renamed in: the way a careful producer submits a file. */
export async function drop(dir: string, name: string, content: unknown): Promise<void> {
  const tmp = join(dir, `.${name}.part`);
  await writeFile(tmp, typeof content === 'string' ? content : JSON.stringify(content));
  await rename(tmp, join(dir, name));
}

export async function scheduledCount(scheduler: Scheduler<JobMap>, name?: string): Promise<number> {
  return (await scheduler.list({ state: 'scheduled', ...(name === undefined ? {} : { name }) })).length;
}

type Method = keyof LoaderFs;

/**
 * A LoaderFs over the real one that records every call as `method path`
 * (fd calls as `method #fd`) and lets a test replace any method.
 */
export class SpyFs implements LoaderFs {
  readonly calls: string[] = [];
  /** Replacement implementations, by method. */
  readonly override: Partial<LoaderFs> = {};

  constructor(private readonly base: LoaderFs = nodeLoaderFs) {}

  /** Calls of `method` whose argument text contains `needle`. */
  count(method: Method, needle = ''): number {
    return this.calls.filter((c) => c.startsWith(`${method} `) && c.includes(needle)).length;
  }

  private pick<M extends Method>(method: M, what: string): LoaderFs[M] {
    this.calls.push(`${method} ${what}`);
    return (this.override[method] ?? this.base[method]) as LoaderFs[M];
  }

  lstat: LoaderFs['lstat'] = (p) => this.pick('lstat', p)(p);
  stat: LoaderFs['stat'] = (p) => this.pick('stat', p)(p);
  fstat: LoaderFs['fstat'] = (fd) => this.pick('fstat', `#${fd}`)(fd);
  readdir: LoaderFs['readdir'] = (d) => this.pick('readdir', d)(d);
  mkdir: LoaderFs['mkdir'] = (d) => this.pick('mkdir', d)(d);
  realpath: LoaderFs['realpath'] = (p) => this.pick('realpath', p)(p);
  open: LoaderFs['open'] = (p, flags, mode) => this.pick('open', p)(p, flags, mode);
  close: LoaderFs['close'] = (fd) => this.pick('close', `#${fd}`)(fd);
  read: LoaderFs['read'] = (fd, b, o, l, p) => this.pick('read', `#${fd}`)(fd, b, o, l, p);
  write: LoaderFs['write'] = (fd, b, o, l, p) => this.pick('write', `#${fd}`)(fd, b, o, l, p);
  fsync: LoaderFs['fsync'] = (fd) => this.pick('fsync', `#${fd}`)(fd);
  link: LoaderFs['link'] = (a, b) => this.pick('link', `${a} ${b}`)(a, b);
  symlink: LoaderFs['symlink'] = (t, p) => this.pick('symlink', `${t} ${p}`)(t, p);
  readlink: LoaderFs['readlink'] = (p) => this.pick('readlink', p)(p);
  rename: LoaderFs['rename'] = (a, b) => this.pick('rename', `${a} ${b}`)(a, b);
  unlink: LoaderFs['unlink'] = (p) => this.pick('unlink', p)(p);
}

/** An errno error as node:fs makes them. */
export function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected, ${syscall}`), { code, syscall });
}

/** Moves the loader's clock forward in `stepMs` steps until `check` holds (real-time deadline: a safety net, not a figure). */
export async function driveUntil(clock: VirtualClock, loader: DirectoryLoader, check: () => boolean | Promise<boolean>, stepMs = 10, deadlineMs = 20_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('driveUntil: condition not met');
    await loader.onIdle();
    await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The usual start of a loader test: a temp folder and a started scheduler on a VirtualClock, both cleaned up after the test. */
export async function fixture(t: TestContext): Promise<{ defer: (fn: () => unknown) => void; dir: string; scheduler: Scheduler<JobMap>; jobClock: VirtualClock }> {
  const defer = cleanup(t);
  const dir = await tempDir(defer);
  const { scheduler, clock: jobClock } = await virtualScheduler<JobMap>();
  defer(() => scheduler.stop());
  return { defer, dir, scheduler, jobClock };
}
