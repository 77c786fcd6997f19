/**
 * JsonFileStore: the durable single-process store. Every acknowledged change
 * survives `kill -9` and power loss (its journal write is synced before the
 * call resolves), and no change is acknowledged unless it reached the
 * store's own, still-linked files under a lock this process still holds.
 *
 * HOW
 * - Jobs live in memory (LocalStore); each operation's record-level changes
 *   become one checksummed journal line, appended with group commit
 *   (journal.ts). After each group's durable write the store checks that
 *   LOCK and the journal are still the files it opened (a `stat` of each:
 *   the store folder deleted or replaced, or LOCK removed and taken by
 *   another process, all show there) before resolving the group. A store
 *   that finds it lost them stops writing for good (fail-stop): every later
 *   change rejects with StorePersistError saying why.
 * - `open` takes the folder's LOCK (lock.ts, with a heartbeat on the
 *   scheduler's clock), reads the newest snapshot and the journals after it
 *   (recover.ts), and starts a new journal whose header records where the
 *   previous one ends: bytes a lost process may still append there are
 *   never replayed. Only a crash-torn last write is dropped silently (with
 *   a warning); any other damage rejects with StoreCorruptError and leaves
 *   every file as it was (`JsonFileStore.salvage` is the way out).
 * - After `snapshotEvery` changes or journal bytes (by default: at least as
 *   many as the store holds, so snapshot work stays proportional to the
 *   changes that pay for it), the store rotates at a moment when no write is
 *   in flight: it starts journal g+1 (later changes go there at once) and
 *   streams the state of that moment to snapshot g+1 in the background
 *   (snapshot.ts), which `close` abandons promptly. The snapshot is
 *   verified, linked into place, the folder fsynced, and only then are the
 *   older generations removed.
 *
 * WHY journal + snapshot rather than rewriting one JSON file per change: a
 * rewrite costs O(jobs) per change and, through write-file-atomic's short-write
 * hole (SPEC §9), can replace the only good copy with a truncated one. Here no
 * file is ever overwritten in place except by appending, and a new file never
 * replaces an existing one (it is hard-linked into place).
 *
 * Format and layout: see json-file/format.ts.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { GodelayqError, StorePersistError, ValidationError, toError } from '../errors.js';
import { idleTurn } from '../idle-turn.js';
import { LocalStore, type Change } from './local.js';
import type { JobRecord, StoreContext } from './store.js';
import type { ColdJobs } from './cold-jobs.js';
import type { SnapshotJobs } from './local-state.js';
import { batchPieces, classify, encodeBatch, encodeChange, snapshotName } from './json-file/format.js';
import { type FsLayer, nodeFs, syncDir, syncPath } from './json-file/fs.js';
import { type JournalFile, JournalWriter, byteLength } from './json-file/journal.js';
import { createJournal, journalGone, openJournal } from './json-file/journal-files.js';
import { DirLock } from './json-file/lock.js';
import { prepareFolder, removeLeftovers } from './json-file/folder.js';
import { type Recovered, listFolder, recover } from './json-file/recover.js';
import { SnapshotAbortedError, writeSnapshotTemp } from './json-file/snapshot.js';
import { readPaused, writePaused } from './json-file/pause-file.js';
import { type SalvageReport, salvage } from './json-file/salvage.js';

/** Options of `new JsonFileStore(path, options)`. */
export interface JsonFileStoreOptions {
  /**
   * Start a new snapshot once the journals since the last one hold this many
   * changes or bytes, whichever comes first. Unset, each grows with the
   * store: `changes` = max(100 000, jobs in the store), `bytes` = max(64 MiB,
   * size of the last snapshot), so a million-job store is not rewritten every
   * 100 000 changes and replaying the journals never costs more than loading
   * the snapshot.
   * @default { changes: max(100_000, jobs), bytes: max(64 MiB, last snapshot size) }
   */
  snapshotEvery?: { changes?: number; bytes?: number };
  /**
   * Sync every group commit (O_DSYNC writes, or fdatasync) and fsync
   * snapshots and the directory.
   * `false` still survives a crash of the process, not of the machine.
   * @default true
   */
  fsync?: boolean;
  /**
   * A LOCK whose holder cannot be checked from this machine (it ran on
   * another host or container) is taken over once it has not changed for
   * this long, by this process's clock. The holder rewrites it every
   * `staleLockMs / 3`. A holder on this machine is checked at once (pid and
   * process start time), without waiting.
   * @default 30_000
   */
  staleLockMs?: number;
  /** The file-system layer; tests pass a `FaultyFs`. @default the real file system */
  fs?: FsLayer;
}

