/**
 * Dedupe windows of a local store (InsertRequest.dedupe, schedule option
 * `dedupe`). A window lives on the record of its job (`JobRecord.dedupe`:
 * key and end), so a durable store keeps it with the job across restarts
 * and a window whose job was removed is closed. This index finds the
 * window of (name, key): the job that opened (or last debounced) it.
 */
import { patchRecord } from './record.js';
import type { JobLookup } from './id-index.js';
import type { DedupeRequest, InsertResult, JobRecord, NewJobRecord } from './store.js';

/** The map key of a window: its job name and key (a key is scoped to its name). */
function scope(name: string, key: string): string {
  return `${name.length}:${name}${key}`;
}

/** Window (name, key) → id of its job. Entries follow the records put and dropped (LocalState). */
export class DedupeWindows {
  private readonly byScope = new Map<string, string>();

  /**
   * `job` was put (inserted, debounced, claimed, settled, restored, loaded):
   * its window is its key's unless the key's window belongs to a newer job
   * (a later insert: higher `seq`; a debounce keeps its job's seq). A put of
   * an older window's job — its start, its outcome — must not take the key
   * back (simulation seed 261007850: the start of a job whose 100 ms window
   * had ended pointed the key at it again, and a call inside the newer
   * one-hour window created a second job).
   */
  track(job: JobRecord, byId: JobLookup): void {
    const d = job.dedupe;
    if (d === undefined) return;
    const at = scope(job.name, d.key);
    const current = this.byScope.get(at);
    if (current !== undefined && current !== job.id) {
      const other = byId.get(current);
      if (other?.dedupe !== undefined && other.name === job.name && other.dedupe.key === d.key && other.seq > job.seq) return;
    }
    this.byScope.set(at, job.id);
  }

  /**
   * `job` left the store because a failed batch was undone (its insert was
   * refused): the window it would have replaced holds the key again, the
   * newest other job of the key. Left without a pointer, that window, still
   * open, was forgotten and the next call created a job (a refused call
   * changed something). O(n), on this rare path only.
   */
  reopen(job: JobRecord, records: Iterable<JobRecord>): void {
    const d = job.dedupe;
    if (d === undefined) return;
    const at = scope(job.name, d.key);
    if (this.byScope.has(at)) return;
    let best: JobRecord | undefined;
    for (const r of records) {
      if (r.id !== job.id && r.name === job.name && r.dedupe?.key === d.key && (best === undefined || r.seq > best.seq)) best = r;
    }
    if (best !== undefined) this.byScope.set(at, best.id);
  }

  /** `job` left the store: its window closes with it. */
  untrack(job: JobRecord): void {
    const d = job.dedupe;
    if (d === undefined) return;
    const at = scope(job.name, d.key);
    if (this.byScope.get(at) === job.id) this.byScope.delete(at);
  }

  /** The job of the window (name, key) if that window is open at `now`. */
  open(name: string, d: DedupeRequest, now: number, byId: JobLookup): JobRecord | undefined {
    const id = this.byScope.get(scope(name, d.key));
    if (id === undefined) return undefined;
    return openAt(byId.get(id), name, d, now);
  }

  clear(): void {
    this.byScope.clear();
  }
}

/** `job` if it holds an open window (name, key) at `now`: it may have been replaced by a job without one since. */
export function openAt(job: JobRecord | undefined, name: string, d: DedupeRequest, now: number): JobRecord | undefined {
  const w = job?.dedupe;
  return w !== undefined && job?.name === name && w.key === d.key && now < w.until ? job : undefined;
}

/** The outcome of a request inside the open window of `current`, or undefined when a new job must be created. */
export function windowOutcome(current: JobRecord, incoming: NewJobRecord, d: DedupeRequest): InsertResult | undefined {
  if (d.mode === 'throttle') return { record: current, outcome: 'throttled' };
  if (current.state !== 'scheduled') return undefined;
  // Debounce: the pending job takes the new payload and due time; its place among equals (seq) stays.
  const next = patchRecord(current, { runAt: incoming.runAt, relative: incoming.relative });
  next.payload = incoming.payload;
  next.dedupe = { key: d.key, until: incoming.createdAt + d.ttlMs };
  return { record: next, outcome: 'debounced', previous: current };
}

/** A new job opens the window: its record carries the window's key and end. */
export function opened(job: JobRecord, incoming: NewJobRecord, d: DedupeRequest): JobRecord {
  job.dedupe = { key: d.key, until: incoming.createdAt + d.ttlMs };
  return job;
}
