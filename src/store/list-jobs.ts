/**
 * `list` of a local store: the records matching a filter, in (runAt, seq)
 * order, one page of them.
 *
 * WHY a module: jobs a JsonFileStore opened cold (cold-jobs.ts) are bytes
 * until read. Parsing every one for a list cost ~0.7 s at 2e5 jobs, for a
 * page of 50 as much as for all of them; here the cold jobs are filtered
 * by name on their bytes and sorted by the runAt and seq kept beside them,
 * and only those the page holds are parsed. A schedule is never cold, so
 * a list of schedules reads none. A list of states other than `scheduled`
 * (the running jobs, the dead ones) reads only the records in those states.
 */
import type { LocalState } from './local-state.js';
import type { JobRecord, StoreListFilter } from './store.js';

function byRunAt(a: JobRecord, b: JobRecord): number {
  return a.runAt - b.runAt || a.seq - b.seq;
}

/** The page of `state`'s records that `filter` asks for. */
export function listJobs(state: LocalState, filter: StoreListFilter): JobRecord[] {
  const { name, states, recurring } = filter;
  const hot: JobRecord[] = [];
  // Without `scheduled`, most of a store is not in the list: only the running, finished and dead records are read.
  const some = states !== undefined && !states.includes('scheduled');
  for (const job of some ? state.recordsIn(states) : state.records()) {
    if (name !== undefined && job.name !== name) continue;
    if (states !== undefined && !states.includes(job.state)) continue;
    if (recurring === true && job.recur === undefined) continue;
    hot.push(job);
  }
  const offset = filter.offset ?? 0;
  const end = filter.limit === undefined ? Infinity : offset + filter.limit;
  // Cold jobs are all scheduled one-off jobs.
  const cold = state.coldJobs;
  const withCold = cold !== undefined && recurring !== true && (states === undefined || states.includes('scheduled'));
  if (withCold && filter.limit === undefined) {
    // Every match is returned, so every cold one is parsed anyway: one sort of all the records.
    for (const i of cold.select(name, false)) hot.push(cold.record(i));
  }
  hot.sort(byRunAt);
  if (!withCold || filter.limit === undefined) return hot.slice(offset, end);
  const picked = cold.select(name, true);
  // Merge the two sorted runs, parsing a cold job only when the page takes it (seqs are unique: no ties).
  const page: JobRecord[] = [];
  let h = 0;
  let c = 0;
  for (let k = 0; k < end && (h < hot.length || c < picked.length); k++) {
    const next = hot[h];
    const i = picked[c];
    const takeHot = i === undefined || (next !== undefined && (next.runAt < cold.runAtOf(i) || (next.runAt === cold.runAtOf(i) && next.seq < cold.seqOf(i))));
    if (takeHot) h++;
    else c++;
    if (k >= offset) page.push(takeHot ? (next as JobRecord) : cold.record(i as number));
  }
  return page;
}
