/**
 * godelayq/otel with the OpenTelemetry SDK's in-memory exporters: a span per
 * attempt (attributes, status, exception, link to the span that scheduled
 * the job, active while the handler runs), counters and the lateness
 * histogram; spans of cancelled and pushed-back attempts end; the link
 * survives a JsonFileStore restart and reaches a scheduler sharing a
 * RedisStore; a store that cannot
 * keep the trace context is refused unless `link: false`; bad options.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type MetricData } from '@opentelemetry/sdk-metrics';
import { instrument, ATTR } from '../src/otel.js';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { UnsupportedOptionError } from '../src/errors.js';
import { RedisStore } from '../src/redis.js';
import { T0, until } from './helpers.js';
import { deletePrefix, redisSkip, startRedis } from './redis-server.js';

type Jobs = { 'mail.send': { to: string }; tick: null };

let contextManager: AsyncLocalStorageContextManager;
before(() => {
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
});
after(() => {
  context.disable();
});

function telemetry(): {
  spans: InMemorySpanExporter;
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  metrics(): Promise<MetricData[]>;
} {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    spans,
    tracerProvider,
    meterProvider,
    metrics: async () => {
      await reader.forceFlush();
      const last = exporter.getMetrics().at(-1);
      return last?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
    },
  };
}

const attempts = (spans: InMemorySpanExporter): ReadableSpan[] => spans.getFinishedSpans().filter((s) => s.name.startsWith('process '));

/** Sum of a counter's points whose attributes include `attrs`. */
function counted(all: MetricData[], name: string, attrs: Record<string, unknown>): number {
  const metric = all.find((m) => m.descriptor.name === name);
  if (!metric) return 0;
  return metric.dataPoints.filter((p) => Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)).reduce((n, p) => n + (p.value as number), 0);
}

