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
 * 10 000 one-off jobs, and `nextRuns()` previews. Then, when redis-server is
 * installed, the cost of the `pause({ everywhere: true })` check in
 * RedisStore's CLAIM script: the script with and without it, EVALSHA
 * pipelined 2000 at a time, wall time and redis-server CPU time (INFO cpu) on a fresh loopback server (the check is one
 * HMGET, the same whatever the claim takes, so claims that find nothing due
 * show it best).
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
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { CLAIM } from '../src/store/redis/scripts.js';
import { CLAIM_PAUSE_CHECK } from '../src/store/redis/pause.js';
import { startRedis } from '../test/redis-server.js';
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

/** µs per CLAIM script call (nothing due), with and without the pause check, interleaved batches; undefined without redis-server. */
export async function claimPauseCheck(rows: Row[]): Promise<void> {
  let server: Awaited<ReturnType<typeof startRedis>>;
  try {
    server = await startRedis({ appendfsync: 'everysec' });
  } catch (error) {
    console.log(`  (CLAIM pause-check A/B skipped: ${String(error)})`);
    return;
  }
  const client = new Redis(server.url);
  try {
    const without = CLAIM.lua.replace(CLAIM_PAUSE_CHECK, '\n');
    if (without === CLAIM.lua) throw new Error('the CLAIM script no longer holds CLAIM_PAUSE_CHECK');
    const contenders = [
      { label: 'CLAIM with the pause check', sha: CLAIM.sha, lua: CLAIM.lua },
      { label: 'CLAIM without it', sha: createHash('sha1').update(without).digest('hex'), lua: without },
    ];
    for (const c of contenders) await client.script('LOAD', c.lua);
    // 1000 jobs due in an hour: the due set is not empty, nothing is due now.
    for (let i = 0; i < 1000; i++) await client.zadd('bench:due', Date.now() + 3_600_000 + i, `--------${i}`);
    // The server's own CPU time (INFO cpu, µs resolution): less swayed than wall time by other work on a shared machine.
    const serverCpu = async (): Promise<number> => {
      const info = await client.info('cpu');
      const field = (name: string): number => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
      return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
    };
    const CALLS = 2000;
    const batch = async (sha: string): Promise<{ wall: number; cpu: number }> => {
      const pipe = client.pipeline();
      for (let i = 0; i < CALLS; i++) pipe.evalsha(sha, 1, 'bench:due', 1000, 10000, 30000, String(Date.now()), 1000, 1, `t${i}`, '', '', 0);
      const cpu0 = await serverCpu();
      const t0 = process.hrtime.bigint();
      const replies = await pipe.exec();
      const wall = Number(process.hrtime.bigint() - t0) / 1000 / CALLS;
      const cpu = ((await serverCpu()) - cpu0) / CALLS;
      const failed = replies?.find(([error]) => error !== null);
      if (failed) throw failed[0] as Error;
      return { wall, cpu };
    };
    const walls = new Map<string, number[]>(contenders.map((c) => [c.label, []]));
    const cpus = new Map<string, number[]>(contenders.map((c) => [c.label, []]));
    for (let r = -2; r < 21; r++) {
      for (const c of r % 2 === 0 ? contenders : [...contenders].reverse()) {
        const t = await batch(c.sha);
        if (r >= 0) {
          walls.get(c.label)!.push(t.wall);
          cpus.get(c.label)!.push(t.cpu);
        }
      }
    }
    for (const c of contenders) {
      rows.push({ scenario: 'RedisStore CLAIM script, nothing due (pipelined)', contender: c.label, value: median(walls.get(c.label)!), cpu: median(cpus.get(c.label)!), note: 'CPU = redis-server CPU' });
    }
    // The check alone, without the round trips around it: its HMGET (and the pcall around it) 100 000 times in one script.
    const loop = `for i = 1, 100000 do local pz = redis.pcall('HMGET', KEYS[1], 'on', 'v'); if pz.err then return 1 end end return 0`;
    const alone: number[] = [];
    for (let r = 0; r < 7; r++) {
      const cpu0 = await serverCpu();
      await client.eval(loop, 1, 'bench:pause');
      alone.push(((await serverCpu()) - cpu0) / 100_000);
    }
    rows.push({ scenario: 'the pause check alone (redis-server CPU)', contender: 'HMGET in a Lua loop', value: median(alone) });
  } finally {
    client.disconnect();
    await server.destroy();
  }
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
  const claims: Row[] = [];
  await claimPauseCheck(claims);
  if (claims.length > 0) printTable('pause({ everywhere: true }) check in the CLAIM script: µs per call (median of 21 interleaved batches of 2000)', claims, { baseline: 'CLAIM without it', unit: 'µs/call' });
  writeResults('job-control', { n: N, rounds: ROUNDS, rows, reads, claims });
}

if (isMain(import.meta.url)) {
  await run({ full: process.env.BENCH_FULL === '1' });
}
