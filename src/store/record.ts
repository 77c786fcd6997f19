/**
 * JobRecord transitions shared by the scheduler and every local store.
 */
import type { JsonValue } from '../types.js';
import type { JobRecord, NewJobRecord, RecurrenceRecord } from './store.js';

/**
 * A constructor whose instances are the object it is given: a class that
 * extends it stamps its private fields onto any object (see IndexSlot).
 */
class Stamp {
  constructor(target: object) {
    return target as Stamp;
  }
}

/**
 * The hidden index slot a local store keeps on a scheduled record (see
 * LocalState), held in a private class field stamped onto the record.
 *
 * WHY a private field: JSON, Object.keys, Reflect.ownKeys, util.inspect,
 * structuredClone and assert.deepStrictEqual never see one, so a record a
 * store hands out reads as the plain object it is; and V8 stores it as an
 * ordinary in-object property, set through an inline cache. The symbol
 * property it replaces needed Object.defineProperty (to stay
 * non-enumerable), a runtime call that was ~6% of scheduleIn (4 December
 * profile; the first set costs half as much this way, bench/HISTORY.md).
 */
export class IndexSlot extends Stamp {
  #slot = 0;

  /** Sets `record`'s slot, stamping the field on the first set. */
  static set(record: object, slot: number): void {
    // The stamped object is used, not just constructed: a bundler's tree
    // shaking drops a `new` whose value is unused (the package's build did).
    const stamped = #slot in record ? (record as IndexSlot) : new IndexSlot(record);
    stamped.#slot = slot;
  }

  /** `record`'s slot, or undefined when it never had one. */
  static get(record: object): number | undefined {
    return #slot in record ? (record as IndexSlot).#slot : undefined;
  }
}

interface ScheduledRecordConstructor {
  new (id: string, name: string, payload: JsonValue, runAt: number, createdAt: number, relative: boolean): NewJobRecord;
}

/**
 * A new scheduled record (no options), built by a constructor instead of a
 * literal: V8 sizes constructed objects for the most properties any of them
 * got, so a store's index slot and `relative` stay in the object instead of an
 * out-of-object property array (40 B a job). Its prototype is
 * Object.prototype: to every reader it is the plain literal it replaces.
 */
const ScheduledRecord = function (
  this: Record<string, unknown>,
  id: string,
  name: string,
  payload: JsonValue,
  runAt: number,
  createdAt: number,
  relative: boolean,
): void {
  this.id = id;
  this.name = name;
  this.payload = payload;
  this.state = 'scheduled';
  this.runAt = runAt;
  this.createdAt = createdAt;
  this.attempt = 0;
  this.priority = 0;
  this.seq = 0; // assigned by the store; present so every record has this shape
  if (relative) this.relative = true;
} as unknown as ScheduledRecordConstructor;
ScheduledRecord.prototype = Object.prototype;
// One record with every property it may get, the index slot included, before
// any other: V8 fixes the objects' size from the first few it builds.
IndexSlot.set(new ScheduledRecord('', '', null, 0.5, 0.5, true), 0.5);

/** A scheduled one-off record without options (the scheduleIn/scheduleAt hot path). */
export function scheduledRecord(id: string, name: string, payload: JsonValue, runAt: number, createdAt: number, relative: boolean): NewJobRecord {
  return new ScheduledRecord(id, name, payload, runAt, createdAt, relative);
}

/**
 * The fields a patch may set. The rest are copied from the record as they
 * are: a job's identity, payload, priority and group never change, reports
 * are set with withReport, the trace context at insert.
 */
type Patchable = 'state' | 'runAt' | 'attempt' | 'seq' | 'retry' | 'timeout' | 'lastError' | 'result' | 'finishedAt' | 'token' | 'recur' | 'lost' | 'relative';

/**
 * `j` with `p` applied, built as one fixed-order literal. Never `{ ...record,
 * newKey }`: on Node 20 a spread that adds a key yields a dictionary-mode
 * object (~500 B, ~2 us to build). `p.x: undefined` drops x. A field added
 * to JobRecord must be added here too, and to runningRecord and finishedRecord.
 */
