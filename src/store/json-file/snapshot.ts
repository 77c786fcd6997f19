/**
 * Snapshots: the whole job set as one JSON document, one job per line,
 * written and read as a stream. Writing never builds one giant string (V8
 * caps strings near 512 MiB): small jobs are stringified and gathered into
 * ~1 MiB chunks, a job too big for one piece is serialised piece by piece
 * (serialize.ts), and the writer gives the event loop back after every chunk
 * or every few milliseconds, checking `aborted()` each time, so a close
 * abandons a snapshot of any size promptly. Cost is linear in the bytes
 * written.
 *
 * A snapshot is written under a temp name, fsynced, verified (its bytes read
 * back must have the size and CRC-32 of what was written: no parse, so
 * verification neither blocks nor costs more than the I/O) and only then
 * linked to its generation's name by the caller.
 */
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import zlib from 'node:zlib';
import { GodelayqError, StoreCorruptError } from '../../errors.js';
import type { ColdJobs } from '../cold-jobs.js';
import type { SnapshotJobs } from '../local-state.js';
import type { JobRecord } from '../store.js';
import { JOBS_OPEN, READABLE_VERSIONS, SNAPSHOT_FOOTER, CRC_BLANK, checkCrc, fillCrcs, recordProblem, snapshotHeaderLine, snapshotName, tempName } from './format.js';
import { type FsLayer, readAt, writeAll } from './fs.js';
import { type Line, scanLines } from './reader.js';
import { isBigRecord, jsonPieces } from './serialize.js';

export interface SnapshotWriteOptions {
  nextSeq: number;
  storeId: string;
  /** Unique part of the temp file's name. */
  nonce: string;
  /** fsync the file before verifying it. */
  sync: boolean;
  /** `createdAt` of the header (ISO). */
  createdAt: string;
  /** Longest stretch of synchronous serialising, ms. @default 4 */
  sliceMs?: number;
  /** Checked between chunks: true stops the write (the temp file is removed). */
  aborted?: () => boolean;
  /** Called with the time spent in each synchronous stretch (benches). */
  onSlice?: (ms: number) => void;
}

const CHUNK = 1 << 20;
const VERIFY_CHUNK = 1 << 20;
/** Bytes written between fdatasyncs of a snapshot being written. */
const SYNC_EVERY = 8 << 20;
const JOB_OPEN = Buffer.from('{"job":');

/** Thrown when `aborted()` stopped a snapshot (close, newer snapshot). */
export class SnapshotAbortedError extends GodelayqError {
  constructor() {
    super('Snapshot aborted');
  }
}

/** Sequential writer of one file: running size and CRC-32, periodic fdatasync. */
class Sink {
  position = 0;
  crc = 0;
  private unsynced = 0;

  constructor(
    private readonly layer: FsLayer,
    readonly fd: number,
    private readonly sync: boolean,
    private readonly aborted: () => boolean,
  ) {}

  /** Appends `buffer`; throws SnapshotAbortedError once `aborted()` says so (checked after every write). */
  async write(buffer: Buffer): Promise<void> {
    if (this.aborted()) throw new SnapshotAbortedError();
    await writeAll(this.layer, this.fd, buffer, this.position);
    this.crc = zlib.crc32(buffer, this.crc);
    this.position += buffer.length;
    this.unsynced += buffer.length;
    // Keep little of it dirty: every journal sync meanwhile would have to
    // flush it first (ext4 ordered mode), stalling acknowledged writes.
    if (this.sync && this.unsynced >= SYNC_EVERY) {
      this.unsynced = 0;
      await this.layer.fdatasync(this.fd);
    }
    if (this.aborted()) throw new SnapshotAbortedError();
  }
}

/**
 * Streams `records` to a temp file beside snapshot `gen`, fsyncs and
 * verifies it. Resolves with the temp path; on any failure (or abort) the
 * temp file is removed.
 */
