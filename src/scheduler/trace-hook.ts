/**
 * The seam `godelayq/otel` plugs into (the core never imports
 * @opentelemetry/api): when a job is scheduled, `capture` returns the trace
 * context to store with it (a W3C `traceparent`); each attempt's handler
 * call runs through `run`, which may make a span active around it.
 * A global symbol, so the ESM and CommonJS builds find the same seam.
 */
import type { JobContext } from '../types.js';

/** `scheduler[TRACE_HOOK](hook)` installs (or, with undefined, removes) the hook. */
export const TRACE_HOOK: unique symbol = Symbol.for('godelayq.traceHook') as typeof TRACE_HOOK;

export interface TraceHook {
  /** The trace context to store with a job being scheduled now, or undefined. Absent: store none. */
  capture?(): string | undefined;
  /** Calls `fn` (an attempt's handler call); `trace` is what `capture` stored with the job. */
  run<T>(job: JobContext<unknown, string>, trace: string | undefined, fn: () => T): T;
}