const OPTION_KEYS = new Set(['snapshotEvery', 'fsync', 'staleLockMs', 'fs']);
/** Journals since the last snapshot (each open and close starts one) that trigger a snapshot. */
const MAX_CHAIN = 8;

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ValidationError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  }
  return value;
}

const nonce = (): string => randomBytes(6).toString('base64url');

/**
 * The durable store: a directory holding a JSON-lines journal and JSON
 * snapshots (see SPEC §5). One process at a time.
 * @example
 * const scheduler = new Scheduler({ store: new JsonFileStore('./var/jobs') });
 */
export class JsonFileStore extends LocalStore {
  protected readonly durable = true;
  /** The store directory (absolute). */
  readonly path: string;
  private readonly layer: FsLayer;
  private readonly sync: boolean;
  private readonly staleLockMs: number;
  /** Explicit thresholds; undefined = grow with the store. */
  private readonly everyChanges: number | undefined;
  private readonly everyBytes: number | undefined;
  /** Size of the newest snapshot (0: none). */
  private snapshotBytes = 0;
  /** The cold jobs the last open read, until LocalStore.open loads them (takeColdJobs). */
  private cold: ColdJobs | undefined;
  /** Generation of the newest snapshot (1 when none): the journals from here on are replayed at open. */
  private chainStart = 1;
  private storeId = '';
  private lock: DirLock | undefined;
  private writer: JournalWriter | undefined;
  /** The journal was a clean close's, reused: no new one is needed at close unless something was appended. */
  private reusedClosed: { gen: number; size: number } | undefined;
  private changesSince = 0;
  private bytesSince = 0;
  /** After a failed rotation, wait until this many changes before trying again. */
  private retryAt = 0;
  private force = false;
  private closing = false;
  private abortSnapshot = false;
  /** Set when the store stopped writing for good (fail-stop); every change rejects with it. */
  private stopped: StorePersistError | undefined;
  private snapshotsStarted = 0;
  private rotateError: unknown;
  /** The running snapshot (never rejects). */
  private snapshotTask: Promise<void> | undefined;
  /** Its outcome (rejects on failure), for `snapshot()`. */
  private snapshotOutcome: Promise<void> | undefined;