export async function writeSnapshotTemp(
  layer: FsLayer,
  dir: string,
  gen: number,
  records: SnapshotJobs,
  options: SnapshotWriteOptions,
): Promise<{ tempPath: string; bytes: number }> {
  const tempPath = path.join(dir, tempName(snapshotName(gen), options.storeId, options.nonce));
  const sliceMs = options.sliceMs ?? 4;
  const aborted = options.aborted ?? (() => false);
  let fd: number | undefined;
  try {
    fd = await layer.open(tempPath, 'wx');
    const sink = new Sink(layer, fd, options.sync, aborted);
    const n = records.length;
    let parts: string[] = [
      snapshotHeaderLine({ store: options.storeId, generation: gen, createdAt: options.createdAt, count: n, nextSeq: options.nextSeq }),
    ];
    let length = 0;
    let start = performance.now();
    /** Writes the gathered lines (their checksums filled in) and yields. */
    const flush = async (): Promise<void> => {
      if (parts.length > 0) {
        const buffer = Buffer.from(parts.join(''));
        parts = [];
        length = 0;
        fillCrcs(buffer);
        options.onSlice?.(performance.now() - start);
        await sink.write(buffer);
      }
      if (aborted()) throw new SnapshotAbortedError();
      start = performance.now();
    };
    for (let i = 0; i < n; i++) {
      const record = records.at(i) as JobRecord | string;
      const sep = i < n - 1 ? ',\n' : '\n';
      // A string is a cold job's text (cold-jobs.ts), written back as it was read.
      if (typeof record !== 'string' && isBigRecord(record)) {
        await flush();
        await writeBigRecord(sink, record, sep, sliceMs, aborted, options.onSlice);
        start = performance.now();
        continue;
      }
      const line = `{"job":${typeof record === 'string' ? record : JSON.stringify(record)}${CRC_BLANK}${sep}`;
      parts.push(line);
      length += line.length;
      if (length >= CHUNK || ((i & 127) === 127 && performance.now() - start > sliceMs)) await flush();
    }
    parts.push(`${SNAPSHOT_FOOTER}\n`);
    await flush();
    if (options.sync) await layer.fsync(fd);
    const { size } = await layer.fstat(fd);
    if (size !== sink.position) throw new GodelayqError(`Snapshot ${tempPath}: expected ${sink.position} bytes on disk, got ${size}`);
    await layer.close(fd);
    fd = undefined;
    await verify(layer, tempPath, sink.position, sink.crc, aborted);
    return { tempPath, bytes: sink.position };
  } catch (error) {
    if (fd !== undefined) await layer.close(fd).catch(() => undefined);
    await layer.unlink(tempPath).catch(() => undefined);
    throw error;
  }
}

/** Streams one job too big for a single piece: `{"job":` pieces `,"crc":<n>}`. */
async function writeBigRecord(
  sink: Sink,
  record: JobRecord,
  sep: string,
  sliceMs: number,
  aborted: () => boolean,
  onSlice: ((ms: number) => void) | undefined,
): Promise<void> {
  let crc = zlib.crc32(JOB_OPEN);
  await sink.write(JOB_OPEN);
  let pending: string[] = [];
  let pendingLength = 0;
  let start = performance.now();
  const push = async (): Promise<void> => {
    const buffer = Buffer.from(pending.join(''));
    pending = [];
    pendingLength = 0;
    crc = zlib.crc32(buffer, crc);
    onSlice?.(performance.now() - start);
    await sink.write(buffer);
    if (aborted()) throw new SnapshotAbortedError();
    start = performance.now();
  };
  for (const piece of jsonPieces(record)) {
    pending.push(piece);
    pendingLength += piece.length;
    if (pendingLength >= CHUNK || performance.now() - start > sliceMs) await push();
  }
  if (pendingLength > 0) await push();
  await sink.write(Buffer.from(`,"crc":${String(crc).padStart(10, ' ')}}${sep}`));
}

