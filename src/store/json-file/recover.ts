/**
 * Recovery: what `open` reads. Finds the newest snapshot and the chain of
 * journals after it, checks the chain is whole and belongs to one store,
 * loads the snapshot and replays every journal up to the end its successor
 * recorded. Reads only: the caller decides what to write.
 */
import path from 'node:path';
import { StoreCorruptError } from '../../errors.js';
import type { JobRecord } from '../store.js';
import { type FileKind, KEEP_PAYLOAD, type ReplayMap, classify, journalName, snapshotName } from './format.js';
import type { FsLayer } from './fs.js';
import { type JournalHead, type PendingPayloads, readJournal, readJournalHead } from './journal-read.js';
import type { LockContent } from './lock.js';
import { readSnapshot } from './snapshot.js';
import { ColdJobs } from '../cold-jobs.js';

/** The names in a store folder, sorted by what they are. */
export interface FolderListing {
  snapshots: number[];
  journals: number[];
  /** Temp files of ours, by the store id in their name. */
  temps: { name: string; store: string }[];
  lockTemps: { name: string; pid: number }[];
  /** Names that look like ours but that this store did not write (left alone, with a warning). */
  lookalikes: string[];
  /** Everything else (not a store file). */
  others: string[];
}

export function listFolder(names: readonly string[]): FolderListing {
  const out: FolderListing = { snapshots: [], journals: [], temps: [], lockTemps: [], lookalikes: [], others: [] };
  for (const name of names) {
    const kind: FileKind = classify(name);
    if (kind.kind === 'snapshot') out.snapshots.push(kind.gen);
    else if (kind.kind === 'journal') out.journals.push(kind.gen);
    else if (kind.kind === 'temp') out.temps.push({ name, store: kind.store });
    else if (kind.kind === 'lockTemp') out.lockTemps.push({ name, pid: kind.pid });
    else if (kind.kind === 'lookalike') out.lookalikes.push(name);
    else if (kind.kind === 'other') out.others.push(name);
  }
  out.snapshots.sort((a, b) => a - b);
  out.journals.sort((a, b) => a - b);
  return out;
}

export interface LastJournal {
  path: string;
  gen: number;
  head: JournalHead;
  /** Bytes of complete lines (a torn tail after them is not the store's). */
  validLength: number;
  size: number;
}

export interface Recovered {
  records: JobRecord[];
  /** With `cold`: the snapshot's plain scheduled jobs, left as bytes (cold-jobs.ts), not in `records`. */
  cold: ColdJobs | undefined;
  /** The store's identity from its version-2 headers (undefined: a version-1 or new store). */
  storeId: string | undefined;
  snapshotGen: number;
  snapshotBytes: number;
  last: LastJournal | undefined;
  /** Change lines and bytes in the journals since the snapshot. */
  changes: number;
  bytes: number;
  /** Notices for the caller to pass on. */
  warnings: string[];
  /** Superseded generations (a snapshot finished but their removal did not). */
  obsolete: string[];
}

/**
 * Reads the store in `dir`. `previous` is what a stale LOCK said: its
 * recorded durable journal length must be there. Any damage is
 * StoreCorruptError; nothing is written. `live`: another process may be
 * appending to the last journal (inspection), so its unterminated tail is
 * not damage.
 */
