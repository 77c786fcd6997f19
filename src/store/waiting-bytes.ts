/**
 * What LocalState and its lists need of scheduled jobs kept as bytes rather
 * than records: a JsonFileStore's cold jobs (cold-jobs.ts, fixed at its
 * open) and a packed MemoryStore's jobs (packed-jobs.ts, added as they are
 * scheduled). Such jobs are all plain scheduled one-off jobs; each has its
 * own due heap, which a claim reads beside the records' (waiting.ts).
 */
import type { JobRecord } from './store.js';

/** Jobs held at an instant, each made when asked for (a snapshot's texts, a clock step's ids). */
export interface CapturedJobs {
  readonly length: number;
  /** Job k's id. */
  id(k: number): string;
  /** Job k's record as JSON text. */
  text(k: number): string;
}

/** Scheduled jobs as bytes, made records when read. */
export interface WaitingBytes {
  /** Whether jobs may be added after it is in use (a packed set); a cold set is let go once its heap is empty. */
  readonly growable: boolean;
  /** Jobs still as bytes (not thawed). */
  readonly size: number;
  /** Jobs in its due heap: those as bytes, and those thawed in place. */
  readonly queued: number;
  /** Whether the job `pop` returned last was thawed in place before (its record is already the current one). */
  readonly poppedThawed: boolean;
  has(id: string): boolean;
  /** Job `id` as a record, left in its place in the due heap (a read), or undefined when it is not held as bytes. */
  thaw(id: string): JobRecord | undefined;
  /** Takes a job thawed in place (its record `job`) out of the due heap; false when it is not there. */
  forget(job: JobRecord): boolean;
  /** Takes job `id` out for good as a record, or undefined when it is not held as bytes. */
  take(id: string): JobRecord | undefined;
  /** The earliest runAt in the due heap, or undefined when it is empty. */
  peekKey(): number | undefined;
  /** The seq of the job `peekKey` belongs to. */
  peekSeq(): number;
  /** Takes the earliest job out of the due heap as a record, or undefined when it is empty. */
  pop(): JobRecord | undefined;
  /** The jobs named `name` (any when undefined) as indexes for runAtOf, seqOf and record; in (runAt, seq) order when `sorted`. */
  select(name: string | undefined, sorted: boolean): Int32Array;
  runAtOf(i: number): number;
  seqOf(i: number): number;
  /** Job i (an index `select` gave) as a record made for the caller: it stays as bytes. */
  record(i: number): JobRecord;
  /** Every job still as bytes, as a record made for the caller. */
  records(): IterableIterator<JobRecord>;
  /** The jobs held now (`relativeOnly`: those a clock step moves), unaffected by later changes. */
  capture(relativeOnly?: boolean): CapturedJobs;
  /** Checks its heaps and indexes (tests, the simulation); throws on the first break. */
  check?(): void;
}
