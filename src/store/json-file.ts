/**
 * JsonFileStore: the durable single-process store. Every acknowledged change
 * survives `kill -9` and power loss (its journal write is synced before the
 * call resolves).
 *
 * HOW
 * - Jobs live in memory (LocalStore); each operation's record-level changes
 *   become one journal line, appended with group commit (journal.ts): every
 *   batch resolves after the synced write that covers it, many batches share
 *   one.
 * - After `snapshotEvery` changes or journal bytes (by default: at least as
 *   many as the store holds, so snapshot work stays proportional to the
 *   changes that pay for it), the store rotates at a moment when no write is
 *   in flight: it starts journal g+1 (later changes go there at once) and
 *   streams the state of that moment to snapshot g+1 in the background
 *   (snapshot.ts). The snapshot is verified, renamed into
 *   place, the directory fsynced, and only then are generation g's snapshot
 *   and journal removed.
 * - `open` takes the directory's LOCK (lock.ts), loads the newest snapshot and
 *   replays the journals after it. A torn last line (a crash mid-append) is
 *   dropped with a warning; any other damage rejects with StoreCorruptError
 *   and leaves every file as it was.
 *
 * WHY journal + snapshot rather than rewriting one JSON file per change: a
 * rewrite costs O(jobs) per change and, through write-file-atomic's short-write
 * hole (SPEC §9), can replace the only good copy with a truncated one. Here no
 * file is ever overwritten in place except by appending, and a new file only
 * replaces an old one after it has been read back.
 *
 * Format and layout: see json-file/format.ts.
 */
import path from 'node:path';
import { GodelayqError, StoreCorruptError, StorePersistError, ValidationError, toError } from '../errors.js';
import { LocalStore, type Change } from './local.js';
import type { JobRecord, StoreContext } from './store.js';
import { classify, encodeBatch, journalHeaderLine, journalName, snapshotName } from './json-file/format.js';
import { type FsLayer, hasCode, nodeFs, syncDir } from './json-file/fs.js';
import { type JournalFile, JournalWriter, journalOpenFlags, readJournal } from './json-file/journal.js';
import { DirLock, lockTempInUse, processAlive } from './json-file/lock.js';
import { SnapshotAbortedError, readSnapshot, writeSnapshotTemp } from './json-file/snapshot.js';

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
  /** The file-system layer; tests pass a `FaultyFs`. @default the real file system */
  fs?: FsLayer;
}

const OPTION_KEYS = new Set(['snapshotEvery', 'fsync', 'fs']);

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ValidationError(`Expected \`${name}\` to be a positive integer, got ${String(value)}`);
  }
  return value;
}

interface Recovered {
  /** The snapshot's records, in file order. */
  base: JobRecord[];
  /** What the journals changed since: id → record, or null when deleted. */
  changed: Map<string, JobRecord | null>;
  /** Newest snapshot generation (0: none). */
  snapshotGen: number;
  /** The journal to append to, if any exists. */
  last: { path: string; gen: number; validLength: number; size: number; headerMissing: boolean } | undefined;
  changes: number;
  bytes: number;
  snapshotBytes: number;
  temps: string[];
  obsolete: string[];
}

