/**
 * Every error godelayq throws or records. One base class with a stable `code`
 * so callers can branch without `instanceof` across realms or bundles, and
 * subclasses where callers need to tell failures apart (SPEC §6).
 */

/** Stable machine-readable codes, one per error class. */
export type GodelayqErrorCode =
  | 'ERR_GODELAYQ'
  | 'ERR_VALIDATION'
  | 'ERR_DUPLICATE_JOB'
  | 'ERR_JOB_NOT_FOUND'
  | 'ERR_SCHEDULER_STOPPED'
  | 'ERR_STORE_CORRUPT'
  | 'ERR_STORE_LOCKED'
  | 'ERR_STORE_PERSIST'
  | 'ERR_JOB_TIMEOUT'
  | 'ERR_UNRECOVERABLE'
  | 'ERR_PROCESS_CRASH'
  | 'ERR_LEASE_LOST'
  | 'ERR_JOB_FAILED'
  | 'ERR_JOB_CANCELLED'
  | 'ERR_WAIT_TIMEOUT'
  | 'ERR_UNSUPPORTED'
  | 'ERR_RATE_LIMIT';

/** Base class of every error godelayq throws. */
export class GodelayqError extends Error {
  /** Stable code, e.g. `'ERR_VALIDATION'`. */
  readonly code: GodelayqErrorCode;

  constructor(message: string, options?: { cause?: unknown; code?: GodelayqErrorCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = options?.code ?? 'ERR_GODELAYQ';
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** Bad arguments: delays, dates, cron expressions, payloads, unknown options. */
export class ValidationError extends GodelayqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'ERR_VALIDATION' });
  }
}

/** A job with this id already exists and `onDuplicate` is `'reject'`. */
export class DuplicateJobError extends GodelayqError {
  readonly id: string;
  constructor(id: string) {
    super(`Expected job id \`${id}\` to be unused, got an existing job with that id (onDuplicate: 'reject')`, {
      code: 'ERR_DUPLICATE_JOB',
    });
    this.id = id;
  }
}

/** No job with this id (or not in a state the operation accepts). */
export class JobNotFoundError extends GodelayqError {
  readonly id: string;
  constructor(id: string, detail?: string) {
    super(detail ?? `Expected a job with id \`${id}\`, got none`, { code: 'ERR_JOB_NOT_FOUND' });
    this.id = id;
  }
}

/** The scheduler is not started, stopping or stopped. */
export class SchedulerStoppedError extends GodelayqError {
  constructor(message = 'Expected a started scheduler, got a stopped one (call `start()` first)') {
    super(message, { code: 'ERR_SCHEDULER_STOPPED' });
  }
}

/** The store's files are damaged; they were left untouched. */
export class StoreCorruptError extends GodelayqError {
  readonly path: string;
  readonly offset: number;
  constructor(path: string, offset: number, detail: string, options?: { cause?: unknown }) {
    super(`Store file ${path} is corrupt at byte ${offset}: ${detail}`, { ...options, code: 'ERR_STORE_CORRUPT' });
    this.path = path;
    this.offset = offset;
  }
}

/**
 * Another live process holds the store. The message names its pid and host,
 * why it counts as live, how old the lock is, and how to break it.
 */
export class StoreLockedError extends GodelayqError {
  readonly path: string;
  readonly pid: number;
  /** Host name the holder recorded ('' when unknown). */
  readonly host: string;
  /** Time since the lock file was last written (its holder's heartbeat), ms, when known. */
  readonly ageMs: number | undefined;
  constructor(path: string, pid: number, details: { host?: string; ageMs?: number | undefined; detail?: string } = {}) {
    const host = details.host ?? '';
    super(
      `Expected store ${path} to be free, got a lock held by process ${pid}${host ? ` on host ${host}` : ''}${details.detail ? ` (${details.detail})` : ''}`,
      { code: 'ERR_STORE_LOCKED' },
    );
    this.path = path;
    this.pid = pid;
    this.host = host;
    this.ageMs = details.ageMs;
  }
}

/**
 * The store could not durably record a change. Unless `outcomeUnknown`, the
 * change did not happen. With `outcomeUnknown` (a shared store sent the
 * change but got no answer in time) it may have happened: the store's calls
 * are safe to repeat, or check with `get()`.
 */
export class StorePersistError extends GodelayqError {
  /** True when the change was sent but not answered: it may have been applied. */
  readonly outcomeUnknown: boolean;
  constructor(message: string, options?: { cause?: unknown; outcomeUnknown?: boolean }) {
    super(message, { ...(options?.cause === undefined ? {} : { cause: options.cause }), code: 'ERR_STORE_PERSIST' });
    this.outcomeUnknown = options?.outcomeUnknown === true;
  }
}

/** An attempt ran longer than its `timeout`. */
export class JobTimeoutError extends GodelayqError {
  readonly timeout: number;
  constructor(timeout: number) {
    super(`Expected the attempt to settle within ${timeout} ms, got no result in time`, { code: 'ERR_JOB_TIMEOUT' });
    this.timeout = timeout;
  }
}

/**
 * Throw from a handler to fail the job at once, without retries.
 * @example
 * if (!order) throw new UnrecoverableError(`order ${id} does not exist`);
 */
