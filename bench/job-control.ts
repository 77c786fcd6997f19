/**
 * Job-control bench (issue 16): what each feature costs on top of the plain
 * schedule → claim → fire → settle path, on a MemoryStore and a
 * VirtualClock (no timer noise), N one-off jobs due at once per round:
 *
 * - baseline: no feature used (the path every other bench measures);
 * - options: `{ priority: 1 }`, the path every call with options takes (the
 *   reference for dedupe and removeOnComplete, which are options);
 * - waitFor: a `waitFor()` per job, made before the jobs run;
 * - progress / log: each handler awaits one `job.progress()` / `job.log()`;
 * - otel: the scheduler instrumented with godelayq/otel on the SDK's
 *   BasicTracerProvider and MeterProvider (spans made, no exporter);
 * - dedupe: each job scheduled with its own dedupe window (every call
 *   creates: the window's cost); dedupe hit: a second call per job inside
 *   its window (throttled: the cost of a call that creates nothing);
 * - removeOnComplete true / { count: 100 } / { ageMs: 1 }: per-job retention.
 * Then the read-side calls: `listSchedules()` over 1000 schedules beside
 * 10 000 one-off jobs, and `nextRuns()` previews.
 *
 * Contenders run interleaved, round by round, so load changes hit them alike.
 * Run: `npm run bench -- job-control`, or `node --expose-gc --import tsx bench/job-control.ts`.
 */
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { instrument } from '../src/otel.js';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import type { JobContext, ScheduleOptions } from '../src/types.js';
import { type BenchOptions, type Row, fmt, isMain, median, printTable, writeResults } from './lib.js';

type Jobs = { 'bench.job': { orderId: string; amount: number }; 'bench.tick': null };
type Feature = 'baseline' | 'options' | 'waitFor' | 'progress' | 'log' | 'otel' | 'dedupe' | 'dedupe hit' | 'remove true' | 'remove count' | 'remove age';

const N = 20_000;
const ROUNDS = 7;
const T0 = Date.UTC(2027, 0, 1);

const handlers: Record<Feature, (job: JobContext<Jobs['bench.job'], 'bench.job'>) => unknown> = {
  baseline: () => undefined,
  options: () => undefined,
  waitFor: () => 1,
  progress: (job) => job.progress(1),
  log: (job) => job.log('step'),
  otel: () => undefined,
  dedupe: () => undefined,
  'dedupe hit': () => undefined,
  'remove true': () => undefined,
  'remove count': () => undefined,
  'remove age': () => undefined,
};

/** The schedule options of job i for a feature (undefined: the plain hot path). */
function optionsOf(feature: Feature, i: number): ScheduleOptions | undefined {
  switch (feature) {
    case 'dedupe':
    case 'dedupe hit':
      return { dedupe: { key: `k${i}`, ttlMs: 60_000 } };
    case 'remove true':
      return { removeOnComplete: true };
    case 'remove count':
      return { removeOnComplete: { count: 100 } };
    case 'remove age':
      return { removeOnComplete: { ageMs: 1 } };
    case 'options':
      return { priority: 1 };
    default:
      return undefined;
  }
}

/** One round: N jobs scheduled, fired, settled (and awaited, for waitFor). Wall and CPU µs per job. */
async function round(feature: Feature, n: number): Promise<{ wall: number; cpu: number }> {
  const clock = new VirtualClock(T0);
  const scheduler = new Scheduler<Jobs>({ clock, concurrency: 1000, keepCompleted: n });
  let remove: (() => void) | undefined;
  if (feature === 'otel') remove = instrument(scheduler, { tracerProvider: new BasicTracerProvider(), meterProvider: new MeterProvider() });
  scheduler.register('bench.job', handlers[feature] as (job: JobContext<Jobs['bench.job'], 'bench.job'>) => undefined);
  await scheduler.start();
  const drained = new Promise<void>((resolve) => scheduler.once('drained', () => resolve()));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const waits: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const options = optionsOf(feature, i);
    const job = await scheduler.scheduleIn('bench.job', 0, { orderId: `ord-${i}`, amount: i + 0.5 }, options);
    if (feature === 'waitFor') waits.push(scheduler.waitFor(job));
    if (feature === 'dedupe hit') await scheduler.scheduleIn('bench.job', 0, { orderId: `ord-${i}`, amount: i + 0.5 }, options);
  }
  await clock.advance(0);
  await drained;
  if (waits.length > 0) await Promise.all(waits);
  const wall = Number(process.hrtime.bigint() - t0) / 1000 / n;
  const c = process.cpuUsage(cpu0);
  remove?.();
  await scheduler.stop();
  return { wall, cpu: (c.user + c.system) / n };
}

