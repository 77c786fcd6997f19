/**
 * The on-disk format of JsonFileStore, version 2. Everything is JSON text a
 * person can read with `jq`:
 *
 *   <dir>/LOCK                      the holder: {"godelayq":"lock","pid":…,"host":…,"beat":…,…} (lock.ts)
 *   <dir>/journal-000007.jsonl      header line, then one line per committed batch:
 *     {"godelayq":"journal","version":2,"store":"…","generation":7,"prev":5120,"crc":…}
 *     {"op":"put","job":{…},"crc":…}                 a new or replaced job, whole
 *     {"op":"upd","job":{…no payload…},"crc":…}      a state change: the job without its payload (kept)
 *     {"op":"del","id":"…","crc":…}                  a job dropped by retention
 *     {"op":"batch","changes":[{"op":"put",…},…],"crc":…}  several changes, all or none
 *   <dir>/snapshot-000007.json      one JSON document, one job per line:
 *     {"godelayq":"snapshot","version":2,"store":"…","generation":7,"createdAt":"…","count":2,"nextSeq":9,"crc":…,"jobs":[
 *     {"job":{…},"crc":…},
 *     {"job":{…},"crc":…}
 *     ]}
 *
 * Checksums: every header, batch line and snapshot job line ends with a
 * `"crc"` member (spaces may pad the number): the CRC-32 (zlib.crc32) of the
 * line's UTF-8 bytes before `,"crc":`. So `head -c` up to that point | crc32
 * checks a line by hand.
 *
 * Generations: `snapshot-g` is the state when `journal-g` was started (it
 * may already include the first batches of journal-g: replaying a change
 * twice is harmless). Journals chain: journal-(g+1) continues journal-g, and
 * its header's `prev` is the length journal-g had when g+1 was started.
 * Bytes after `prev` were never acknowledged (a write that failed, or one
 * made by a process that had lost the store) and are not replayed. A new
 * journal starts at every open (so a process that lost its lock can never
 * write into the journal that is being appended to), at every snapshot, and
 * at every close (`"closed":true`, so the length of the journal before it is
 * on record). Recovery loads the newest snapshot s (none: empty) and replays
 * journals max(s,1), … in order.
 *
 * Version 1 (no checksums, no `store`, no `prev`) is still read; the next
 * snapshot rewrites the store in version 2.
 */
import { ValidationError } from '../../errors.js';
import type { JobRecord } from '../store.js';
import type { Change } from '../local.js';
import zlib from 'node:zlib';
import { crc32 } from './crc32.js';

/** Format version written in every header. */
export const FORMAT_VERSION = 2;
/** Versions this code reads. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

export const LOCK_NAME = 'LOCK';
/** Held only while taking over a stale lock, so two takers cannot both win. */
export const GUARD_NAME = 'LOCK.takeover';
/** Prefix of the folder where `salvage` moves the files it replaced. */
export const SALVAGED_PREFIX = 'salvaged-';

const JOURNAL_RE = /^journal-(\d{6,})\.jsonl$/;
const SNAPSHOT_RE = /^snapshot-(\d{6,})\.json$/;
/** Our temp files: `<final name>.<store id>-<nonce>.tmp`. */
const TEMP_RE = /^(?:journal-\d{6,}\.jsonl|snapshot-\d{6,}\.json)\.([A-Za-z0-9_-]{16})-[A-Za-z0-9_-]{8}\.tmp$/;
/** A lock candidate being written by process <pid>. */
const LOCK_TEMP_RE = /^LOCK\.(\d+)\.[A-Za-z0-9_-]{12}\.tmp$/;
/** Names a person could mistake for ours: write-file-atomic's temps, our version-1 temps. */
const LOOKALIKE_RE = /^(?:journal-\d+\.jsonl|snapshot-\d+\.json|LOCK)\./;

const pad = (gen: number): string => String(gen).padStart(6, '0');

export const journalName = (gen: number): string => `journal-${pad(gen)}.jsonl`;
export const snapshotName = (gen: number): string => `snapshot-${pad(gen)}.json`;
export const tempName = (final: string, storeId: string, nonce: string): string => `${final}.${storeId}-${nonce}.tmp`;
export const lockTempName = (pid: number, nonce: string): string => `LOCK.${pid}.${nonce}.tmp`;

export type FileKind =
  | { kind: 'journal'; gen: number }
  | { kind: 'snapshot'; gen: number }
  | { kind: 'lock' }
  | { kind: 'guard' }
  | { kind: 'temp'; store: string }
  | { kind: 'lockTemp'; pid: number }
  | { kind: 'salvaged' }
  | { kind: 'lookalike' }
  | { kind: 'other' };

