/**
 * Snapshots: the whole job set as one JSON document, one job per line,
 * written and read as a stream. Writing never builds one giant string (V8
 * caps strings near 512 MiB) and gives the event loop back every ~1 MiB or
 * every few milliseconds; reading parses chunk by chunk the same way.
 *
 * A snapshot is written under a temp name, fsynced, verified (size on disk
 * and a full parse that must count every job) and only then renamed to its
 * generation's name by the caller.
 */
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { GodelayqError, StoreCorruptError } from '../../errors.js';
import type { JobRecord } from '../store.js';
import { FORMAT_VERSION, SNAPSHOT_FOOTER, recordProblem, snapshotHeaderLine, snapshotName } from './format.js';
import { type FsLayer, writeAll } from './fs.js';
import { preview } from './journal.js';
import { scanLines } from './reader.js';

export interface SnapshotWriteOptions {
  nextSeq: number;
  /** fsync the file before verifying it. */
  sync: boolean;
  /** Longest stretch of synchronous serialising, ms. @default 4 */
  sliceMs?: number;
  /** Checked between chunks: true stops the write (the temp file is removed). */
  aborted?: () => boolean;
  /** Called with the time spent in each synchronous stretch (benches). */
  onSlice?: (ms: number) => void;
}

const CHUNK = 1 << 20;
/** Verification reads in small chunks: each is parsed in one go, and this runs beside live traffic. */
const VERIFY_CHUNK = 128 << 10;
/** Bytes written between fdatasyncs of a snapshot being written. */
const SYNC_EVERY = 8 << 20;

/** Thrown when `aborted()` stopped a snapshot (close, newer snapshot). */
export class SnapshotAbortedError extends GodelayqError {
  constructor() {
    super('Snapshot aborted');
  }
}

/**
 * Streams `records` to `<dir>/snapshot-<gen>.json.tmp`, fsyncs and verifies
 * it. Resolves with the temp path; on any failure the temp file is removed.
 */
export async function writeSnapshotTemp(
  layer: FsLayer,
  dir: string,
  gen: number,
  records: readonly JobRecord[],
  options: SnapshotWriteOptions,
): Promise<{ tempPath: string; bytes: number }> {
  const tempPath = path.join(dir, `${snapshotName(gen)}.tmp`);
  const sliceMs = options.sliceMs ?? 4;
  let fd: number | undefined;
  try {
    fd = await layer.open(tempPath, 'w');
    const out = fd;
    let position = 0;
    let unsynced = 0;
    const flush = async (text: string): Promise<void> => {
      const buffer = Buffer.from(text);
      await writeAll(layer, out, buffer, position);
      position += buffer.length;
      unsynced += buffer.length;
      // Keep little of it dirty: every journal sync meanwhile would have to
      // flush it first (ext4 ordered mode), stalling acknowledged writes.
      if (options.sync && unsynced >= SYNC_EVERY) {
        unsynced = 0;
        await layer.fdatasync(out);
      }
    };
    const n = records.length;
    let parts: string[] = [
      snapshotHeaderLine({ generation: gen, createdAt: new Date().toISOString(), count: n, nextSeq: options.nextSeq }),
    ];
    let length = 0;
    let start = performance.now();
    for (let i = 0; i < n; i++) {
      const line = JSON.stringify(records[i]) + (i < n - 1 ? ',\n' : '\n');
      parts.push(line);
      length += line.length;
      if (length >= CHUNK || ((i & 127) === 127 && performance.now() - start > sliceMs)) {
        const text = parts.join('');
        parts = [];
        length = 0;
        options.onSlice?.(performance.now() - start);
        await flush(text);
        if (options.aborted?.()) throw new SnapshotAbortedError();
        start = performance.now();
      }
    }
    parts.push(`${SNAPSHOT_FOOTER}\n`);
    const text = parts.join('');
    options.onSlice?.(performance.now() - start);
    await flush(text);
    if (options.sync) await layer.fsync(out);
    const { size } = await layer.fstat(out);
    if (size !== position) {
      throw new GodelayqError(`Snapshot ${tempPath}: expected ${position} bytes on disk, got ${size}`);
    }
    await layer.close(out);
    fd = undefined;
    if (options.aborted?.()) throw new SnapshotAbortedError();
    // Verify what is on disk, not what we meant to write.
    let count = 0;
    const header = await readSnapshot(
      layer,
      tempPath,
      gen,
      () => {
        count++;
      },
      VERIFY_CHUNK,
    );
    if (count !== n || header.count !== n) {
      throw new GodelayqError(`Snapshot ${tempPath}: expected ${n} jobs when read back, got ${count}`);
    }
    return { tempPath, bytes: position };
  } catch (error) {
    if (fd !== undefined) await layer.close(fd).catch(() => undefined);
    await layer.unlink(tempPath).catch(() => undefined);
    throw error;
  }
}