/** Reads the file back: its size and CRC-32 must be what was written. */
async function verify(layer: FsLayer, file: string, size: number, crc: number, aborted: () => boolean): Promise<void> {
  const fd = await layer.open(file, 'r');
  try {
    let position = 0;
    let actual = 0;
    for (;;) {
      const chunk = await readAt(layer, fd, VERIFY_CHUNK, position);
      if (chunk.length === 0) break;
      actual = zlib.crc32(chunk, actual);
      position += chunk.length;
      if (aborted()) throw new SnapshotAbortedError();
    }
    if (position !== size || actual !== crc) {
      throw new GodelayqError(`Snapshot ${file}: expected ${size} bytes with CRC-32 ${crc} when read back, got ${position} bytes with ${actual}`);
    }
  } finally {
    await layer.close(fd).catch(() => undefined);
  }
}

export interface SnapshotInfo {
  version: number;
  store: string | undefined;
  generation: number;
  /** File size in bytes. */
  bytes: number;
  count: number;
  nextSeq: number;
  createdAt: string;
}

/**
 * Reads snapshot `file` (version 1 or 2), calling `onRecord` for each job in
 * file order. Anything but a complete, intact snapshot of generation `gen`
 * is StoreCorruptError with the byte offset of the first bad line.
 */
export async function readSnapshot(
  layer: FsLayer,
  file: string,
  gen: number,
  onRecord: (record: JobRecord) => void,
  cold?: ColdJobs,
): Promise<SnapshotInfo> {
  let header: Omit<SnapshotInfo, 'bytes'> | undefined;
  let count = 0;
  let footerAt = -1;
  /** The previous job line did not end with a comma: it must have been the last. */
  let expectEnd = false;
  const corrupt = (line: Line, detail: string, cause?: unknown): StoreCorruptError =>
    new StoreCorruptError(file, line.offset, `${detail}, got ${preview(line.text())}`, cause === undefined ? undefined : { cause });
  const onLine = (line: Line): void => {
    if (header === undefined) {
      header = parseHeader(file, line, gen);
      if (header.count === 0) expectEnd = true;
      // Room for every job at once (up to 2^20: a header whose count is wrong is found by the line count, and must not make this allocate much).
      else if (cold !== undefined && header.version >= 2) cold.reserve(Math.min(header.count, 1 << 20));
      return;
    }
    if (footerAt >= 0) throw corrupt(line, `expected end of file after \`${SNAPSHOT_FOOTER}\``);
    if (line.length === 2 && line.byte(0) === 0x5d && line.byte(1) === 0x7d) {
      if (!expectEnd) throw corrupt(line, `expected a job line, got \`${SNAPSHOT_FOOTER}\` after a trailing comma; that is`);
      footerAt = line.offset;
      return;
    }
    if (expectEnd) throw corrupt(line, `expected \`${SNAPSHOT_FOOTER}\` after the last job`);
    const comma = line.byte(line.length - 1) === 0x2c; // ','
    const end = comma ? line.end - 1 : line.end;
    if (header.version === 1) onRecord(parseV1Record(line, end, corrupt));
    else {
      // A plain scheduled job stays bytes until first read (cold-jobs.ts); its CRC is checked all the same.
      const recordEnd = v2RecordEnd(line, end, corrupt);
      const recordStart = line.start + JOB_OPEN.length;
      if (cold === undefined || !cold.add(line.block, recordStart, recordEnd)) onRecord(parseRecordText(line.text(recordStart, recordEnd), line, corrupt));
    }
    count++;
    expectEnd = !comma;
  };
  const scan = await scanLines(layer, file, onLine);
  if (scan.tail.length > 0) {
    throw new StoreCorruptError(file, scan.tailOffset, `expected a complete line, got an unterminated one (${scan.tail.length} bytes)`);
  }
  if (header === undefined) throw new StoreCorruptError(file, 0, 'expected a snapshot header, got an empty file');
  if (footerAt < 0) throw new StoreCorruptError(file, scan.size, `expected \`${SNAPSHOT_FOOTER}\` closing the document, got end of file`);
  if (count !== header.count) {
    throw new StoreCorruptError(file, footerAt, `expected ${header.count} jobs (header count), got ${count}`);
  }
  return { ...header, bytes: scan.size };
}