/** What a name in the store directory is. */
export function classify(name: string): FileKind {
  if (name === LOCK_NAME) return { kind: 'lock' };
  if (name === GUARD_NAME) return { kind: 'guard' };
  let m = JOURNAL_RE.exec(name);
  if (m) return { kind: 'journal', gen: Number(m[1]) };
  m = SNAPSHOT_RE.exec(name);
  if (m) return { kind: 'snapshot', gen: Number(m[1]) };
  m = TEMP_RE.exec(name);
  if (m) return { kind: 'temp', store: m[1] as string };
  m = LOCK_TEMP_RE.exec(name);
  if (m) return { kind: 'lockTemp', pid: Number(m[1]) };
  if (name.startsWith(SALVAGED_PREFIX)) return { kind: 'salvaged' };
  if (LOOKALIKE_RE.test(name)) return { kind: 'lookalike' };
  return { kind: 'other' };
}

// ----------------------------------------------------------------- checksums

const FIELD = ',"crc":';
const FIELD_BYTES = Buffer.from(FIELD);
/** Digits reserved for a checksum: written right-aligned, spaces before (JSON allows them). */
const WIDTH = 10;
/** `,"crc":` + WIDTH + `}`. */
const SUFFIX = FIELD.length + WIDTH + 1;
/** A blank checksum member closing an object: `fillCrc` writes the digits into it. */
export const CRC_BLANK = `${FIELD}${' '.repeat(WIDTH)}}`;