  constructor(dir: string, options: JsonFileStoreOptions = {}) {
    super();
    if (typeof dir !== 'string' || dir === '') {
      throw new ValidationError(`Expected \`path\` to be a directory path, got ${JSON.stringify(dir)}`);
    }
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError(`Expected \`options\` to be an object, got ${String(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.has(key)) {
        throw new ValidationError(`Expected JsonFileStore options among ${[...OPTION_KEYS].join(', ')}, got \`${key}\``);
      }
    }
    if (options.fsync !== undefined && typeof options.fsync !== 'boolean') {
      throw new ValidationError(`Expected \`fsync\` to be a boolean, got ${String(options.fsync)}`);
    }
    // `?? {}`: null means "not set", like undefined.
    const every = options.snapshotEvery ?? {};
    if (typeof every !== 'object') {
      throw new ValidationError(`Expected \`snapshotEvery\` to be { changes?, bytes? }, got ${String(every)}`);
    }
    this.path = path.resolve(dir);
    this.layer = options.fs ?? nodeFs;
    this.sync = options.fsync ?? true;
    this.staleLockMs = options.staleLockMs === undefined ? 30_000 : positive(options.staleLockMs, 'staleLockMs');
    this.everyChanges = every.changes === undefined ? undefined : positive(every.changes, 'snapshotEvery.changes');
    this.everyBytes = every.bytes === undefined ? undefined : positive(every.bytes, 'snapshotEvery.bytes');
  }

  /**
   * The way out of StoreCorruptError: rebuilds the store in `dir` from every
   * intact record of its files (a damaged line loses only itself; a change
   * whose job is lost with a damaged line is dropped too), writes them as a
   * new snapshot and journal, and moves every file it replaced into a
   * `salvaged-<time>` folder inside `dir` (nothing is deleted). Resolves with
   * what it kept and exactly what it dropped. Takes the store's lock: rejects
   * with StoreLockedError while a process uses the store.
   * @example
   * const report = await JsonFileStore.salvage('./data/jobs');
   * console.log(report.kept, report.dropped);
   */
  static salvage(dir: string, options: { fs?: FsLayer; fsync?: boolean } = {}): Promise<SalvageReport> {
    if (typeof dir !== 'string' || dir === '') {
      return Promise.reject(new ValidationError(`Expected \`dir\` to be a directory path, got ${JSON.stringify(dir)}`));
    }
    return salvage(options.fs ?? nodeFs, path.resolve(dir), options.fsync ?? true);
  }

  /** Durable journal writes (group commits) since open, for tests and benches. */
  get syncCount(): number {
    return this.writer?.syncs ?? 0;
  }

  /**
   * Writes a snapshot now (rotating the journal) and resolves once it is
   * durable and the previous generation is removed.
   */
  async snapshot(): Promise<void> {
    const writer = this.requireWriter();
    // Usually one pass; another pass when an automatic snapshot was running
    // or the journal had to be repaired first.
    for (let pass = 0; pass < 5; pass++) {
      // A clock step's re-base in turns is not in the journal yet: the snapshot follows it.
      await this.afterStep();
      await this.snapshotTask;
      const started = this.snapshotsStarted;
      this.force = true;
      this.rotateError = undefined;
      try {
        await writer.append('');
      } catch (error) {
        this.force = false;
        writer.endFailure(); // nothing of ours to revert
        throw error;
      }
      if (this.snapshotsStarted !== started) {
        try {
          await this.snapshotOutcome;
          return;
        } catch (error) {
          if (error instanceof StorePersistError) throw error;
          throw new StorePersistError(`Snapshot of store ${this.path} failed: ${toError(error).message}`, { cause: error });
        }
      }
      if (this.rotateError !== undefined) {
        this.force = false;
        const cause = this.rotateError;
        throw new StorePersistError(`Could not start a snapshot of store ${this.path}: ${toError(cause).message}`, { cause });
      }
    }
    this.force = false;
    throw new StorePersistError(`Could not start a snapshot of store ${this.path}: the journal keeps failing`);
  }

  private requireWriter(): JournalWriter {
    if (this.stopped) throw this.stopped;
    if (!this.writer || this.closing) {
      throw new StorePersistError(`Expected store ${this.path} to be open, got a closed store`);
    }
    return this.writer;
  }

  override nextDueAt(): number | undefined {
    // A store that stopped writing claims nothing more.
    return this.stopped ? undefined : super.nextDueAt();
  }

  protected override refused(error: unknown, count: number): unknown {
    // LocalStore has reverted this batch and every later one: batches
    // applied from now on no longer sit on top of a failed one. (A
    // ValidationError came before anything was applied.)
    if (!(error instanceof ValidationError)) this.writer?.endFailure();
    return super.refused(error, count);
  }

  protected persist(changes: Change[]): Promise<void> {
    const refusal = this.writeRefusal();
    if (refusal) return Promise.reject(refusal);
    if (changes.length === 0) return (this.writer as JournalWriter).append('');
    return this.appendBatch(encodeBatch(changes, this.context?.maxPayloadBytes ?? Infinity), changes.length);
  }

  /** A clock step's batch over a big store: encoded and made bytes `turn` changes at a time, the event loop running in between. */
  protected override async persistInTurns(changes: Change[], turn: number): Promise<void> {
    const max = this.context?.maxPayloadBytes ?? Infinity;
    function* parts(): Generator<string> {
      for (const change of changes) yield encodeChange(change, max);
    }
    const pieces = await batchPieces(parts(), changes.length, turn, idleTurn);
    const refusal = this.writeRefusal();
    if (refusal) throw refusal;
    return this.appendBatch(pieces, changes.length);
  }

  /** Why no batch can be written now, if none can. */
  private writeRefusal(): StorePersistError | undefined {
    if (this.stopped) return this.stopped;
    if (!this.writer) return new StorePersistError(`Expected store ${this.path} to be open, got a closed store`);
    return undefined;
  }

  private appendBatch(line: string | readonly Buffer[], count: number): Promise<void> {
    this.changesSince += count;
    this.bytesSince += byteLength(line);
    return (this.writer as JournalWriter).append(line);
  }

  /** `pause({ everywhere: true })` survives restarts: the PAUSED file (json-file/pause-file.ts), under the lock this store holds. */
  protected override async persistPause(paused: boolean): Promise<void> {
    this.requireWriter();
    try {
      await writePaused(this.layer, this.path, paused, this.sync, this.context?.now() ?? Date.now());
    } catch (error) {
      throw new StorePersistError(`Could not ${paused ? 'pause' : 'resume'} store ${this.path}: ${toError(error).message}`, { cause: error });
    }
    await this.verifyOwnership();
  }

  protected override takeColdJobs(): ColdJobs | undefined {
    const cold = this.cold;
    this.cold = undefined;
    return cold;
  }

  protected override async openStorage(context: StoreContext): Promise<Iterable<JobRecord>> {
    if (this.writer || this.lock) throw new GodelayqError(`Store ${this.path} is already open`);
    this.stopped = undefined;
    this.abortSnapshot = false;
    await prepareFolder(this.layer, this.path, this.sync);
    const { lock, previous } = await DirLock.acquire(this.layer, this.path, { clock: context.clock, staleLockMs: this.staleLockMs, sync: this.sync });
    this.lock = lock;
    try {
      const listing = listFolder(await this.layer.readdir(this.path));
      this.paused = { paused: await readPaused(this.layer, this.path), version: 0 };
      const recovered = await recover(this.layer, this.path, listing, previous, { cold: true });
      for (const warning of recovered.warnings) context.warn(warning);
      this.storeId = recovered.storeId ?? randomBytes(12).toString('base64url');
      const file = await this.startJournal(recovered);
      await removeLeftovers(this.layer, this.path, listing, { obsolete: recovered.obsolete, storeId: this.storeId, newStore: recovered.storeId === undefined }, this.sync, context.warn);
      this.chainStart = Math.max(recovered.snapshotGen, 1);
      this.changesSince = recovered.changes;
      this.bytesSince = recovered.bytes;
      this.snapshotBytes = recovered.snapshotBytes;
      this.retryAt = 0;
      this.force = false;
      const writer = new JournalWriter(this.layer, file, this.sync, {
        beforeGroup: () => this.maybeRotate(),
        verify: () => this.verifyOwnership(),
        repairFailed: (cause) => this.fence(cause),
      });
      this.writer = writer;
      lock.startHeartbeat(
        context.clock,
        Math.max(1, Math.floor(this.staleLockMs / 3)),
        () => ({ gen: writer.file.gen, length: writer.file.size }),
        (why) => this.failStop(`it lost its lock: ${why}`),
      );
      this.cold = recovered.cold;
      return recovered.records;
    } catch (error) {
      this.lock = undefined;
      await lock.release();
      if (error instanceof GodelayqError) throw error;
      throw new StorePersistError(`Could not open store ${this.path}: ${toError(error).message}`, { cause: error });
    }
  }

  /**
   * The journal to append to: a clean close's empty journal is reused; any
   * other last journal is left as it is and a new one started after it
   * (recording its length), so nothing that process may still write there
   * is ever replayed.
   */
  private async startJournal(recovered: Recovered): Promise<JournalFile> {
    const last = recovered.last;
    this.reusedClosed = undefined;
    if (!last) return this.createJournal(1, undefined, false);
    const { head } = last;
    if (head.version >= 2 && head.closed && last.size === head.bytes && last.validLength === head.bytes) {
      const file = await openJournal(this.layer, last.path, last.gen, this.sync);
      if (file.size === head.bytes) {
        // Its name may not be durable yet (a process killed during its clean
        // close, after the rename and before the folder fsync): sync the folder
        // before anything is appended, or a power cut could remove the
        // journal with the changes it acknowledged (simulation seed 195012166).
        if (this.sync) {
          try {
            await syncDir(this.layer, this.path);
          } catch (error) {
            await this.layer.close(file.fd).catch(() => undefined);
            throw error;
          }
        }
        this.reusedClosed = { gen: last.gen, size: file.size };
        return file;
      }
      await this.layer.close(file.fd).catch(() => undefined);
    }
    // Its bytes may still be in the page cache only (a process killed before it synced them). They
    // are replayed, built on, and their length goes into the next journal's header: they must be
    // durable first, or a power cut leaves the journal shorter than recorded, and the next open
    // refuses the store as cut (simulation seed 212038799).
    if (this.sync) await syncPath(this.layer, last.path);
    return this.createJournal(last.gen + 1, last.validLength, false);
  }

  /** Creates journal `gen` (see journal-files.ts); stops writing when a failed one cannot be removed. */
  private createJournal(gen: number, prev: number | undefined, closed: boolean): Promise<JournalFile> {
    return createJournal(this.layer, this.path, this.storeId, this.sync, { gen, prev, closed }, (reason) => this.failStop(reason));
  }

  /**
   * After each durable group write: LOCK and the journal must still be the
   * files this store opened. When they are not, stop writing and reject;
   * when that cannot be told (a stat failed with EIO), reject the group like
   * a failed write (it is cut off again) and check again next time.
   */
  private async verifyOwnership(): Promise<void> {
    const lock = this.lock;
    const writer = this.writer;
    if (!lock || !writer) return;
    const file = writer.file;
    const [lost, journal] = await Promise.all([lock.check(), journalGone(this.layer, file)]);
    if (lost !== undefined) this.failStop(`it lost its lock: ${lost}`);
    else if (journal !== undefined) this.failStop(`it lost its files: ${journal}`);
    if (this.stopped) throw this.stopped;
  }

  /**
   * A failed write could not be cut off the journal: start a new journal
   * whose header records the durable length, so the failed bytes are never
   * replayed. If even that fails, stop writing.
   */
  private async fence(cause: unknown): Promise<void> {
    const writer = this.writer;
    if (!writer) return;
    const old = writer.file;
    try {
      const lost = await this.lock?.check();
      if (lost !== undefined) throw new Error(`the store lost its lock: ${lost}`);
      writer.file = await this.createJournal(old.gen + 1, old.size, false);
      await this.layer.close(old.fd).catch(() => undefined);
      this.context?.warn(
        `Could not cut a failed write off ${old.path} (${toError(cause).message}); continued in ${writer.file.path}, whose header excludes it`,
      );
    } catch (error) {
      this.failStop(
        `a failed write could not be cut off ${old.path} (${toError(cause).message}) nor fenced off by a new journal (${toError(error).message}), ` +
          'so the store could no longer tell acknowledged changes from rejected ones',
      );
      throw this.stopped;
    }
  }

  /** Stops writing for good: every later change rejects; attempts running are reported lost. */
  private failStop(reason: string): void {
    if (this.stopped) return;
    this.stopped = new StorePersistError(
      `Store ${this.path} stopped writing: ${reason}. Every later change is rejected; nothing was acknowledged that did not reach the store's ` +
        'files. Restart the process once the cause is fixed (a restart recovers every acknowledged change).',
    );
    this.writer?.halt(this.stopped);
    this.abortSnapshot = true;
    const context = this.context;
    context?.warn(this.stopped.message);
    if (context?.lost) {
      const running: JobRecord[] = [];
      for (const job of this.state.running()) if (job.token !== undefined) running.push(job);
      for (const job of running) context.lost(job.id, job.token as string, 'lock');
    }
  }

  private changesThreshold(): number {
    return this.everyChanges ?? Math.max(100_000, this.state.size);
  }

  /** Runs between journal groups: starts a rotation when one is due. */
  private maybeRotate(): Promise<void> | undefined {
    const writer = this.writer;
    // Not while a clock step's re-base is applied in turns: the view would hold half of a batch that may yet fail.
    if (this.snapshotTask || this.closing || this.stopped || !writer || writer.dirty || this.stepInProgress) return undefined;
    if (!this.force) {
      const due =
        this.changesSince >= this.changesThreshold() ||
        this.bytesSince >= (this.everyBytes ?? Math.max(64 << 20, this.snapshotBytes)) ||
        writer.file.gen - this.chainStart >= MAX_CHAIN;
      if (!due || this.changesSince < this.retryAt) return undefined;
    }
    return this.rotate(writer);
  }

  private async rotate(writer: JournalWriter): Promise<void> {
    this.force = false;
    // The state now = everything durable + every batch queued (they go to the
    // new journal, and replaying them over the snapshot changes nothing).
    const view = this.state.snapshotItems();
    const nextSeq = this.state.nextSeq;
    const upTo = writer.lastId;
    const failures = writer.failures;
    const old = writer.file;
    const gen = old.gen + 1;
    let file: JournalFile;
    try {
      file = await this.createJournal(gen, old.size, false);
    } catch (error) {
      this.rotateError = error;
      this.retryAt = this.changesSince + Math.min(this.changesThreshold(), 10_000);
      this.context?.warn(`Could not start journal generation ${gen} in ${this.path}: ${toError(error).message}; will retry later`);
      return;
    }
    writer.file = file;
    this.reusedClosed = undefined;
    this.changesSince = 0;
    this.bytesSince = 0;
    this.retryAt = 0;
    await this.layer.close(old.fd).catch(() => undefined);
    this.snapshotsStarted++;
    const outcome = this.writeSnapshot(writer, gen, view, nextSeq, upTo, failures);
    this.snapshotOutcome = outcome;
    this.snapshotTask = outcome
      .catch((error: unknown) => {
        if (error instanceof SnapshotAbortedError) return;
        this.context?.warn(
          `Snapshot generation ${gen} of ${this.path} failed (${toError(error).message}); the journals still hold every change`,
        );
      })
      .finally(() => {
        this.snapshotTask = undefined;
      });
  }

  private async writeSnapshot(
    writer: JournalWriter,
    gen: number,
    view: SnapshotJobs,
    nextSeq: number,
    upTo: number,
    failures: number,
  ): Promise<void> {
    const { tempPath, bytes } = await writeSnapshotTemp(this.layer, this.path, gen, view, {
      nextSeq,
      storeId: this.storeId,
      nonce: nonce(),
      sync: this.sync,
      createdAt: new Date(this.context?.now() ?? Date.now()).toISOString(),
      aborted: () => this.abortSnapshot,
    });
    try {
      // The view included batches still queued then: commit the snapshot only
      // if they all became durable (a failed one was reverted in memory).
      await writer.settled(upTo);
      if (writer.failures !== failures) {
        throw new StorePersistError('a change captured by the snapshot failed to persist; snapshot dropped');
      }
      if (this.abortSnapshot) throw new SnapshotAbortedError();
      const lost = await this.lock?.check();
      if (lost !== undefined) throw new StorePersistError(`the store lost its lock (${lost}); snapshot dropped`);
      await this.layer.link(tempPath, path.join(this.path, snapshotName(gen)));
    } finally {
      await this.layer.unlink(tempPath).catch(() => undefined);
    }
    if (this.sync) await syncDir(this.layer, this.path);
    this.snapshotBytes = bytes;
    this.chainStart = gen;
    // Generation `gen` is complete on disk: the older ones are garbage now
    // (but never touch the folder of a store this process lost).
    if ((await this.lock?.check().catch(() => 'unknown')) !== undefined) return;
    const names = await this.layer.readdir(this.path);
    let removed = 0;
    for (const name of names) {
      const kind = classify(name);
      if ((kind.kind === 'snapshot' || kind.kind === 'journal') && kind.gen < gen) {
        await this.layer.unlink(path.join(this.path, name)).catch(() => undefined);
        removed++;
      }
    }
    if (removed > 0 && this.sync) await syncDir(this.layer, this.path).catch(() => undefined);
  }

  protected override async closeStorage(): Promise<void> {
    const writer = this.writer;
    if (!writer) return;
    this.closing = true;
    // Abandon a running snapshot: the journals hold every change.
    this.abortSnapshot = true;
    try {
      await writer.drain();
      await this.snapshotTask;
      while (writer.busy) await writer.drain();
      this.writer = undefined;
      await this.layer.close(writer.file.fd).catch(() => undefined);
      if (!this.stopped) await this.seal(writer.file);
    } finally {
      this.closing = false;
      const lock = this.lock;
      this.lock = undefined;
      await lock?.release();
    }
  }

  /**
   * A clean close starts an empty journal recording the last one's length,
   * so a journal cut short later is found (the next open reuses it).
   */
  private async seal(file: JournalFile): Promise<void> {
    const reused = this.reusedClosed;
    if (reused && reused.gen === file.gen && reused.size === file.size) return;
    if ((await this.lock?.check().catch(() => 'unknown')) !== undefined) return;
    try {
      const sealed = await this.createJournal(file.gen + 1, file.size, true);
      await this.layer.close(sealed.fd).catch(() => undefined);
    } catch (error) {
      this.context?.warn(`Could not record the final length of ${file.path} at close: ${toError(error).message}`);
    }
  }
}
