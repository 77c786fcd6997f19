/**
 * The JobContext a handler receives: one small frozen object per attempt,
 * its methods on the prototype (no closures made per attempt), and what it
 * must not expose (the abort controller, the attempt) in private fields.
 */
import type { JobRecord } from '../store/store.js';
import type { JobContext, JsonValue } from '../types.js';
import { Reporter, type ReportedAttempt, type ReportHost } from './progress.js';
import { slotOf } from './outcome.js';

/** The running attempt behind a context: its reports go through one Reporter, made on first use. */
export interface ContextAttempt extends ReportedAttempt {
  reporter?: Reporter;
}

export class AttemptContext implements JobContext<unknown, string> {
  readonly id: string;
  readonly name: string;
  readonly payload: unknown;
  readonly attempt: number;
  readonly runAt: Date;
  readonly token: string;
  readonly #controller: AbortController;
  readonly #attempt: ContextAttempt;
  readonly #host: ReportHost;

  constructor(record: JobRecord, payload: unknown, controller: AbortController, attempt: ContextAttempt, host: ReportHost) {
    this.id = record.id;
    this.name = record.name;
    this.payload = payload;
    this.attempt = record.attempt;
    this.runAt = new Date(slotOf(record));
    this.token = record.token as string;
    this.#controller = controller;
    this.#attempt = attempt;
    this.#host = host;
    Object.freeze(this);
  }

  /** Read lazily: creating the AbortSignal costs ~2 us and ~1.4 KB, and most handlers never read it. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  progress(value: JsonValue): Promise<void> {
    return this.#reporter().progress(value);
  }

  log(line: string): Promise<void> {
    return this.#reporter().log(line);
  }

  #reporter(): Reporter {
    return (this.#attempt.reporter ??= new Reporter(this.#host, this.#attempt));
  }
}