async function readSide(rows: Row[]): Promise<void> {
  const clock = new VirtualClock(T0);
  const scheduler = new Scheduler<Jobs>({ clock });
  await scheduler.start();
  for (let i = 0; i < 10_000; i++) await scheduler.scheduleIn('bench.job', 3_600_000 + i, { orderId: `o${i}`, amount: i });
  for (let i = 0; i < 1000; i++) await scheduler.scheduleCron('bench.tick', `${i % 60} ${i % 24} * * *`, null, { id: `s${i}`, tz: i % 2 === 0 ? 'Europe/Paris' : 'UTC' });
  const times = async (reps: number, fn: () => Promise<unknown>): Promise<number> => {
    await fn();
    const all: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = process.hrtime.bigint();
      await fn();
      all.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    return median(all);
  };
  rows.push({ scenario: 'listSchedules (1000 schedules + 10 000 jobs)', contender: 'runs: 5 each', value: await times(9, () => scheduler.listSchedules()) });
  rows.push({ scenario: 'listSchedules (1000 schedules + 10 000 jobs)', contender: 'runs: 0', value: await times(9, () => scheduler.listSchedules({ runs: 0 })) });
  rows.push({ scenario: 'listSchedules (1000 schedules + 10 000 jobs)', contender: 'list() of everything', value: await times(9, () => scheduler.list()) });
  rows.push({ scenario: 'nextRuns', contender: "'0 9 * * 1-5' Paris, 100 runs", value: await times(99, () => scheduler.nextRuns('0 9 * * 1-5', 100, { tz: 'Europe/Paris' })) });
  rows.push({ scenario: 'nextRuns', contender: 'a schedule by id, 100 runs', value: await times(99, () => scheduler.nextRuns('s7', 100)) });
  await scheduler.stop();
}

export async function run(_opts: BenchOptions): Promise<void> {
  const features: Feature[] = ['baseline', 'options', 'waitFor', 'progress', 'log', 'otel', 'dedupe', 'dedupe hit', 'remove true', 'remove count', 'remove age'];
  const walls = new Map<Feature, number[]>(features.map((f) => [f, []]));
  const cpus = new Map<Feature, number[]>(features.map((f) => [f, []]));
  for (let r = -1; r < ROUNDS; r++) {
    for (const f of features) {
      const t = await round(f, N);
      if (r >= 0) {
        walls.get(f)!.push(t.wall);
        cpus.get(f)!.push(t.cpu);
      }
    }
  }
  const rows: Row[] = features.map((f) => ({
    scenario: `${N} jobs: schedule → fire → settle`,
    contender: f,
    value: median(walls.get(f)!),
    cpu: median(cpus.get(f)!),
  }));
  printTable(`Job-control features: µs per job (median of ${ROUNDS} interleaved rounds; MemoryStore, VirtualClock)`, rows, { baseline: 'baseline', unit: 'µs/job' });
  const reads: Row[] = [];
  await readSide(reads);
  printTable('Job-control reads: ms per call (median)', reads, { baseline: 'runs: 5 each', unit: 'ms' });
  for (const r of rows) console.log(`  ${r.contender}: +${fmt((r.value ?? 0) - (rows[0]?.value ?? 0))} µs/job over baseline`);
  writeResults('job-control', { n: N, rounds: ROUNDS, rows, reads });
}

if (isMain(import.meta.url)) {
  await run({ full: process.env.BENCH_FULL === '1' });
}