describe('godelayq/otel', () => {
  it('makes a span per attempt, linked to the span that scheduled the job, active while the handler runs', async () => {
    const t = telemetry();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock, retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 1000 } } });
    const remove = instrument(scheduler, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
    const inner = t.tracerProvider.getTracer('app');
    let calls = 0;
    scheduler.register('mail.send', () => {
      inner.startSpan('smtp').end(); // the handler's own span: a child of the attempt's
      if (++calls === 1) throw new TypeError('smtp down');
      return 'sent';
    });
    await scheduler.start();
    const request = inner.startSpan('POST /signup');
    const job = await context.with(trace.setSpan(context.active(), request), () => scheduler.scheduleIn('mail.send', 500, { to: 'a@b.c' }));
    request.end();
    await clock.advance(500);
    await clock.advance(1000);
    await until(async () => (await scheduler.get(job.id))?.state === 'completed');

    const [first, second] = attempts(t.spans);
    assert.equal(attempts(t.spans).length, 2, 'one span per attempt');
    for (const [span, attempt] of [[first, 1], [second, 2]] as const) {
      assert.ok(span);
      assert.equal(span.name, 'process mail.send');
      assert.equal(span.kind, SpanKind.CONSUMER);
      assert.equal(span.attributes[ATTR.id], job.id);
      assert.equal(span.attributes[ATTR.name], 'mail.send');
      assert.equal(span.attributes[ATTR.attempt], attempt);
      assert.equal(span.attributes[ATTR.lateness], 0);
      assert.equal(span.links.length, 1);
      assert.equal(span.links[0]?.context.traceId, request.spanContext().traceId);
      assert.equal(span.links[0]?.context.spanId, request.spanContext().spanId);
      assert.notEqual(span.spanContext().traceId, request.spanContext().traceId, 'its own trace: linked, not a child');
    }
    assert.equal(first?.status.code, SpanStatusCode.ERROR);
    assert.equal(first?.status.message, 'smtp down');
    assert.equal(first?.attributes[ATTR.willRetry], true);
    assert.equal(first?.events.find((e) => e.name === 'exception')?.attributes?.['exception.type'], 'TypeError');
    assert.equal(second?.status.code, SpanStatusCode.OK);
    const smtp = t.spans.getFinishedSpans().filter((s) => s.name === 'smtp');
    assert.deepEqual(
      smtp.map((s) => s.parentSpanContext?.spanId),
      [first?.spanContext().spanId, second?.spanContext().spanId],
      'the handler’s spans are children of its attempt’s span',
    );
    remove();
    await scheduler.stop();
  });

  it('counts attempts per name and records lateness in a histogram', async () => {
    const t = telemetry();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock, concurrency: 1, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    instrument(scheduler, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
    scheduler.register('tick', () => new Promise<void>((resolve) => clock.setTimer(clock.now() + 300, resolve)));
    scheduler.register('mail.send', () => {
      throw new Error('no');
    });
    await scheduler.start();
    await scheduler.scheduleIn('tick', 0, null);
    await scheduler.scheduleIn('tick', 0, null); // waits for the first: 300 ms late
    await scheduler.scheduleIn('mail.send', 1000, { to: 'x' });
    await clock.advance(300);
    await clock.advance(300);
    await clock.advance(400);
    await until(() => scheduler.stats().dead === 1);
    const all = await t.metrics();
    assert.equal(counted(all, 'godelayq.attempts.started', { [ATTR.name]: 'tick' }), 2);
    assert.equal(counted(all, 'godelayq.attempts.completed', { [ATTR.name]: 'tick' }), 2);
    assert.equal(counted(all, 'godelayq.attempts.failed', { [ATTR.name]: 'mail.send', [ATTR.willRetry]: false }), 1);
    assert.equal(counted(all, 'godelayq.jobs.dead', { [ATTR.name]: 'mail.send' }), 1);
    const lateness = all.find((m) => m.descriptor.name === 'godelayq.attempt.lateness') as HistogramMetricData | undefined;
    assert.equal(lateness?.descriptor.unit, 'ms');
    const tick = lateness?.dataPoints.find((p) => p.attributes[ATTR.name] === 'tick');
    assert.equal(tick?.value.count, 2);
    assert.equal(tick?.value.sum, 300);
    assert.equal(tick?.value.max, 300);
    const duration = all.find((m) => m.descriptor.name === 'godelayq.attempt.duration') as HistogramMetricData | undefined;
    assert.equal(duration?.descriptor.unit, 'ms');
    assert.equal(duration?.dataPoints.find((p) => p.attributes[ATTR.name] === 'tick')?.value.sum, 600, 'two ticks of 300 ms');
    const lateSpan = attempts(t.spans).find((s) => s.attributes[ATTR.lateness] === 300);
    assert.ok(lateSpan, 'the late attempt’s span says how late');
    await scheduler.stop();
  });

  it('keeps the trace context with the job: an attempt after a JsonFileStore restart links back', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-otel-'));
    try {
      const t = telemetry();
      const clock = new VirtualClock(T0);
      const first = new Scheduler<Jobs>({ clock, store: new JsonFileStore(dir) });
      instrument(first, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
      await first.start();
      const request = t.tracerProvider.getTracer('app').startSpan('checkout');
      await context.with(trace.setSpan(context.active(), request), () => first.scheduleIn('mail.send', 1000, { to: 'x' }));
      request.end();
      await first.stop();

      const second = new Scheduler<Jobs>({ clock, store: new JsonFileStore(dir) });
      instrument(second, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
      second.register('mail.send', () => undefined);
      await second.start();
      await clock.advance(1000);
      await until(() => attempts(t.spans).length === 1);
      assert.equal(attempts(t.spans)[0]?.links[0]?.context.spanId, request.spanContext().spanId);
      await second.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('on a shared RedisStore, the attempt run by another scheduler links back to the span that scheduled it', { skip: redisSkip }, async () => {
    const server = await startRedis();
    const prefix = 'otel-link';
    const t = telemetry();
    const producer = new Scheduler<Jobs>({ store: new RedisStore({ url: server.url, prefix }) });
    const consumer = new Scheduler<Jobs>({ store: new RedisStore({ url: server.url, prefix }) });
    try {
      instrument(producer, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
      instrument(consumer, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
      let ranBy: string | undefined;
      consumer.register('mail.send', () => {
        ranBy = 'consumer';
      });
      await producer.start(); // no handler: it never claims the job
      await consumer.start();
      const request = t.tracerProvider.getTracer('app').startSpan('POST /order');
      const job = await context.with(trace.setSpan(context.active(), request), () => producer.scheduleIn('mail.send', 0, { to: 'x' }));
      request.end();
      await until(async () => (await producer.get(job.id))?.state === 'completed', 60_000);
      await until(() => attempts(t.spans).length === 1, 60_000);
      assert.equal(ranBy, 'consumer');
      assert.equal(attempts(t.spans)[0]?.links[0]?.context.spanId, request.spanContext().spanId);
      assert.equal(attempts(t.spans)[0]?.links[0]?.context.traceId, request.spanContext().traceId);
    } finally {
      await producer.stop();
      await consumer.stop();
      await deletePrefix(server.url, prefix);
      await server.stop();
    }
  });

  it('without an active span, or with link: false, an attempt has no link', async () => {
    const t = telemetry();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock });
    const remove = instrument(scheduler, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider, link: false });
    scheduler.register('tick', () => undefined);
    await scheduler.start();
    const request = t.tracerProvider.getTracer('app').startSpan('req');
    await context.with(trace.setSpan(context.active(), request), () => scheduler.scheduleIn('tick', 0, null));
    await clock.advance(0);
    await until(() => attempts(t.spans).length === 1);
    assert.deepEqual(attempts(t.spans)[0]?.links, []);
    remove();
    remove(); // idempotent
    await scheduler.scheduleIn('tick', 0, null);
    await clock.advance(0);
    await until(() => scheduler.stats().completed === 2);
    assert.equal(attempts(t.spans).length, 1, 'no spans once removed');
    assert.equal(scheduler.listenerCount('started'), 0);
    await scheduler.stop();
  });

  it('links every occurrence of a schedule to the span it was declared in, each in its own trace', async () => {
    const t = telemetry();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock });
    const remove = instrument(scheduler, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
    scheduler.register('tick', () => undefined);
    await scheduler.start();
    const boot = t.tracerProvider.getTracer('app').startSpan('boot');
    await context.with(trace.setSpan(context.active(), boot), () => scheduler.scheduleEvery('tick', 1000, null, { id: 'ticker' }));
    boot.end();
    await clock.advance(1000);
    await until(() => attempts(t.spans).length === 1);
    await clock.advance(1000);
    await until(() => attempts(t.spans).length === 2);
    const [one, two] = attempts(t.spans);
    for (const span of [one, two]) assert.equal(span?.links[0]?.context.spanId, boot.spanContext().spanId);
    assert.notEqual(one?.spanContext().traceId, two?.spanContext().traceId);
    remove();
    await scheduler.stop();
  });

  it('ends the span of an attempt cancelled while it runs, and of one the remote side pushed back (job.rateLimit)', async () => {
    const t = telemetry();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ clock });
    const remove = instrument(scheduler, { tracerProvider: t.tracerProvider, meterProvider: t.meterProvider });
    let pushed = false;
    scheduler.register('mail.send', (job) => {
      if (!pushed) {
        pushed = true;
        job.rateLimit(5000);
      }
      return 'sent';
    });
    scheduler.register('tick', (job) => new Promise((resolve) => job.signal.addEventListener('abort', resolve)));
    await scheduler.start();
    const mail = await scheduler.scheduleIn('mail.send', 0, { to: 'a@b.c' });
    const tick = await scheduler.scheduleIn('tick', 0, null);
    let limited = 0;
    scheduler.on('rateLimited', () => limited++);
    await clock.advance(0);
    await until(async () => (await scheduler.get(tick.id))?.state === 'running' && limited === 1);
    assert.equal(await scheduler.cancel(tick.id), true);
    await until(() => attempts(t.spans).length === 2);
    const byName = new Map(attempts(t.spans).map((s) => [s.attributes[ATTR.name], s]));
    assert.equal(byName.get('tick')?.status.code, SpanStatusCode.ERROR);
    assert.equal(byName.get('tick')?.status.message, 'cancelled');
    assert.equal(byName.get('mail.send')?.attributes[ATTR.rateLimitedMs], 5000);
    assert.equal(byName.get('mail.send')?.status.code, SpanStatusCode.UNSET, 'a push-back is not a failure');
    await clock.advance(5000);
    await until(async () => (await scheduler.get(mail.id))?.state === 'completed');
    await until(() => attempts(t.spans).length === 3);
    assert.equal(attempts(t.spans)[2]?.status.code, SpanStatusCode.OK);

    // Replaced while it runs: the attempt lost its job.
    const replaced = await scheduler.scheduleIn('tick', 0, null, { id: 'ticker' });
    await clock.advance(0);
    await until(async () => (await scheduler.get(replaced.id))?.state === 'running');
    await scheduler.scheduleIn('tick', 60_000, null, { id: 'ticker', onDuplicate: 'replace' });
    await until(() => attempts(t.spans).length === 4);
    assert.equal(attempts(t.spans)[3]?.attributes[ATTR.lostReason], 'replaced');
    assert.equal(attempts(t.spans)[3]?.status.code, SpanStatusCode.ERROR);

    // Removed while an attempt runs: its span ends.
    const open = await scheduler.scheduleIn('tick', 0, null);
    await clock.advance(0);
    await until(async () => (await scheduler.get(open.id))?.state === 'running');
    remove();
    assert.equal(attempts(t.spans).length, 5);
    assert.match(attempts(t.spans)[4]?.status.message ?? '', /instrumentation removed/);
    await scheduler.stop();
  });

  it('refuses a store that cannot keep the trace context unless link: false, and bad options', () => {
    const store = new MemoryStore();
    // A store without `progress` keeps only the fields it stores itself.
    Object.defineProperty(store, 'progress', { value: undefined });
    const scheduler = new Scheduler<Jobs>({ store });
    assert.throws(() => instrument(scheduler), (e: unknown) => e instanceof UnsupportedOptionError && /keeps a job's trace context.*link: false/.test(e.message));
    assert.equal(scheduler.listenerCount('started'), 0, 'a refused instrument() changed nothing');
    const remove = instrument(scheduler, { link: false });
    assert.equal(scheduler.listenerCount('started'), 1);
    remove();
    const plain = new Scheduler<Jobs>();
    assert.throws(() => instrument(plain, { tracerProvider: {} as never }), /Expected `options.tracerProvider` to be an OpenTelemetry TracerProvider/);
    assert.throws(() => instrument(plain, { meterProvider: 3 as never }), /Expected `options.meterProvider` to be an OpenTelemetry MeterProvider/);
    assert.throws(() => instrument(plain, { link: 'yes' as never }), /Expected `options.link` to be a boolean/);
    assert.throws(() => instrument(plain, { nope: 1 } as never), /Unknown option `options.nope`/);
  });
});
