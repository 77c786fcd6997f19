/**
 * DirectoryLoader: jobs submitted as JSON files dropped into a folder (SPEC §7).
 *
 * HOW
 * - Each matching name in the folder gets a tiny per-name actor. `poke(name)`
 *   (from fs.watch, the periodic rescan, or its own timer) makes it look at
 *   the entry with lstat; a regular file is read only once its size, mtime
 *   and inode stayed the same for `settleMs`. All work for one name is
 *   serialised, so a file is never processed twice at once; at most
 *   `concurrency` files are read and scheduled at a time (load-file.ts).
 * - Anything else in the folder that matches (a symbolic link, FIFO, socket
 *   or device) is a bad entry at first sight: reported (`fileFailed`, moved
 *   to errorDir with its report) without ever being opened, and not looked
 *   at again until it changes. With `followSymlinks`, a link to a regular
 *   file inside the folder is loaded like the file.
 * - A bad file moves to `errorDir` beside `<name>.error.json`, `fileFailed`
 *   (willRetry: false); it is not looked at again until it changes. A
 *   transient failure (scheduler stopped, store write failed, unreadable
 *   file) leaves the file in place and is retried with backoff.
 *
 * WHY
 * - Content that is not valid JSON is exactly what a half-written file looks
 *   like, so it is declared bad only after staying unchanged for `graceMs`:
 *   a slow writer pausing longer than `settleMs` is not punished.
 * - fs.watch is fast but may drop events (queue overflow, network file
 *   systems); the periodic rescan turns a lost event into a delay.
 * - Every wait (settling, grace, retry backoff, rescans) is a timer on the
 *   loader's Clock, so tests drive it with a VirtualClock instead of
 *   sleeping. The system clock's timers do not keep the process alive; a
 *   watching loader holds one ref'd handle of its own until `stop()`
 *   (unless `unref`), as fs.watch would.
 * - Looks (lstat) go through a small pool, so a rescan of a folder of 10,000
 *   kept files does not flood libuv's thread pool ahead of the store.
 */
import { EventEmitter } from 'eventemitter3';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ClockTimer } from '../clock.js';
import { GodelayqError, ValidationError, toError } from '../errors.js';
import type { Scheduler } from '../scheduler.js';
import type { JobMap } from '../types.js';
import { show } from '../validate.js';
import type { LoaderStats } from './fs-layer.js';
import { type EntryIdentity, identityOf } from './fs.js';
import { type LoadContext, type LoadOutcome, type Look, isGone, loadFile, rejectEntry } from './load-file.js';
import { KeptManifest } from './manifest.js';
import { type DirectoryLoaderEvents, type DirectoryLoaderOptions, type LoaderConfig, readOptions } from './options.js';
import { sigOf } from './read.js';

type EmitterMap = { [K in keyof DirectoryLoaderEvents]: [DirectoryLoaderEvents[K]] };

interface Tracked {
  readonly name: string;
  /** What the last look saw (see step): a change restarts settling. */
  sig: string | undefined;
  /** Clock time `sig` was first seen. */
  since: number;
  /** Not processed again before this clock time (grace wait or retry backoff). */
  waitUntil: number;
  phase: 'settling' | 'processing' | 'waiting' | 'done';
  /** Times the entry was seen to change while tracked. */
  changes: number;
  /** Transient failures in a row (backoff). */
  failures: number;
  /** The `sig` an outcome was reached for: not processed again until it changes. */
  doneSig: string | undefined;
  timer: ClockTimer | undefined;
  pending: boolean;
  running: boolean;
}

/** A `scan()` (or `start()`) waiting for the names it found to be handled. */
interface Waiter {
  readonly remaining: Set<string>;
  /** `changes` of each name when the scan found it. */
  readonly changesAtScan: ReadonlyMap<string, number>;
  readonly resolve: () => void;
}