/** Fills the blank checksum of the line `buf[start, end)` (`end` just past its `}`). */
export function fillCrc(buf: Buffer, start: number, end: number): number {
  const crc = crc32(buf, start, end - SUFFIX);
  // Digits right-aligned before the `}`, no string made.
  let v = crc;
  let p = end - 2;
  do {
    buf[p--] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  return crc;
}

/**
 * Fills every blank checksum in `buf`: each line (ending with a newline)
 * whose end is `,"crc":<blank>}` or `,"crc":<blank>},`; other lines (a
 * snapshot's header and footer) are left as they are.
 */
export function fillCrcs(buf: Buffer): void {
  let p = 0;
  while (p < buf.length) {
    let nl = buf.indexOf(10, p);
    if (nl < 0) nl = buf.length;
    const end = buf[nl - 1] === 0x2c ? nl - 1 : nl; // a snapshot line may end with ','
    if (end - p > SUFFIX && buf[end - 2] === 0x20 && buf[end - 1] === 0x7d && isField(buf, end - SUFFIX)) fillCrc(buf, p, end);
    p = nl + 1;
  }
}

/** True when `buf` holds `,"crc":` at `at` (no Buffer view made: this runs per line). */
function isField(buf: Uint8Array, at: number): boolean {
  for (let i = 0; i < FIELD_BYTES.length; i++) if (buf[at + i] !== FIELD_BYTES[i]) return false;
  return true;
}

/** `body` (JSON text of an object) with its checksum member appended. */
export function withCrc(body: string): string {
  const prefix = body.slice(0, -1);
  const bytes = Buffer.from(prefix);
  return `${prefix}${FIELD}${String(crc32(bytes, 0, bytes.length)).padStart(WIDTH, ' ')}}`;
}

/**
 * Checks the `,"crc":<n>}` that ends `buf[start, end)`. Returns the offset
 * (in `buf`) where that member starts, or a string saying what is wrong.
 */
export function checkCrc(buf: Uint8Array, start: number, end: number): number | string {
  if (buf[end - 1] !== 0x7d) return 'expected a line ending in `,"crc":<n>}`';
  let p = end - 2;
  let value = 0;
  let scale = 1;
  let digits = 0;
  for (; p > start && digits < WIDTH; p--, digits++) {
    const b = buf[p] as number;
    if (b < 0x30 || b > 0x39) break;
    value += (b - 0x30) * scale;
    scale *= 10;
  }
  // A JSON number: no leading zero (a flipped padding space must not pass).
  if (digits > 1 && buf[p + 1] === 0x30) return 'expected a line ending in `,"crc":<n>}`';
  while (p > start && buf[p] === 0x20 && end - 2 - p < WIDTH) p--;
  const fieldStart = p - FIELD_BYTES.length + 1;
  if (digits === 0 || fieldStart < start || !isField(buf, fieldStart)) {
    return 'expected a line ending in `,"crc":<n>}`';
  }
  const actual = crc32(buf, start, fieldStart);
  return actual === value ? fieldStart : `expected checksum ${value}, got ${actual} (the line was changed)`;
}

// ------------------------------------------------------------------- headers

export interface JournalHeader {
  godelayq: 'journal';
  version: number;
  /** Identity of the store (version 2). */
  store?: string;
  generation: number;
  /** Length of the previous journal when this one was started (version 2). */
  prev?: number;
  /** Started by a clean close: nothing was appended since. */
  closed?: true;
}

export interface SnapshotHeader {
  godelayq: 'snapshot';
  version: number;
  store?: string;
  generation: number;
  createdAt: string;
  count: number;
  nextSeq: number;
}

export function journalHeaderLine(header: Omit<JournalHeader, 'godelayq' | 'version'>): string {
  const full: JournalHeader = { godelayq: 'journal', version: FORMAT_VERSION, ...header };
  return `${withCrc(JSON.stringify(full))}\n`;
}

export const JOBS_OPEN = ',"jobs":[';
export const SNAPSHOT_FOOTER = ']}';

/** The first line of a snapshot, up to and including the `[` that opens `jobs`. */
export function snapshotHeaderLine(header: Omit<SnapshotHeader, 'godelayq' | 'version'>): string {
  const full: SnapshotHeader = { godelayq: 'snapshot', version: FORMAT_VERSION, ...header };
  return `${withCrc(JSON.stringify(full)).slice(0, -1)}${JOBS_OPEN}\n`;
}

// ------------------------------------------------------------------- changes

/** A job without its payload (the `upd` line's `job`). */
function withoutPayload(job: JobRecord): Omit<JobRecord, 'payload'> {
  const { payload: _payload, ...rest } = job;
  return rest;
}

/**
 * JSON text of one change without its closing `}` (so a line can be built
 * around it without copying it again).
 */
export function changeJson(change: Change): string {
  if (change.op === 'del') return `{"op":"del","id":${JSON.stringify(change.id)}`;
  if (change.keep) return `{"op":"upd","job":${JSON.stringify(withoutPayload(change.job))}`;
  return `{"op":"put","job":${JSON.stringify(change.job)}`;
}

/**
 * One journal line (with a blank checksum, filled in by the writer, and its
 * newline) for a batch of `changeJson` texts.
 */
export function batchLine(parts: readonly string[]): string {
  if (parts.length === 1) return `${parts[0] as string}${CRC_BLANK}\n`;
  return `{"op":"batch","changes":[${parts.join('},')}}]${CRC_BLANK}\n`;
}

/**
 * The journal line (blank checksum, newline) for a committed batch.
 * Refuses, with ValidationError, a job whose payload or result is over
 * `maxPayloadBytes` of JSON (a state change does not write the payload, so
 * only its result is counted).
 */
export function encodeBatch(changes: readonly Change[], maxPayloadBytes: number): string {
  if (changes.length === 1) return batchLine([encodeChange(changes[0] as Change, maxPayloadBytes)]);
  const parts: string[] = [];
  for (const change of changes) parts.push(encodeChange(change, maxPayloadBytes));
  return batchLine(parts);
}

/**
 * `batchLine(parts)` as bytes with its checksum filled in, made `turn` parts
 * at a time, `pause()` awaited in between; `parts` may make each part when it
 * is reached (a generator), so no text of the whole batch is ever held. The
 * pieces are written one after the other as one line (the journal writer
 * takes them as they are: `fillCrcs` is not run on them). WHY: a clock
 * step's batch over 2e5 jobs is ~30 MB, over 1e6 ~150 MB; encoding it, then
 * making its bytes and checksum in one go held the event loop 60 ms at 2e5,
 * and one 150 MB buffer made V8 collect the whole heap at once (~0.7 s).
 */
export async function batchPieces(parts: Iterable<string>, count: number, turn: number, pause: () => Promise<void>): Promise<Buffer[]> {
  const one = count === 1;
  const pieces: Buffer[] = [];
  let crc = 0;
  let text = one ? '' : '{"op":"batch","changes":[';
  const flush = (): void => {
    const piece = Buffer.from(text);
    crc = zlib.crc32(piece, crc);
    pieces.push(piece);
    text = '';
  };
  let i = 0;
  for (const part of parts) {
    if (i > 0 && i % turn === 0) {
      flush();
      await pause();
    }
    text += i === 0 ? part : `},${part}`;
    i++;
  }
  if (!one) text += '}]';
  flush();
  pieces.push(Buffer.from(`${FIELD}${String(crc).padStart(WIDTH, ' ')}}\n`));
  return pieces;
}

/** `changeJson` of a change, refused (ValidationError) when its job is over `maxPayloadBytes` (see encodeBatch). */
export function encodeChange(change: Change, maxPayloadBytes: number): string {
  const json = changeJson(change);
  // A UTF-16 unit is at most 3 bytes of UTF-8: only a long line needs counting.
  if (json.length * 3 > maxPayloadBytes && change.op === 'put') checkSize(change.job, maxPayloadBytes, !change.keep);
  return json;
}

/** Refuses a job whose payload (when `payload`: it is being written) or result is over `max` bytes of JSON. */
function checkSize(job: JobRecord, max: number, payload: boolean): void {
  for (const [what, value] of [
    ['payload', payload ? job.payload : undefined],
    ['result', job.result],
  ] as const) {
    if (value === undefined) continue;
    const bytes = Buffer.byteLength(JSON.stringify(value));
    if (bytes > max) {
      throw new ValidationError(`Expected the ${what} of job \`${job.id}\` to be at most ${max} bytes of JSON (maxPayloadBytes), got ${bytes}`);
    }
  }
}

const STATES = new Set(['scheduled', 'running', 'completed', 'dead', 'cancelled']);

/** Why `value` is not a job record, or undefined if it is one (shallow check). */
export function recordProblem(value: unknown, withPayload = true): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a job object';
  const r = value as Partial<Record<keyof JobRecord, unknown>>;
  if (typeof r.id !== 'string') return 'expected a string `id`';
  if (typeof r.name !== 'string') return 'expected a string `name`';
  if (typeof r.state !== 'string' || !STATES.has(r.state)) return `expected a job state, got ${JSON.stringify(r.state)}`;
  if (typeof r.runAt !== 'number' || typeof r.seq !== 'number' || typeof r.attempt !== 'number') {
    return 'expected numeric `runAt`, `seq` and `attempt`';
  }
  if (withPayload ? !('payload' in r) : 'payload' in r) return withPayload ? 'expected a `payload`' : 'expected no `payload` in an upd change';
  return undefined;
}