export interface SnapshotInfo {
  generation: number;
  /** File size in bytes. */
  bytes: number;
  count: number;
  nextSeq: number;
  createdAt: string;
}

/**
 * Reads snapshot `file`, calling `onRecord` for each job in file order.
 * Anything but a complete, well-formed snapshot of generation `gen` is
 * StoreCorruptError with the byte offset of the first bad line.
 */
export async function readSnapshot(
  layer: FsLayer,
  file: string,
  gen: number,
  onRecord: (record: JobRecord) => void,
  chunkSize?: number,
): Promise<SnapshotInfo> {
  let header: Omit<SnapshotInfo, 'bytes'> | undefined;
  let count = 0;
  let footerAt = -1;
  /** The previous job line did not end with a comma: it must have been the last. */
  let expectEnd = false;
  const onLine = (text: string, offset: number): void => {
    if (header === undefined) {
      header = parseHeader(file, text, gen);
      if (header.count === 0) expectEnd = true;
      return;
    }
    if (footerAt >= 0) throw new StoreCorruptError(file, offset, `expected end of file after \`${SNAPSHOT_FOOTER}\`, got ${preview(text)}`);
    if (text === SNAPSHOT_FOOTER) {
      if (!expectEnd) throw new StoreCorruptError(file, offset, `expected a job line, got \`${SNAPSHOT_FOOTER}\` after a trailing comma`);
      footerAt = offset;
      return;
    }
    if (expectEnd) throw new StoreCorruptError(file, offset, `expected \`${SNAPSHOT_FOOTER}\` after the last job, got ${preview(text)}`);
    const comma = text.charCodeAt(text.length - 1) === 44; // ','
    let value: unknown;
    try {
      value = JSON.parse(comma ? text.slice(0, -1) : text);
    } catch (error) {
      throw new StoreCorruptError(file, offset, `expected a job as one JSON line, got ${preview(text)}`, { cause: error });
    }
    const problem = recordProblem(value);
    if (problem) throw new StoreCorruptError(file, offset, `${problem}, got ${preview(text)}`);
    onRecord(value as JobRecord);
    count++;
    expectEnd = !comma;
  };
  const scan = await scanLines(layer, file, onLine, chunkSize);
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

function parseHeader(file: string, text: string, gen: number): Omit<SnapshotInfo, 'bytes'> {
  let value: unknown;
  try {
    value = JSON.parse(`${text}${SNAPSHOT_FOOTER}`);
  } catch (error) {
    throw new StoreCorruptError(file, 0, `expected a snapshot header line, got ${preview(text)}`, { cause: error });
  }
  const h = value as Partial<Record<string, unknown>>;
  if (typeof h !== 'object' || h === null || h.godelayq !== 'snapshot') {
    throw new StoreCorruptError(file, 0, `expected a godelayq snapshot header, got ${preview(text)}`);
  }
  if (h.version !== FORMAT_VERSION) {
    throw new StoreCorruptError(file, 0, `expected format version ${FORMAT_VERSION}, got ${JSON.stringify(h.version)}`);
  }
  if (h.generation !== gen) {
    throw new StoreCorruptError(file, 0, `expected generation ${gen} (from the file name), got ${JSON.stringify(h.generation)}`);
  }
  if (typeof h.count !== 'number' || typeof h.nextSeq !== 'number' || !Array.isArray(h.jobs) || h.jobs.length !== 0) {
    throw new StoreCorruptError(file, 0, `expected numeric \`count\` and \`nextSeq\` and an opening \`"jobs":[\`, got ${preview(text)}`);
  }
  return { generation: gen, count: h.count, nextSeq: h.nextSeq, createdAt: String(h.createdAt) };
}
