/**
 * PostgresStore's inserts, both ends of one statement: the parameters of
 * `<schema>.insert` for a batch of calls (each call a group, all or none on
 * its own), and each call's outcome from its reply (see the insert function
 * of migration 3: the fast path's ids and seqs, or per group the outcome of
 * each item, or the id that refused the group).
 */
import { DuplicateJobError } from '../../errors.js';
import type { ItemOutcome } from '../redis/batcher.js';
import type { InsertRequest, InsertResult, JobRecord } from '../store.js';
import { Columns, decodeRow, type JobRow } from './codec.js';

/** One insert call: its requests and their encoded columns. */
export interface InsertGroup {
  requests: InsertRequest[];
  cols: Columns;
}

type GroupReply = { dup: string } | { o: ([string, number, JobRow | null] | ['kept' | 'throttled', JobRow] | ['debounced', JobRow, JobRow])[] };

/** The reply of `<schema>.insert`: `f` (fast path: ids and seqs) or `g` (per group). */
export type InsertReply = { f?: [string[], number[]]; g?: GroupReply[] };

/** The 23 parameters of `<schema>.insert` for `groups`; the dedupe arrays are NULL when no request has a window (the fast path). */
export function insertParams(groups: readonly InsertGroup[]): unknown[] {
  const cols = new Columns(Infinity);
  const group: number[] = [];
  const mode: string[] = [];
  const windows = groups.some(({ requests }) => requests.some((r) => r.dedupe !== undefined));
  const dkey: (string | null)[] = [];
  const dttl: (number | null)[] = [];
  const dmode: (string | null)[] = [];
  groups.forEach(({ requests, cols: own }, g) => {
    cols.append(own);
    for (const request of requests) {
      group.push(g);
      mode.push(request.onDuplicate);
      if (!windows) continue;
      dkey.push(request.dedupe?.key ?? null);
      dttl.push(request.dedupe?.ttlMs ?? null);
      dmode.push(request.dedupe?.mode ?? null);
    }
  });
  return [
    group, mode, cols.id, cols.name, cols.state, cols.runAt, cols.priority, cols.attempt, cols.payload, cols.created, cols.retry,
    cols.timeout, cols.lastError, cols.result, cols.finished, cols.recur, cols.signature, cols.lost, cols.relative, cols.extra,
    windows ? dkey : null, windows ? dttl : null, windows ? dmode : null,
  ];
}

/** Each call's outcome from `reply`; `replaced(id)` for every job an insert replaced. */
export function insertOutcomes(groups: readonly InsertGroup[], reply: InsertReply, replaced: (id: string) => void): ItemOutcome<InsertResult[]>[] {
  const seqs = new Map<string, number>();
  if (reply.f) reply.f[0].forEach((id, i) => seqs.set(id, Number(reply.f?.[1][i])));
  return groups.map(({ requests }, g): ItemOutcome<InsertResult[]> => {
    const r = reply.g?.[g];
    if (r && 'dup' in r) return { ok: false, error: new DuplicateJobError(r.dup) };
    return {
      ok: true,
      value: requests.map((request, i): InsertResult => {
        const o = r?.o[i];
        if (o?.[0] === 'kept' || o?.[0] === 'throttled') return { record: decodeRow(o[1] as JobRow), outcome: o[0] };
        if (o?.[0] === 'debounced') return { record: decodeRow(o[1] as JobRow), outcome: 'debounced', previous: decodeRow(o[2] as JobRow) };
        const { token: _token, ...rest } = request.record as JobRecord;
        const record: JobRecord = { ...rest, seq: o ? Number(o[1]) : (seqs.get(request.record.id) as number) };
        if (o?.[0] !== 'replaced') return { record, outcome: 'inserted' };
        replaced(record.id);
        const previous = o[2] ? decodeRow(o[2] as JobRow) : undefined;
        return previous ? { record, outcome: 'replaced', previous } : { record, outcome: 'replaced' };
      }),
    };
  });
}
