/**
 * godelayq: embedded, typed, crash-safe delayed, timed and cron jobs.
 * This file is the package's whole public surface: every export is named.
 */
export { Scheduler } from './scheduler.js';
export type { SchedulerOptions, RegisterOptions, Handler, ScheduleManyItem, StopOptions, SignalOptions, PauseOptions } from './scheduler.js';
export type { WaitForOptions, WaitResult } from './scheduler/wait-for.js';
export type { ScheduleInfo, ListSchedulesOptions, NextRunsOptions } from './scheduler/schedules.js';
export { QuaternaryHeap } from './heap.js';
export type { HeapHandle, HeapId, HeapOptions } from './heap.js';
export { MemoryStore, type MemoryStoreOptions } from './store/memory.js';
export { JsonFileStore } from './store/json-file.js';
export type { JsonFileStoreOptions } from './store/json-file.js';
export type { SalvageReport, SalvageDrop } from './store/json-file/salvage.js';
export { nodeFs } from './store/json-file/fs.js';
export type { FsLayer, FileStat } from './store/json-file/fs.js';
export { FaultyFs } from './store/json-file/faulty-fs.js';
export type { FaultKind, FaultOptions, FsMethod } from './store/json-file/faulty-fs.js';
export { DirectoryLoader } from './loader/loader.js';
export type { DirectoryLoaderOptions, DirectoryLoaderEvents } from './loader/options.js';
export { nodeLoaderFs } from './loader/fs-layer.js';
export type { LoaderFs, LoaderStats, LoaderDirent } from './loader/fs-layer.js';
export { VirtualClock, SystemClock } from './clock.js';
export type { Clock, ClockTimer } from './clock.js';
export {
  GodelayqError,
  ValidationError,
  DuplicateJobError,
  JobNotFoundError,
  SchedulerStoppedError,
  StoreCorruptError,
  StoreLockedError,
  StorePersistError,
  JobTimeoutError,
  UnrecoverableError,
  ProcessCrashError,
  LeaseLostError,
  JobFailedError,
  JobCancelledError,
  WaitTimeoutError,
  UnsupportedOptionError,
  RateLimitError,
  toError,
} from './errors.js';
export type { GodelayqErrorCode } from './errors.js';
export { EventOverflowError } from './events.js';
export type { SchedulerEvents, SchedulerEvent, SchedulerEventType, EventStreamOptions, JobInfoOf, PauseOrigin } from './events.js';
export type {
  Store,
  StoreContext,
  StoreCounts,
  StoreFeatures,
  StoreListFilter,
  JobRecord,
  NewJobRecord,
  RecurrenceRecord,
  InsertRequest,
  InsertResult,
  DuplicateMode,
  ClaimRequest,
  ClaimResult,
  LostReason,
  StoreWriteOptions,
} from './store/store.js';
export type {
  JsonValue,
  JobMap,
  ResultMap,
  ResultOf,
  StoredResult,
  JobState,
  JobInfo,
  JobContext,
  RetryOptions,
  HandlerRetryOptions,
  Backoff,
  BackoffFunction,
  OnDuplicate,
  MisfirePolicy,
  ScheduleOptions,
  GroupOption,
  DedupeOptions,
  DedupeMode,
  DedupeOutcome,
  RemovePolicy,
  EveryOptions,
  CronOptions,
  WriteOptions,
  TransactionClient,
  ListFilter,
  SchedulerStats,
} from './types.js';