const MAX_RETRY_DELAY = 60_000;
/** lstat calls in flight at once. */
const LOOKS_AT_ONCE = 32;
/** Directory entries (or timer wake-ups) handled between two yields to the event loop. */
const SLICE = 256;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A counting semaphore. */
class Slots {
  private readonly queue: (() => void)[] = [];
  constructor(private free: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** Why a non-regular entry is a bad file. */
function notRegular(name: string, st: LoaderStats, target: LoaderStats | undefined, follow: boolean): ValidationError {
  let got: string;
  if (!st.isSymbolicLink()) got = 'a special file (FIFO, socket or device)';
  else if (!follow) got = 'a symbolic link (not followed: see options.followSymlinks)';
  else if (target === undefined) got = 'a symbolic link to nothing';
  else got = target.isDirectory() ? 'a symbolic link to a folder' : 'a symbolic link to a special file';
  return new ValidationError(`Expected ${name} to be a regular file, got ${got}; it was not read`);
}

/**
 * Loads jobs from JSON files dropped into a folder: each file holds one job
 * object or an array of them, all scheduled or none.
 * @example
 * const loader = new DirectoryLoader(scheduler, { dir: './inbox' });
 * loader.on('fileLoaded', ({ file, jobIds }) => console.log(file, jobIds));
 * loader.on('fileFailed', ({ file, error }) => console.error(file, error.message));
 * await loader.start();
 * // echo '{"name":"mail.send","payload":{"to":"a@b.c"},"delay":"10m"}' > inbox/tmp && mv inbox/tmp inbox/a.json
 */
export class DirectoryLoader<Jobs extends JobMap = JobMap> extends EventEmitter<EmitterMap> {
  private readonly config: LoaderConfig;
  private readonly scheduler: Scheduler<JobMap>;
  private readonly manifest: KeptManifest | undefined;
  private ctx: LoadContext | undefined;
  private readonly tracked = new Map<string, Tracked>();
  /** Running per-name actors. */
  private readonly actors = new Set<Promise<void>>();
  /** Rescans and state-file deletions under way. */
  private readonly background = new Set<Promise<unknown>>();
  private readonly waiters = new Set<Waiter>();
  private readonly missingSince = new Map<string, number>();
  private readonly wakeQueue: string[] = [];
  private waking: Promise<void> | undefined;
  private readonly processSlots: Slots;
  private readonly lookSlots = new Slots(LOOKS_AT_ONCE);
  private watcher: FSWatcher | undefined;
  private rescanTimer: ClockTimer | undefined;
  /** Reasons to keep the process alive (watching, a start() or scan() under way). */
  private holds = 0;
  private keepAlive: NodeJS.Timeout | undefined;
  private releaseWatchHold: (() => void) | undefined;
  /** True between a successful start and the beginning of stop. */
  private live = false;
  /** Bumped by stop(): a start() still in progress, or an old rescan timer, notices and gives up. */
  private epoch = 0;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(scheduler: Scheduler<Jobs>, options: DirectoryLoaderOptions) {
    super();
    const s = scheduler as unknown as Scheduler<JobMap> | null | undefined;
    if (typeof s?.scheduleMany !== 'function' || typeof s.scheduleCron !== 'function') {
      throw new ValidationError(`Expected \`scheduler\` to be a Scheduler, got ${show(scheduler)}`);
    }
    this.scheduler = s;
    this.config = readOptions(options);
    this.processSlots = new Slots(this.config.concurrency);
    this.manifest = this.config.onLoaded === 'keep' ? new KeptManifest(this.config.stateFile, this.config.fs) : undefined;
  }

  // --------------------------------------------------------------- lifecycle

  /**
   * Creates the folders, starts watching and loads what is already there.
   * Resolves once every file present at start has been loaded or failed
   * (files still being written are left to the watcher). Idempotent.
   */
  start(): Promise<void> {
    if (this.starting) return this.starting;
    if (this.live) return Promise.resolve();
    this.starting = (async () => {
      if (this.stopping) await this.stopping;
      const epoch = this.epoch;
      const release = this.hold();
      try {
        const { fs, dir, archiveDir, errorDir, onLoaded, stateFile } = this.config;
        await fs.mkdir(dir);
        if (onLoaded === 'archive') await fs.mkdir(archiveDir);
        await fs.mkdir(errorDir);
        const realDir = await fs.realpath(dir);
        if ((onLoaded === 'archive' && (await fs.realpath(archiveDir)) === realDir) || (await fs.realpath(errorDir)) === realDir) {
          throw new ValidationError(`Expected archiveDir and errorDir to be folders other than dir ${show(dir)}, got the same folder`);
        }
        if (this.manifest) {
          await fs.mkdir(dirname(stateFile));
          await this.manifest.load();
        }
        if (epoch !== this.epoch) {
          await this.manifest?.close();
          return;
        }
        this.ctx = { config: this.config, scheduler: this.scheduler, manifest: this.manifest, realDir, reportError: (error, file) => this.publishError(error, file) };
        this.live = true;
        if (this.config.watch) this.releaseWatchHold = this.hold();
        this.watchDir();
        this.armRescan();
        await this.scanAndWait();
      } finally {
        release();
      }
    })().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /**
   * Stops watching, waits for files being processed to finish and closes the
   * keep-mode state file. Files not yet loaded stay in the folder.
   * Idempotent. Stop the loader before the scheduler it feeds.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (!this.live && !this.starting) return Promise.resolve();
    this.epoch++;
    this.live = false;
    this.stopping = (async () => {
      this.watcher?.close();
      this.watcher = undefined;
      this.rescanTimer?.clear();
      this.rescanTimer = undefined;
      for (const t of this.tracked.values()) this.clearTimer(t);
      for (const waiter of this.waiters) waiter.resolve();
      this.waiters.clear();
      if (this.starting) await this.starting.catch(() => undefined);
      await this.onIdle();
      if (this.manifest) await this.manifest.close().catch((error: unknown) => this.publishError(error));
      this.tracked.clear();
      this.missingSince.clear();
      this.releaseWatchHold?.();
      this.releaseWatchHold = undefined;
    })().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  /** `await using loader = …` stops it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /**
   * Looks at the folder now (as the periodic rescan does) and resolves once
   * every matching file found has been loaded or failed, except files still
   * being written. With `watch: false` this is how later files are picked up.
   */
  async scan(): Promise<void> {
    if (!this.live) throw new GodelayqError('Expected a started DirectoryLoader (await loader.start() first), got one not started');
    await this.scanAndWait();
  }

  /**
   * Resolves once nothing is being looked at, read or scheduled: every
   * rescan and file step under way has finished (timers for later looks
   * may still be armed). With a VirtualClock:
   * `await clock.advance(ms); await loader.onIdle();`.
   */
  async onIdle(): Promise<void> {
    while (this.actors.size > 0 || this.background.size > 0) await Promise.allSettled([...this.actors, ...this.background]);
  }

  /** Keeps the process alive until the returned function is called (nothing with `unref`). */
  private hold(): () => void {
    if (this.config.unref) return () => undefined;
    this.holds++;
    // One ref'd handle for every reason; its callback never needs to run.
    this.keepAlive ??= setInterval(() => undefined, 2 ** 30);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0 && this.keepAlive) {
        clearInterval(this.keepAlive);
        this.keepAlive = undefined;
      }
    };
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.background.add(promise);
    void promise.finally(() => this.background.delete(promise)).catch(() => undefined);
    return promise;
  }

  // ----------------------------------------------------------------- watching

  private watchDir(): void {
    if (!this.config.watch || this.watcher || !this.live) return;
    try {
      // Not persistent: the loader's own handle keeps the process alive (or not, with unref).
      const watcher = watch(this.config.dir, { persistent: false }, (_type, filename) => {
        if (!this.live) return;
        if (filename === null || filename === undefined) void this.rescan();
        else this.poke(String(filename));
      });
      watcher.on('error', (error) => {
        watcher.close();
        if (this.watcher === watcher) this.watcher = undefined;
        this.publishError(error);
      });
      this.watcher = watcher;
    } catch (error) {
      this.publishError(error);
    }
  }

  private armRescan(): void {
    const { watch: watching, rescanMs, clock } = this.config;
    if (!this.live || !watching || rescanMs <= 0) return;
    const epoch = this.epoch;
    this.rescanTimer = clock.setTimer(clock.now() + rescanMs, () => {
      this.rescanTimer = undefined;
      if (epoch !== this.epoch) return;
      void this.rescan().then(() => {
        if (epoch === this.epoch) this.armRescan();
      });
    });
  }

  /** Whether `name` is an entry this loader should look at. */
  private accepts(name: string): boolean {
    return this.config.matches(name) && !this.config.isStateName(name);
  }

  /** Pokes every matching entry (and every tracked name, to notice removals). Returns the matching names. */
  private rescan(): Promise<string[]> {
    return this.track(this.rescanNow());
  }

  private async rescanNow(): Promise<string[]> {
    if (!this.live) return [];
    this.watchDir();
    let entries;
    try {
      entries = await this.config.fs.readdir(this.config.dir);
    } catch (error) {
      this.publishError(error);
      return [];
    }
    const present = new Set<string>();
    const matching: string[] = [];
    for (const [i, entry] of entries.entries()) {
      if (i > 0 && i % SLICE === 0) await yieldToLoop();
      if (!this.live) return [];
      present.add(entry.name);
      // Folders are never loaded (archiveDir and errorDir may live here); a link to one is a bad entry.
      if (entry.isDirectory() || !this.accepts(entry.name)) continue;
      matching.push(entry.name);
      this.poke(entry.name);
    }
    for (const name of [...this.tracked.keys()]) if (!present.has(name)) this.poke(name);
    if (this.manifest) this.pruneManifest(this.manifest, present);
    return matching;
  }

  /** Forgets kept files that were missing at two rescans at least a second apart (an editor's save-by-rename is not a deletion). */
  private pruneManifest(manifest: KeptManifest, present: ReadonlySet<string>): void {
    const now = this.config.clock.now();
    for (const name of [...manifest.names()]) {
      if (present.has(name)) {
        this.missingSince.delete(name);
        continue;
      }
      const since = this.missingSince.get(name);
      if (since === undefined) this.missingSince.set(name, now);
      else if (now - since >= Math.max(1000, this.config.settleMs)) {
        this.missingSince.delete(name);
        void this.track(manifest.delete(name).catch((error: unknown) => this.publishError(error)));
      }
    }
  }

  private async scanAndWait(): Promise<void> {
    const release = this.hold();
    try {
      const names = await this.rescan();
      await new Promise<void>((resolve) => {
        const waiter: Waiter = { remaining: new Set(names), changesAtScan: new Map(names.map((name) => [name, this.tracked.get(name)?.changes ?? 0])), resolve };
        for (const name of names) if (this.handled(name, waiter)) waiter.remaining.delete(name);
        if (waiter.remaining.size === 0 || !this.live) resolve();
        else this.waiters.add(waiter);
      });
    } finally {
      release();
    }
  }

  /**
   * Loaded, failed, waiting (grace, retry), or still being written: seen to
   * change after the scan's own look (which may itself notice one change).
   */
  private handled(name: string, waiter: Waiter): boolean {
    const t = this.tracked.get(name);
    if (!t) return true;
    if (t.running) return false;
    return t.phase === 'done' || t.phase === 'waiting' || t.changes > (waiter.changesAtScan.get(name) ?? 0) + 1;
  }

  /** The actor of `name` went idle: scans waiting for it may be done. */
  private settled(name: string): void {
    for (const waiter of this.waiters) {
      if (!waiter.remaining.has(name) || !this.handled(name, waiter)) continue;
      waiter.remaining.delete(name);
      if (waiter.remaining.size === 0) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  // -------------------------------------------------------- per-name actors

  /** Asks the actor of `name` to look at its entry again. */
  private poke(name: string): void {
    if (!this.live || !this.accepts(name)) return;
    let t = this.tracked.get(name);
    if (!t) {
      t = { name, sig: undefined, since: 0, waitUntil: 0, phase: 'settling', changes: 0, failures: 0, doneSig: undefined, timer: undefined, pending: false, running: false };
      this.tracked.set(name, t);
    }
    t.pending = true;
    if (t.running) return;
    t.running = true;
    const actor = this.run(t);
    this.actors.add(actor);
    void actor.finally(() => this.actors.delete(actor));
  }

  private async run(t: Tracked): Promise<void> {
    try {
      while (t.pending && this.live && this.tracked.get(t.name) === t) {
        t.pending = false;
        await this.step(t);
      }
    } catch (error) {
      this.publishError(error, join(this.config.dir, t.name));
    } finally {
      t.running = false;
      this.settled(t.name);
    }
  }

  /** Pokes `t` again at clock time `at`. */
  private arm(t: Tracked, at: number): void {
    this.clearTimer(t);
    if (!this.live) return;
    t.timer = this.config.clock.setTimer(at, () => {
      t.timer = undefined;
      this.wake(t.name);
    });
  }

  /**
   * Pokes `name` soon, in a slice of at most SLICE names per turn of the
   * event loop: 10,000 files dropped at once arm 10,000 settle timers that
   * all fire in the same timers phase, and poking them all there would
   * block the loop.
   */
  private wake(name: string): void {
    this.wakeQueue.push(name);
    this.waking ??= this.track(this.flushWakes());
  }

  private async flushWakes(): Promise<void> {
    try {
      while (this.wakeQueue.length > 0) {
        await yieldToLoop();
        for (const name of this.wakeQueue.splice(0, SLICE)) this.poke(name);
      }
    } finally {
      // Right after the loop's last check: a wake queued later starts a new flush.
      this.waking = undefined;
    }
  }

  private clearTimer(t: Tracked): void {
    t.timer?.clear();
    t.timer = undefined;
  }

  private forget(t: Tracked): void {
    this.clearTimer(t);
    t.pending = false;
    if (this.tracked.get(t.name) === t) this.tracked.delete(t.name);
  }

  /** lstat, and with followSymlinks the link's target too (undefined: a dangling link). */
  private look(file: string): Promise<[LoaderStats, LoaderStats | undefined]> {
    const { fs, followSymlinks } = this.config;
    return this.lookSlots.run(async () => {
      const st = await fs.lstat(file);
      if (!st.isSymbolicLink() || !followSymlinks) return [st, st];
      try {
        return [st, await fs.stat(file)];
      } catch (error) {
        if (isGone(error) || (error as { code?: unknown }).code === 'ELOOP') return [st, undefined];
        throw error;
      }
    });
  }

  /** One look at the entry: notice changes, wait for it to settle, then process it. */
  private async step(t: Tracked): Promise<void> {
    let st: LoaderStats;
    let target: LoaderStats | undefined;
    try {
      [st, target] = await this.look(join(this.config.dir, t.name));
    } catch (error) {
      if (isGone(error)) this.forget(t);
      else this.retryLater(t, error);
      return;
    }
    if (st.isDirectory()) {
      this.forget(t);
      return;
    }
    const entry = identityOf(st);
    if (target === undefined || !target.isFile()) {
      // Bad at first sight: never opened, never waited for; reported once per change.
      const sig = `${entry.kind}:${st.ino}:${st.mtimeMs}:${target?.ino ?? '-'}`;
      if (t.doneSig === sig) return;
      t.sig = sig;
      await this.reject(t, sig, entry, notRegular(t.name, st, target, this.config.followSymlinks));
      return;
    }
    // Following a link: a new link to the same file is a change too.
    const sig = target === st ? sigOf(st) : `${sigOf(target)}:${st.ino}`;
    const now = this.config.clock.now();
    if (sig !== t.sig) {
      if (t.sig !== undefined) t.changes++;
      t.sig = sig;
      t.since = now;
      t.waitUntil = 0;
      t.failures = 0;
      t.doneSig = undefined;
      t.phase = 'settling';
      const kept = this.manifest?.get(t.name);
      if (kept && kept.size === target.size && kept.mtimeMs === target.mtimeMs) {
        // Loaded before (maybe by an earlier process) and untouched since.
        this.finish(t, sig);
        return;
      }
    } else if (t.doneSig === sig) {
      t.phase = 'done';
      return;
    }
    const readyAt = Math.max(t.since + this.config.settleMs, t.waitUntil);
    if (now < readyAt) {
      this.arm(t, readyAt);
      return;
    }
    this.clearTimer(t);
    t.phase = 'processing';
    const look: Look = { sig: sigOf(target), size: target.size, mtimeMs: target.mtimeMs, entry };
    const done = await this.processSlots.run(() => this.process(t, sig, look));
    if (!done) return;
    // Outside the slot: while this file's state-file line waits for its fsync, others load and share it.
    if (done.recorded) await done.recorded;
    this.finish(t, sig);
    if (done.kind === 'loaded') {
      // Not gone: a failed archive (reported), keep mode, or a newcomer under this name to look at.
      if (done.gone) this.forget(t);
      else t.pending = true;
      const file = join(this.config.dir, t.name);
      this.publish('fileLoaded', { file, jobIds: done.jobIds, ...(done.archivedTo === undefined ? {} : { archivedTo: done.archivedTo }) });
    }
  }

  /** Loads the settled file; returns the outcome if it was loaded (or unchanged), after handling any other. */
  private async process(t: Tracked, sig: string, look: Look): Promise<Extract<LoadOutcome, { kind: 'loaded' | 'unchanged' }> | undefined> {
    const ctx = this.ctx;
    if (!this.live || !ctx) return undefined;
    const outcome = await loadFile(ctx, t.name, look);
    switch (outcome.kind) {
      case 'changed':
        // Changed under the read: settle afresh.
        t.sig = undefined;
        t.changes++;
        t.pending = true;
        return undefined;
      case 'unchanged':
      case 'loaded':
        return outcome;
      case 'syntax':
        if (this.config.clock.now() - t.since < this.config.graceMs) {
          // Maybe still being written: look again once it stayed unchanged for graceMs.
          t.waitUntil = t.since + this.config.graceMs;
          t.phase = 'waiting';
          this.arm(t, t.waitUntil);
          return undefined;
        }
        await this.reject(t, sig, look.entry, outcome.error);
        return undefined;
      case 'bad':
        await this.reject(t, sig, look.entry, outcome.error);
        return undefined;
      case 'transient':
        this.retryLater(t, outcome.error);
        return undefined;
    }
  }

  private finish(t: Tracked, sig: string): void {
    t.doneSig = sig;
    t.phase = 'done';
    t.failures = 0;
  }

  /** A bad entry: to errorDir beside `<name>.error.json`; not looked at again until it changes. */
  private async reject(t: Tracked, sig: string, entry: EntryIdentity, error: ValidationError): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    const movedTo = await rejectEntry(ctx, t.name, entry, error);
    this.finish(t, sig);
    if (movedTo !== undefined) this.forget(t);
    else t.pending = true;
    this.publish('fileFailed', { file: join(this.config.dir, t.name), error, willRetry: false, ...(movedTo === undefined ? {} : { movedTo }) });
  }

  /** A transient failure: the entry stays; tried again with backoff (or at the next scan() when not watching). */
  private retryLater(t: Tracked, error: unknown): void {
    t.failures++;
    t.phase = 'waiting';
    if (this.config.watch) {
      const delay = Math.min(MAX_RETRY_DELAY, 1000 * 2 ** Math.min(16, t.failures - 1));
      t.waitUntil = this.config.clock.now() + delay;
      this.arm(t, t.waitUntil);
    } else {
      t.waitUntil = 0;
    }
    this.publish('fileFailed', { file: join(this.config.dir, t.name), error: toError(error), willRetry: true });
  }

  private publishError(error: unknown, file?: string): void {
    this.publish('error', { error: toError(error), ...(file === undefined ? {} : { file }) });
  }

  private publish<K extends keyof DirectoryLoaderEvents>(type: K, payload: DirectoryLoaderEvents[K]): void {
    try {
      (this.emit as (t: K, p: DirectoryLoaderEvents[K]) => boolean)(type, payload);
    } catch (error) {
      // A throwing listener must not break loading; report it unless it was the error listener.
      const file = (payload as { file?: string }).file;
      if (type !== 'error') this.publishError(error, file);
    }
  }
}
