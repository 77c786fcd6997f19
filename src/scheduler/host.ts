/**
 * What the dispatch loop and the attempt lifecycle need from their
 * Scheduler: the store, the clocks, the limits and the handler registry,
 * and the two ways out (events and JobInfo views). Types only.
 */
import type { Clock } from '../clock.js';
import type { JobRecord, Store } from '../store/store.js';
import type { HandlerRetryOptions, JobContext } from '../types.js';
import type { RateLimits } from '../control/rate-limit-option.js';
import type { RemovalPolicies } from '../control/removal-option.js';

/** A registered handler with its own limits. */
export interface HandlerEntry {
  fn: (job: JobContext<unknown, string>) => unknown;
  concurrency: number;
  retry: HandlerRetryOptions | undefined;
  timeout: number | undefined;
  /** Lines of `job.log()` kept (register option), or undefined for the scheduler's. */
  keepLogs?: number | undefined;
  /** `removeOnComplete` / `removeOnFail` of this name (register options), when given. */
  removal?: RemovalPolicies | undefined;
}

/** What the dispatcher needs from its Scheduler. */
export interface DispatchHost {
  readonly store: Store;
  /** Job times (the store's clock when it has one). */
  readonly clock: Clock;
  /** What waits are measured on (retry sleeps). */
  readonly baseClock: Clock;
  readonly concurrency: number;
  readonly timeoutDefault: number | undefined;
  readonly misfireGraceMs: number;
  readonly maxPayloadBytes: number;
  /** Keep the process alive while there is work. */
  readonly holdProcess: boolean;
  readonly handlers: ReadonlyMap<string, HandlerEntry>;
  /** Start-rate limits every claim carries. */
  readonly rateLimits: RateLimits;
  retryPolicy(record: JobRecord, handler: HandlerEntry | undefined): HandlerRetryOptions;
  /** Emits `type` with the payload `make` builds, if anyone listens. */
  emit(type: string, make: () => object): void;
  /** Whether anyone listens for `type` (hot paths skip even building `make` when not). */
  wants(type: string): boolean;
  /** A JobInfo; `nextRunAt` overrides a schedule's next run (occurrence views). */
  view(record: JobRecord, nextRunAt?: Date | null): object;
  /** Lines of `job.log()` kept for jobs of `name`. */
  keepLogs(name: string): number;
  /** A completed or dead record with the removal its retention policy asks for (removeOnComplete / removeOnFail). */
  finished(record: JobRecord): JobRecord;
}
