/**
 * The JobContext a handler receives: one small frozen object per attempt,
 * its methods on the prototype (no closures made per attempt), and what it
 * must not expose (the attempt, the reporting host) in private fields.
 * A class, not a frozen literal with a getter: V8 builds such a literal
 * through the runtime, which cost ~6 us a fire, most of the firing path.
 */
import { throwRateLimit } from '../control/rate-limit-option.js';
import { SHAPE_KEEPERS } from '../store/record.js';
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

export class AttemptContext implements JobContext<unknown, string> {
  /**
   * One record of each firing-path shape (SHAPE_KEEPERS, store/record.ts)
   * and one context, kept for the process's life so their hidden classes
   * outlive a quiet spell with no job running: V8 would otherwise drop the
   * optimized code that embedded them. Held here, by a class every attempt
   * uses, so a bundler's tree shaking (the package declares no side
   * effects) cannot drop them; test/packaging.test.ts checks the build.
   */
  static readonly keepers: readonly object[] = [
    ...SHAPE_KEEPERS,
    new AttemptContext(
      { id: 'k', name: 'k', payload: null, state: 'running', runAt: 0.5, createdAt: 0.5, attempt: 1, priority: 0, seq: 0, token: 'k' },
      { controller: undefined, aborted: false, abortReason: undefined, reporter: undefined } as unknown as ContextAttempt,
      {} as ReportHost,
    ),
  ];

  readonly id: string;
  readonly name: string;
  /** A copy the handler may change: its retries see the stored payload. */
  readonly payload: unknown;
  readonly attempt: number;
  readonly runAt: Date;
  readonly token: string;
  readonly #attempt: ContextAttempt;
  readonly #host: ReportHost;

  constructor(record: JobRecord, attempt: ContextAttempt, host: ReportHost) {
    this.id = record.id;
    this.name = record.name;
    this.payload = copyJson(record.payload);
    this.attempt = record.attempt;
    this.runAt = new Date(slotOf(record));
    this.token = record.token as string;
    this.#attempt = attempt;
    this.#host = host;
    Object.freeze(this);
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

  #reporter(): Reporter {
    return (this.#attempt.reporter ??= new Reporter(this.#host, this.#attempt));
  }
}