/** The snapshot's records overlaid with the journals' changes, in place (no second million-entry array). */
function merge(base: JobRecord[], changed: ReadonlyMap<string, JobRecord | null>): JobRecord[] {
  if (changed.size === 0) return base;
  let kept = 0;
  for (const record of base) if (!changed.has(record.id)) base[kept++] = record;
  base.length = kept;
  for (const record of changed.values()) if (record) base.push(record);
  return base;
}

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
  /** Explicit thresholds; undefined = grow with the store. */
  private readonly everyChanges: number | undefined;
  private readonly everyBytes: number | undefined;
  /** Size of the newest snapshot (0: none). */
  private snapshotBytes = 0;
  private lock: DirLock | undefined;
  private writer: JournalWriter | undefined;
  private changesSince = 0;
  private bytesSince = 0;
  /** After a failed rotation, wait until this many changes before trying again. */
  private retryAt = 0;
  private force = false;
  private closing = false;
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
    const every = options.snapshotEvery ?? {};
    if (typeof every !== 'object' || every === null) {
      throw new ValidationError(`Expected \`snapshotEvery\` to be { changes?, bytes? }, got ${String(every)}`);
    }
    this.path = path.resolve(dir);
    this.layer = options.fs ?? nodeFs;
    this.sync = options.fsync ?? true;
    this.everyChanges = every.changes === undefined ? undefined : positive(every.changes, 'snapshotEvery.changes');
    this.everyBytes = every.bytes === undefined ? undefined : positive(every.bytes, 'snapshotEvery.bytes');
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
    if (!this.writer || this.closing) {
      throw new StorePersistError(`Expected store ${this.path} to be open, got a closed store`);
    }
    return this.writer;
  }

  protected override async commit(changes: Change[]): Promise<void> {
    try {
      await super.commit(changes);
    } catch (error) {
      // super.commit has reverted this batch and every later one: batches
      // applied from now on no longer sit on top of a failed one.
      this.writer?.endFailure();
      throw error;
    }
  }

  protected persist(changes: Change[]): Promise<void> {
    const writer = this.writer;
    if (!writer) return Promise.reject(new StorePersistError(`Expected store ${this.path} to be open, got a closed store`));
    if (changes.length === 0) return writer.append('');
    const line = encodeBatch(changes);
    this.changesSince += changes.length;
    this.bytesSince += line.length;
    return writer.append(line);
  }

  protected override async openStorage(context: StoreContext): Promise<Iterable<JobRecord>> {
    if (this.writer || this.lock) throw new GodelayqError(`Store ${this.path} is already open`);
    try {
      await this.layer.mkdir(this.path);
    } catch (error) {
      throw new StorePersistError(`Could not create store directory ${this.path}: ${toError(error).message}`, { cause: error });
    }
    const lock = await DirLock.acquire(this.layer, this.path);
    this.lock = lock;
    try {
      const recovered = await this.recover(context);
      const file = await this.prepare(recovered, context);
      this.changesSince = recovered.changes;
      this.bytesSince = recovered.bytes;
      this.snapshotBytes = recovered.snapshotBytes;
      this.retryAt = 0;
      this.force = false;
      this.writer = new JournalWriter(this.layer, file, this.sync, () => this.maybeRotate());
      return merge(recovered.base, recovered.changed);
    } catch (error) {
      this.lock = undefined;
      await lock.release();
      if (error instanceof GodelayqError) throw error;
      throw new StorePersistError(`Could not open store ${this.path}: ${toError(error).message}`, { cause: error });
    }
  }

  /** Reads the newest snapshot and the journals after it. Writes nothing. */
  private async recover(context: StoreContext): Promise<Recovered> {
    const names = await this.layer.readdir(this.path);
    const snapshots: number[] = [];
    const journals: number[] = [];
    const temps: string[] = [];
    for (const name of names) {
      const kind = classify(name);
      if (kind.kind === 'snapshot') snapshots.push(kind.gen);
      else if (kind.kind === 'journal') journals.push(kind.gen);
      else if (kind.kind === 'temp') temps.push(name);
      else if (kind.kind === 'lockTemp') {
        // Another live opener may be about to link its candidate: leave those.
        const leftover = kind.pid === process.pid ? !lockTempInUse(name) : !processAlive(kind.pid);
        if (leftover) temps.push(name);
      }
    }
    snapshots.sort((a, b) => a - b);
    journals.sort((a, b) => a - b);
    const snapshotGen = snapshots[snapshots.length - 1] ?? 0;
    const first = Math.max(snapshotGen, 1);
    const chain = journals.filter((g) => g >= first);
    const obsolete = [
      ...snapshots.filter((g) => g < snapshotGen).map(snapshotName),
      ...journals.filter((g) => g < first).map(journalName),
    ];
    // The chain must start at the snapshot's generation (or 1) and have no gaps.
    for (let i = 0; i < chain.length; i++) {
      if (chain[i] !== first + i) {
        const missing = path.join(this.path, journalName(first + i));
        throw new StoreCorruptError(missing, 0, `expected journal generation ${first + i} to exist (found ${chain.join(', ')}), got none`);
      }
    }
    if (snapshotGen > 0 && chain.length === 0) {
      throw new StoreCorruptError(path.join(this.path, journalName(snapshotGen)), 0, 'expected the journal of the newest snapshot, got none');
    }
    // The snapshot goes to an array, the journals' changes to a small map:
    // a million-entry map built here and again in LocalState costs seconds.
    const base: JobRecord[] = [];
    const changed = new Map<string, JobRecord | null>();
    let snapshotBytes = 0;
    if (snapshotGen > 0) {
      const info = await readSnapshot(this.layer, path.join(this.path, snapshotName(snapshotGen)), snapshotGen, (r) => {
        base.push(r);
      });
      snapshotBytes = info.bytes;
    }
    let changes = 0;
    let bytes = 0;
    let last: Recovered['last'];
    for (let i = 0; i < chain.length; i++) {
      const gen = chain[i] as number;
      const file = path.join(this.path, journalName(gen));
      const isLast = i === chain.length - 1;
      const result = await readJournal(this.layer, file, gen, changed, isLast);
      changes += result.lines;
      bytes += result.validLength;
      if (isLast) {
        last = { path: file, gen, validLength: result.validLength, size: result.size, headerMissing: result.headerMissing };
        if (result.validLength < result.size) {
          context.warn(
            `Dropped the torn last line of ${file} (${result.size - result.validLength} bytes at offset ${result.validLength}): ` +
              'a crash interrupted its write, so it was never acknowledged',
          );
        }
      }
    }
    return { base, changed, snapshotGen, last, changes, bytes, snapshotBytes, temps, obsolete };
  }

  /** After a successful read: repairs the torn tail, removes leftovers, opens the journal. */
  private async prepare(recovered: Recovered, context: StoreContext): Promise<JournalFile> {
    const layer = this.layer;
    let file: JournalFile;
    const last = recovered.last;
    if (!last) {
      file = await this.createJournal(1);
    } else if (last.headerMissing) {
      // Crashed while creating it: it holds no change. Write it afresh.
      await layer.unlink(last.path);
      file = await this.createJournal(last.gen);
    } else {
      const { flags, dsync } = journalOpenFlags(this.sync);
      const fd = await layer.open(last.path, flags);
      try {
        if (last.validLength < last.size) {
          await layer.ftruncate(fd, last.validLength);
          if (this.sync) await layer.fsync(fd);
        }
      } catch (error) {
        await layer.close(fd).catch(() => undefined);
        throw error;
      }
      file = { path: last.path, gen: last.gen, fd, size: last.validLength, dsync };
    }
    const leftovers = [...recovered.temps, ...recovered.obsolete];
    for (const name of leftovers) {
      await layer.unlink(path.join(this.path, name)).catch((error: unknown) => {
        if (!hasCode(error, 'ENOENT')) context.warn(`Could not remove leftover ${name} in ${this.path}: ${toError(error).message}`);
      });
    }
    if (leftovers.length > 0 && this.sync) await syncDir(layer, this.path).catch(() => undefined);
    return file;
  }

  /**
   * Creates journal `gen` holding just its header (write-file-atomic, then
   * read back: its short-write hole must not go unnoticed) and opens it.
   */
  private async createJournal(gen: number): Promise<JournalFile> {
    const file = path.join(this.path, journalName(gen));
    const header = journalHeaderLine(gen);
    // Only ever replace a leftover of a failed rotation (a bare header), never changes.
    const existing = await this.layer.readFile(file).catch((error: unknown) => {
      if (hasCode(error, 'ENOENT')) return undefined;
      throw error;
    });
    if (existing !== undefined && existing.length > header.length) {
      throw new StorePersistError(`Expected journal ${file} not to exist yet, got one holding ${existing.length} bytes`);
    }
    await this.layer.writeFileAtomic(file, header, this.sync);
    const back = await this.layer.readFile(file);
    if (back.toString('utf8') !== header) {
      await this.layer.unlink(file).catch(() => undefined);
      throw new StorePersistError(`Could not create journal ${file}: expected ${header.length} bytes, read back ${back.length} (disk full?)`);
    }
    if (this.sync) await syncDir(this.layer, this.path);
    const { flags, dsync } = journalOpenFlags(this.sync);
    const fd = await this.layer.open(file, flags);
    return { path: file, gen, fd, size: back.length, dsync };
  }

  private changesThreshold(): number {
    return this.everyChanges ?? Math.max(100_000, this.state.byId.size);
  }

  /** Runs between journal groups: starts a rotation when one is due. */
  private maybeRotate(): Promise<void> | undefined {
    if (this.snapshotTask || this.closing || !this.writer || this.writer.dirty) return undefined;
    if (!this.force) {
      const due = this.changesSince >= this.changesThreshold() || this.bytesSince >= (this.everyBytes ?? Math.max(64 << 20, this.snapshotBytes));
      if (!due || this.changesSince < this.retryAt) return undefined;
    }
    return this.rotate(this.writer);
  }

  private async rotate(writer: JournalWriter): Promise<void> {
    this.force = false;
    // The state now = everything durable + every batch queued (they go to the
    // new journal, and replaying them over the snapshot changes nothing).
    const view = Array.from(this.state.values());
    const nextSeq = this.state.nextSeq;
    const upTo = writer.lastId;
    const failures = writer.failures;
    const old = writer.file;
    const gen = old.gen + 1;
    let file: JournalFile;
    try {
      file = await this.createJournal(gen);
    } catch (error) {
      this.rotateError = error;
      this.retryAt = this.changesSince + Math.min(this.changesThreshold(), 10_000);
      this.context?.warn(`Could not start journal generation ${gen} in ${this.path}: ${toError(error).message}; will retry later`);
      return;
    }
    writer.file = file;
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
    view: JobRecord[],
    nextSeq: number,
    upTo: number,
    failures: number,
  ): Promise<void> {
    const { tempPath, bytes } = await writeSnapshotTemp(this.layer, this.path, gen, view, { nextSeq, sync: this.sync });
    try {
      // The view included batches still queued then: commit the snapshot only
      // if they all became durable (a failed one was reverted in memory).
      await writer.settled(upTo);
      if (writer.failures !== failures) {
        throw new StorePersistError('a change captured by the snapshot failed to persist; snapshot dropped');
      }
      await this.layer.rename(tempPath, path.join(this.path, snapshotName(gen)));
    } catch (error) {
      await this.layer.unlink(tempPath).catch(() => undefined);
      throw error;
    }
    if (this.sync) await syncDir(this.layer, this.path);
    this.snapshotBytes = bytes;
    // Generation `gen` is complete on disk: the older ones are garbage now.
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
    try {
      await writer.drain();
      await this.snapshotTask;
      while (writer.busy) await writer.drain();
      this.writer = undefined;
      await this.layer.close(writer.file.fd).catch(() => undefined);
    } finally {
      this.closing = false;
      const lock = this.lock;
      this.lock = undefined;
      await lock?.release();
    }
  }
}

