/**
 * JobRecord <-> row of `<schema>.jobs`. Records go to the server as column
 * arrays (one array per column, unnested by the functions: one statement
 * for a whole batch); rows come back as JSON objects (`<schema>.job_json`). JSON the
 * scheduler wrote is sent as text and stored as `json`, so it comes back
 * byte for byte; JSON.stringify runs once per value, here.
 */
import { ValidationError } from '../../errors.js';
import type { JobState, JsonValue } from '../../types.js';
import { isWellFormed } from '../redis/keys.js';
import type { InsertRequest, JobRecord, NewJobRecord } from '../store.js';

/** A job as `<schema>.job_json` gives it (snake_case columns; absent = SQL NULL). */
export interface JobRow {
  id: string;
  name: string;
  state: string;
  run_at: number;
  priority: number;
  seq: number;
  created_at: number;
  attempt: number;
  payload: JobRecord['payload'];
  finished_at?: number | null;
  token?: string | null;
  lost?: string | null;
  relative?: boolean | null;
  timeout?: number | null;
  retry?: JobRecord['retry'] | null;
  last_error?: JobRecord['lastError'] | null;
  result?: JobRecord['result'] | null;
  has_result?: boolean;
  recur?: JobRecord['recur'] | null;
  /** Fields without a column of their own (schema 3): progress, logs, trace, retain… */
  extra?: Record<string, unknown> | null;
  rm_at?: number | null;
  rm_count?: number | null;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** PostgreSQL text holds neither NUL nor, in UTF-8, a lone surrogate: refuse what it would change. */
export function checkText(value: string, what: string): void {
  if (value.includes('\u0000')) throw new ValidationError(`Expected \`${what}\` to hold no NUL character (PostgreSQL text cannot), got ${JSON.stringify(value.slice(0, 40))}`);
  if (!isWellFormed(value)) throw new ValidationError(`Expected \`${what}\` to be well-formed Unicode (PostgreSQL stores UTF-8), got a string with a lone surrogate`);
}

/** JSON text of `value`, refused above `maxBytes` (a length test first: most payloads are far below it). */
function jsonText(value: unknown, maxBytes: number, what: string, id: string): string {
  const text = JSON.stringify(value);
  if (text.length * 3 > maxBytes && utf8Bytes(text) > maxBytes) {
    throw new ValidationError(`Expected the ${what} of job \`${id}\` to be at most ${maxBytes} bytes of JSON, got ${utf8Bytes(text)}`);
  }
  return text;
}

const optional = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));

const COLUMN_KEYS = [
  'id', 'name', 'state', 'runAt', 'priority', 'attempt', 'payload', 'created', 'retry', 'timeout', 'lastError', 'result', 'finished', 'recur',
  'signature', 'lost', 'relative', 'extra', 'rmAt', 'rmCount',
] as const;

/**
 * JobRecord fields stored in columns of their own (or not at all: `seq` and
 * `token` are the store's, `dedupe` lives in `S.windows`). Every other field
 * the record carries goes to `extra`, known to this code or not.
 */
const OWN_COLUMN: ReadonlySet<string> = new Set([
  'id', 'name', 'payload', 'state', 'runAt', 'createdAt', 'attempt', 'seq', 'priority', 'retry', 'timeout', 'lastError', 'result',
  'finishedAt', 'token', 'recur', 'lost', 'relative', 'removal', 'dedupe',
]);

/** JSON text of the fields of `record` without a column (`extra`), or null when there are none. */
export function extraText(record: NewJobRecord | JobRecord): string | null {
  let extra: Record<string, unknown> | undefined;
  for (const key in record) {
    if (OWN_COLUMN.has(key)) continue;
    const value = (record as unknown as Record<string, unknown>)[key];
    if (value !== undefined) (extra ??= {})[key] = value;
  }
  return extra === undefined ? null : JSON.stringify(extra);
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/**
 * The PostgreSQL array literal node-postgres would send for `values` (every
 * element quoted, double quotes and backslashes escaped, null as NULL), built in one pass:
 * pg's own serialiser runs two regular-expression replaces and a type check
 * per element, a visible share of a settle batch's CPU (27 arrays of up to
 * 256 elements). Passed as a string, pg sends it unchanged.
 */
export function arrayLiteral(values: readonly (string | number | boolean | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const v = values[i];
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'string') out += NEEDS_ESCAPE.test(v) ? `"${v.replace(ESCAPED, '\\$&')}"` : `"${v}"`;
    else out += `"${String(v)}"`;
  }
  return `${out}}`;
}

/** One record encoded for the column arrays (EncodedRow fields in COLUMN_KEYS order), with its approximate bytes. */
export interface EncodedRow {
  id: string;
  name: string;
  state: string;
  runAt: number;
  priority: number;
  attempt: number;
  payload: string | null;
  created: number;
  retry: string | null;
  timeout: number | null;
  lastError: string | null;
  result: string | null;
  finished: number | null;
  recur: string | null;
  signature: string | null;
  lost: string | null;
  relative: boolean | null;
  extra: string | null;
  rmAt: number | null;
  rmCount: number | null;
  bytes: number;
}

/**
 * Encodes `record` for the column arrays; JSON above `maxBytes` is refused
 * here, before anything is sent. `keepPayload`: the payload is the one
 * stored (an attempt's outcome): send NULL, the server keeps its copy.
 */
