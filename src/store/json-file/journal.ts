/**
 * The journal writer: one JSON line per committed batch, appended with
 * group commit.
 *
 * Group commit: `append` queues a line and returns a promise; one writer
 * loop takes everything queued, fills in the lines' checksums, writes them
 * with one positional write at the durable length (O_DSYNC where available,
 * else write + fdatasync), checks that the store still owns its files
 * (`hooks.verify`: the lock and the journal are still the ones it opened),
 * then resolves the whole group. Batches that arrive meanwhile form the next
 * group, so N concurrent writers share far fewer than N syncs.
 *
 * In-order durability: a batch resolves only after every earlier batch is
 * durable. When a write or sync fails, its group and every batch queued
 * behind it reject (LocalStore reverts them all), and the file is cut back
 * to the last durable length before anything else is written, so a failed
 * write never leaves half a line in the middle of the journal. If even that
 * cut fails, `hooks.repairFailed` starts a new journal whose header records
 * the durable length (the failed bytes are then never replayed); if that
 * fails too, the store stops writing (`halt`): every later batch rejects.
 */
import { constants } from 'node:fs';
import { StorePersistError, toError } from '../../errors.js';
import { fillCrcs } from './format.js';
import { PAGE } from './journal-read.js';
import { type FsLayer, writeAll } from './fs.js';

/** An open journal file. `size` is its durable length. */
export interface JournalFile {
  path: string;
  gen: number;
  fd: number;
  size: number;
  /** Opened with O_DSYNC: each write returns once durable, no separate fdatasync. */
  dsync: boolean;
  /** Identity of the file, to notice when its name no longer leads to it. */
  ino: number;
  dev: number;
}

/**
 * Flags to open a journal for appending. With `sync`, O_DSYNC where the
 * platform has it: write and sync become one request to the thread pool, so
 * the disk works while JavaScript prepares the next group.
 */
export function journalOpenFlags(sync: boolean): { flags: string | number; dsync: boolean } {
  const dsync = constants.O_DSYNC;
  if (sync && typeof dsync === 'number' && dsync !== 0) return { flags: constants.O_RDWR | dsync, dsync: true };
  return { flags: 'r+', dsync: false };
}

export interface JournalHooks {
  /** Runs before each group is written, with nothing in flight (rotation happens here). */
  beforeGroup(): Promise<void> | undefined;
  /**
   * Runs after each durable group write, before it is acknowledged: rejects
   * when the store no longer owns its files (it has halted the writer then).
   */
  verify(): Promise<void>;
  /** The cut after a failed write failed: fence the failed bytes off, or halt and reject. */
  repairFailed(cause: unknown): Promise<void>;
}

/** The rejection of a batch whose bytes were written before the store stopped: it may be found after a restart. */
function mayHaveHappened(stopped: StorePersistError, cause: unknown = stopped): StorePersistError {
  return new StorePersistError(`${stopped.message} This change was written before that, so it may have happened.`, { cause, outcomeUnknown: true });
}

/** Pending batches that start a group at once instead of at the end of the turn. */
const EAGER_GROUP = 128;

