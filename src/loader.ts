/**
 * DirectoryLoader: jobs submitted as JSON files dropped into a folder (SPEC §7).
 *
 * HOW
 * - Each matching file name gets a tiny per-name actor. `poke(name)` (from
 *   fs.watch, the periodic rescan, or its own timer) makes it stat the file;
 *   a file is read only once its size, mtime and inode stayed the same for
 *   `settleMs`. All work for one name is serialised, so a file is never
 *   processed twice at once; at most `concurrency` files are read and
 *   scheduled at a time.
 * - Processing: bytes → JSON → checked jobs (loader/job-file.ts) → a dry run
 *   of the scheduler calls on a sandbox when the file needs more than one
 *   call (loader/apply.ts) → the real calls → archive, delete or remember
 *   (keep) → `fileLoaded`.
 * - A bad file moves to `errorDir` beside `<name>.error.json`, `fileFailed`
 *   (willRetry: false); it is not looked at again until it changes. A
 *   transient failure (scheduler stopped, store write failed, unreadable
 *   file) leaves the file in place and is retried with backoff.
 *
 * WHY
 * - Ids derived from the file (name + hash of content and mtime + index),
 *   scheduled with onDuplicate 'keep': a crash after scheduling and before
 *   archiving loads the file again on restart, and that second load adds
 *   nothing. The mtime is in the hash so that a new file with the same name
 *   and content dropped later is a new submission, not a duplicate.
 * - Content that is not valid JSON is exactly what a half-written file looks
 *   like, so it is declared bad only after staying unchanged for `graceMs`:
 *   a slow writer pausing longer than `settleMs` is not punished.
 * - fs.watch is fast but may drop events (queue overflow, network file
 *   systems); the periodic rescan turns a lost event into a delay.
 * - File-system waits use real time (Date.now, setTimeout), not the
 *   scheduler's clock: files arrive in the real world even when a test runs
 *   the scheduler on a VirtualClock.
 */
import { EventEmitter } from 'eventemitter3';
import { createHash } from 'node:crypto';
import { watch, type FSWatcher, type Stats } from 'node:fs';
import { mkdir, readFile, readdir, realpath, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, basename } from 'node:path';
import { GodelayqError, ValidationError, toError } from './errors.js';
import type { Scheduler } from './scheduler.js';
import type { JobMap } from './types.js';
import { checkDelay, checkKeys, checkOptionsObject, checkPositiveInt, show } from './validate.js';
import { applyJobs, dryRun, type PlannedJob } from './loader/apply.js';
import { errorCode, moveNoClobber, moveToErrorDir, utcStamp } from './loader/fs.js';
import { compileGlob } from './loader/glob.js';
import { JobFileSyntaxError, decodeJobFile, readJobs, type FileJob } from './loader/job-file.js';
import { KeptManifest, type KeptEntry } from './loader/manifest.js';

/** Options of `new DirectoryLoader()`. */
export interface DirectoryLoaderOptions {
  /** Folder to load job files from (created if missing). */
  dir: string;
  /** File names to load: `*` and `?` wildcards; a wildcard never matches a leading dot. @default '*.json' */
  pattern?: string;
  /** What happens to a file once its jobs are scheduled. @default 'archive' */
  onLoaded?: 'archive' | 'delete' | 'keep';
  /** Where loaded files go as `<UTC timestamp>-<name>` (onLoaded 'archive'). May be inside `dir`, not `dir` itself. @default `<dir>/archive` */
  archiveDir?: string;
  /** Where bad files go, each beside `<name>.error.json`. May be inside `dir`, not `dir` itself. @default `<dir>/error` */
  errorDir?: string;
  /** Watch the folder (fs.watch plus a periodic rescan). `false`: only `start()` and `scan()` look. @default true */
  watch?: boolean;
  /** A file is read once its size and mtime stayed unchanged this long, ms. @default 500 */
  settleMs?: number;
  /** A file that is not (yet) valid JSON is declared bad only once unchanged this long, ms: it may still be being written. @default 5000 */
  graceMs?: number;
  /** Full rescan interval while watching, ms (the safety net for missed fs.watch events); 0 turns it off. @default 5000 */
  rescanMs?: number;
  /** Files read and scheduled at once. @default 8 */
  concurrency?: number;
  /** Larger files are bad. @default 10485760 (10 MiB) */
  maxFileBytes?: number;
  /** onLoaded 'keep': where loaded files are remembered across restarts. @default `<dir>/.godelayq-loader.json` */
  stateFile?: string;
}

