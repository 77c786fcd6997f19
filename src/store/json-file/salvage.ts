/**
 * `JsonFileStore.salvage(dir)`: the way out of StoreCorruptError. Reads the
 * newest snapshot and every journal after it leniently (a line whose
 * checksum or JSON is wrong is dropped and reported; everything else is
 * kept), writes the result as a new generation (snapshot + empty journal),
 * and moves every file it replaced into `salvaged-<time>/` in the store
 * folder: nothing is deleted, and a person can still dig through the
 * damaged files.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { SystemClock } from '../../clock.js';
import { StorePersistError, ValidationError, toError } from '../../errors.js';
import type { JobRecord } from '../store.js';
import {
  JOBS_OPEN,
  KEEP_PAYLOAD,
  READABLE_VERSIONS,
  type ReplayMap,
  SALVAGED_PREFIX,
  SNAPSHOT_FOOTER,
  applyLine,
  checkCrc,
  journalHeaderLine,
  journalName,
  recordProblem,
  snapshotName,
  tempName,
} from './format.js';
import { type FsLayer, createFile, hasCode, syncDir } from './fs.js';
import { PAGE, tornByCrash } from './journal-read.js';
import { DirLock } from './lock.js';
import { listFolder } from './recover.js';
import { type Line, scanLines } from './reader.js';
import { writeSnapshotTemp } from './snapshot.js';

/** One stretch of a file that salvage did not keep. */
export interface SalvageDrop {
  file: string;
  /** Byte offset of the dropped line (or tail) in `file`. */
  offset: number;
  bytes: number;
  /** What was wrong with it. */
  reason: string;
  /** Ids of the jobs it seems to concern, as far as they can still be read. */
  ids: string[];
}

/** What `JsonFileStore.salvage` did. */
export interface SalvageReport {
  dir: string;
  /** Jobs in the rebuilt store. */
  kept: number;
  /** Every line or tail that was not kept, in the order read. */
  dropped: SalvageDrop[];
  /** The folder the replaced files were moved to (none when there were none). */
  movedTo: string | undefined;
  /** Generation of the new snapshot and journal. */
  generation: number;
}

const JOB_OPEN = '{"job":';

/** Ids a damaged line seems to name. */
function idsIn(text: string): string[] {
  const ids = new Set<string>();
  for (const m of text.matchAll(/"id":"((?:[^"\\]|\\.)*)"/g)) {
    try {
      ids.add(JSON.parse(`"${m[1] as string}"`) as string);
    } catch {
      // unreadable id
    }
  }
  return [...ids];
}

export async function salvage(layer: FsLayer, dir: string, sync: boolean): Promise<SalvageReport> {
  let isDirectory = false;
  try {
    isDirectory = (await layer.stat(dir)).isDirectory;
  } catch (error) {
    if (!hasCode(error, 'ENOENT')) throw new StorePersistError(`Could not read store folder ${dir}: ${toError(error).message}`, { cause: error });
  }
  if (!isDirectory) throw new ValidationError(`Expected \`dir\` to be a JsonFileStore folder, got ${dir}, which is not a folder`);
  const { lock } = await DirLock.acquire(layer, dir, { clock: new SystemClock(), staleLockMs: 30_000, sync });
  try {
    return await rebuild(layer, dir, sync);
  } catch (error) {
    if (error instanceof StorePersistError || error instanceof ValidationError) throw error;
    throw new StorePersistError(`Could not salvage store ${dir}: ${toError(error).message}`, { cause: error });
  } finally {
    await lock.release();
  }
}

