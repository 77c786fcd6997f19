/**
 * DirectoryLoader: jobs submitted as JSON files dropped into a folder (SPEC §7).
 *
 * HOW
 * - This file is the folder-wide part: start/stop, fs.watch, the periodic
 *   rescan, keep-mode pruning, and `scan()`/`start()` waiting for the files
 *   they found. What happens to one name (settling, reading, loading,
 *   refusing, retrying) is its actor's business (entries.ts), and one
 *   settled file's way into the scheduler is load-file.ts.
 *
 * WHY
 * - fs.watch is fast but may drop events (queue overflow, network file
 *   systems); the periodic rescan turns a lost event into a delay.
 * - Every wait (settling, grace, retry backoff, rescans) is a timer on the
 *   loader's Clock, so tests drive it with a VirtualClock instead of
 *   sleeping. The system clock's timers do not keep the process alive; a
 *   watching loader holds one ref'd handle of its own until `stop()`
 *   (unless `unref`), as fs.watch would, and so does a start() or scan()
 *   under way.
 * - A kept file is forgotten only when missing at two rescans at least a
 *   second apart: an editor's save-by-rename is not a deletion.
 */
import { EventEmitter } from 'eventemitter3';
import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import type { ClockTimer } from '../clock.js';
import { GodelayqError, ValidationError, toError } from '../errors.js';
import type { Scheduler } from '../scheduler.js';
import type { JobMap } from '../types.js';
import { show } from '../validate.js';
import { EntryActors, SLICE } from './entries.js';
import { idleTurn } from '../idle-turn.js';
import type { LoadContext } from './load-file.js';
import { KeptManifest } from './manifest.js';
import { type DirectoryLoaderEvents, type DirectoryLoaderOptions, type LoaderConfig, readOptions } from './options.js';

/** Keeps the process alive until the returned function is called (a ref'd handle that never fires in practice). */
function keepAlive(): () => void {
  const handle = setInterval(() => undefined, 2 ** 31 - 1);
  return () => clearInterval(handle);
}

/** DirectoryLoaderEvents in eventemitter3's shape (event name → argument list). */
type EmitterMap = { [K in keyof DirectoryLoaderEvents]: [DirectoryLoaderEvents[K]] };

/** A `scan()` (or `start()`) waiting for the names it found to be handled. */
interface Waiter {
  readonly remaining: Set<string>;
  /** `changes` of each name when the scan found it. */
  readonly changesAtScan: ReadonlyMap<string, number>;
  readonly resolve: () => void;
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
  private readonly entries: EntryActors;
  /** Rescans and state-file deletions under way. */
  private readonly background = new Set<Promise<unknown>>();
  private readonly waiters = new Set<Waiter>();
  private readonly missingSince = new Map<string, number>();
  private watcher: FSWatcher | undefined;
  private rescanTimer: ClockTimer | undefined;
  /** Reasons to keep the process alive (watching, a start() or scan() under way). */
  private holds = 0;
  private releaseKeepAlive: (() => void) | undefined;
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
    this.manifest = this.config.onLoaded === 'keep' ? new KeptManifest(this.config.stateFile, this.config.fs) : undefined;
    this.entries = new EntryActors({
      config: this.config,
      manifest: this.manifest,
      isLive: () => this.live,
      accepts: (name) => this.accepts(name),
      context: () => this.ctx,
      publish: (type, payload) => this.publish(type, payload),
      track: (promise) => this.track(promise),
      settled: (name) => this.settled(name),
    });
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
      this.entries.clearTimers();
      for (const waiter of this.waiters) waiter.resolve();
      this.waiters.clear();
      if (this.starting) await this.starting.catch(() => undefined);
      await this.onIdle();
      if (this.manifest) await this.manifest.close().catch((error: unknown) => this.publishError(error));
      this.entries.clear();
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
    for (;;) {
      const busy = [...this.entries.running(), ...this.background];
      if (busy.length === 0) return;
      await Promise.allSettled(busy);
    }
  }

  /** Keeps the process alive until the returned function is called (nothing with `unref`). */
  private hold(): () => void {
    if (this.config.unref) return () => undefined;
    // One hold for every reason: the clock's (SystemClock.hold), or a ref'd handle of our own
    // for a clock without one (fs.watch events are real even when time is virtual).
    if (this.holds++ === 0) this.releaseKeepAlive = this.config.clock.hold?.() ?? keepAlive();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) {
        this.releaseKeepAlive?.();
        this.releaseKeepAlive = undefined;
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
        else this.entries.poke(String(filename));
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
      if (i > 0 && i % SLICE === 0) await idleTurn();
      if (!this.live) return [];
      present.add(entry.name);
      // Folders are never loaded (archiveDir and errorDir may live here); a link to one is a bad entry.
      if (entry.isDirectory() || !this.accepts(entry.name)) continue;
      matching.push(entry.name);
      this.entries.poke(entry.name);
    }
    for (const name of [...this.entries.names()]) if (!present.has(name)) this.entries.poke(name);
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
        const waiter: Waiter = { remaining: new Set(names), changesAtScan: new Map(names.map((name) => [name, this.entries.get(name)?.changes ?? 0])), resolve };
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
    const t = this.entries.get(name);
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