export function patchRecord(j: JobRecord, p: { [K in Patchable]?: JobRecord[K] | undefined }): JobRecord {
  const r: JobRecord = {
    id: j.id,
    name: j.name,
    payload: j.payload,
    state: p.state ?? j.state,
    runAt: p.runAt ?? j.runAt,
    createdAt: j.createdAt,
    attempt: p.attempt ?? j.attempt,
    priority: j.priority,
    seq: p.seq ?? j.seq,
  };
  const retry = 'retry' in p ? p.retry : j.retry;
  if (retry !== undefined) r.retry = retry;
  const timeout = 'timeout' in p ? p.timeout : j.timeout;
  if (timeout !== undefined) r.timeout = timeout;
  const lastError = 'lastError' in p ? p.lastError : j.lastError;
  if (lastError !== undefined) r.lastError = lastError;
  const result = 'result' in p ? p.result : j.result;
  if (result !== undefined) r.result = result;
  const finishedAt = 'finishedAt' in p ? p.finishedAt : j.finishedAt;
  if (finishedAt !== undefined) r.finishedAt = finishedAt;
  const token = 'token' in p ? p.token : j.token;
  if (token !== undefined) r.token = token;
  const recur = 'recur' in p ? p.recur : j.recur;
  if (recur !== undefined) r.recur = recur;
  const lost = 'lost' in p ? p.lost : j.lost;
  if (lost !== undefined) r.lost = lost;
  const relative = 'relative' in p ? p.relative : j.relative;
  if (relative !== undefined) r.relative = relative;
  copyReports(j, r);
  return r;
}

/** The fields patchRecord and the builders below copy, never patch: no `in` test of a patch for them. */
function copyReports(j: JobRecord, r: JobRecord): void {
  if (j.progress !== undefined) r.progress = j.progress;
  if (j.logs !== undefined) r.logs = j.logs;
  if (j.trace !== undefined) r.trace = j.trace;
  if (j.group !== undefined) {
    r.group = j.group;
    if (j.groupConcurrency !== undefined) r.groupConcurrency = j.groupConcurrency;
  }
  if (j.dedupe !== undefined) r.dedupe = j.dedupe;
  if (j.retain !== undefined) r.retain = j.retain;
  // A removal applies to a finished record only: a revived or rescheduled one drops it.
  if (j.removal !== undefined && (r.state === 'completed' || r.state === 'dead')) r.removal = j.removal;
}

/**
 * `patchRecord(j, { state: 'running', attempt: j.attempt + 1, token })`, the
 * same record with the same key order, without a patch object: a claim
 * builds one a fire, and patchRecord's `in` tests of patches of many shapes
 * are megamorphic lookups. test/record-builders.test.ts holds them equal.
 */
export function runningRecord(j: JobRecord, token: string): JobRecord {
  const r: JobRecord = { id: j.id, name: j.name, payload: j.payload, state: 'running', runAt: j.runAt, createdAt: j.createdAt, attempt: j.attempt + 1, priority: j.priority, seq: j.seq };
  if (j.retry !== undefined) r.retry = j.retry;
  if (j.timeout !== undefined) r.timeout = j.timeout;
  if (j.lastError !== undefined) r.lastError = j.lastError;
  if (j.result !== undefined) r.result = j.result;
  if (j.finishedAt !== undefined) r.finishedAt = j.finishedAt;
  r.token = token;
  if (j.recur !== undefined) r.recur = j.recur;
  if (j.lost !== undefined) r.lost = j.lost;
  if (j.relative !== undefined) r.relative = j.relative;
  copyReports(j, r);
  return r;
}

/**
 * `patchRecord(j, { state, finishedAt, result, relative: undefined, token:
 * undefined, lost: undefined })`: a one-off job's final record after an
 * attempt (see runningRecord for why it is built apart).
 */
export function finishedRecord(j: JobRecord, state: 'completed' | 'dead', finishedAt: number, result: JsonValue | undefined): JobRecord {
  const r: JobRecord = { id: j.id, name: j.name, payload: j.payload, state, runAt: j.runAt, createdAt: j.createdAt, attempt: j.attempt, priority: j.priority, seq: j.seq };
  if (j.retry !== undefined) r.retry = j.retry;
  if (j.timeout !== undefined) r.timeout = j.timeout;
  if (j.lastError !== undefined) r.lastError = j.lastError;
  if (result !== undefined) r.result = result;
  r.finishedAt = finishedAt;
  if (j.recur !== undefined) r.recur = j.recur;
  copyReports(j, r);
  return r;
}

