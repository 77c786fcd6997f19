/**
 * RedisStore's inserts, as the batcher sends them: many calls in one INSERT
 * script (insert-script.ts), each call a group, all or none on its own; and
 * each call's outcome from the script's reply.
 */
import { DuplicateJobError, StorePersistError } from '../../errors.js';
import type { DedupeRequest, InsertRequest, InsertResult, JobRecord } from '../store.js';
import type { ItemOutcome } from './batcher.js';
import { decodeRecord, type RawHash } from './codec.js';
import type { Reply, StoreCore } from './host.js';
import { INSERT } from './insert-script.js';

/** The INSERT mode of a request with a dedupe window (see scripts.ts). */
function dedupeMode(d: DedupeRequest): string {
  return `d${d.mode === 'throttle' ? 'T' : 'D'}:${d.ttlMs}:${d.key}`;
}

/** One request of an insert call, its record encoded. */
export interface InsertItem {
  request: InsertRequest;
  fields: string[];
}

/** The bytes a batch counts for encoded fields. */
export function fieldsSize(fields: readonly string[]): number {
  let n = 64;
  for (const f of fields) n += f.length;
  return n;
}

export async function flushInserts(host: StoreCore, groups: InsertItem[][]): Promise<ItemOutcome<InsertResult[]>[]> {
  const args: (string | number)[] = [groups.length];
  for (const group of groups) {
    args.push(group.length);
    for (const { request, fields } of group) args.push(request.record.id, request.dedupe === undefined ? request.onDuplicate : dedupeMode(request.dedupe), ...fields);
  }
  const reply = await host.exec(INSERT, args);
  const results = reply[0] as Reply[];
  return groups.map((group, g): ItemOutcome<InsertResult[]> => {
    const r = results[g] as Reply;
    if (r[0] === 'DUP') return { ok: false, error: new DuplicateJobError(String(r[1])) };
    if (r[0] === 'WRONGTYPE_KEY') {
      return { ok: false, error: new StorePersistError(`Expected key ${JSON.stringify(String(r[1]))} to hold a string for \`insert\` (a dedupe window), got a ${String(r[2])} (written by another program?); nothing was changed`) };
    }
    if (r[0] === 'WRONGTYPE' || r[0] === 'WRONGTYPE_READY') {
      const key = r[0] === 'WRONGTYPE' ? host.keys.job(String(r[1])) : host.keys.ready(String(r[1]));
      return { ok: false, error: new StorePersistError(`Expected key ${JSON.stringify(key)} to hold a ${r[0] === 'WRONGTYPE' ? 'hash' : 'zset'} for \`insert\`, got a ${String(r[2])} (written by another program?); nothing was changed`) };
    }
    const outcomes = r[1] as [string, RawHash | number, RawHash | false][];
    return {
      ok: true,
      value: outcomes.map((o, i): InsertResult => {
        const request = (group[i] as InsertItem).request;
        if (o[0] === 'kept' || o[0] === 'throttled') return { record: decodeRecord(o[1] as RawHash) as JobRecord, outcome: o[0] };
        if (o[0] === 'debounced') return { record: decodeRecord(o[1] as RawHash) as JobRecord, outcome: 'debounced', previous: decodeRecord(o[2] as RawHash) as JobRecord };
        const { token: _token, ...rest } = request.record as JobRecord;
        const record: JobRecord = { ...rest, seq: Number(o[1]) };
        if (o[0] === 'inserted') return { record, outcome: 'inserted' };
        host.leases.release(record.id);
        const previous = o[2] ? decodeRecord(o[2]) : undefined;
        return previous ? { record, outcome: 'replaced', previous } : { record, outcome: 'replaced' };
      }),
    };
  });
}