interface Pending {
  id: number;
  /** Lines' text, or one line's bytes in pieces, its checksum filled in (a big batch made in turns: format.batchPieces). */
  data: string | readonly Buffer[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Bytes (UTF-16 units) per group write, so one write never grows without bound. */
const MAX_GROUP = 8 << 20;

/** Bytes a write of a group's bytes in pieces holds, about (see pageAligned). */
const CHUNK = 1 << 20;

/**
 * `buffers`, to be written from file offset `at` on, as writes that each
 * end at a multiple of PAGE but the last. WHY: a crash keeps of a write that
 * was not durable nothing, all of it, or a prefix ending at a page boundary
 * (fs.ts), and recovery drops a torn tail only when it ends at one
 * (journal-read.ts). One line written in several writes, cut by a crash
 * between two of them, must look the same: the simulation's first run of a
 * re-base in pieces found tails "ending at byte 4276" that recovery refused.
 * One buffer is written as it is; several are copied into ~1 MiB writes.
 */
function pageAligned(buffers: readonly Buffer[], at: number): readonly Buffer[] {
  if (buffers.length <= 1) return buffers;
  const total = byteLength(buffers);
  const out: Buffer[] = [];
  let piece = 0;
  let offset = 0;
  let done = 0;
  while (done < total) {
    const end = Math.min(at + total, Math.ceil((at + done + CHUNK) / PAGE) * PAGE);
    const write = Buffer.allocUnsafe(end - at - done);
    let filled = 0;
    while (filled < write.length) {
      const from = buffers[piece] as Buffer;
      const n = from.copy(write, filled, offset, Math.min(from.length, offset + write.length - filled));
      filled += n;
      offset += n;
      if (offset === from.length) {
        piece++;
        offset = 0;
      }
    }
    out.push(write);
    done += write.length;
  }
  return out;
}

/** Length of a line given to `append`: its bytes, or its text's UTF-16 units. */
export function byteLength(data: string | readonly Buffer[]): number {
  if (typeof data === 'string') return data.length;
  let n = 0;
  for (const piece of data) n += piece.length;
  return n;
}

/**
 * The buffers a group writes, in order: runs of texts joined and made bytes
 * once, checksums filled in; a batch already in pieces as it is.
 */
function groupBuffers(group: readonly Pending[]): Buffer[] {
  const out: Buffer[] = [];
  let text = '';
  const flush = (): void => {
    if (text.length === 0) return;
    const buffer = Buffer.from(text);
    fillCrcs(buffer);
    out.push(buffer);
    text = '';
  };
  for (const { data } of group) {
    if (typeof data === 'string') text = text.length === 0 ? data : text + data;
    else {
      flush();
      out.push(...data);
    }
  }
  flush();
  return out;
}

export class JournalWriter {
  file: JournalFile;
  /** Durable group writes made (group commit tests and benches read it). */
  syncs = 0;
  /** Failed groups so far. */
  failures = 0;
  /** Id of the last queued batch. */
  lastId = 0;
  /** Every batch with an id up to this one is settled (durable or rejected). */
  settledId = 0;
  private queue: Pending[] = [];
  private running = false;
  /** The deferred start of a run, while one is pending. */
  private starter: NodeJS.Immediate | undefined;
  /**
   * Set from a failure until the failed batches are reverted: a batch
   * applied meanwhile sits on top of them, and LocalStore reverts it too, so
   * it must fail rather than become durable.
   */
  private failing: StorePersistError | undefined;
  /**
   * Batches rejected by the current failure whose revert LocalStore has not
   * reported yet (endFailure). Their rejections reach LocalStore one by one:
   * the window stays shut until the last is reverted, or a batch applied in
   * between would sit on a failed batch not yet undone (found by the
   * simulation: it became durable, then was reverted in memory).
   */
  private unreverted = 0;
  /** Set for good when the store stopped writing: every batch rejects with it. */
  private halted: StorePersistError | undefined;
  private needsRepair = false;
  private waiters: { id: number; resolve: () => void }[] = [];
  private idle: (() => void)[] = [];

  constructor(
    private readonly layer: FsLayer,
    file: JournalFile,
    private readonly sync: boolean,
    private readonly hooks: JournalHooks,
  ) {
    this.file = file;
  }

  /** Queues one line (with its newline; '' to just wait for what is ahead), as text or as bytes. Resolves once durable. */
  append(data: string | readonly Buffer[]): Promise<void> {
    // A batch applied before LocalStore reverted the failed ones may depend
    // on them: it fails too.
    const refusal = this.halted ?? this.failing;
    if (refusal) {
      if (!this.halted) this.unreverted++;
      return Promise.reject(refusal);
    }
    return new Promise<void>((resolve, reject) => {
      const id = ++this.lastId;
      this.queue.push({ id, data, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Start after the current turn's callbacks, so the batches they
        // append join one group; but when many arrive at once, start as soon
        // as EAGER_GROUP are in, so the disk works while the rest are prepared.
        this.starter = setImmediate(() => this.start());
      } else if (this.starter && this.queue.length >= EAGER_GROUP) {
        queueMicrotask(() => this.start());
      }
    });
  }

  /**
   * Ends the failure window: the batches rejected by the last failure have
   * been reverted in memory, so new batches no longer depend on them.
   */
  endFailure(): void {
    if (this.unreverted > 0) this.unreverted--;
    if (this.unreverted === 0) this.failing = undefined;
  }

  /** Stops writing for good: every queued and later batch rejects with `error`. */
  halt(error: StorePersistError): void {
    if (this.halted) return;
    this.halted = error;
    const queued = this.queue;
    this.queue = [];
    this.settle(queued, error);
  }

  /** Why the writer stopped for good, if it did. */
  get haltedBy(): StorePersistError | undefined {
    return this.halted;
  }

  /** Resolves when nothing is queued or being written. */
  drain(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Resolves when every batch up to `id` is settled. */
  settled(id: number): Promise<void> {
    if (this.settledId >= id) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ id, resolve }));
  }

  /** True while a group is queued or being written. */
  get busy(): boolean {
    return this.running || this.queue.length > 0;
  }

  /** True when the file may hold bytes past its durable length. */
  get dirty(): boolean {
    return this.needsRepair;
  }

  private start(): void {
    if (!this.starter) return;
    clearImmediate(this.starter);
    this.starter = undefined;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.halted) {
        const group = this.takeGroup();
        // Rotation happens here, with the group already taken: whatever was
        // appended before this point goes to the new journal (the rotation's
        // view includes it), so a forced snapshot cannot be overtaken.
        // A failed rotation is the store's business (it warns and retries
        // later); it never fails the group. No await unless one is due: the
        // write must reach the thread pool before the callers just resolved
        // run their continuations.
        const rotating = this.hooks.beforeGroup();
        if (rotating) await rotating.catch(() => undefined);
        if (this.halted) {
          this.settle(group, this.halted);
          break;
        }
        /** The group's bytes may have reached the file. */
        let attempted = false;
        try {
          if (this.needsRepair) await this.repair();
          const buffers = groupBuffers(group);
          if (buffers.length > 0) {
            if (this.sync) this.syncs++;
            attempted = true;
            let written = 0;
            for (const buffer of pageAligned(buffers, this.file.size)) {
              await writeAll(this.layer, this.file.fd, buffer, this.file.size + written);
              written += buffer.length;
            }
            if (this.sync && !this.file.dsync) await this.layer.fdatasync(this.file.fd);
            // Durable, but not ours to acknowledge if the store lost its
            // files meanwhile (its verify halts the writer and rejects).
            await this.hooks.verify();
            this.file.size += written;
          }
          this.settle(group, undefined);
        } catch (cause) {
          if (this.halted) {
            // Lost the store: the bytes may be in a file someone else owns
            // now; never touch it again.
            this.settle(group, attempted ? mayHaveHappened(this.halted) : this.halted);
            break;
          }
          this.failures++;
          this.needsRepair = true;
          const error = new StorePersistError(`Could not append to journal ${this.file.path}: ${toError(cause).message}`, {
            cause,
          });
          // Batches appended meanwhile sit on top of the failed ones: refused.
          this.failing = error;
          const behind = this.queue;
          this.queue = [];
          this.unreverted += group.length + behind.length;
          // Cut the failed write off first (so the next group can go ahead),
          // then reject: if it could not be cut off, the rejection says the
          // change may have happened.
          await this.repair().catch(() => undefined);
          const halted = this.halted as StorePersistError | undefined;
          this.settle(group, halted ? mayHaveHappened(halted, cause) : error);
          this.settle(behind, halted ?? error);
          // Normally ended by endFailure() once LocalStore reverted the failed
          // batches; this is only a safety net.
          setImmediate(() => {
            if (this.failing === error && this.unreverted === 0) this.failing = undefined;
          });
        }
      }
    } finally {
      this.running = false;
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
    }
  }

  private takeGroup(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || bytes < MAX_GROUP)) {
      bytes += byteLength((this.queue[n] as Pending).data);
      n++;
    }
    return n === this.queue.length ? this.queue.splice(0) : this.queue.splice(0, n);
  }

  private settle(group: Pending[], error: StorePersistError | undefined): void {
    const last = group[group.length - 1];
    if (last && last.id > this.settledId) this.settledId = last.id;
    for (const p of group) {
      if (error) p.reject(error);
      else p.resolve();
    }
    if (this.waiters.length > 0) {
      const ready = this.waiters.filter((w) => w.id <= this.settledId);
      this.waiters = this.waiters.filter((w) => w.id > this.settledId);
      for (const w of ready) w.resolve();
    }
  }

  /** Cuts the journal back to its durable length; if that fails, lets the store fence or halt. */
  private async repair(): Promise<void> {
    try {
      await this.layer.ftruncate(this.file.fd, this.file.size);
      if (this.sync) await this.layer.fdatasync(this.file.fd);
    } catch (cause) {
      await this.hooks.repairFailed(cause);
    }
    this.needsRepair = false;
  }
}
