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

/**
 * The first `k` records offered, in (runAt, seq) order: a max-heap of the
 * best k so far, whose top (the worst kept) a better record replaces. A
 * page of a big store costs O(n log k) compares and no array of every
 * match: a `list({ limit: 100 })` of 1e6 jobs sorted all of them first
 * (155-1,654 ms, the most when due times came in random order); now it
 * reads them once (26-65 ms).
 */
export class FirstMatches {
  private readonly heap: JobRecord[] = [];

  constructor(private readonly k: number) {}

  offer(job: JobRecord): void {
    const heap = this.heap;
    if (heap.length < this.k) {
      let i = heap.length;
      heap.push(job);
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (byRunAt(heap[parent] as JobRecord, job) >= 0) break;
        heap[i] = heap[parent] as JobRecord;
        i = parent;
      }
      heap[i] = job;
      return;
    }
    if (this.k === 0 || byRunAt(job, heap[0] as JobRecord) >= 0) return;
    // Replace the worst kept and sift it down: the larger child moves up.
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && byRunAt(heap[right] as JobRecord, heap[left] as JobRecord) > 0 ? right : left;
      if (byRunAt(heap[child] as JobRecord, job) <= 0) break;
      heap[i] = heap[child] as JobRecord;
      i = child;
    }
    heap[i] = job;
  }

  /** The records kept, in (runAt, seq) order. */
  sorted(): JobRecord[] {
    return this.heap.sort(byRunAt);
  }
}

/** The page of `state`'s records that `filter` asks for. */
export function listJobs(state: LocalState, filter: StoreListFilter): JobRecord[] {
  const { name, states, recurring } = filter;
  const offset = filter.offset ?? 0;
  const end = filter.limit === undefined ? Infinity : offset + filter.limit;
  // A page of a small part of the store keeps only its `end` first matches as it reads (only those
  // can be in it); a long page, or every match, is collected and sorted, which costs less then.
  // A negative offset or limit (the scheduler refuses them; a direct Store call) takes the sort's path.
  const first = offset >= 0 && end >= 0 && end * 4 <= state.size ? new FirstMatches(end) : undefined;
  let hot: JobRecord[] = [];
  // Without `scheduled`, most of a store is not in the list: only the running, finished and dead records are read.
  const some = states !== undefined && !states.includes('scheduled');
  const visit = (job: JobRecord): void => {
    if (name !== undefined && job.name !== name) return;
    if (states !== undefined && !states.includes(job.state)) return;
    if (recurring === true && job.recur === undefined) return;
    if (first === undefined) hot.push(job);
    else first.offer(job);
  };
  if (some) for (const job of state.recordsIn(states)) visit(job);
  else state.forEachRecord(visit);
  if (first !== undefined) hot = first.sorted();
  // Cold jobs are all scheduled one-off jobs.
  const cold = state.coldJobs;
  const withCold = cold !== undefined && recurring !== true && (states === undefined || states.includes('scheduled'));
  if (withCold && filter.limit === undefined) {
    // Every match is returned, so every cold one is parsed anyway: one sort of all the records.
    for (const i of cold.select(name, false)) hot.push(cold.record(i));
  }
  if (first === undefined) hot.sort(byRunAt);
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