export async function recover(
  layer: FsLayer,
  dir: string,
  listing: FolderListing,
  previous: LockContent | undefined,
  options: { live?: boolean; cold?: boolean } = {},
): Promise<Recovered> {
  const { snapshots, journals } = listing;
  const snapshotGen = snapshots[snapshots.length - 1] ?? 0;
  const first = Math.max(snapshotGen, 1);
  const chain = journals.filter((g) => g >= first);
  const obsolete = [...snapshots.filter((g) => g < snapshotGen).map(snapshotName), ...journals.filter((g) => g < first).map(journalName)];
  // The chain must start at the snapshot's generation (or 1) and have no gaps.
  for (let i = 0; i < chain.length; i++) {
    if (chain[i] !== first + i) {
      const missing = path.join(dir, journalName(first + i));
      throw new StoreCorruptError(missing, 0, `expected journal generation ${first + i} to exist (found ${chain.join(', ')}), got none`);
    }
  }
  if (snapshotGen > 0 && chain.length === 0) {
    throw new StoreCorruptError(path.join(dir, journalName(snapshotGen)), 0, 'expected the journal of the newest snapshot, got none');
  }
  const heads: JournalHead[] = [];
  for (const gen of chain) heads.push(await readJournalHead(layer, path.join(dir, journalName(gen)), gen));
  let storeId: string | undefined;
  let idFrom = '';
  const sameStore = (id: string | undefined, file: string): void => {
    if (id === undefined) return;
    if (storeId === undefined) {
      storeId = id;
      idFrom = file;
    } else if (id !== storeId) {
      throw new StoreCorruptError(file, 0, `expected store id ${storeId} (as in ${idFrom}), got ${id}: the file belongs to another store`);
    }
  };
  chain.forEach((gen, i) => sameStore(heads[i]?.store, path.join(dir, journalName(gen))));

  // The snapshot goes to an array, the journals' changes to a small map:
  // a million-entry map built here and again in LocalState costs seconds.
  const base: JobRecord[] = [];
  const cold = options.cold === true ? new ColdJobs() : undefined;
  let snapshotBytes = 0;
  if (snapshotGen > 0) {
    const file = path.join(dir, snapshotName(snapshotGen));
    const info = await readSnapshot(
      layer,
      file,
      snapshotGen,
      (r) => {
        base.push(r);
      },
      cold,
    );
    sameStore(info.store, file);
    snapshotBytes = info.bytes;
  }
  const changed: ReplayMap = new Map();
  const pending: PendingPayloads = new Map();
  const warnings: string[] = [];
  let changes = 0;
  let bytes = 0;
  let last: LastJournal | undefined;
  for (let i = 0; i < chain.length; i++) {
    const gen = chain[i] as number;
    const file = path.join(dir, journalName(gen));
    const head = heads[i] as JournalHead;
    const isLast = i === chain.length - 1;
    const next = heads[i + 1];
    const minLength = isLast && previous?.sync && previous.journal === gen ? previous.length : undefined;
    const result = await readJournal(layer, file, gen, changed, { head, end: next?.prev, last: isLast, minLength, pending, live: options.live === true });
    changes += result.lines;
    bytes += result.validLength;
    if (result.ignored > 0) {
      warnings.push(
        `Ignored ${result.ignored} bytes at the end of ${file} (after byte ${result.validLength}, its length when generation ${gen + 1} ` +
          'was started): a write that failed, or one made by a process that had lost the store; it was never acknowledged',
      );
    }
    if (result.torn > 0) {
      warnings.push(
        `Dropped the torn last write of ${file} (${result.torn} bytes at offset ${result.validLength}): ` +
          'a crash interrupted it, so it was never acknowledged',
      );
    }
    if (isLast) last = { path: file, gen, head, validLength: result.validLength, size: result.size };
  }
  return { records: merge(base, changed, pending, cold), cold, storeId, snapshotGen, snapshotBytes, last, changes, bytes, warnings, obsolete };
}

/**
 * The snapshot's records overlaid with the journals' changes, in place (no
 * second million-entry array). A job changed by an `upd` line takes its
 * payload from the snapshot's version. A cold job the journals changed
 * leaves `cold` (its payload read from its text when an `upd` kept it).
 */
function merge(base: JobRecord[], changed: ReplayMap, pending: PendingPayloads, cold: ColdJobs | undefined): JobRecord[] {
  if (changed.size === 0) return base;
  if (cold !== undefined && cold.size > 0) {
    for (const [id, now] of changed) {
      const was = cold.take(id);
      if (was === undefined || now === null || now.payload !== KEEP_PAYLOAD) continue;
      now.payload = was.payload;
      pending.delete(id);
    }
  }
  let kept = 0;
  for (const record of base) {
    const now = changed.get(record.id);
    if (now === undefined) base[kept++] = record;
    else if (now !== null && now.payload === KEEP_PAYLOAD) {
      now.payload = record.payload;
      pending.delete(record.id);
    }
  }
  base.length = kept;
  for (const [id, where] of pending) {
    throw new StoreCorruptError(where.file, where.offset, `expected job \`${id}\` (changed by this upd line) to exist before it, got none`);
  }
  for (const record of changed.values()) if (record) base.push(record);
  return base;
}
