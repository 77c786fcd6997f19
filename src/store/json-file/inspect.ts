/**
 * Read-only inspection of a JsonFileStore folder (the `godelayq` command's
 * `jobs`, `show` and `stats`), safe beside the process that holds the store:
 * it takes no lock and writes nothing (every call goes through a file-system
 * layer that refuses anything but reading), and it reads with recovery's own
 * readers (recover.ts), checksums included.
 *
 * What differs from `open`: the last journal may be being appended to, so an
 * unterminated tail is not judged, just left out, and the result says up to
 * which byte of which journal it read. A rotation running meanwhile (a new
 * snapshot linked, older generations removed) can remove a file between the
 * listing and its read: the read then starts over, a few times at most. So
 * does a read that took in bytes a newer journal's header has since cut off
 * (a failed write being fenced). Any other damage is StoreCorruptError.
 */
import path from 'node:path';
import { StoreCorruptError, StorePersistError, ValidationError, toError } from '../../errors.js';
import type { JobRecord } from '../store.js';
import { LOCK_NAME, journalName, snapshotName } from './format.js';
import { type FsLayer, hasCode, nodeFs } from './fs.js';
import { readJournalHead } from './journal-read.js';
import { parseLock } from './lock.js';
import { listFolder, recover } from './recover.js';

/** Up to where the journals were read. */
export interface InspectReadPoint {
  /** File name of the last journal (in the store folder). */
  journal: string;
  generation: number;
  /** Bytes of complete, checksummed lines read from it: the state shown is the one at this byte. */
  offset: number;
  /** Its size when it was read. */
  size: number;
  /** Unterminated bytes after `offset` (a write in progress, or a crash's torn write), not read. */
  tailBytes: number;
}

/** What the LOCK file says (not checked: its holder may be gone). */
export interface InspectLock {
  pid: number;
  host: string;
  /** When it was taken (ISO), as recorded. */
  since: string;
  /** Last heartbeat (epoch ms by the holder's clock), when recorded. */
  beat: number | undefined;
}

/** The result of `inspectStore`. */
export interface StoreInspection {
  dir: string;
  /** Every job, in no particular order. */
  records: JobRecord[];
  storeId: string | undefined;
  /** The snapshot read (undefined: none yet). */
  snapshot: { file: string; generation: number; bytes: number } | undefined;
  readPoint: InspectReadPoint | undefined;
  /** Change lines replayed from the journals. */
  changes: number;
  /** What recovery would warn about (a torn tail, ignored bytes). */
  warnings: string[];
  /** The LOCK file's holder, or undefined when there is no (readable) LOCK. */
  lock: InspectLock | undefined;
  /** Bytes read, and how many times the read started over because of a rotation. */
  bytesRead: number;
  restarts: number;
}

/** Options of `inspectStore`. */
export interface InspectOptions {
  /** The file-system layer (reads only go through). @default the real file system */
  fs?: FsLayer;
  /** Called as bytes are read, with the total to read (for a progress bar). */
  onProgress?: (read: number, total: number) => void;
  /** Reads started before giving up while rotations keep removing files. @default 5 */
  attempts?: number;
}

function refuse(call: string): Promise<never> {
  return Promise.reject(new Error(`store inspection is read-only: \`${call}\` refused`));
}

/** Wraps `layer`: opens for reading only, counts the bytes read, refuses every other call. */
export function readOnlyFs(layer: FsLayer, onRead: (bytes: number) => void = () => undefined): FsLayer {
  return {
    open: (file, flags) => (flags === 'r' || flags === 0 ? layer.open(file, 'r') : refuse(`open(${String(flags)})`)),
    close: (fd) => layer.close(fd),
    read: async (fd, buffer, offset, length, position) => {
      const n = await layer.read(fd, buffer, offset, length, position);
      onRead(n);
      return n;
    },
    fstat: (fd) => layer.fstat(fd),
    stat: (file) => layer.stat(file),
    readdir: (dir) => layer.readdir(dir),
    readFile: (file) => layer.readFile(file),
    write: () => refuse('write'),
    fsync: () => refuse('fsync'),
    fdatasync: () => refuse('fdatasync'),
    ftruncate: () => refuse('ftruncate'),
    mkdir: () => refuse('mkdir'),
    rename: () => refuse('rename'),
    link: () => refuse('link'),
    unlink: () => refuse('unlink'),
  };
}

/** A file of the listing vanished (a rotation removed it): worth another try. */
class Vanished extends Error {}

/**
 * Reads the store in `dir` without taking its lock and without writing.
 * Rejects with ValidationError when `dir` is not a store folder,
 * StoreCorruptError on damage, StorePersistError when it cannot be read.
 * @example
 * const { records, readPoint } = await inspectStore('./var/jobs');
 */