async function rebuild(layer: FsLayer, dir: string, sync: boolean): Promise<SalvageReport> {
  const listing = listFolder(await layer.readdir(dir));
  const dropped: SalvageDrop[] = [];
  const drop = (file: string, offset: number, bytes: number, reason: string, text = ''): void => {
    dropped.push({ file, offset, bytes, reason, ids: idsIn(text) });
  };
  const snapshotGen = listing.snapshots[listing.snapshots.length - 1] ?? 0;
  const records: ReplayMap = new Map();
  let storeId: string | undefined;
  if (snapshotGen > 0) storeId = await readSnapshotLeniently(layer, path.join(dir, snapshotName(snapshotGen)), records, drop);
  const chain = listing.journals.filter((g) => g >= Math.max(snapshotGen, 1));
  const heads = new Map<number, { version: number; prev: number | undefined; store: string | undefined }>();
  for (const gen of chain) {
    const head = await readHeadLeniently(layer, path.join(dir, journalName(gen)));
    if (head) heads.set(gen, head);
    storeId ??= head?.store;
  }
  for (let i = 0; i < chain.length; i++) {
    const gen = chain[i] as number;
    // Each generation missing between this journal and the one before it (none before the first).
    for (let missing = i === 0 ? gen : (chain[i - 1] as number) + 1; missing < gen; missing++) {
      drop(path.join(dir, journalName(missing)), 0, 0, `journal generation ${missing} is missing`);
    }
    const next = chain[i + 1] === gen + 1 ? heads.get(gen + 1) : undefined;
    await readJournalLeniently(layer, path.join(dir, journalName(gen)), heads.get(gen)?.version, next?.prev, records, drop);
  }
  const kept: JobRecord[] = [];
  for (const [id, record] of records) {
    if (record === null) continue;
    if (record.payload === KEEP_PAYLOAD) {
      drop('', 0, 0, `job \`${id}\` was changed after a line that created it was dropped`, `"id":${JSON.stringify(id)}`);
      continue;
    }
    kept.push(record);
  }
  let nextSeq = 1;
  for (const r of kept) if (r.seq >= nextSeq) nextSeq = r.seq + 1;

  const id = storeId ?? randomBytes(12).toString('base64url');
  const gen = Math.max(0, ...listing.snapshots, ...listing.journals) + 1;
  const snapshot = await writeSnapshotTemp(layer, dir, gen, kept, {
    nextSeq,
    storeId: id,
    nonce: randomBytes(6).toString('base64url'),
    sync,
    createdAt: new Date().toISOString(),
  });
  try {
    await layer.link(snapshot.tempPath, path.join(dir, snapshotName(gen)));
  } finally {
    await layer.unlink(snapshot.tempPath).catch(() => undefined);
  }
  const header = Buffer.from(journalHeaderLine({ store: id, generation: gen }));
  await createFile(layer, path.join(dir, tempName(journalName(gen), id, randomBytes(6).toString('base64url'))), path.join(dir, journalName(gen)), header, sync);
  if (sync) await syncDir(layer, dir);

  // The new generation is complete: move the files it replaces aside.
  const old = [
    ...listing.snapshots.map(snapshotName),
    ...listing.journals.map(journalName),
    ...listing.temps.filter((t) => t.store === storeId).map((t) => t.name),
  ];
  let movedTo: string | undefined;
  if (old.length > 0) {
    movedTo = path.join(dir, `${SALVAGED_PREFIX}${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`);
    await layer.mkdir(movedTo);
    for (const name of old) await layer.rename(path.join(dir, name), path.join(movedTo, name));
    if (sync) {
      await syncDir(layer, movedTo);
      await syncDir(layer, dir);
    }
  }
  return { dir, kept: kept.length, dropped, movedTo, generation: gen };
}

type Drop = (file: string, offset: number, bytes: number, reason: string, text?: string) => void;