type Corrupt = (line: Line, detail: string, cause?: unknown) => StoreCorruptError;

function parseV1Record(line: Line, end: number, corrupt: Corrupt): JobRecord {
  let value: unknown;
  try {
    value = JSON.parse(line.text(line.start, end));
  } catch (error) {
    throw corrupt(line, 'expected a job as one JSON line', error);
  }
  const problem = recordProblem(value);
  if (problem) throw corrupt(line, problem);
  return value as JobRecord;
}

/** Where the record of a version-2 job line (`{"job":<record>,"crc":<n>}`) ends, its CRC checked. */
function v2RecordEnd(line: Line, end: number, corrupt: Corrupt): number {
  for (let i = 0; i < JOB_OPEN.length; i++) {
    if (line.block[line.start + i] !== JOB_OPEN[i]) throw corrupt(line, 'expected a line starting with `{"job":`');
  }
  const checked = checkCrc(line.block, line.start, end);
  if (typeof checked === 'string') throw corrupt(line, checked);
  return checked;
}

function parseRecordText(text: string, line: Line, corrupt: Corrupt): JobRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw corrupt(line, 'expected a job as JSON', error);
  }
  const problem = recordProblem(value);
  if (problem) throw corrupt(line, problem);
  return value as JobRecord;
}

function parseHeader(file: string, line: Line, gen: number): Omit<SnapshotInfo, 'bytes'> {
  const text = line.text();
  const bad = (detail: string, cause?: unknown): StoreCorruptError =>
    new StoreCorruptError(file, 0, `${detail}, got ${preview(text)}`, cause === undefined ? undefined : { cause });
  let value: unknown;
  try {
    value = JSON.parse(`${text}${SNAPSHOT_FOOTER}`);
  } catch (error) {
    throw bad('expected a snapshot header line', error);
  }
  const h = value as Partial<Record<string, unknown>>;
  if (typeof h !== 'object' || h === null || h.godelayq !== 'snapshot') throw bad('expected a godelayq snapshot header');
  if (typeof h.version !== 'number' || !READABLE_VERSIONS.includes(h.version)) {
    throw new StoreCorruptError(file, 0, `expected format version ${READABLE_VERSIONS.join(' or ')}, got ${JSON.stringify(h.version)}`);
  }
  if (h.version >= 2) {
    if (!text.endsWith(JOBS_OPEN)) throw bad('expected the header line to end with `,"jobs":[`');
    const bytes = Buffer.from(`${text.slice(0, -JOBS_OPEN.length)}}`);
    const checked = checkCrc(bytes, 0, bytes.length);
    if (typeof checked === 'string') throw bad(`header: ${checked}`);
    if (typeof h.store !== 'string') throw bad('expected a string `store`');
  }
  if (h.generation !== gen) {
    throw new StoreCorruptError(file, 0, `expected generation ${gen} (from the file name), got ${JSON.stringify(h.generation)}`);
  }
  if (typeof h.count !== 'number' || typeof h.nextSeq !== 'number' || !Array.isArray(h.jobs) || h.jobs.length !== 0) {
    throw bad('expected numeric `count` and `nextSeq` and an opening `"jobs":[`');
  }
  return {
    version: h.version,
    store: typeof h.store === 'string' ? h.store : undefined,
    generation: gen,
    count: h.count,
    nextSeq: h.nextSeq,
    createdAt: String(h.createdAt),
  };
}

/** A short, quoted excerpt of a damaged line for error messages. */
export function preview(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
