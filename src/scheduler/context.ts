/**
 * The JobContext a handler receives: one small frozen object per attempt,
 * its methods on the prototype (no closures made per attempt), and what it
 * must not expose (the attempt, the reporting host) in private fields.
 * A class, not a frozen literal with a getter: V8 builds such a literal
 * through the runtime, which cost ~6 us a fire, most of the firing path.
 *
 * `payload` and `runAt` are made when the handler first reads them (then
 * kept: every read returns the same object): the payload copy reads the
 * stored payload, by then long out of cache, and was the largest part of a
 * fire left in the context; a handler that never reads them pays nothing.
 * The copy is of the attempt's own record, which never changes, so it is
 * the copy a start-time copy would have been. `toJSON` and util.inspect
 * show them as the data properties they were.
 */
import { inspect } from 'node:util';
import { throwRateLimit } from '../control/rate-limit-option.js';
import type { JobRecord } from '../store/store.js';
import type { JobContext, JsonValue } from '../types.js';
import { copyJson } from '../validate.js';
import { slotOf } from './outcome.js';
import { Reporter, type ReportedAttempt, type ReportHost } from './progress.js';

/** The running attempt behind a context. */
export interface ContextAttempt extends ReportedAttempt {
  /**
   * Made when the handler first reads `signal`: an AbortController costs
   * ~2 us and ~1.4 KB, and most handlers never read it. An abort before
   * then is kept in `abortReason` and passed on when it is made.
   */
  controller: AbortController | undefined;
  aborted: boolean;
  abortReason: unknown;
  /** Made by the first `job.progress()` / `job.log()`: attempts that never report cost nothing. */
  reporter: Reporter | undefined;
}

/** The attempt's signal, made on first use. */
export function signalOf(attempt: ContextAttempt): AbortSignal {
  if (!attempt.controller) {
    attempt.controller = new AbortController();
    if (attempt.aborted) attempt.controller.abort(attempt.abortReason);
  }
  return attempt.controller.signal;
}

/** Aborts the attempt's signal (the first reason stands, as AbortController's does). */
export function abort(attempt: ContextAttempt, reason: unknown): void {
  if (attempt.aborted) return;
  attempt.aborted = true;
  attempt.abortReason = reason;
  attempt.controller?.abort(reason);
}

/** `#payload` before its first read (any JSON value, null included, may be the copy). */
const UNREAD: unique symbol = Symbol('unread');

export class AttemptContext implements JobContext<unknown, string> {
  readonly id: string;
  readonly name: string;
  readonly attempt: number;
  readonly token: string;
  readonly #record: JobRecord;
  #payload: unknown = UNREAD;
  #runAt: Date | undefined = undefined;
  readonly #attempt: ContextAttempt;
  readonly #host: ReportHost;

  constructor(record: JobRecord, attempt: ContextAttempt, host: ReportHost) {
    this.id = record.id;
    this.name = record.name;
    this.attempt = record.attempt;
    this.token = record.token as string;
    this.#record = record;
    this.#attempt = attempt;
    this.#host = host;
    Object.freeze(this);
  }

  /** A copy the handler may change, made on first read: its retries see the stored payload. */
  get payload(): unknown {
    const payload = this.#payload;
    if (payload !== UNREAD) return payload;
    return (this.#payload = copyJson(this.#record.payload));
  }

  get runAt(): Date {
    return (this.#runAt ??= new Date(slotOf(this.#record)));
  }

  get signal(): AbortSignal {
    return signalOf(this.#attempt);
  }

  rateLimit(ms: number): never {
    return throwRateLimit(ms);
  }

  progress(value: JsonValue): Promise<void> {
    return this.#reporter().progress(value);
  }

  log(line: string): Promise<void> {
    return this.#reporter().log(line);
  }

  /** The fields as JSON.stringify showed them when they were data properties. */
  toJSON(): { id: string; name: string; payload: unknown; attempt: number; runAt: Date; token: string } {
    return { id: this.id, name: this.name, payload: this.payload, attempt: this.attempt, runAt: this.runAt, token: this.token };
  }

  /** console.log shows the fields, as it did when they were data properties. */
  [inspect.custom](depth: number, options: object): string {
    // The fields object stands in for this one: the same depth.
    return `AttemptContext ${inspect(this.toJSON(), { ...options, depth })}`;
  }

  #reporter(): Reporter {
    return (this.#attempt.reporter ??= new Reporter(this.#host, this.#attempt));
  }
}