export function encodeRow(record: NewJobRecord | JobRecord, maxBytes: number, keepPayload = false): EncodedRow {
  const id = record.id;
  const payload = keepPayload ? null : jsonText(record.payload, maxBytes, 'payload', id);
  const result = record.result === undefined ? null : jsonText(record.result, maxBytes, 'result', id);
  const recur = optional(record.recur);
  const extra = extraText(record);
  // A removal applies to a finished job only (the scheduler sets it on completed and dead records).
  const removal = record.state === 'completed' || record.state === 'dead' ? record.removal : undefined;
  return {
    id,
    name: record.name,
    state: record.state,
    runAt: record.runAt,
    priority: record.priority,
    attempt: record.attempt,
    payload,
    created: record.createdAt,
    retry: optional(record.retry),
    timeout: record.timeout ?? null,
    lastError: optional(record.lastError),
    result,
    finished: record.finishedAt ?? null,
    recur,
    signature: record.recur?.signature ?? null,
    lost: record.lost ?? null,
    relative: record.relative ? true : null,
    extra,
    rmAt: removal?.at ?? null,
    rmCount: removal?.count ?? null,
    bytes: 128 + id.length + record.name.length + (payload?.length ?? 0) + (result?.length ?? 0) + (recur?.length ?? 0) + (extra?.length ?? 0),
  };
}

/** Column arrays of the records a call writes, in the order of the SQL functions' parameters. */
export class Columns {
  readonly id: string[] = [];
  readonly name: string[] = [];
  readonly state: string[] = [];
  readonly runAt: number[] = [];
  readonly priority: number[] = [];
  readonly attempt: number[] = [];
  readonly payload: (string | null)[] = [];
  readonly created: number[] = [];
  readonly retry: (string | null)[] = [];
  readonly timeout: (number | null)[] = [];
  readonly lastError: (string | null)[] = [];
  readonly result: (string | null)[] = [];
  readonly finished: (number | null)[] = [];
  readonly recur: (string | null)[] = [];
  readonly signature: (string | null)[] = [];
  readonly lost: (string | null)[] = [];
  readonly relative: (boolean | null)[] = [];
  readonly extra: (string | null)[] = [];
  readonly rmAt: (number | null)[] = [];
  readonly rmCount: (number | null)[] = [];
  /** Approximate bytes, for batch sizes. */
  bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Appends every row of `other` (several calls' records in one statement). */
  append(other: Columns): void {
    for (const key of COLUMN_KEYS) (this[key] as unknown[]).push(...(other[key] as unknown[]));
    this.bytes += other.bytes;
  }

  /** Adds `record` (see encodeRow). */
  add(record: NewJobRecord | JobRecord, keepPayload = false): void {
    this.addRow(encodeRow(record, this.maxBytes, keepPayload));
  }

  /** Adds a record already encoded. */
  addRow(row: EncodedRow): void {
    this.id.push(row.id);
    this.name.push(row.name);
    this.state.push(row.state);
    this.runAt.push(row.runAt);
    this.priority.push(row.priority);
    this.attempt.push(row.attempt);
    this.payload.push(row.payload);
    this.created.push(row.created);
    this.retry.push(row.retry);
    this.timeout.push(row.timeout);
    this.lastError.push(row.lastError);
    this.result.push(row.result);
    this.finished.push(row.finished);
    this.recur.push(row.recur);
    this.signature.push(row.signature);
    this.lost.push(row.lost);
    this.relative.push(row.relative);
    this.extra.push(row.extra);
    this.rmAt.push(row.rmAt);
    this.rmCount.push(row.rmCount);
    this.bytes += row.bytes;
  }
}

/** Check the text fields of records to insert (before anything is sent). */
export function checkInsert(request: InsertRequest): void {
  checkText(request.record.id, 'id');
  checkText(request.record.name, 'name');
}

const STATES: ReadonlySet<string> = new Set(['scheduled', 'running', 'completed', 'dead', 'cancelled']);

/** The record of a row; `ready` (due, waiting for capacity) is `scheduled` to the scheduler. */
export function decodeRow(row: JobRow): JobRecord {
  const state = (row.state === 'ready' ? 'scheduled' : STATES.has(row.state) ? row.state : 'scheduled') as JobState;
  const record: JobRecord = {
    id: row.id,
    name: row.name,
    payload: row.payload,
    state,
    runAt: row.run_at,
    createdAt: row.created_at,
    attempt: row.attempt,
    seq: Number(row.seq),
    priority: row.priority,
  };
  if (row.retry != null) record.retry = row.retry;
  if (row.timeout != null) record.timeout = row.timeout;
  if (row.last_error != null) record.lastError = row.last_error;
  if (row.has_result === true) record.result = row.result as JsonValue;
  if (row.finished_at != null) record.finishedAt = row.finished_at;
  if (row.token != null) record.token = row.token;
  if (row.recur != null) record.recur = row.recur;
  if (row.lost === 'lease' || row.lost === 'crash') record.lost = row.lost;
  if (row.relative === true) record.relative = true;
  if (row.extra != null) {
    const fields = record as unknown as Record<string, unknown>;
    for (const key in row.extra) if (!OWN_COLUMN.has(key)) fields[key] = row.extra[key];
  }
  if (row.rm_at != null || row.rm_count != null) {
    const removal: NonNullable<JobRecord['removal']> = {};
    if (row.rm_at != null) removal.at = row.rm_at;
    if (row.rm_count != null) removal.count = row.rm_count;
    record.removal = removal;
  }
  return record;
}