/**
 * Placeholder payload of a job rebuilt from an `upd` line whose previous
 * version sits in the snapshot: the merge takes the payload from there.
 */
export const KEEP_PAYLOAD: JobRecord['payload'] = Object.freeze({ '(kept)': true });

/** Journal state during replay: id → record, or null once deleted. */
export type ReplayMap = Map<string, JobRecord | null>;

/**
 * Applies one parsed journal line to `records`. Returns a problem
 * description, or undefined when the line was a valid change or batch.
 * `v1`: version-1 lines (no `upd`).
 */
export function applyLine(records: ReplayMap, value: unknown, v1: boolean): string | undefined {
  if (typeof value !== 'object' || value === null) return 'expected a change object';
  const line = value as { op?: unknown; changes?: unknown };
  const changes = line.op === 'batch' ? line.changes : [value];
  if (!Array.isArray(changes)) return 'expected `changes` to be an array';
  // Validate the whole batch before applying any of it: all or none.
  for (const change of changes) {
    const problem = changeProblem(change, v1, records);
    if (problem) return problem;
  }
  for (const change of changes as { op: string; job?: JobRecord; id?: string }[]) {
    if (change.op === 'del') records.set(change.id as string, null);
    else {
      const job = change.job as JobRecord;
      if (change.op === 'upd') job.payload = (records.get(job.id) ?? { payload: KEEP_PAYLOAD }).payload;
      records.set(job.id, job);
    }
  }
  return undefined;
}

function changeProblem(value: unknown, v1: boolean, records: ReplayMap): string | undefined {
  if (typeof value !== 'object' || value === null) return 'expected a change object';
  const c = value as { op?: unknown; job?: unknown; id?: unknown };
  if (c.op === 'put') return recordProblem(c.job);
  if (c.op === 'upd' && !v1) {
    const problem = recordProblem(c.job, false);
    if (problem) return problem;
    if (records.get((c.job as JobRecord).id) === null) return 'expected an upd of an existing job, got one of a deleted job';
    return undefined;
  }
  if (c.op === 'del') return typeof c.id === 'string' ? undefined : 'expected a string `id` in a del change';
  return `expected op 'put', ${v1 ? '' : "'upd', "}'del' or 'batch', got ${JSON.stringify(c.op)}`;
}