/** Every intact job line of a snapshot (version 1 or 2, damaged header or not); returns its store id if readable. */
async function readSnapshotLeniently(layer: FsLayer, file: string, records: ReplayMap, drop: Drop): Promise<string | undefined> {
  let first = true;
  let store: string | undefined;
  const onLine = (line: Line): void => {
    const text = line.text();
    if (first) {
      first = false;
      try {
        const h = JSON.parse(`${text}${SNAPSHOT_FOOTER}`) as { godelayq?: unknown; store?: unknown; version?: unknown };
        const intact = h.version === 1 || typeof checkCrc(Buffer.from(`${text.slice(0, -JOBS_OPEN.length)}}`), 0, Buffer.byteLength(text) - JOBS_OPEN.length + 1) === 'number';
        if (h.godelayq === 'snapshot' && text.endsWith(JOBS_OPEN) && intact) {
          if (typeof h.store === 'string') store = h.store;
          return;
        }
      } catch {
        // reported below
      }
      drop(file, line.offset, line.length + 1, 'damaged snapshot header (the job lines were still read)', '');
      if (!text.startsWith(JOB_OPEN) && !text.startsWith('{"id"')) return;
    }
    if (text === SNAPSHOT_FOOTER) return;
    const end = line.byte(line.length - 1) === 0x2c ? line.end - 1 : line.end;
    let value: unknown;
    let problem: string | undefined;
    if (text.startsWith(JOB_OPEN)) {
      const checked = checkCrc(line.block, line.start, end);
      if (typeof checked === 'string') problem = checked;
      else value = parse(line.text(line.start + JOB_OPEN.length, checked));
    } else value = parse(line.text(line.start, end));
    problem ??= value === undefined ? 'not JSON' : recordProblem(value);
    if (problem) {
      drop(file, line.offset, line.length + 1, problem, text);
      return;
    }
    const record = value as JobRecord;
    records.set(record.id, record);
  };
  const scan = await scanLines(layer, file, onLine);
  if (scan.tail.length > 0) drop(file, scan.tailOffset, scan.tail.length, 'unterminated last line', scan.tail.toString('utf8'));
  return store;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function readHeadLeniently(
  layer: FsLayer,
  file: string,
): Promise<{ version: number; prev: number | undefined; store: string | undefined } | undefined> {
  let head: { version: number; prev: number | undefined; store: string | undefined } | undefined;
  await scanLines(
    layer,
    file,
    (line) => {
      if (head !== undefined || line.offset !== 0) return;
      const h = parse(line.text()) as { godelayq?: unknown; version?: unknown; prev?: unknown; store?: unknown } | undefined;
      if (h?.godelayq !== 'journal' || typeof h.version !== 'number' || !READABLE_VERSIONS.includes(h.version)) return;
      if (h.version >= 2 && typeof checkCrc(line.block, line.start, line.end) === 'string') return;
      head = { version: h.version, prev: typeof h.prev === 'number' ? h.prev : undefined, store: typeof h.store === 'string' ? h.store : undefined };
    },
    { limit: 64 << 10 },
  ).catch(() => undefined);
  return head;
}

/** Applies every intact change line of a journal; drops the rest. */
async function readJournalLeniently(
  layer: FsLayer,
  file: string,
  version: number | undefined,
  end: number | undefined,
  records: ReplayMap,
  drop: Drop,
): Promise<void> {
  const v1 = version === 1;
  const onLine = (line: Line): void => {
    const text = line.text();
    if (line.offset === 0) {
      if (version === undefined) drop(file, 0, line.length + 1, 'damaged journal header (the change lines were still read)', '');
      return;
    }
    if (!v1) {
      const checked = checkCrc(line.block, line.start, line.end);
      if (typeof checked === 'string') {
        drop(file, line.offset, line.length + 1, checked, text);
        return;
      }
    }
    const value = parse(text);
    const problem = value === undefined ? 'not JSON' : applyLine(records, value, v1);
    if (problem) drop(file, line.offset, line.length + 1, problem, text);
  };
  const scan = await scanLines(layer, file, onLine, end === undefined ? {} : { limit: end });
  if (scan.tail.length > 0) {
    const torn = end === undefined && tornByCrash(scan.tailOffset, scan.tail);
    drop(
      file,
      scan.tailOffset,
      scan.tail.length,
      torn ? `a write torn by a crash (never acknowledged; ends at a ${PAGE}-byte boundary)` : 'unterminated line',
      scan.tail.toString('utf8'),
    );
  }
  if (end !== undefined && scan.fileSize > end) {
    drop(file, end, scan.fileSize - end, 'bytes after the length recorded by the next journal (never acknowledged)', '');
  }
  if (end !== undefined && scan.fileSize < end) {
    drop(file, scan.fileSize, end - scan.fileSize, `the file is ${end - scan.fileSize} bytes shorter than the next journal recorded (cut off)`, '');
  }
}
