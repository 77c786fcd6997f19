/**
 * The persistence seam. A Store speaks scheduler operations ("insert these
 * jobs", "claim what is due", "record this attempt's outcome"), never file or
 * Redis primitives, so a local store (memory, JSON file) and a shared one
 * (Redis, where the sorted set is the due index and several processes claim
 * under leases) plug in behind the same Scheduler.
 *
 * Contract every implementation keeps (checked by test/store-conformance.ts):
 * - A method that mutates resolves only once the change is durable for that
 *   store; if it rejects, nothing changed.
 * - `insert` is all-or-none.
 * - `claim` moves due jobs to `running`, highest priority first, then earliest
 *   `runAt`, then first inserted, never more per name than `capacity(name)`.
 * - `settle` only applies while the job is still running the claimed attempt
 *   (same `token`); a cancelled or re-claimed job ignores a late outcome.
 * - `open` recovers jobs left `running` by a dead process: they become
 *   `scheduled` again, keeping their attempt count, marked `lost: 'crash'`
 *   (at-least-once). A shared store does the same with `lost: 'lease'` when
 *   a lease lapses. The scheduler charges the lost attempt to the retry
 *   policy when it next claims the job (see JobRecord.lost).
 */
import type { Clock } from '../clock.js';
import type { JobState, JsonValue, MisfirePolicy, RetryOptions, TransactionClient } from '../types.js';

/** A schedule's recurrence as stored with its job. */
export interface RecurrenceRecord {
  cron?: string;
  every?: number;
  tz?: string;
  startAt?: number;
  endAt?: number;
  limit?: number;
  misfire: MisfirePolicy;
  /** Per-schedule misfire grace, ms (default: the scheduler's `misfireGraceMs`). */
  grace?: number;
  /** `every`: slots are anchor + k × every. */
  anchor?: number;
  /** Slot of the current occurrence (its retries keep it; `runAt` moves). */
  slot: number;
  /** Occurrences run so far (for `limit`). */
  count: number;
  /** Canonical text of the options that define the schedule (same id + same signature = same schedule). */
  signature: string;
  /** The last finished occurrence: how it ended, its slot, when (`listSchedules`). */
  last?: { state: 'completed' | 'dead'; slot: number; at: number };
}

/** A job as a store keeps it. JSON only, so any store can persist it as is. */
export interface JobRecord {
  id: string;
  name: string;
  payload: JsonValue;
  state: JobState;
  /** Epoch ms when due (a schedule: its current slot). */
  runAt: number;
  createdAt: number;
  /** Attempts started for the current run; reset for each occurrence of a schedule. */
  attempt: number;
  /** Insertion order, assigned by the store: FIFO among equals. */
  seq: number;
  priority: number;
  retry?: RetryOptions;
  timeout?: number;
  lastError?: { name: string; message: string };
  result?: JsonValue;
  /** Set when the job reached a final state. */
  finishedAt?: number;
  /** Identifies the claimed attempt while `running`. */
  token?: string;
  recur?: RecurrenceRecord;
  /**
   * Set by a store that took back an attempt which never settled: `'crash'`
   * when a local store found the job `running` at open (its process died),
   * `'lease'` when a shared store's lease lapsed. `attempt` still counts the
   * lost attempt. The scheduler that next claims the job charges that attempt
   * to the retry policy (ProcessCrashError / LeaseLostError), then clears it.
   */
  lost?: 'crash' | 'lease';
  /**
   * `runAt` was computed as "now + a delay" (scheduleIn, a retry backoff, an
   * `every` slot), so it is elapsed time: when the system clock is stepped,
   * local stores move it by the step (`Store.shift`). Absent: wall time
   * (scheduleAt, cron slots, reschedule), which stays put.
   */
  relative?: true;
  /** The last value a handler reported with `job.progress()` (any attempt). */
  progress?: JsonValue;
  /** The last lines a handler wrote with `job.log()`, oldest first (at most `keepLogs`). */
  logs?: string[];
  /** W3C `traceparent` of the span active when the job was scheduled (godelayq/otel). */
  trace?: string;
  /** `options.group`: jobs of one group run at most `groupConcurrency` at once, in order (store/groups.ts). */
  group?: string;
  /** Most jobs of `group` running at once; absent = 1. */
  groupConcurrency?: number;
  /**
   * Set by a local store on a job created through a dedupe window
   * (InsertRequest.dedupe): the window's key and its end (createdAt frame),
   * so the window survives a restart with the record (store/dedupe.ts).
   */
  dedupe?: { key: string; until: number };
  /** The job's own `removeOnComplete` / `removeOnFail` (schedule options), read when it finishes. */
  retain?: { complete?: StoredRemovePolicy; fail?: StoredRemovePolicy };
  /**
   * Set by the scheduler on a completed or dead record (`features.removal`):
   * the store removes the job once `at` (finishedAt frame) is reached —
   * at the settle when `at <= finishedAt`, else when a later job finishes —
   * and keeps at most the newest `count` finished records of its name and
   * state that have a count (store/removal.ts).
   */
  removal?: { at?: number; count?: number };
}

