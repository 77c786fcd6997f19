/**
 * OpenTelemetry for a Scheduler (`godelayq/otel`, @opentelemetry/api as an
 * optional peer): a span per attempt, linked to the span that was active
 * when the job was scheduled, and counters plus lateness and duration
 * histograms per job name.
 *
 * HOW
 * - `instrument()` installs the scheduler's trace hook (trace-hook.ts):
 *   `capture` stores the active span's W3C `traceparent` with each job
 *   scheduled (a schedule: with its declaration, so every occurrence links
 *   to it); `run` starts the attempt's span, links it to that context, and
 *   makes it active while the handler runs, so the handler's own spans are
 *   its children.
 * - The span ends when the attempt's outcome is recorded: the `completed`,
 *   `failed`, `rateLimited` (pushed back, not a failure), `cancelled` and
 *   `lost` events. Metrics come from the events as well.
 *
 * WHY a link, not a parent: an attempt may run hours later, in another
 * process, many times (retries, every occurrence of a schedule); each is its
 * own trace, pointing back at the request that caused it (as OpenTelemetry's
 * messaging conventions do for consumers).
 */
import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  isSpanContextValid,
  metrics,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Link,
  type MeterProvider,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { ValidationError } from '../errors.js';
import type { Scheduler } from '../scheduler.js';
import { TRACE_HOOK, type TraceHook } from '../scheduler/trace-hook.js';
import type { JobContext, JobInfo, JobMap, ResultMap } from '../types.js';
import { checkKeys, checkOptionsObject, show } from '../validate.js';

/** Options of `instrument()`. */
export interface InstrumentOptions {
  /** Where spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  tracerProvider?: TracerProvider;
  /** Where metrics go. @default the global meter provider (`metrics.getMeterProvider()`) */
  meterProvider?: MeterProvider;
  /**
   * Store the active trace context with each job scheduled and link each
   * attempt's span to it. Needs a store that keeps it (all built-in stores do).
   * @default true
   */
  link?: boolean;
}

/** Instrumentation scope name of the tracer and the meter. */
export const SCOPE = 'godelayq';

/** Attribute names on spans (and, for the name, on metrics). */
export const ATTR = {
  name: 'godelayq.job.name',
  id: 'godelayq.job.id',
  attempt: 'godelayq.job.attempt',
  lateness: 'godelayq.job.lateness_ms',
  willRetry: 'godelayq.job.will_retry',
  lostReason: 'godelayq.job.lost_reason',
  rateLimitedMs: 'godelayq.job.rate_limited_ms',
} as const;

const KEYS = new Set(['tracerProvider', 'meterProvider', 'link']);
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

type Listener = (event: { job: JobInfo; lateness?: number; durationMs?: number; error?: Error; willRetry?: boolean; reason?: string; delayMs?: number }) => void;
interface Events {
  on(type: string, fn: Listener): unknown;
  off(type: string, fn: Listener): unknown;
  [TRACE_HOOK](hook: TraceHook | undefined): void;
}

interface Instruments {
  started: Counter;
  completed: Counter;
  failed: Counter;
  dead: Counter;
  lateness: Histogram;
  duration: Histogram;
}

