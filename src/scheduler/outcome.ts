/**
 * What a finished attempt turns its job into: pure functions from the
 * running record and the attempt's outcome to the record to settle (retry
 * with backoff, a schedule's next slot, completed or dead) and to the view
 * of the finished occurrence that events describe.
 */
import { LeaseLostError, ProcessCrashError, UnrecoverableError, errorSummary } from '../errors.js';
import { backoffDelay } from '../retry.js';
import { finishedRecord, patchRecord } from '../store/record.js';
import type { JobRecord } from '../store/store.js';
import type { HandlerRetryOptions, JsonValue } from '../types.js';
import { MAX_TIME } from '../validate.js';
import { slotAfter } from './info.js';

/** An attempt's end, decided. */
export interface Outcome {
  /** The whole record to settle (token cleared). */
  next: JobRecord;
  /**
   * The occurrence that finished, as events describe it: its slot (a
   * schedule) or due time as `runAt`, its attempt number, and the state it
   * ended in ('completed', 'scheduled' when it will be retried, 'dead').
   */
  occurrence: JobRecord;
  willRetry: boolean;
  /** Backoff before the retry, ms (when `willRetry`). */
  delay?: number;
  /** When the job runs next (a retry or a schedule's next slot). */
  nextRunAt?: number;
  /** The backoff function threw: the job was not retried; report this. */
  backoffError?: unknown;
}

/** The instant the occurrence of `record` was due: a schedule's slot, else its runAt. */
export function slotOf(record: JobRecord): number {
  return record.recur ? record.recur.slot : record.runAt;
}

/** The record after a finished occurrence (token and lost mark cleared): a schedule's next slot, or a final state. */
function afterOccurrence(base: JobRecord, now: number, final: 'completed' | 'dead', result: JsonValue | undefined): JobRecord {
  const recur = base.recur;
  if (!recur) return finishedRecord(base, final, now, result);
  const count = recur.count + 1;
  const next = slotAfter(recur);
  const last = { state: final, slot: recur.slot, at: now };
  if (next === undefined) {
    return patchRecord(base, { state: 'completed', finishedAt: now, result, relative: undefined, token: undefined, lost: undefined, recur: { ...recur, count, last } });
  }
  return patchRecord(base, {
    state: 'scheduled',
    runAt: next,
    attempt: 0,
    result,
    relative: undefined,
    token: undefined,
    lost: undefined,
    recur: { ...recur, count, slot: next, last },
  });
}

function nextRunOf(next: JobRecord): number | undefined {
  return next.state === 'scheduled' ? next.runAt : undefined;
}

/** A successful attempt's end: the record to settle, and when the job runs next (a schedule). */
export interface Success {
  next: JobRecord;
  nextRunAt?: number;
}

/**
 * The handler returned `result` (already checked to be JSON, or undefined).
 * The view events describe is built apart (successView), only when someone listens.
 */
export function succeeded(record: JobRecord, now: number, result: JsonValue | undefined): Success {
  const next = afterOccurrence(record, now, 'completed', result);
  const nextRunAt = nextRunOf(next);
  return nextRunAt === undefined ? { next } : { next, nextRunAt };
}

/** The finished occurrence of a successful attempt, as `completed` describes it (see Outcome.occurrence). */
export function successView(record: JobRecord, now: number, result: JsonValue | undefined): JobRecord {
  return patchRecord(record, { token: undefined, lost: undefined, state: 'completed', finishedAt: now, result, runAt: slotOf(record) });
}

/**
 * The attempt numbered `attempt` of `record` failed with `error`. Retries
 * while `attempt <= maxRetries` (unless UnrecoverableError), after the
 * policy's backoff; then dead (a schedule: on to its next slot).
 */
export function failed(record: JobRecord, attempt: number, now: number, error: Error, policy: HandlerRetryOptions): Outcome {
  const summary = errorSummary(error);
  const base = patchRecord(record, { token: undefined, lost: undefined, attempt, lastError: summary });
  let delay: number | undefined;
  let backoffError: unknown;
  if (!(error instanceof UnrecoverableError) && attempt <= policy.maxRetries) {
    try {
      delay = backoffDelay(policy.backoff, attempt, error);
    } catch (thrown) {
      backoffError = thrown;
    }
  }
  const slot = slotOf(record);
  let outcome: Outcome;
  if (delay !== undefined) {
    const runAt = Math.min(MAX_TIME, now + delay);
    const next = patchRecord(base, { state: 'scheduled', runAt, relative: true });
    outcome = { next, occurrence: patchRecord(base, { state: 'scheduled', runAt: slot }), willRetry: true, delay, nextRunAt: runAt };
  } else {
    const next = afterOccurrence(base, now, 'dead', undefined);
    const occurrence = patchRecord(base, { state: 'dead', finishedAt: now, runAt: slot });
    const nextRunAt = nextRunOf(next);
    outcome = nextRunAt === undefined ? { next, occurrence, willRetry: false } : { next, occurrence, willRetry: false, nextRunAt };
  }
  if (backoffError !== undefined) outcome.backoffError = backoffError;
  return outcome;
}

/** The typed error recorded for an attempt a store took back (see JobRecord.lost). */
export function lostError(record: JobRecord): Error {
  const n = record.attempt - 1;
  return record.lost === 'lease'
    ? new LeaseLostError(`Attempt ${n} of job ${record.id} lost its lease before it finished (its process died, stalled or lost the store)`)
    : new ProcessCrashError(`Attempt ${n} of job ${record.id} was running when its process died (crash, kill, OOM or process.exit)`);
}
