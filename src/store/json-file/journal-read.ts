/**
 * Reading journals back (format.ts describes them): headers first (a
 * journal's end is recorded in the next one's header), then each journal's
 * lines, every one checked against its checksum.
 *
 * What counts as damage: anything a crash cannot produce. A crash can only
 * tear the last write to the last journal, and a torn write ends at a
 * 4096-byte boundary of the file (fs.ts), possibly followed by zeros. So an
 * unterminated tail is dropped (with a warning) only when it is at the end
 * of the last journal and ends at such a boundary; a tail ending anywhere
 * else, a line with a wrong checksum, a journal shorter than the length its
 * successor recorded, or shorter than the length the last lock holder
 * recorded as durable, is StoreCorruptError with the file and offset.
 */
import { StoreCorruptError } from '../../errors.js';
import type { JobRecord } from '../store.js';
import { KEEP_PAYLOAD, READABLE_VERSIONS, type ReplayMap, applyLine, checkCrc } from './format.js';
import { type FsLayer, readAt } from './fs.js';
import { type Line, scanLines } from './reader.js';
import { preview } from './snapshot.js';

/** A crash tears a write at a multiple of this many bytes (fs.ts). */
export const PAGE = 4096;
const HEADER_MAX = 4096;

export interface JournalHead {
  version: number;
  store: string | undefined;
  /** Length of the previous journal when this one was started (version 2). */
  prev: number | undefined;
  /** Started by a clean close, nothing appended since it was started (when `bytes` is the whole file). */
  closed: boolean;
  /** Bytes of the header line, newline included. */
  bytes: number;
}

/** Where an `upd` line whose job's payload must come from the snapshot was read. */
export type PendingPayloads = Map<string, { file: string; offset: number }>;

/** Parses and checks the header line of journal `file` (generation `gen`). */
export function parseJournalHeader(file: string, gen: number, text: string, bytes: Buffer): JournalHead {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StoreCorruptError(file, 0, `expected a journal header line, got ${preview(text)}`, { cause: error });
  }
  const h = value as Partial<Record<string, unknown>> | null;
  if (typeof h !== 'object' || h === null || h.godelayq !== 'journal') {
    throw new StoreCorruptError(file, 0, `expected a godelayq journal header, got ${preview(text)}`);
  }
  if (typeof h.version !== 'number' || !READABLE_VERSIONS.includes(h.version)) {
    throw new StoreCorruptError(file, 0, `expected format version ${READABLE_VERSIONS.join(' or ')}, got ${JSON.stringify(h.version)}`);
  }
  if (h.version >= 2) {
    const checked = checkCrc(bytes, 0, bytes.length);
    if (typeof checked === 'string') throw new StoreCorruptError(file, 0, `header: ${checked}, got ${preview(text)}`);
    if (typeof h.store !== 'string') throw new StoreCorruptError(file, 0, `expected a string \`store\` in the header, got ${preview(text)}`);
    if (h.prev !== undefined && (typeof h.prev !== 'number' || !Number.isInteger(h.prev) || h.prev < 0)) {
      throw new StoreCorruptError(file, 0, `expected \`prev\` to be a byte length, got ${JSON.stringify(h.prev)}`);
    }
  }
  if (h.generation !== gen) {
    throw new StoreCorruptError(file, 0, `expected generation ${gen} (from the file name), got ${JSON.stringify(h.generation)}`);
  }
  return {
    version: h.version,
    store: typeof h.store === 'string' ? h.store : undefined,
    prev: typeof h.prev === 'number' ? h.prev : undefined,
    closed: h.closed === true,
    bytes: bytes.length + 1,
  };
}

/** Reads just the header of journal `file`. */
export async function readJournalHead(layer: FsLayer, file: string, gen: number): Promise<JournalHead & { size: number }> {
  const fd = await layer.open(file, 'r');
  try {
    const { size } = await layer.fstat(fd);
    const start = await readAt(layer, fd, Math.min(HEADER_MAX, size), 0);
    const nl = start.indexOf(10);
    if (nl < 0) {
      throw new StoreCorruptError(
        file,
        0,
        size === 0 ? 'expected a journal header, got an empty file' : `expected a journal header line, got ${size} bytes without a newline`,
      );
    }
    const bytes = start.subarray(0, nl);
    return { ...parseJournalHeader(file, gen, bytes.toString('utf8'), bytes), size };
  } finally {
    await layer.close(fd).catch(() => undefined);
  }
}

export interface JournalReadOptions {
  /** The header, already read. */
  head: JournalHead;
  /** The next journal's `prev`: the lines up to here are this journal's; bytes after it are not replayed. */
  end: number | undefined;
  /** This is the last journal: a crash-torn tail may end it. */
  last: boolean;
  /** A durable length the last lock holder recorded for this journal: it must hold at least that much. */
  minLength: number | undefined;
  pending: PendingPayloads;
  /**
   * A reader beside a live writer (inspection): the last journal may be
   * being appended to, so any unterminated tail is reported as `torn`, not
   * judged.
   */
  live?: boolean;
}

