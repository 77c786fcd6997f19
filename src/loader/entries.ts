/**
 * DirectoryLoader's per-name actors (loader.ts keeps the folder-wide part:
 * lifecycle, watching, rescans, scans waiting for their files).
 *
 * Each matching name in the folder gets a tiny actor. `poke(name)` (from
 * fs.watch, a rescan, or its own timer on the loader's Clock) makes it look
 * at the entry with lstat. A regular file is read only once its size, mtime
 * and inode stayed the same for `settleMs`; all work for one name is
 * serialised, so a file is never processed twice at once, and at most
 * `concurrency` files are read and scheduled at a time (load-file.ts).
 * Anything else that matches (a symbolic link, FIFO, socket or device) is a
 * bad entry at first sight: reported and moved without ever being opened,
 * and not looked at again until it changes.
 *
 * WHY a grace period: content that is not valid JSON is exactly what a
 * half-written file looks like, so it is declared bad only after staying
 * unchanged for `graceMs`: a slow writer pausing longer than `settleMs` is
 * not punished.
 *
 * WHY wake-ups in slices: 10,000 files dropped at once arm 10,000 settle
 * timers that fire in the same timers phase; poking them all there would
 * block the event loop. WHY a pool for looks: a rescan of 10,000 kept files
 * must not flood libuv's thread pool ahead of the store's writes.
 */
import { join } from 'node:path';
import type { ClockTimer } from '../clock.js';
import { ValidationError, toError } from '../errors.js';
import type { LoaderStats } from './fs-layer.js';
import { type EntryIdentity, identityOf } from './fs.js';
import { type LoadContext, type LoadOutcome, type Look, isGone, loadFile, rejectEntry } from './load-file.js';
import type { KeptManifest } from './manifest.js';
import type { DirectoryLoaderEvents, LoaderConfig } from './options.js';
import { sigOf } from './read.js';
import { idleTurn } from '../idle-turn.js';

const MAX_RETRY_DELAY = 60_000;
/** lstat calls in flight at once. */
const LOOKS_AT_ONCE = 32;
/** Directory entries (or timer wake-ups) handled between two yields to the event loop. */
export const SLICE = 256;


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

/** What the actors need from their DirectoryLoader. */
export interface ActorHost {
  readonly config: LoaderConfig;
  readonly manifest: KeptManifest | undefined;
  isLive(): boolean;
  accepts(name: string): boolean;
  /** Set once the loader has started. */
  context(): LoadContext | undefined;
  publish<K extends keyof DirectoryLoaderEvents>(type: K, payload: DirectoryLoaderEvents[K]): void;
  /** Counts `promise` as background work (`onIdle` waits for it). */
  track<T>(promise: Promise<T>): Promise<T>;
  /** The actor of `name` went idle. */
  settled(name: string): void;
}

/** What an actor knows about its name. */
export interface Tracked {
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

/** The per-name actors of one DirectoryLoader. */
export class EntryActors {
  private readonly config: LoaderConfig;
  private readonly tracked = new Map<string, Tracked>();
  /** Running actors. */
  private readonly actors = new Set<Promise<void>>();
  private readonly wakeQueue: string[] = [];
  private waking: Promise<void> | undefined;
  private readonly processSlots: Slots;
  private readonly lookSlots = new Slots(LOOKS_AT_ONCE);

  constructor(private readonly host: ActorHost) {
    this.config = host.config;
    this.processSlots = new Slots(host.config.concurrency);
  }

  get(name: string): Tracked | undefined {
    return this.tracked.get(name);
  }

  names(): IterableIterator<string> {
    return this.tracked.keys();
  }

  /** Actors running now. */
  running(): Promise<void>[] {
    return [...this.actors];
  }

  /** Stops every timer (the loader is stopping). */
  clearTimers(): void {
    for (const t of this.tracked.values()) this.clearTimer(t);
  }

  /** Forgets every name (the loader stopped). */
  clear(): void {
    this.tracked.clear();
    this.wakeQueue.length = 0;
  }

  /** Asks the actor of `name` to look at its entry again. */
  poke(name: string): void {
    if (!this.host.isLive() || !this.host.accepts(name)) return;
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
      while (t.pending && this.host.isLive() && this.tracked.get(t.name) === t) {
        t.pending = false;
        await this.step(t);
      }
    } catch (error) {
      this.host.publish('error', { error: toError(error), file: join(this.config.dir, t.name) });
    } finally {
      t.running = false;
      this.host.settled(t.name);
    }
  }

  /** Pokes `t` again at clock time `at`. */
  private arm(t: Tracked, at: number): void {
    this.clearTimer(t);
    if (!this.host.isLive()) return;
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
    this.waking ??= this.host.track(this.flushWakes());
  }

  private async flushWakes(): Promise<void> {
    try {
      while (this.wakeQueue.length > 0) {
        await idleTurn();
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
      const kept = this.host.manifest?.get(t.name);
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
      this.host.publish('fileLoaded', { file, jobIds: done.jobIds, ...(done.archivedTo === undefined ? {} : { archivedTo: done.archivedTo }) });
    }
  }

  /** Loads the settled file; returns the outcome if it was loaded (or unchanged), after handling any other. */
  private async process(t: Tracked, sig: string, look: Look): Promise<Extract<LoadOutcome, { kind: 'loaded' | 'unchanged' }> | undefined> {
    const ctx = this.host.context();
    if (!this.host.isLive() || !ctx) return undefined;
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
    const ctx = this.host.context();
    if (!ctx) return;
    const movedTo = await rejectEntry(ctx, t.name, entry, error);
    this.finish(t, sig);
    if (movedTo !== undefined) this.forget(t);
    else t.pending = true;
    this.host.publish('fileFailed', { file: join(this.config.dir, t.name), error, willRetry: false, ...(movedTo === undefined ? {} : { movedTo }) });
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
    this.host.publish('fileFailed', { file: join(this.config.dir, t.name), error: toError(error), willRetry: true });
  }
}