/** The W3C traceparent of the span active now, or undefined. */
function captureActive(): string | undefined {
  const sc = trace.getSpanContext(context.active());
  if (!sc || !isSpanContextValid(sc)) return undefined;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The link to a stored traceparent (none when absent or unreadable). */
function linkTo(traceparent: string | undefined): Link[] {
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  if (!m) return [];
  const spanContext = { traceId: m[1] as string, spanId: m[2] as string, traceFlags: Number.parseInt(m[3] as string, 16) & TraceFlags.SAMPLED, isRemote: true };
  return isSpanContextValid(spanContext) ? [{ context: spanContext }] : [];
}

/**
 * Traces and measures `scheduler`'s attempts. Call before `start()` (or at
 * least before scheduling the jobs whose spans should link back). Returns a
 * function that removes the instrumentation (open spans are ended).
 * @example
 * import { instrument } from 'godelayq/otel';
 * const stop = instrument(scheduler); // global providers, set up by your OpenTelemetry SDK
 */
export function instrument<Jobs extends JobMap, Results extends ResultMap<Jobs>>(scheduler: Scheduler<Jobs, Results>, options: InstrumentOptions = {}): () => void {
  const o = checkOptionsObject(options, 'options') ?? {};
  checkKeys(o, KEYS, 'options');
  for (const key of ['tracerProvider', 'meterProvider'] as const) {
    const provider = o[key] as { getTracer?: unknown; getMeter?: unknown } | undefined;
    const method = key === 'tracerProvider' ? 'getTracer' : 'getMeter';
    if (provider !== undefined && (typeof provider !== 'object' || provider === null || typeof provider[method] !== 'function')) {
      throw new ValidationError(`Expected \`options.${key}\` to be an OpenTelemetry ${key === 'tracerProvider' ? 'TracerProvider' : 'MeterProvider'}, got ${show(provider)}`);
    }
  }
  if (o.link !== undefined && typeof o.link !== 'boolean') throw new ValidationError(`Expected \`options.link\` to be a boolean, got ${show(o.link)}`);
  const events = scheduler as unknown as Events;
  const tracer: Tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(SCOPE);
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE);
  const m: Instruments = {
    started: meter.createCounter('godelayq.attempts.started', { description: 'Attempts started' }),
    completed: meter.createCounter('godelayq.attempts.completed', { description: 'Attempts that succeeded' }),
    failed: meter.createCounter('godelayq.attempts.failed', { description: 'Attempts that failed (retried or not)' }),
    dead: meter.createCounter('godelayq.jobs.dead', { description: 'Jobs (or occurrences of a schedule) that failed for good' }),
    lateness: meter.createHistogram('godelayq.attempt.lateness', { description: 'How late attempts started after their due time', unit: 'ms' }),
    duration: meter.createHistogram('godelayq.attempt.duration', { description: 'How long attempts ran until their outcome was recorded', unit: 'ms' }),
  };
  /** The open span of each running attempt, by job id (one attempt per job runs at a time). */
  const spans = new Map<string, Span>();
  /** Lateness of attempts started but whose handler is not called yet. */
  const lateness = new Map<string, number>();

  const end = (id: string, set: (span: Span) => void): void => {
    const span = spans.get(id);
    if (!span) return;
    spans.delete(id);
    set(span);
    span.end();
  };

  const hook: TraceHook = {
    run<T>(job: JobContext<unknown, string>, traceparent: string | undefined, fn: () => T): T {
      end(job.id, (old) => old.setStatus({ code: SpanStatusCode.ERROR, message: 'superseded by a new attempt' }));
      const attributes: Attributes = { [ATTR.name]: job.name, [ATTR.id]: job.id, [ATTR.attempt]: job.attempt };
      const late = lateness.get(job.id);
      lateness.delete(job.id);
      if (late !== undefined) attributes[ATTR.lateness] = late;
      const span = tracer.startSpan(`process ${job.name}`, { kind: SpanKind.CONSUMER, root: true, attributes, links: linkTo(traceparent) });
      spans.set(job.id, span);
      return context.with(trace.setSpan(context.active(), span), fn);
    },
  };
  if (o.link !== false) hook.capture = captureActive;

  const listeners: Record<string, Listener> = {
    started: ({ job, lateness: late }) => {
      m.started.add(1, { [ATTR.name]: job.name });
      if (late !== undefined) {
        m.lateness.record(late, { [ATTR.name]: job.name });
        lateness.set(job.id, late);
      }
    },
    completed: ({ job, durationMs }) => {
      m.completed.add(1, { [ATTR.name]: job.name });
      if (durationMs !== undefined) m.duration.record(durationMs, { [ATTR.name]: job.name });
      end(job.id, (span) => span.setStatus({ code: SpanStatusCode.OK }));
    },
    failed: ({ job, error, willRetry }) => {
      m.failed.add(1, { [ATTR.name]: job.name, [ATTR.willRetry]: willRetry === true });
      end(job.id, (span) => {
        if (error) span.recordException(error);
        span.setAttribute(ATTR.willRetry, willRetry === true);
        span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message ?? 'failed' });
      });
    },
    dead: ({ job }) => {
      m.dead.add(1, { [ATTR.name]: job.name });
    },
    rateLimited: ({ job, delayMs }) => {
      // The remote side pushed back: the attempt ended without counting; its status stays unset.
      end(job.id, (span) => span.setAttribute(ATTR.rateLimitedMs, delayMs ?? 0));
    },
    cancelled: ({ job }) => {
      end(job.id, (span) => span.setStatus({ code: SpanStatusCode.ERROR, message: 'cancelled' }));
    },
    lost: ({ job, reason, error }) => {
      end(job.id, (span) => {
        span.setAttribute(ATTR.lostReason, reason ?? 'unknown');
        span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message ?? `lost (${reason ?? 'unknown'})` });
      });
    },
  };
  events[TRACE_HOOK](hook);
  for (const [type, fn] of Object.entries(listeners)) events.on(type, fn);
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    for (const [type, fn] of Object.entries(listeners)) events.off(type, fn);
    events[TRACE_HOOK](undefined);
    for (const id of [...spans.keys()]) end(id, (span) => span.setStatus({ code: SpanStatusCode.ERROR, message: 'instrumentation removed before the attempt ended' }));
    lateness.clear();
  };
}