/** Event name → payload of DirectoryLoader (one object each). */
export interface DirectoryLoaderEvents {
  /** Every job of `file` is scheduled (`jobIds` in file order); `archivedTo` with onLoaded 'archive'. */
  fileLoaded: { file: string; jobIds: string[]; archivedTo?: string };
  /**
   * `file` was not loaded. `willRetry: false`: it is bad and was moved to
   * `movedTo` in errorDir (unless that move failed); `willRetry: true`: a
   * transient failure, the file stays and is tried again.
   */
  fileFailed: { file: string; error: Error; willRetry: boolean; movedTo?: string };
  /** The loader's own failures: watching, reading the folder, archiving, deleting, the state file. */
  error: { error: Error; file?: string };
}

type EmitterMap = { [K in keyof DirectoryLoaderEvents]: [DirectoryLoaderEvents[K]] };

interface Tracked {
  readonly name: string;
  /** `size:mtimeMs:ino` last seen. */
  sig: string | undefined;
  /** Real time `sig` was first seen. */
  since: number;
  /** Not processed again before this real time (grace wait or retry backoff). */
  waitUntil: number;
  phase: 'settling' | 'processing' | 'waiting' | 'done';
  /** Times the file was seen to change while tracked. */
  changes: number;
  /** Transient failures in a row (backoff). */
  failures: number;
  /** The `sig` an outcome was reached for: not processed again until it changes. */
  doneSig: string | undefined;
  timer: NodeJS.Timeout | undefined;
  pending: boolean;
  running: boolean;
}

const OPTION_KEYS = new Set([
  'dir',
  'pattern',
  'onLoaded',
  'archiveDir',
  'errorDir',
  'watch',
  'settleMs',
  'graceMs',
  'rescanMs',
  'concurrency',
  'maxFileBytes',
  'stateFile',
]);
const MAX_RETRY_DELAY = 60_000;

function sigOf(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
}