/** A removal policy as stored with a job: `false` = none. */
export type StoredRemovePolicy = boolean | { count?: number; ageMs?: number };

/** A record to insert: the store assigns `seq`. */
export type NewJobRecord = Omit<JobRecord, 'seq'>;

/**
 * How `insert` treats an existing id. `'keepIfSame'` keeps the existing job
 * when its `recur.signature` equals the new one's and rejects otherwise (a
 * schedule re-declared at every start-up must just work).
 */
export type DuplicateMode = 'reject' | 'keep' | 'replace' | 'keepIfSame';

/** `insert` takes ownership of `record` (it may set `seq` on it); do not reuse it. */
export interface InsertRequest {
  record: NewJobRecord;
  onDuplicate: DuplicateMode;
  /**
   * Optional (`features.dedupe`): a dedupe window (schedule option `dedupe`).
   * Keyed by (record.name, key). A window is open while `record.createdAt`
   * (the call's time) is before its end, the creation (or last debounce) of
   * its job + `ttlMs`. Inside an open window, `'throttle'` writes nothing and
   * answers `'throttled'` with the window's job; `'debounce'`, while that
   * job is still scheduled, gives it this record's payload, runAt and
   * `relative`, restarts the window, and answers `'debounced'` (`previous`:
   * the job before). Otherwise the record is inserted (`onDuplicate` applies
   * to its id) and opens a new window. A window whose job is gone is closed.
   */
  dedupe?: DedupeRequest;
}

/** A dedupe window of an insert (see InsertRequest.dedupe). */
export interface DedupeRequest {
  key: string;
  ttlMs: number;
  mode: 'throttle' | 'debounce';
}

/** Outcome per inserted record, in request order. */
export interface InsertResult {
  record: JobRecord;
  /**
   * 'inserted' | 'kept' (an existing job was returned) | 'replaced';
   * with a dedupe window: 'throttled' (the window's job, unchanged) |
   * 'debounced' (the window's job, updated).
   */
  outcome: 'inserted' | 'kept' | 'replaced' | 'throttled' | 'debounced';
  /** The job that was replaced, if any. */
  previous?: JobRecord;
}

export interface ClaimRequest {
  now: number;
  /** At most this many jobs in total. */
  limit: number;
  /** Free slots for a job name; 0 = do not claim (no handler, or busy). */
  capacity: (name: string) => number;
  /** Token generator for claimed attempts. */
  token: () => string;
  /**
   * The caller claims again as soon as a `settle` of its resolves (a
   * Scheduler does, for the slot the outcome frees). A shared store may then
   * claim due jobs for those slots in the settle's own round trip and hand
   * them to that next claim; they are `running` from that moment, as if
   * claimed then. Later calls of `capacity` and `token` may be made then.
   */
  ahead?: boolean;
  /**
   * Optional: the start-rate limit of a job name (register's `rateLimit`),
   * undefined for none. Left out when no name has one (the fast path).
   */
  rateLimit?: (name: string) => RateLimit | undefined;
  /** Optional: the limit on starts of every name together (the scheduler's `rateLimit`). */
  globalRateLimit?: RateLimit;
}

/** At most `max` starts in any `durationMs` window. */
export interface RateLimit {
  max: number;
  durationMs: number;
}

export interface ClaimResult {
  /** Jobs now `running`, with `attempt` incremented and `token` set. */
  jobs: JobRecord[];
  /** Names that have due jobs which could not be claimed for lack of capacity. */
  waiting: string[];
  /** Set when due jobs wait for a rate limit (or a push-back): the earliest instant one may start. */
  retryAt?: number;
}

/** Filter of `list`. */
export interface StoreListFilter {
  name?: string;
  states?: readonly JobState[];
  limit?: number;
  offset?: number;
  /**
   * Only schedules (records with `recur`) are wanted (listSchedules). A
   * hint: a store may return other records too, the caller filters them.
   */
  recurring?: boolean;
}

export interface StoreCounts {
  scheduled: number;
  running: number;
  completed: number;
  dead: number;
  cancelled: number;
  /** Scheduled jobs that are schedules (cron/every); included in `scheduled`. */
  recurring: number;
  /** Entries in the due index (scheduled jobs not yet claimed). */
  indexed: number;
}