export interface JournalReadResult {
  /** Bytes of complete, valid lines from the start. */
  validLength: number;
  /** Size of the file. */
  size: number;
  /** Change lines replayed. */
  lines: number;
  /** Bytes after `end` holding complete lines, not replayed (a torn tail there is not counted). */
  ignored: number;
  /** Bytes of a crash-torn tail that were not replayed (last journal). */
  torn: number;
}

/**
 * Replays journal `file` (generation `gen`) into `records`. Anything but
 * intact lines (and, for the last journal, a crash-torn tail) is
 * StoreCorruptError; the file is only read.
 */
export async function readJournal(
  layer: FsLayer,
  file: string,
  gen: number,
  records: ReplayMap,
  options: JournalReadOptions,
): Promise<JournalReadResult> {
  const v1 = options.head.version === 1;
  let first = true;
  let lines = 0;
  const onLine = (line: Line): void => {
    if (first) {
      first = false; // checked by readJournalHead
      return;
    }
    if (line.length === 0) throw new StoreCorruptError(file, line.offset, 'expected a change line, got an empty line');
    if (!v1) {
      const checked = checkCrc(line.block, line.start, line.end);
      if (typeof checked === 'string') throw new StoreCorruptError(file, line.offset, `${checked}: ${preview(line.text())}`);
    }
    const text = line.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new StoreCorruptError(file, line.offset, `expected a JSON line, got ${preview(text)}`, { cause: error });
    }
    const problem = applyLine(records, value, v1);
    if (problem) throw new StoreCorruptError(file, line.offset, `${problem}, got ${preview(text)}`);
    if (!v1) notePending(value, records, options.pending, file, line.offset);
    lines++;
  };
  const scan = await scanLines(layer, file, onLine, options.end === undefined ? {} : { limit: options.end });
  const { fileSize } = scan;
  if (options.end !== undefined) {
    if (fileSize < options.end) {
      throw new StoreCorruptError(
        file,
        fileSize,
        `expected at least ${options.end} bytes (its length when generation ${gen + 1} was started), got ${fileSize}: the file was cut`,
      );
    }
    if (scan.tail.length > 0) {
      throw new StoreCorruptError(file, scan.tailOffset, `expected a complete line before byte ${options.end} (its recorded end), got an unterminated one`);
    }
    return { validLength: options.end, size: fileSize, lines, ignored: await strayLines(layer, file, options.end, fileSize), torn: 0 };
  }
  if (scan.tail.length > 0) {
    if (!options.last) {
      throw new StoreCorruptError(file, scan.tailOffset, 'expected a complete last line, got an unterminated one (and a later journal exists)');
    }
    if (!v1 && !options.live && !tornByCrash(scan.tailOffset, scan.tail)) {
      throw new StoreCorruptError(
        file,
        scan.tailOffset,
        `expected complete lines, or a last write torn by a crash (which ends at a multiple of ${PAGE} bytes), ` +
          `got ${scan.tail.length} unterminated bytes ending at byte ${fileSize}: the file was cut or changed`,
      );
    }
  }
  if (options.minLength !== undefined && scan.tailOffset < options.minLength) {
    throw new StoreCorruptError(
      file,
      scan.tailOffset,
      `expected at least ${options.minLength} bytes of complete lines (the durable length its last writer recorded), got ${scan.tailOffset}: the file was cut`,
    );
  }
  return { validLength: scan.tailOffset, size: fileSize, lines, ignored: 0, torn: scan.tail.length };
}

/**
 * Bytes after a journal's recorded end that hold a complete line: writes
 * made after the next journal was started (by a process that had lost the
 * store, or a failed write that could not be cut off). A torn tail without
 * a newline is a crash's, already reported when it was first found: 0.
 */
async function strayLines(layer: FsLayer, file: string, end: number, size: number): Promise<number> {
  if (size <= end) return 0;
  const fd = await layer.open(file, 'r');
  try {
    const tail = await readAt(layer, fd, Math.min(size - end, 1 << 16), end);
    return tail.includes(10) || size - end > tail.length ? size - end : 0;
  } finally {
    await layer.close(fd).catch(() => undefined);
  }
}

/**
 * A crash tears a write at a page boundary, possibly leaving zeros after it:
 * the tail's last non-zero byte must end at a multiple of PAGE (or there is
 * none).
 */
export function tornByCrash(tailOffset: number, tail: Buffer): boolean {
  let last = tail.length - 1;
  while (last >= 0 && tail[last] === 0) last--;
  const dataEnd = tailOffset + last + 1;
  return last < 0 || dataEnd % PAGE === 0;
}

/** Tracks `upd` lines whose payload has to come from the snapshot. */
function notePending(value: unknown, records: ReplayMap, pending: PendingPayloads, file: string, offset: number): void {
  const line = value as { op: string; changes?: { op: string; job?: JobRecord; id?: string }[]; job?: JobRecord; id?: string };
  const changes = line.op === 'batch' ? (line.changes ?? []) : [line];
  for (const change of changes) {
    const id = change.job?.id ?? (change.id as string);
    if (records.get(id)?.payload === KEEP_PAYLOAD) pending.set(id, { file, offset });
    else pending.delete(id);
  }
}