function checkPath(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`Expected \`${what}\` to be a non-empty path string, got ${show(value)}`);
  return resolve(value);
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
  private readonly scheduler: Scheduler<JobMap>;
  private readonly dir: string;
  private readonly matches: (name: string) => boolean;
  private readonly onLoaded: 'archive' | 'delete' | 'keep';
  private readonly archiveDir: string;
  private readonly errorDir: string;
  private readonly watchEnabled: boolean;
  private readonly settleMs: number;
  private readonly graceMs: number;
  private readonly rescanMs: number;
  private readonly concurrency: number;
  private readonly maxFileBytes: number;
  private readonly stateFile: string;
  private readonly manifest: KeptManifest | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private readonly actors = new Set<Promise<void>>();
  private readonly waiters = new Set<() => boolean>();
  private readonly missingSince = new Map<string, number>();
  private readonly slotQueue: (() => void)[] = [];
  private activeSlots = 0;
  private watcher: FSWatcher | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  /** True between a successful start and the beginning of stop. */
  private live = false;
  /** Bumped by stop(): a start() still in progress notices and gives up. */
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
    const o = checkOptionsObject(options, 'options');
    if (!o) throw new ValidationError('Expected `options` to be { dir, ... }, got undefined');
    checkKeys(o, OPTION_KEYS, 'options');
    this.dir = checkPath(o.dir, 'options.dir');
    this.matches = compileGlob(o.pattern ?? '*.json');
    const onLoaded = o.onLoaded ?? 'archive';
    if (onLoaded !== 'archive' && onLoaded !== 'delete' && onLoaded !== 'keep') {
      throw new ValidationError(`Expected \`options.onLoaded\` to be 'archive', 'delete' or 'keep', got ${show(onLoaded)}`);
    }
    this.onLoaded = onLoaded;
    this.archiveDir = o.archiveDir === undefined ? join(this.dir, 'archive') : checkPath(o.archiveDir, 'options.archiveDir');
    this.errorDir = o.errorDir === undefined ? join(this.dir, 'error') : checkPath(o.errorDir, 'options.errorDir');
    if (this.errorDir === this.dir) throw new ValidationError(`Expected \`options.errorDir\` to differ from \`options.dir\`, got both ${show(this.dir)}`);
    if (onLoaded === 'archive' && this.archiveDir === this.dir) {
      throw new ValidationError(`Expected \`options.archiveDir\` to differ from \`options.dir\`, got both ${show(this.dir)}`);
    }
    if (o.watch !== undefined && typeof o.watch !== 'boolean') throw new ValidationError(`Expected \`options.watch\` to be a boolean, got ${show(o.watch)}`);
    this.watchEnabled = o.watch ?? true;
    this.settleMs = o.settleMs === undefined ? 500 : checkDelay(o.settleMs, 'options.settleMs');
    this.graceMs = o.graceMs === undefined ? 5000 : checkDelay(o.graceMs, 'options.graceMs');
    this.rescanMs = o.rescanMs === undefined ? 5000 : checkDelay(o.rescanMs, 'options.rescanMs');
    this.concurrency = o.concurrency === undefined ? 8 : checkPositiveInt(o.concurrency, 'options.concurrency');
    this.maxFileBytes = o.maxFileBytes === undefined ? 10 * 1024 * 1024 : checkPositiveInt(o.maxFileBytes, 'options.maxFileBytes');
    this.stateFile = o.stateFile === undefined ? join(this.dir, '.godelayq-loader.json') : checkPath(o.stateFile, 'options.stateFile');
    this.manifest = onLoaded === 'keep' ? new KeptManifest(this.stateFile) : undefined;
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
      await mkdir(this.dir, { recursive: true });
      if (this.onLoaded === 'archive') await mkdir(this.archiveDir, { recursive: true });
      await mkdir(this.errorDir, { recursive: true });
      const real = await realpath(this.dir);
      if ((this.onLoaded === 'archive' && (await realpath(this.archiveDir)) === real) || (await realpath(this.errorDir)) === real) {
        throw new ValidationError(`Expected archiveDir and errorDir to be folders other than dir ${show(this.dir)}, got the same folder`);
      }
      if (this.manifest) {
        await mkdir(dirname(this.stateFile), { recursive: true });
        await this.manifest.load();
      }
      if (epoch !== this.epoch) return;
      this.live = true;
      this.watchDir();
      if (this.watchEnabled && this.rescanMs > 0) {
        this.rescanTimer = setInterval(() => void this.rescan(), this.rescanMs);
      }
      await this.scanAndWait();
    })().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /**
   * Stops watching, waits for files being processed to finish and saves
   * the keep-mode state. Files not yet loaded stay in the folder. Idempotent.
   * Stop the loader before the scheduler it feeds.
   */
  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    if (!this.live && !this.starting) return Promise.resolve();
    this.epoch++;
    this.live = false;
    this.stopping = (async () => {
      this.watcher?.close();
      this.watcher = undefined;
      if (this.rescanTimer) clearInterval(this.rescanTimer);
      this.rescanTimer = undefined;
      for (const t of this.tracked.values()) this.clearTimer(t);
      this.notify();
      if (this.starting) await this.starting.catch(() => undefined);
      while (this.actors.size > 0) await Promise.allSettled([...this.actors]);
      if (this.manifest) await this.flushManifest();
      this.tracked.clear();
      this.missingSince.clear();
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

  // ----------------------------------------------------------------- watching

  private watchDir(): void {
    if (!this.watchEnabled || this.watcher || !this.live) return;
    try {
      const watcher = watch(this.dir, { persistent: true }, (_type, filename) => {
        if (!this.live) return;
        if (filename === null || filename === undefined) void this.rescan();
        else this.poke(String(filename));
      });
      watcher.on('error', (error) => {
        watcher.close();
        if (this.watcher === watcher) this.watcher = undefined;
        this.publish('error', { error: toError(error) });
      });
      this.watcher = watcher;
    } catch (error) {
      this.publish('error', { error: toError(error) });
    }
  }

  /** Whether `name` is a file this loader should look at. */
  private accepts(name: string): boolean {
    if (!this.matches(name)) return false;
    if (dirname(this.stateFile) === this.dir) {
      const own = basename(this.stateFile);
      if (name === own || name.startsWith(`.${own}.`)) return false;
    }
    return true;
  }

  /** Pokes every matching file (and every tracked name, to notice removals). Returns the matching names. */
  private async rescan(): Promise<string[]> {
    if (!this.live) return [];
    this.watchDir();
    let entries;
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (error) {
      this.publish('error', { error: toError(error) });
      return [];
    }
    if (!this.live) return [];
    const present = new Set<string>();
    const matching: string[] = [];
    for (const entry of entries) {
      present.add(entry.name);
      if (entry.isDirectory() || !this.accepts(entry.name)) continue;
      matching.push(entry.name);
      this.poke(entry.name);
    }
    for (const name of [...this.tracked.keys()]) if (!present.has(name)) this.poke(name);
    if (this.manifest) this.pruneManifest(present);
    return matching;
  }

  /** Forgets kept files that were missing at two rescans at least a second apart (an editor's save-by-rename is not a deletion). */
  private pruneManifest(present: ReadonlySet<string>): void {
    const manifest = this.manifest as KeptManifest;
    const now = Date.now();
    let changed = false;
    for (const name of manifest.names()) {
      if (present.has(name)) {
        this.missingSince.delete(name);
        continue;
      }
      const since = this.missingSince.get(name);
      if (since === undefined) this.missingSince.set(name, now);
      else if (now - since >= Math.max(1000, this.settleMs)) {
        manifest.delete(name);
        this.missingSince.delete(name);
        changed = true;
      }
    }
    if (changed) void this.flushManifest();
  }

  private async scanAndWait(): Promise<void> {
    const names = await this.rescan();
    const changesAtScan = new Map(names.map((name) => [name, this.tracked.get(name)?.changes ?? 0]));
    const handled = (name: string): boolean => {
      const t = this.tracked.get(name);
      if (!t || t.running) return !t;
      return t.phase === 'done' || t.phase === 'waiting' || t.changes > (changesAtScan.get(name) ?? 0);
    };
    await new Promise<void>((resolveWait) => {
      const check = (): boolean => {
        if (this.live && !names.every(handled)) return false;
        resolveWait();
        return true;
      };
      if (!check()) this.waiters.add(check);
    });
  }

  private notify(): void {
    for (const check of [...this.waiters]) if (check()) this.waiters.delete(check);
  }

  // -------------------------------------------------------- per-name actors

  /** Asks the actor of `name` to look at its file again. */
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
      this.publish('error', { error: toError(error), file: join(this.dir, t.name) });
    } finally {
      t.running = false;
      this.notify();
    }
  }

  private arm(t: Tracked, ms: number): void {
    this.clearTimer(t);
    if (!this.live) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      this.poke(t.name);
    }, Math.max(0, Math.ceil(ms)));
  }

  private clearTimer(t: Tracked): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = undefined;
  }

  private forget(t: Tracked): void {
    this.clearTimer(t);
    t.pending = false;
    if (this.tracked.get(t.name) === t) this.tracked.delete(t.name);
  }

  /** The file changed under us (e.g. while being read): start settling afresh. */
  private resettle(t: Tracked): void {
    t.sig = undefined;
    t.changes++;
    t.pending = true;
  }

  /** One look at the file: notice changes, wait for it to settle, then process it. */
  private async step(t: Tracked): Promise<void> {
    const file = join(this.dir, t.name);
    let st: Stats;
    try {
      st = await stat(file);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') this.forget(t);
      else this.retryLater(t, error);
      return;
    }
    if (!st.isFile()) {
      this.forget(t);
      return;
    }
    const sig = sigOf(st);
    const now = Date.now();
    if (sig !== t.sig) {
      if (t.sig !== undefined) t.changes++;
      t.sig = sig;
      t.since = now;
      t.waitUntil = 0;
      t.failures = 0;
      t.doneSig = undefined;
      const kept = this.manifest?.get(t.name);
      if (kept && kept.size === st.size && kept.mtimeMs === st.mtimeMs) {
        // Loaded before (maybe by an earlier process) and untouched since.
        t.doneSig = sig;
        t.phase = 'done';
        return;
      }
      t.phase = 'settling';
      this.arm(t, this.settleMs);
      return;
    }
    if (t.doneSig === sig) {
      t.phase = 'done';
      return;
    }
    const readyAt = Math.max(t.since + this.settleMs, t.waitUntil);
    if (now < readyAt) {
      this.arm(t, readyAt - now);
      return;
    }
    this.clearTimer(t);
    t.phase = 'processing';
    await this.withSlot(() => this.process(t, sig, st));
  }

  private async withSlot(fn: () => Promise<void>): Promise<void> {
    if (this.activeSlots < this.concurrency) this.activeSlots++;
    else await new Promise<void>((resolveSlot) => this.slotQueue.push(resolveSlot));
    try {
      await fn();
    } finally {
      const next = this.slotQueue.shift();
      if (next) next();
      else this.activeSlots--;
    }
  }

  // ---------------------------------------------------------------- loading

  /** Reads, checks and schedules one settled file, then archives, deletes or remembers it. */
  private async process(t: Tracked, sig: string, st: Stats): Promise<void> {
    if (!this.live) return;
    const file = join(this.dir, t.name);
    if (st.size > this.maxFileBytes) {
      await this.reject(t, sig, new ValidationError(`Expected ${t.name} to be at most ${this.maxFileBytes} bytes (options.maxFileBytes), got ${st.size} bytes`));
      return;
    }
    let bytes: Buffer;
    let after: string;
    try {
      bytes = await readFile(file);
      after = sigOf(await stat(file));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') this.resettle(t);
      else this.retryLater(t, error);
      return;
    }
    if (after !== sig || bytes.length !== st.size) {
      this.resettle(t);
      return;
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const kept = this.manifest?.get(t.name);
    if (this.manifest && kept?.sha256 === sha256) {
      // Touched but not changed: remember the new mtime, load nothing.
      this.manifest.set(t.name, { ...kept, size: st.size, mtimeMs: st.mtimeMs });
      await this.flushManifest(file);
      this.finish(t, sig);
      return;
    }

    let jobs: PlannedJob[];
    try {
      const value = decodeJobFile(bytes, t.name);
      jobs = this.plan(readJobs(value, Date.now()), t.name, sha256, st.mtimeMs, kept);
      const calls = (jobs.some((job) => job.timing.kind === 'once') ? 1 : 0) + jobs.filter((job) => job.timing.kind !== 'once').length;
      // One call is all-or-none by itself; several need the dry run first.
      if (calls > 1) await dryRun(jobs);
    } catch (error) {
      if (error instanceof JobFileSyntaxError && Date.now() - t.since < this.graceMs) {
        // Maybe still being written: look again once it stayed unchanged for graceMs.
        t.waitUntil = t.since + this.graceMs;
        t.phase = 'waiting';
        this.arm(t, t.waitUntil - Date.now());
        return;
      }
      if (error instanceof JobFileSyntaxError) await this.reject(t, sig, new ValidationError(error.message, { cause: error.cause }));
      else if (error instanceof ValidationError) await this.reject(t, sig, error);
      else this.retryLater(t, error);
      return;
    }

    let jobIds: string[];
    try {
      jobIds = await applyJobs(this.scheduler, jobs);
    } catch (error) {
      // After a passing dry run only the store (or a stopped scheduler) can fail: try again
      // later; jobs already inserted are kept (same ids), the rest follow.
      if (error instanceof ValidationError) await this.reject(t, sig, new ValidationError(`The scheduler refused a job of ${t.name}: ${error.message}`, { cause: error }));
      else this.retryLater(t, error);
      return;
    }

    if (this.manifest) {
      if (kept) await this.cancelSuperseded(kept.jobIds, jobIds, file);
      const entry: KeptEntry = { size: st.size, mtimeMs: st.mtimeMs, sha256, jobIds, loadedAt: new Date().toISOString() };
      this.manifest.set(t.name, entry);
      await this.flushManifest(file);
      this.finish(t, sig);
      this.publish('fileLoaded', { file, jobIds });
      return;
    }
    let archivedTo: string | undefined;
    let gone = false;
    try {
      if (this.onLoaded === 'archive') {
        archivedTo = await moveNoClobber(file, this.archiveDir, `${utcStamp(Date.now())}-${t.name}`);
      } else {
        await unlink(file).catch((error: unknown) => {
          if (errorCode(error) !== 'ENOENT') throw error;
        });
      }
      gone = true;
    } catch (error) {
      // The jobs are scheduled; the file stays. A later start loads it again, adding nothing.
      this.publish('error', { error: toError(error), file });
    }
    this.finish(t, sig);
    if (gone) this.forget(t);
    this.publish('fileLoaded', { file, jobIds, ...(archivedTo === undefined ? {} : { archivedTo }) });
  }

  /** Assigns ids: the file's own, or derived from the file so a reload adds nothing. */
  private plan(jobs: FileJob[], name: string, sha256: string, mtimeMs: number, kept: KeptEntry | undefined): PlannedJob[] {
    const fileHash = createHash('sha256').update(`${sha256}:${mtimeMs}`).digest('hex').slice(0, 16);
    return jobs.map((job) => {
      if (job.id === undefined) return { ...job, jobId: `file:${name}:${fileHash}:${job.index}`, onDuplicate: 'keep' };
      // A file's own id is an idempotency key (kept if it exists), except that a changed
      // kept file replaces the jobs its previous version created.
      return { ...job, jobId: job.id, onDuplicate: kept?.jobIds.includes(job.id) ? 'replace' : 'keep' };
    });
  }

  /** Keep mode, a kept file changed: cancels its previous version's jobs that have not run (and its schedules). */
  private async cancelSuperseded(previous: readonly string[], current: readonly string[], file: string): Promise<void> {
    const keep = new Set(current);
    for (const id of previous) {
      if (keep.has(id)) continue;
      try {
        const info = await this.scheduler.get(id);
        if (!info) continue;
        const recurring = info.cron !== undefined || info.every !== undefined;
        if (info.state === 'scheduled' || (info.state === 'running' && recurring)) await this.scheduler.cancel(id);
      } catch (error) {
        this.publish('error', { error: toError(error), file });
      }
    }
  }

  private finish(t: Tracked, sig: string): void {
    t.doneSig = sig;
    t.phase = 'done';
    t.failures = 0;
  }

  /** A bad file: to errorDir beside `<name>.error.json`; not looked at again until it changes. */
  private async reject(t: Tracked, sig: string, error: Error): Promise<void> {
    const file = join(this.dir, t.name);
    const code = (error as { code?: unknown }).code;
    const report = {
      file,
      error: { name: error.name, ...(typeof code === 'string' ? { code } : {}), message: error.message },
      at: new Date().toISOString(),
    };
    let movedTo: string | undefined;
    try {
      movedTo = await moveToErrorDir(file, this.errorDir, t.name, report);
    } catch (moveError) {
      this.publish('error', { error: toError(moveError), file });
    }
    this.finish(t, sig);
    if (movedTo !== undefined) this.forget(t);
    this.publish('fileFailed', { file, error, willRetry: false, ...(movedTo === undefined ? {} : { movedTo }) });
  }

  /** A transient failure: the file stays; tried again with backoff (or at the next scan() when not watching). */
  private retryLater(t: Tracked, error: unknown): void {
    t.failures++;
    t.phase = 'waiting';
    if (this.watchEnabled) {
      const delay = Math.min(MAX_RETRY_DELAY, 1000 * 2 ** Math.min(16, t.failures - 1));
      t.waitUntil = Date.now() + delay;
      this.arm(t, delay);
    } else {
      t.waitUntil = 0;
    }
    this.publish('fileFailed', { file: join(this.dir, t.name), error: toError(error), willRetry: true });
  }

  private async flushManifest(file?: string): Promise<void> {
    try {
      await this.manifest?.flush();
    } catch (error) {
      this.publish('error', { error: toError(error), ...(file === undefined ? {} : { file }) });
    }
  }

  private publish<K extends keyof DirectoryLoaderEvents>(type: K, payload: DirectoryLoaderEvents[K]): void {
    try {
      (this.emit as (t: K, p: DirectoryLoaderEvents[K]) => boolean)(type, payload);
    } catch (error) {
      // A throwing listener must not break loading; report it unless it was the error listener.
      const file = (payload as { file?: string }).file;
      if (type !== 'error') this.publish('error', { error: toError(error), ...(file === undefined ? {} : { file }) });
    }
  }
}