/** What the scheduler hands a store when opening it. */
export interface StoreContext {
  /** The scheduler's clock, epoch ms. */
  now(): number;
  /**
   * The scheduler's Clock (a VirtualClock in tests and in the simulation).
   * A store's own timers (lease renewal, polls, lock heartbeats, retries)
   * go through it, never through global timers, so tests and the seeded
   * simulation drive them deterministically.
   */
  clock: Clock;
  /** Call when the earliest due time may have moved earlier (e.g. another process scheduled a job). */
  wake(): void;
  /** Finished jobs (completed or cancelled) kept; the oldest are dropped first. */
  keepCompleted: number;
  /** Dead jobs kept; the oldest are dropped first. */
  keepDead: number;
  /** Non-fatal notices (e.g. a torn journal tail was dropped). */
  warn(message: string): void;
  /**
   * Payloads and results above this many bytes (UTF-8 JSON) are rejected by
   * the scheduler; a store may refuse larger records it is given directly.
   */
  maxPayloadBytes: number;
  /**
   * Optional: a store calls this when the attempt holding `token` no longer
   * owns job `id`: cancelled or replaced by another process, its lease lapsed
   * and another process took the job over (`'lease'`), or the store lost its
   * lock on its files and stopped writing (`'lock'`). The scheduler aborts
   * that attempt and emits `lost`; its outcome would be ignored anyway
   * (token check).
   */
  lost?(id: string, token: string, reason: LostReason): void;
  /**
   * Optional (`features.pauseEverywhere`): a shared store calls this when it
   * learns the store-wide pause (another process paused or resumed, read by
   * its poll, or a claim the store refused because the store is paused).
   * Stale states (a lower `version`) are never reported.
   */
  pauseChanged?(state: PauseState): void;
  /**
   * Optional (`features.remoteEvents`; a scheduler with `remoteEvents: true`
   * passes it): the store subscribes during `open` and calls it with every
   * event another process publishes (`publishEvent`), until it closes.
   */
  remoteEvent?(message: string): void;
}

/**
 * The store-wide pause of `scheduler.pause({ everywhere: true })`. `version`
 * grows with every change, so a late read never undoes a newer change.
 */
export interface PauseState {
  paused: boolean;
  version: number;
}

/**
 * Options of the mutating calls a transactional store (`transactional: true`)
 * accepts; the scheduler passes them through untouched. Other stores never
 * receive them (the scheduler refuses `db` for them).
 */
export interface StoreWriteOptions {
  /** Run the change on this client, inside the caller's open transaction: it commits or rolls back with it. */
  db?: TransactionClient;
}

/** Why an attempt no longer owns its job (the `lost` event's `reason`). */
export type LostReason = 'cancelled' | 'replaced' | 'lease' | 'lock';

/**
 * Job-control features (issue 16) a store implements. The scheduler refuses
 * an option whose feature its store lacks (UnsupportedOptionError), so no
 * option is ever silently ignored.
 */
export interface StoreFeatures {
  /** `options.group`: claim honours JobRecord.group / groupConcurrency. */
  groups?: boolean;
  /** `rateLimit`: claim honours ClaimRequest.rateLimit / globalRateLimit, and `pushBack` exists. */
  rateLimits?: boolean;
  /**
   * `pause({ everywhere: true })`: `setPaused` / `pauseState` exist, and
   * while the store is paused no process sharing it can claim (a shared
   * store's claim itself refuses, so a process that missed the notice
   * cannot claim either).
   */
  pauseEverywhere?: boolean;
  /** `remoteEvents`: `publishEvent` and StoreContext.remoteEvent carry events between processes. */
  remoteEvents?: boolean;
  /** `options.dedupe`: insert honours InsertRequest.dedupe. */
  dedupe?: boolean;
  /** `removeOnComplete` / `removeOnFail`: a settle honours JobRecord.removal. */
  removal?: boolean;
}

