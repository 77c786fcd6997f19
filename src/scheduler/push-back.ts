/**
 * The record of a job whose handler said the remote side pushed back
 * (`job.rateLimit(ms)`): scheduled again, the attempt not counted.
 */
import { patchRecord } from '../store/record.js';
import type { JobRecord } from '../store/store.js';

/**
 * `held`: the store holds every job of the name until `until` (pushBack), so
 * the job keeps its due time and with it its place among the name's jobs.
 * Otherwise it waits on its own: due at `until`, a delay (re-based on clock
 * steps like any delay).
 */
export function pushedBack(record: JobRecord, until: number, held: boolean): JobRecord {
  const attempt = Math.max(0, record.attempt - 1);
  return held
    ? patchRecord(record, { state: 'scheduled', attempt, token: undefined })
    : patchRecord(record, { state: 'scheduled', attempt, token: undefined, runAt: until, relative: true });
}