/** `j` with what a running attempt reported (job.progress / job.log): a value given replaces the record's. */
export function withReport(j: JobRecord, progress: JsonValue | undefined, logs: string[] | undefined): JobRecord {
  const r = patchRecord(j, {});
  if (progress !== undefined) r.progress = progress;
  if (logs !== undefined) r.logs = logs;
  return r;
}

/**
 * An `every` recurrence moved by a clock step: its slots are anchor + k ×
 * every, so the anchor and current slot move; startAt/endAt are dates the
 * user gave (wall time) and stay.
 */
export function shiftEvery(recur: RecurrenceRecord, deltaMs: number): RecurrenceRecord {
  const moved: RecurrenceRecord = { ...recur, slot: clampTime(recur.slot + deltaMs), anchor: clampTime((recur.anchor ?? recur.startAt ?? 0) + deltaMs) };
  // The last finished slot is on the same grid: it moves with it (slotAfter compares the two).
  if (recur.last) moved.last = { ...recur.last, slot: clampTime(recur.last.slot + deltaMs) };
  return moved;
}

/**
 * A record as a clock step of `deltaMs` leaves it (see Store.shift): a
 * scheduled elapsed-time due (`relative`) and an `every` schedule move, a
 * running `every` occurrence too (its next slot follows from its slot);
 * dates and cron slots stay put. A dedupe window's end moves in every state
 * (a window is `ttlMs` of elapsed time, and outlives its job's run: left in
 * place, a step back by an hour kept a 5 s window open for that hour).
 * Returns `job` itself when nothing moves.
 */
export function shiftDue(job: JobRecord, deltaMs: number): JobRecord {
  const window = job.dedupe;
  const moved = shiftRunAt(job, deltaMs);
  if (window === undefined) return moved;
  const out = moved === job ? patchRecord(job, {}) : moved;
  out.dedupe = { key: window.key, until: clampTime(window.until + deltaMs) };
  return out;
}

function shiftRunAt(job: JobRecord, deltaMs: number): JobRecord {
  if (job.state !== 'scheduled' && job.state !== 'running') return job;
  const every = job.recur?.every !== undefined ? job.recur : undefined;
  if (job.state === 'running' ? !every : !job.relative && !every) return job;
  const runAt = clampTime(job.runAt + deltaMs);
  return patchRecord(job, every ? { runAt, recur: shiftEvery(every, deltaMs) } : { runAt });
}

/**
 * One record of each shape the firing path builds (scheduled with and
 * without `relative`, running, finished; each with and without a store's
 * index slot), kept for the process's life. V8 collects a hidden class once no
 * object has it and throws away the optimized code that embedded it: after a
 * quiet spell in which every record of a shape died, a full GC would
 * deoptimize the whole claim-run-settle path, and the next burst would
 * start late while V8 compiled it again (test/shape-keepers.test.ts). Held
 * by AttemptContext.keepers, which a bundler cannot drop.
 */
export const SHAPE_KEEPERS: readonly object[] = keepShapes();

function keepShapes(): object[] {
  const kept: JobRecord[] = [];
  for (const slotted of [false, true]) {
    for (const relative of [false, true]) {
      const scheduled = new ScheduledRecord('k', 'k', null, 0.5, 0.5, relative) as JobRecord;
      const running = runningRecord(scheduled, 'k');
      const shapes = [scheduled, running, finishedRecord(running, 'completed', 0.5, undefined), finishedRecord(running, 'completed', 0.5, 'k')];
      // 0.5: a store's slots are heap handles, held as doubles (a Smi here would be a map V8 deprecates).
      if (slotted) for (const record of shapes) IndexSlot.set(record, 0.5);
      kept.push(...shapes);
    }
  }
  return kept;
}

/** Epoch ms within what a Date can hold. */
export function clampTime(t: number): number {
  return Math.max(-8.64e15, Math.min(8.64e15, t));
}