/** The persistence seam. See the file header for the contract. */
export interface Store {
  /** Job-control features this store implements; absent = none. */
  readonly features?: StoreFeatures;
  /**
   * Optional (`features.rateLimits`): no job of `name` starts before `until`
   * (claim's `now` frame), in any process sharing the store: a handler said
   * the remote side pushed back (`job.rateLimit(ms)`).
   */
  pushBack?(name: string, until: number): Promise<void>;
  /**
   * Optional (`features.rateLimits`): the claim `token` of a job of `name`
   * ended without starting it (the scheduler recorded a misfire plan, or put
   * the job back): that start leaves the rate windows it was counted in, so
   * the job, claimed again, is not held back by its own unstarted claim.
   * Best effort: a start left counted only makes its window free later.
   * Synchronous on the local stores.
   */
  refundStart?(name: string, token: string): Promise<void> | void;
  /**
   * Optional (`features.pauseEverywhere`): durably records the store-wide
   * pause and tells every process sharing the store. Resolves with the new
   * state once durable.
   */
  setPaused?(paused: boolean): Promise<PauseState>;
  /** Optional (`features.pauseEverywhere`): the store-wide pause as last known, synchronous (after `open`). */
  pauseState?(): PauseState;
  /**
   * Optional (`features.remoteEvents`): whether some process listens for
   * events (`listenEvents`); the scheduler builds and sends nothing otherwise.
   */
  eventListeners?(): boolean;
  /** Optional (`features.remoteEvents`): sends one encoded event to the processes that listen (at most once, never waited on). */
  publishEvent?(message: string): void;
  open(context: StoreContext): Promise<void>;
  close(): Promise<void>;
  insert(requests: readonly InsertRequest[], options?: StoreWriteOptions): Promise<InsertResult[]>;
  /**
   * Optional (stores with nothing to wait for, as MemoryStore): `insert`
   * applied before it returns, throwing where `insert` rejects. The
   * scheduler uses it, when present, for calls without `db`. A store must
   * leave it undefined while its `insert` is not its own (a subclass or a
   * test wrapped it), so a wrapper is never bypassed.
   */
  readonly insertSync?: ((requests: readonly InsertRequest[]) => InsertResult[]) | undefined;
  get(id: string): Promise<JobRecord | undefined>;
  list(filter: StoreListFilter): Promise<JobRecord[]>;
  /**
   * Scheduled or running → cancelled. Resolves with the cancelled record, or
   * `undefined` when there is no such job or it was already final.
   */
  cancel(id: string, now: number, options?: StoreWriteOptions): Promise<JobRecord | undefined>;
  /**
   * Moves a scheduled job (for a schedule: its next occurrence, whose slot
   * becomes `runAt`). Rejects with JobNotFoundError when absent or not scheduled.
   */
  reschedule(id: string, runAt: number, options?: StoreWriteOptions): Promise<JobRecord>;
  /** Dead or cancelled → scheduled at `runAt`, attempts reset. JobNotFoundError otherwise. */
  revive(id: string, runAt: number): Promise<JobRecord>;
  /** Moves due jobs to running; see ClaimRequest. */
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /**
   * Records the outcome of the attempt identified by `token`: `next` is the
   * whole new record (completed, dead, or scheduled again for a retry or the
   * next slot). Resolves false (and changes nothing) when the job is no
   * longer running that attempt.
   */
  settle(id: string, token: string, next: JobRecord): Promise<boolean>;
  /**
   * Optional: records what a running attempt reported — `next.progress` and
   * `next.logs` (the whole new values) — on job `id`, while the attempt
   * identified by `token` still owns it. Resolves false (and changes
   * nothing) when it no longer does. A store that has it keeps every
   * JobRecord field, known to it or not (progress, logs, trace); a store
   * without it keeps only the fields it stores itself, so the scheduler
   * refuses `job.progress()` / `job.log()` and storing a trace context.
   */
  progress?(id: string, token: string, next: JobRecord): Promise<boolean>;
  /** Optional, as `insertSync`: `settle` applied before it returns. */
  readonly settleSync?: ((id: string, token: string, next: JobRecord) => boolean) | undefined;
  /** Earliest `runAt` in the due index, or undefined. Synchronous: stores cache it. */
  nextDueAt(): number | undefined;
  /**
   * Optional: the store's own clock, epoch ms. When present the scheduler
   * takes every job time from it (runAt, slots, retries, claim's `now`,
   * finishedAt, lateness) and uses its Clock only to wait, so processes
   * whose clocks disagree agree on what is due. A shared store answers with
   * its server's time; local stores leave it out.
   */
  now?(): number;
  /**
   * True when several processes share this store. A slot older than this
   * process's start then does not count as missed through downtime (other
   * processes were up); only the "next slot already due" rule applies.
   */
  readonly shared?: boolean;
  /**
   * True when `insert`, `cancel` and `reschedule` accept `{ db }`: the
   * caller's database client inside its open transaction.
   */
  readonly transactional?: boolean;
  /** Current counts, synchronous (a shared store may answer from a cache). */
  counts(): StoreCounts;
  /**
   * Optional (local stores): the system clock was stepped by `deltaMs`. Moves
   * the due time of every scheduled record marked `relative` (and an `every`
   * schedule's anchor and slot) by `deltaMs`, so a delay keeps its elapsed
   * length, and every dedupe window's end (and, on the local stores, the
   * rate-limit windows); wall-time records stay put. Resolves once durable. A shared
   * store takes its time from its server and leaves this out.
   */
  shift?(deltaMs: number): Promise<void>;
}
