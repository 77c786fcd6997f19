/**
 * `job.progress(value)` and `job.log(line)` of a running attempt: what it
 * reports is stored on its job (Store.progress) — so `get()`/`list()` show
 * it, from any process on a shared store — and `progress` is announced by
 * a `progress` event once stored.
 *
 * HOW
 * - One Reporter per attempt, made on the first call (attempts that never
 *   report cost nothing). Reports are written one at a time, in call
 *   order, each carrying the whole new value (progress, or the last
 *   `keepLogs` lines), so a late write cannot undo a newer one.
 * - A stored report also goes into the attempt's record, so the attempt's
 *   outcome (settled as a whole record) keeps it. The dispatcher waits for
 *   reports in flight before it builds that outcome.
 *
 * WHY
 * - The store checks the attempt's token, like a settle: an attempt that
 *   lost its job (cancelled, replaced, lease lapsed) cannot write on it.
 * - A store without `progress` refuses with UnsupportedOptionError
 *   rather than drop reports silently.
 */
import { GodelayqError, UnsupportedOptionError, ValidationError } from '../errors.js';
import { withReport } from '../store/record.js';
import type { JobRecord, Store } from '../store/store.js';
import { show, toJsonValue } from '../validate.js';

/** Log lines kept per job by default. */
export const DEFAULT_KEEP_LOGS = 100;

/** The running attempt a Reporter writes for. */
export interface ReportedAttempt {
  /** The attempt's record as this process knows it; a stored report is patched in. */
  record: JobRecord;
  /** The handler has returned or thrown, or the attempt timed out: it reports nothing more. */
  readonly ended: boolean;
}

/** What reporting needs from the dispatcher. */
export interface ReportHost {
  readonly store: Store;
  readonly maxPayloadBytes: number;
  /** Log lines kept for jobs of `name`. */
  keepLogs(name: string): number;
  emit(type: string, make: () => object): void;
  view(record: JobRecord): object;
}

/** Writes one attempt's reports in call order. */
export class Reporter {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly host: ReportHost,
    private readonly attempt: ReportedAttempt,
  ) {}

  /** Resolves once every report made so far is stored or refused. */
  idle(): Promise<void> {
    return this.tail.then(
      () => undefined,
      () => undefined,
    );
  }

  progress(value: unknown): Promise<void> {
    try {
      this.usable();
      const progress = toJsonValue(value, 'progress', this.host.maxPayloadBytes);
      return this.write((record) => withReport(record, progress, undefined), (record) => {
        this.host.emit('progress', () => ({ job: this.host.view(record), progress }));
      });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  log(line: unknown): Promise<void> {
    try {
      this.usable();
      if (typeof line !== 'string') throw new ValidationError(`Expected \`line\` to be a string, got ${show(line)}`);
      toJsonValue(line, 'line', this.host.maxPayloadBytes);
      const keep = this.host.keepLogs(this.attempt.record.name);
      if (keep === 0) return Promise.resolve();
      return this.write((record) => {
        const logs = record.logs ?? [];
        return withReport(record, undefined, logs.length >= keep ? [...logs.slice(logs.length - keep + 1), line] : [...logs, line]);
      });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Throws when this attempt cannot report (finished, or a store without progress). */
  private usable(): void {
    const store = this.host.store;
    if (typeof store.progress !== 'function') {
      throw new UnsupportedOptionError(
        `Expected a store that records progress and logs (MemoryStore, JsonFileStore, RedisStore, PostgresStore), got ${store.constructor.name}: job.progress() and job.log() are not supported there`,
      );
    }
    if (this.attempt.ended) throw finishedError(this.attempt.record);
  }

  /** Queues a write of `change(record)`, applied to the attempt's record as it is when the write starts. */
  private write(change: (record: JobRecord) => JobRecord, stored?: (record: JobRecord) => void): Promise<void> {
    const run = async (): Promise<void> => {
      // Reports made before the handler returned are written even if it has returned since (it may not have awaited them).
      const attempt = this.attempt;
      const next = change(attempt.record);
      const token = next.token as string;
      const ok = await (this.host.store.progress as NonNullable<Store['progress']>).call(this.host.store, next.id, token, next);
      if (!ok) throw new GodelayqError(`Expected attempt ${next.attempt} of job \`${next.id}\` to own its job, got it cancelled, replaced or taken over; nothing was recorded`);
      // Applied to the record as it is now (a clock step may have moved a schedule's slot meanwhile).
      attempt.record = withReport(attempt.record, next.progress, next.logs);
      stored?.(attempt.record);
    };
    const task = this.tail.then(run, run);
    this.tail = task;
    return task;
  }
}

function finishedError(record: JobRecord): GodelayqError {
  return new GodelayqError(`Expected attempt ${record.attempt} of job \`${record.id}\` to be running, got it finished; report progress before the handler returns`);
}

/**
 * `keepLogs` of a constructor or `register` option: an integer from 0 to
 * 1e6, on a store that keeps logs (else UnsupportedOptionError: the option
 * is never silently ignored).
 */
export function checkKeepLogs(value: unknown, what: string, store: Store): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1_000_000) {
    throw new ValidationError(`Expected \`${what}\` to be an integer from 0 to 1000000, got ${show(value)}`);
  }
  if (typeof store.progress !== 'function') {
    throw new UnsupportedOptionError(
      `Expected \`${what}\` only with a store that records progress and logs (MemoryStore, JsonFileStore, RedisStore, PostgresStore), got it with ${store.constructor.name}`,
    );
  }
  return value;
}

