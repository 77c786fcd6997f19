/**
 * JobInfo: the public, read-only view of a stored record, and the view of
 * one finished occurrence that `completed` / `failed` / `dead` events carry.
 */
import { nextSlot, type RecurrenceSpec } from '../cron.js';
import type { JobRecord, RecurrenceRecord } from '../store/store.js';
import type { JobInfo } from '../types.js';
import { readOnlyJson } from '../validate.js';

/** The recurrence of a record as the cron module reads it. */
export function specOf(recur: RecurrenceRecord): RecurrenceSpec {
  const spec: RecurrenceSpec = {};
  if (recur.cron !== undefined) spec.cron = recur.cron;
  if (recur.every !== undefined) spec.every = recur.every;
  if (recur.tz !== undefined) spec.tz = recur.tz;
  if (recur.startAt !== undefined) spec.startAt = recur.startAt;
  if (recur.endAt !== undefined) spec.endAt = recur.endAt;
  if (recur.anchor !== undefined) spec.anchor = recur.anchor;
  return spec;
}

/** The slot after a schedule's current one, or undefined when the schedule ends with it. */
export function slotAfter(recur: RecurrenceRecord): number | undefined {
  if (recur.limit !== undefined && recur.count + 1 >= recur.limit) return undefined;
  // An occurrence moved to before the last finished slot goes on after that slot, never back to it.
  const last = recur.last?.slot;
  return nextSlot(specOf(recur), last !== undefined && last > recur.slot ? last : recur.slot);
}

/**
 * The JobInfo of `record`. `nextRunAt` overrides the schedule's next run
 * (for the occurrence views of events); otherwise a scheduled schedule runs
 * next at `runAt` and a running one at the slot after its current one.
 */
export function jobInfo(record: JobRecord, maxRetries: number, nextRunAt?: Date | null): JobInfo {
  const info: JobInfo = {
    id: record.id,
    name: record.name,
    // Shared with the stored record: read-only (a record a store parsed is frozen here, once).
    payload: readOnlyJson(record.payload),
    state: record.state,
    runAt: new Date(record.runAt),
    createdAt: new Date(record.createdAt),
    attempt: record.attempt,
    maxRetries,
    priority: record.priority,
  };
  if (record.lastError) info.lastError = readOnlyJson(record.lastError);
  if (record.result !== undefined) info.result = readOnlyJson(record.result);
  if (record.progress !== undefined) info.progress = readOnlyJson(record.progress);
  if (record.logs !== undefined) info.logs = readOnlyJson(record.logs);
  if (record.group !== undefined) info.group = { id: record.group, concurrency: record.groupConcurrency ?? 1 };
  const recur = record.recur;
  if (recur) {
    let next: Date | undefined;
    if (nextRunAt !== undefined) next = nextRunAt ?? undefined;
    else if (record.state === 'scheduled') next = new Date(record.runAt);
    else if (record.state === 'running') {
      const after = slotAfter(recur);
      next = after === undefined ? undefined : new Date(after);
    }
    if (recur.cron !== undefined) info.cron = { expression: recur.cron, ...(recur.tz === undefined ? {} : { tz: recur.tz }), nextRunAt: next };
    if (recur.every !== undefined) info.every = { interval: recur.every, nextRunAt: next };
  }
  return info;
}