export class UnrecoverableError extends GodelayqError {
  constructor(message = 'Unrecoverable failure', options?: { cause?: unknown }) {
    super(message, { ...options, code: 'ERR_UNRECOVERABLE' });
  }
}

/**
 * Recorded as the `lastError` of an attempt that was running when its process
 * died (`kill -9`, OOM, `process.exit`, a native crash): the store found the
 * job still `running` when it was opened again. The lost attempt counts
 * against the retry policy, so a job that keeps crashing its process ends
 * `dead` instead of running at every restart.
 */
export class ProcessCrashError extends GodelayqError {
  constructor(message = 'The process running this attempt died before the attempt finished', options?: { cause?: unknown }) {
    super(message, { ...options, code: 'ERR_PROCESS_CRASH' });
  }
}

/**
 * Recorded as the `lastError` of an attempt whose lease on a shared store
 * lapsed (its process died, stalled or lost the connection for longer than
 * the lease) so that another process took the job back. Counts against the
 * retry policy like a crash.
 */
export class LeaseLostError extends GodelayqError {
  constructor(message = 'The lease of this attempt lapsed before the attempt finished', options?: { cause?: unknown }) {
    super(message, { ...options, code: 'ERR_LEASE_LOST' });
  }
}

/**
 * `waitFor()` rejects with it when the job ended `dead`. `cause` is the
 * error of its last attempt: the thrown Error itself when the job died in
 * this process, else an Error with the same `name` and `message` (from the
 * store's `lastError`).
 */
export class JobFailedError extends GodelayqError {
  readonly jobId: string;
  /** The attempt that failed last. */
  readonly attempt: number;
  constructor(jobId: string, attempt: number, cause: Error) {
    super(`Expected job \`${jobId}\` to complete, got dead after attempt ${attempt}: ${cause.name}: ${cause.message}`, { cause, code: 'ERR_JOB_FAILED' });
    this.jobId = jobId;
    this.attempt = attempt;
  }
}

/** `waitFor()` rejects with it when the job was cancelled. */
export class JobCancelledError extends GodelayqError {
  readonly jobId: string;
  constructor(jobId: string) {
    super(`Expected job \`${jobId}\` to complete, got it cancelled`, { code: 'ERR_JOB_CANCELLED' });
    this.jobId = jobId;
  }
}

/** `waitFor()` rejects with it when its `timeout` passed first (the job itself is not touched). */
export class WaitTimeoutError extends GodelayqError {
  readonly jobId: string;
  readonly timeout: number;
  constructor(jobId: string, timeout: number) {
    super(`Expected job \`${jobId}\` to finish within ${timeout} ms, got it still unfinished`, { code: 'ERR_WAIT_TIMEOUT' });
    this.jobId = jobId;
    this.timeout = timeout;
  }
}

/**
 * An option the scheduler's store cannot honour (e.g. `group` on
 * PostgresStore). Thrown at the call, which changes nothing: the option is
 * never silently ignored.
 */
export class UnsupportedOptionError extends GodelayqError {
  constructor(message: string) {
    super(message, { code: 'ERR_UNSUPPORTED' });
  }
}

/**
 * Thrown by a handler when the remote side pushed back (HTTP 429 and the
 * like): the job waits `delayMs` and runs again without counting an attempt,
 * and no job of its name starts before then (in any process sharing the
 * store). `job.rateLimit(ms)` builds one.
 * @example throw new RateLimitError(30_000)
 */
export class RateLimitError extends GodelayqError {
  /** How long the job's name waits, ms. */
  readonly delayMs: number;
  constructor(delayMs: number, message = `Rate limited by the remote side: retry in ${delayMs} ms`) {
    super(message, { code: 'ERR_RATE_LIMIT' });
    this.delayMs = delayMs;
  }
}

function describe(value: unknown): string {
  try {
    if (typeof value === 'string') return value;
    if (typeof value === 'symbol') return value.toString();
    if (value === undefined) return 'undefined';
    if (value === null) return 'null';
    if (typeof value === 'object') {
      const json = JSON.stringify(value);
      return json === undefined ? Object.prototype.toString.call(value) : json;
    }
    return String(value);
  } catch {
    // Proxies can throw from every trap, including the ones toString uses.
    return `an unreadable ${typeof value}`;
  }
}

/**
 * Normalises anything thrown into an Error. Handlers may throw strings,
 * `undefined`, Symbols or objects with throwing getters; none of those may
 * crash the scheduler or lose the failure.
 */
export function toError(value: unknown): Error {
  try {
    if (value instanceof Error) return value;
  } catch {
    // A Proxy can throw from its getPrototypeOf trap; fall through.
  }
  const error = new Error(`Non-error thrown: ${describe(value)}`);
  try {
    Object.defineProperty(error, 'thrown', { value, enumerable: false });
  } catch {
    // ignore: the description above is enough
  }
  return error;
}

/** `{ name, message }` of an error, read defensively (getters may throw). */
export function errorSummary(error: unknown): { name: string; message: string } {
  const e = toError(error);
  let name = 'Error';
  let message = '';
  // Frozen: it is shared by the stored record and every JobInfo.
  try {
    name = String(e.name);
  } catch {
    /* keep default */
  }
  try {
    message = String(e.message);
  } catch {
    message = '(unreadable message)';
  }
  return Object.freeze({ name, message });
}