export async function inspectStore(dir: string, options: InspectOptions = {}): Promise<StoreInspection> {
  if (typeof dir !== 'string' || dir === '') throw new ValidationError(`Expected \`dir\` to be a directory path, got ${JSON.stringify(dir)}`);
  const root = path.resolve(dir);
  let bytesRead = 0;
  const layer = readOnlyFs(options.fs ?? nodeFs, (n) => {
    bytesRead += n;
    options.onProgress?.(bytesRead, total);
  });
  let total = 0;
  const attempts = options.attempts ?? 5;
  for (let attempt = 0; ; attempt++) {
    try {
      bytesRead = 0;
      const result = await readOnce(layer, root, (bytes) => {
        total = bytes;
      });
      return { ...result, bytesRead, restarts: attempt };
    } catch (error) {
      if (!(error instanceof Vanished) || attempt + 1 >= attempts) {
        if (error instanceof Vanished) {
          throw new StorePersistError(`Could not read store ${root}: its files kept changing under ${attempts} reads (${error.message})`);
        }
        throw error;
      }
    }
  }
}

async function readOnce(layer: FsLayer, dir: string, sized: (bytes: number) => void): Promise<Omit<StoreInspection, 'bytesRead' | 'restarts'>> {
  let names: string[];
  try {
    if (!(await layer.stat(dir)).isDirectory) throw new ValidationError(`Expected a JsonFileStore folder, got ${dir}, which is a file`);
    names = await layer.readdir(dir);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    if (hasCode(error, 'ENOENT')) throw new ValidationError(`Expected a JsonFileStore folder, got ${dir}, which does not exist`);
    throw new StorePersistError(`Could not read store folder ${dir}: ${toError(error).message}`, { cause: error });
  }
  const listing = listFolder(names);
  if (listing.journals.length === 0 && listing.snapshots.length === 0) {
    throw new ValidationError(`Expected a JsonFileStore folder, got ${dir}, which holds no journal or snapshot file`);
  }
  const snapshotGen = listing.snapshots.at(-1) ?? 0;
  const chain = listing.journals.filter((g) => g >= Math.max(snapshotGen, 1));
  const files = [...(snapshotGen > 0 ? [snapshotName(snapshotGen)] : []), ...chain.map(journalName)];
  let bytes = 0;
  try {
    for (const name of files) bytes += (await layer.stat(path.join(dir, name))).size;
    sized(bytes);
    const recovered = await recover(layer, dir, listing, undefined, { live: true });
    const last = recovered.last;
    if (last) {
      // A newer journal started meanwhile may record that this one ends
      // before what was read (a failed write fenced off): read again.
      const next = path.join(dir, journalName(last.gen + 1));
      const head = await readJournalHead(layer, next, last.gen + 1).catch((error: unknown) => {
        if (hasCode(error, 'ENOENT')) return undefined;
        throw error;
      });
      if (head?.prev !== undefined && head.prev < last.validLength) throw new Vanished(`${next} was started at byte ${head.prev} of ${last.path}`);
    }
    return {
      dir,
      records: recovered.records,
      storeId: recovered.storeId,
      snapshot: snapshotGen > 0 ? { file: snapshotName(snapshotGen), generation: snapshotGen, bytes: recovered.snapshotBytes } : undefined,
      readPoint: last && {
        journal: path.basename(last.path),
        generation: last.gen,
        offset: last.validLength,
        size: last.size,
        tailBytes: last.size - last.validLength,
      },
      changes: recovered.changes,
      warnings: recovered.warnings,
      lock: await readLock(layer, dir),
    };
  } catch (error) {
    // A file gone, or a chain that no longer adds up, is a rotation at work
    // when the folder's listing changed meanwhile: read again.
    if ((hasCode(error, 'ENOENT') || error instanceof StoreCorruptError) && (await listingChanged(layer, dir, names))) {
      throw new Vanished(toError(error).message);
    }
    throw error;
  }
}

async function listingChanged(layer: FsLayer, dir: string, before: readonly string[]): Promise<boolean> {
  const now = await layer.readdir(dir).catch(() => []);
  const key = (list: readonly string[]): string => [...list].filter((n) => /^(?:journal|snapshot)-\d+\.jsonl?$/.test(n)).sort().join('\n');
  return key(now) !== key(before);
}

async function readLock(layer: FsLayer, dir: string): Promise<InspectLock | undefined> {
  const raw = await layer.readFile(path.join(dir, LOCK_NAME)).catch(() => undefined);
  const content = raw && parseLock(raw);
  if (!content) return undefined;
  return { pid: content.pid, host: content.host, since: content.since, beat: content.beat };
}
