/**
 * The on-disk format of JsonFileStore, version 1. Everything is JSON text a
 * person can read with `jq`:
 *
 *   <dir>/LOCK                        {"pid":123,"hostname":"…","nonce":"…","createdAt":"…"}
 *   <dir>/journal-000007.jsonl        header line, then one line per committed batch:
 *       {"godelayq":"journal","version":1,"generation":7}
 *       {"op":"put","job":{…}}                       a batch of one change
 *       {"op":"del","id":"…"}
 *       {"op":"batch","changes":[{"op":"put",…},…]}  a batch of several (all or none)
 *   <dir>/snapshot-000007.json        one JSON document, one job per line:
 *       {"godelayq":"snapshot","version":1,"generation":7,"createdAt":"…","count":2,"nextSeq":9,"jobs":[
 *       {…job…},
 *       {…job…}
 *       ]}
 *
 * Generation g: `snapshot-g` is the state when `journal-g` was started
 * (it may already include the first batches of journal-g: replaying a put or
 * del twice is harmless). Journals chain: journal-(g+1) continues
 * journal-g. Recovery loads the newest snapshot s (none: empty, s = 1) and
 * replays journals s, s+1, … in order.
 */
import type { JobRecord } from '../store.js';
import type { Change } from '../local.js';

/** Format version written in every header; a reader rejects any other. */
export const FORMAT_VERSION = 1;

export const LOCK_NAME = 'LOCK';
/** Held only while taking over a stale lock, so two takers cannot both win. */
export const GUARD_NAME = 'LOCK.takeover';
const JOURNAL_RE = /^journal-(\d+)\.jsonl$/;
const SNAPSHOT_RE = /^snapshot-(\d+)\.json$/;
/** Our temp files and write-file-atomic's (`<target>.<uint32>`). */
const TEMP_RE = /^(?:journal-\d+\.jsonl|snapshot-\d+\.json)(?:\.tmp)?(?:\.\d+)?$/;
/** A lock candidate being written by process <pid>. */
const LOCK_TEMP_RE = /^LOCK\.(\d+)\.[\w-]+\.tmp(?:\.\d+)?$/;

const pad = (gen: number): string => String(gen).padStart(6, '0');

export const journalName = (gen: number): string => `journal-${pad(gen)}.jsonl`;
export const snapshotName = (gen: number): string => `snapshot-${pad(gen)}.json`;
export const lockTempName = (pid: number, nonce: string): string => `LOCK.${pid}.${nonce}.tmp`;

export type FileKind =
  | { kind: 'journal'; gen: number }
  | { kind: 'snapshot'; gen: number }
  | { kind: 'lock' }
  | { kind: 'temp' }
  | { kind: 'lockTemp'; pid: number }
  | { kind: 'other' };

/** What a file name in the store directory is. */
export function classify(name: string): FileKind {
  if (name === LOCK_NAME) return { kind: 'lock' };
  let m = JOURNAL_RE.exec(name);
  if (m) return { kind: 'journal', gen: Number(m[1]) };
  m = SNAPSHOT_RE.exec(name);
  if (m) return { kind: 'snapshot', gen: Number(m[1]) };
  if (TEMP_RE.test(name)) return { kind: 'temp' };
  m = LOCK_TEMP_RE.exec(name);
  if (m) return { kind: 'lockTemp', pid: Number(m[1]) };
  return { kind: 'other' };
}

export interface JournalHeader {
  godelayq: 'journal';
  version: number;
  generation: number;
}

export interface SnapshotHeader {
  godelayq: 'snapshot';
  version: number;
  generation: number;
  createdAt: string;
  count: number;
  nextSeq: number;
}

export function journalHeaderLine(gen: number): string {
  const header: JournalHeader = { godelayq: 'journal', version: FORMAT_VERSION, generation: gen };
  return `${JSON.stringify(header)}\n`;
}

/** The first line of a snapshot, up to and including the `[` that opens `jobs`. */
export function snapshotHeaderLine(header: Omit<SnapshotHeader, 'godelayq' | 'version'>): string {
  const full: SnapshotHeader = { godelayq: 'snapshot', version: FORMAT_VERSION, ...header };
  return `${JSON.stringify(full).slice(0, -1)},"jobs":[\n`;
}

export const SNAPSHOT_FOOTER = ']}';

/** One journal line (with its newline) for a batch of changes. */
export function encodeBatch(changes: readonly Change[]): string {
  if (changes.length === 1) return `${JSON.stringify(changes[0])}\n`;
  return `${JSON.stringify({ op: 'batch', changes })}\n`;
}

const STATES = new Set(['scheduled', 'running', 'completed', 'dead', 'cancelled']);

/** Why `value` is not a job record, or undefined if it is one (shallow check). */
export function recordProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a job object';
  const r = value as Partial<Record<keyof JobRecord, unknown>>;
  if (typeof r.id !== 'string') return 'expected a string `id`';
  if (typeof r.name !== 'string') return 'expected a string `name`';
  if (typeof r.state !== 'string' || !STATES.has(r.state)) return `expected a job state, got ${JSON.stringify(r.state)}`;
  if (typeof r.runAt !== 'number' || typeof r.seq !== 'number' || typeof r.attempt !== 'number') {
    return 'expected numeric `runAt`, `seq` and `attempt`';
  }
  return undefined;
}

/**
 * Applies one parsed journal line to `records` (id → record, or null once
 * deleted). Returns a problem description, or undefined when the line was a
 * valid change or batch.
 */
export function applyLine(records: Map<string, JobRecord | null>, value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'expected a change object';
  const line = value as { op?: unknown; changes?: unknown };
  if (line.op === 'batch') {
    if (!Array.isArray(line.changes)) return 'expected `changes` to be an array';
    // Validate the whole batch before applying any of it: all or none.
    for (const change of line.changes) {
      const problem = changeProblem(change);
      if (problem) return problem;
    }
    for (const change of line.changes as Change[]) applyChange(records, change);
    return undefined;
  }
  const problem = changeProblem(value);
  if (problem) return problem;
  applyChange(records, value as Change);
  return undefined;
}

function changeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'expected a change object';
  const c = value as { op?: unknown; job?: unknown; id?: unknown };
  if (c.op === 'put') return recordProblem(c.job);
  if (c.op === 'del') return typeof c.id === 'string' ? undefined : 'expected a string `id` in a del change';
  return `expected op 'put', 'del' or 'batch', got ${JSON.stringify(c.op)}`;
}

function applyChange(records: Map<string, JobRecord | null>, change: Change): void {
  if (change.op === 'put') records.set(change.job.id, change.job);
  else records.set(change.id, null);
}
