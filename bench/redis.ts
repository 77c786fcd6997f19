/**
 * Redis bench: RedisStore beside BullMQ (delayed jobs + Worker) on the same
 * redis-server, in the same run, same payloads, same concurrency.
 *
 * Throughput figures are the median of 3 rounds (5 with --full) in which the
 * contenders alternate, since a shared machine's load drifts during a run,
 * after an unmeasured warm-up of the fresh redis-server.
 *
 * 0. Redis memory per delayed job: used_memory after adding 20,000 jobs due
 *    in 1-2 h, minus before, per job (target: <= BullMQ's).
 * 1. Acknowledged schedules/s with 1 and 50 calls in flight: godelayq
 *    `scheduleIn` (delay 1 h ± random) vs BullMQ `queue.add` with `delay`.
 *    Acknowledged = the promise resolved (the script ran on the server).
 *    Target: >= 1.5x BullMQ with 50 in flight.
 * 2. Claims + completions/s with 1 and 4 consumer processes: N jobs all due
 *    at the same instant T (scheduled beforehand as delayed jobs, consumers
 *    started and idle); time from T until the N-th completion is recorded,
 *    trivial handlers, concurrency 50 per process. Target: >= 1.5x BullMQ
 *    with 4 processes.
 * 3. Add-to-start latency: one job at a time, due now, added from one
 *    connection (a producer Scheduler / Queue) and run by a consumer on
 *    another (a Scheduler / Worker) in this process: time from the add call
 *    to the handler's first line. p50 / p99 / max over the samples.
 * 4. Claims of jobs in a group each (bench/redis-groups.ts; the drain is
 *    bench/groups-drain.ts, shared with bench/postgres.ts): 2,000 due jobs
 *    (8,000 with --full), each in its own group, claimed 10 at a time and
 *    completed, against the same jobs without groups: wall ms and the
 *    slowest claim of each. Target: grouped <= 3x plain (a claim walked
 *    every free group until 5 December 2026: ~26x at 8,000).
 *
 * The redis-server is started here (loopback, AOF on, `--appendfsync
 * everysec` unless `--fsync=always`), or `REDIS_URL` is used.
 * Run: `npm run bench -- redis` (BENCH_FULL=1 for the large sizes), or
 * `node --import tsx bench/redis.ts [--full] [--fsync=always]
 * [--only=memory,adds,completions,latency,groups]`. Writes
 * bench/results/redis.json (every section run), or
 * bench/results/redis-groups.json (`--only=...` with groups among them).
 * On a machine shared with other work the throughput figures swing by 2x
 * between runs: compare ratios from one run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { deletePrefix, startRedis, type RedisServer } from '../test/redis-server.js';
import { isMain, writeResults, type BenchOptions } from './lib.js';
import { groupsReport } from './groups-drain.js';
import { redisGroupsClaimBench } from './redis-groups.js';

const HERE = fileURLToPath(import.meta.url);
const HOUR = 3_600_000;
const CONCURRENCY = 50;
const TARGETS = { addToStartP99Ms: 10 };

type Row = Record<string, string | number>;

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const payload = (i: number): { orderId: string; amount: number } => ({ orderId: `order-${i}`, amount: i % 1000 });

function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] as Row);
  const cells = rows.map((r) => cols.map((c) => (typeof r[c] === 'number' ? fmt(r[c] as number, Number.isInteger(r[c]) ? 0 : 2) : String(r[c]))));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  console.log(cols.map((c, i) => c.padEnd(widths[i] as number)).join('  '));
  for (const row of cells) console.log(row.map((v, i) => (i === 0 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number))).join('  '));
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Runs `op(i)` for i < total keeping `width` calls in flight; returns ops/s. */
async function inFlight(width: number, total: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const lane = async (): Promise<void> => {
    while (next < total) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, total) }, lane));
  return total / ((performance.now() - t0) / 1000);
}

function bullConnection(url: string): { host: string; port: number; maxRetriesPerRequest: null } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), maxRetriesPerRequest: null };
}

async function obliterate(url: string, prefix: string): Promise<void> {
  await deletePrefix(url, prefix);
}

// ------------------------------------------------------- 0. memory per job

async function usedMemory(probe: Redis): Promise<number> {
  const info = await probe.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

/**
 * Redis memory per delayed job: used_memory after adding `total` jobs due in
 * 1-2 h minus before, divided by `total` (same payloads for both).
 */
async function memoryPerJob(url: string, total: number): Promise<Row[]> {
  const probe = new Redis(url);
  const rows: Row[] = [];
  try {
    {
      const prefix = 'bench-gq-mem';
      const scheduler = new Scheduler({ store: new RedisStore({ url, prefix }) });
      await scheduler.start();
      const before = await usedMemory(probe);
      for (let i = 0; i < total; i += 1000) {
        await scheduler.scheduleMany(Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ name: 'bench.job', payload: payload(i + k), delay: HOUR + Math.floor(Math.random() * HOUR) })));
      }
      const after = await usedMemory(probe);
      rows.push({ contender: 'godelayq RedisStore (scheduleMany, delayed)', jobs: total, 'bytes/job': Math.round((after - before) / total) });
      await scheduler.stop();
      await obliterate(url, prefix);
    }
    {
      const prefix = 'bench-bull-mem';
      const queue = new Queue('bench', { connection: bullConnection(url), prefix });
      await queue.waitUntilReady();
      const before = await usedMemory(probe);
      for (let i = 0; i < total; i += 1000) {
        await queue.addBulk(Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ name: 'bench.job', data: payload(i + k), opts: { delay: HOUR + Math.floor(Math.random() * HOUR) } })));
      }
      const after = await usedMemory(probe);
      rows.push({ contender: 'BullMQ (addBulk, delayed)', jobs: total, 'bytes/job': Math.round((after - before) / total) });
      await queue.close();
      await obliterate(url, prefix);
    }
  } finally {
    probe.disconnect();
  }
  return rows;
}

// ------------------------------------------------------------ 1. schedules/s

async function godelayqAdds(url: string, width: number, total: number): Promise<number> {
  const prefix = `bench-gq-add-${width}`;
  const scheduler = new Scheduler({ store: new RedisStore({ url, prefix }) });
  await scheduler.start();
  const rate = await inFlight(width, total, (i) => scheduler.scheduleIn('bench.job', HOUR + Math.floor(Math.random() * HOUR), payload(i)));
  await scheduler.stop();
  await obliterate(url, prefix);
  return rate;
}

async function bullAdds(url: string, width: number, total: number): Promise<number> {
  const prefix = `bench-bull-add-${width}`;
  const queue = new Queue('bench', { connection: bullConnection(url), prefix });
  await queue.waitUntilReady();
  const rate = await inFlight(width, total, (i) => queue.add('bench.job', payload(i), { delay: HOUR + Math.floor(Math.random() * HOUR) }));
  await queue.close();
  await obliterate(url, prefix);
  return rate;
}

/** Contenders alternate over `rounds`; the median round counts. */
async function schedulesPerSec(url: string, width: number, total: number, rounds: number): Promise<Row[]> {
  const runs = { godelayq: [] as number[], bullmq: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? (['bullmq', 'godelayq'] as const) : (['godelayq', 'bullmq'] as const);
    for (const kind of order) runs[kind].push(kind === 'godelayq' ? await godelayqAdds(url, width, total) : await bullAdds(url, width, total));
  }
  const row = (name: string, r: number[]): Row => {
    const sorted = r.slice().sort((x, y) => x - y);
    return { contender: name, 'in flight': width, jobs: total, rounds, 'acked/s': Math.round(percentile(sorted, 50)), 'min': Math.round(sorted[0] as number), 'max': Math.round(sorted[sorted.length - 1] as number) };
  };
  return [row('godelayq RedisStore scheduleIn', runs.godelayq), row('BullMQ queue.add (delayed)', runs.bullmq)];
}

// ---------------------------------------------------- 2. claims+completions/s

interface ChildConfig {
  kind: 'godelayq' | 'bullmq';
  url: string;
  prefix: string;
  total: number;
}

/** Consumer process: connects, registers, prints 'ready', runs jobs until killed. */
async function child(config: ChildConfig): Promise<void> {
  const keepAlive = setInterval(() => undefined, 1 << 30);
  if (config.kind === 'godelayq') {
    const scheduler = new Scheduler({ store: new RedisStore({ url: config.url, prefix: config.prefix }), concurrency: CONCURRENCY, keepCompleted: config.total + 10 });
    scheduler.register('bench.job', () => undefined);
    await scheduler.start();
    process.stdout.write('ready\n');
    process.once('SIGTERM', () => void scheduler.stop({ timeout: 1000 }).finally(() => (clearInterval(keepAlive), process.exit(0))));
  } else {
    const worker = new Worker('bench', () => Promise.resolve(), { connection: bullConnection(config.url), prefix: config.prefix, concurrency: CONCURRENCY });
    await worker.waitUntilReady();
    process.stdout.write('ready\n');
    process.once('SIGTERM', () => void worker.close().finally(() => (clearInterval(keepAlive), process.exit(0))));
  }
}

function spawnChild(config: ChildConfig): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', HERE, '--child', JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`bench child exited ${code}`)));
  });
}

async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 5000).unref();
        }),
    ),
  );
}

interface Contender {
  kind: 'godelayq' | 'bullmq';
  children: ChildProcess[];
  /** Schedules `total` jobs due at `dueAt` (epoch ms). */
  schedule(total: number, dueAt: number): Promise<void>;
  completed(): Promise<number>;
  close(): Promise<void>;
}

async function contender(kind: 'godelayq' | 'bullmq', url: string, processes: number, capacity: number): Promise<Contender> {
  const prefix = `bench-${kind}-run-${processes}`;
  const children = await Promise.all(Array.from({ length: processes }, () => spawnChild({ kind, url, prefix, total: capacity })));
  const probe = new Redis(url);
  if (kind === 'godelayq') {
    const producer = new Scheduler({ store: new RedisStore({ url, prefix }), keepCompleted: capacity + 10 });
    await producer.start();
    return {
      kind,
      children,
      schedule: async (total, dueAt) => {
        for (let i = 0; i < total; i += 1000) {
          await producer.scheduleMany(Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ name: 'bench.job', payload: payload(i + k), at: dueAt })));
        }
      },
      completed: async () => (await probe.zcard(`${prefix}:done`)) as number,
      close: async () => {
        await stopChildren(children);
        await producer.stop();
        probe.disconnect();
        await obliterate(url, prefix);
      },
    };
  }
  const queue = new Queue('bench', { connection: bullConnection(url), prefix });
  return {
    kind,
    children,
    schedule: async (total, dueAt) => {
      for (let i = 0; i < total; i += 1000) {
        const base = Date.now();
        await queue.addBulk(Array.from({ length: Math.min(1000, total - i) }, (_, k) => ({ name: 'bench.job', data: payload(i + k), opts: { delay: Math.max(1, dueAt - base) } })));
      }
    },
    completed: () => queue.getCompletedCount(),
    close: async () => {
      await stopChildren(children);
      await queue.close();
      probe.disconnect();
      await obliterate(url, prefix);
    },
  };
}

/**
 * Consumers stay up across rounds; each round schedules `total` jobs due at
 * one instant (far enough ahead for the slower producer) and times from that
 * instant to the last completion. Contenders alternate; the median round counts.
 */
async function completionsPerSec(url: string, processes: number, total: number, rounds: number): Promise<Row[]> {
  const contenders = [await contender('godelayq', url, processes, total * rounds), await contender('bullmq', url, processes, total * rounds)];
  const rates = new Map<string, number[]>(contenders.map((c) => [c.kind, []]));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const c of round % 2 ? [...contenders].reverse() : contenders) {
        const before = await c.completed();
        const lead = 1000 + Math.ceil(total / 4);
        const dueAt = Date.now() + lead;
        await c.schedule(total, dueAt);
        if (Date.now() > dueAt) console.log(`  (${c.kind}: scheduling ${fmt(total)} jobs took ${fmt(Date.now() - dueAt + lead)} ms, past the due time)`);
        while (Date.now() < dueAt) await sleep(1);
        const deadline = Date.now() + 120_000;
        while ((await c.completed()) - before < total && Date.now() < deadline) await sleep(5);
        (rates.get(c.kind) as number[]).push((total / (Date.now() - dueAt)) * 1000);
      }
    }
  } finally {
    for (const c of contenders) await c.close();
  }
  return contenders.map((c) => {
    const r = (rates.get(c.kind) as number[]).slice().sort((x, y) => x - y);
    return {
      contender: c.kind === 'godelayq' ? 'godelayq RedisStore + Scheduler' : 'BullMQ delayed + Worker',
      processes,
      jobs: total,
      rounds,
      'jobs/s': Math.round(percentile(r, 50)),
      'min jobs/s': Math.round(r[0] as number),
      'max jobs/s': Math.round(r[r.length - 1] as number),
    };
  });
}

// ------------------------------------------------------- 3. add-to-start

function summarize(name: string, samples: number[]): Row {
  const sorted = samples.slice().sort((a, b) => a - b);
  return { contender: name, samples: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN };
}

async function addToStart(url: string, samples: number): Promise<Row[]> {
  const rows: Row[] = [];
  {
    const prefix = 'bench-gq-lat';
    const producer = new Scheduler({ store: new RedisStore({ url, prefix }) });
    const consumer = new Scheduler({ store: new RedisStore({ url, prefix }) });
    let onStart: (() => void) | undefined;
    consumer.register('bench.job', () => onStart?.());
    producer.on('error', () => undefined);
    await producer.start();
    await consumer.start();
    const cross: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = new Promise<number>((resolve) => (onStart = () => resolve(performance.now())));
      const t0 = performance.now();
      await producer.scheduleIn('bench.job', 0, payload(i));
      cross.push((await started) - t0);
    }
    rows.push(summarize('godelayq, producer and consumer on separate stores (push)', cross));
    const same: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = new Promise<number>((resolve) => (onStart = () => resolve(performance.now())));
      const t0 = performance.now();
      await consumer.scheduleIn('bench.job', 0, payload(i));
      same.push((await started) - t0);
    }
    rows.push(summarize('godelayq, scheduled by the consumer itself', same));
    await producer.stop();
    await consumer.stop();
    await obliterate(url, prefix);
  }
  {
    const prefix = 'bench-bull-lat';
    const queue = new Queue('bench', { connection: bullConnection(url), prefix });
    let onStart: (() => void) | undefined;
    const worker = new Worker('bench', () => Promise.resolve(onStart?.()), { connection: bullConnection(url), prefix, concurrency: CONCURRENCY });
    await queue.waitUntilReady();
    await worker.waitUntilReady();
    await sleep(200);
    const bull: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = new Promise<number>((resolve) => (onStart = () => resolve(performance.now())));
      const t0 = performance.now();
      await queue.add('bench.job', payload(i));
      bull.push((await started) - t0);
    }
    rows.push(summarize('BullMQ queue.add -> Worker', bull));
    await worker.close();
    await queue.close();
    await obliterate(url, prefix);
  }
  return rows;
}

// ---------------------------------------------------------------------- run

const SECTIONS = ['memory', 'adds', 'completions', 'latency', 'groups'];

/** Sections to run: `--only=memory,adds,completions,latency,groups` (default: all). */
function sections(): Set<string> {
  const arg = process.argv.find((a) => a.startsWith('--only='));
  return new Set(arg ? arg.slice('--only='.length).split(',') : SECTIONS);
}

export async function run(opts: BenchOptions & { fsync?: 'always' | 'everysec' }): Promise<void> {
  const fsync = opts.fsync ?? (process.argv.includes('--fsync=always') ? 'always' : 'everysec');
  const only = sections();
  let server: RedisServer | undefined;
  const url = process.env.REDIS_URL ?? (server = await startRedis({ appendfsync: fsync })).url;
  const results: Record<string, unknown> = { node: process.version, full: opts.full, redis: process.env.REDIS_URL ? 'REDIS_URL' : `local, AOF appendfsync ${fsync}`, concurrency: CONCURRENCY };
  const verdicts: { target: string; measured: string; met: boolean }[] = [];
  const versus = (target: string, g: number, b: number, met: boolean, unit = ''): void => {
    verdicts.push({ target, measured: `${fmt(g)}${unit} vs ${fmt(b)}${unit} (${fmt(g / b, 2)}x)`, met });
  };
  const pick = (rows: Row[], who: string, col: string, where: (r: Row) => boolean): number => Number(rows.find((r) => String(r.contender).startsWith(who) && where(r))?.[col]);
  try {
    const rounds = opts.full ? 5 : 3;
    if (only.has('memory')) {
      const memRows = await memoryPerJob(url, opts.full ? 100_000 : 20_000);
      printTable('Redis memory per delayed job (used_memory delta / jobs)', memRows);
      results.memory = memRows;
      versus('memory per delayed job <= BullMQ\'s', pick(memRows, 'godelayq', 'bytes/job', () => true), pick(memRows, 'BullMQ', 'bytes/job', () => true), pick(memRows, 'godelayq', 'bytes/job', () => true) <= pick(memRows, 'BullMQ', 'bytes/job', () => true), ' B');
    }
    // Warm-up (not measured): a fresh redis-server is several times slower until its
    // allocator has grown (first-touch page faults), which would favour whoever runs second.
    await godelayqAdds(url, 1000, 30_000);
    await bullAdds(url, 1000, 30_000);
    if (only.has('adds')) {
      const addRows = [...(await schedulesPerSec(url, 1, opts.full ? 5000 : 2000, rounds)), ...(await schedulesPerSec(url, 50, opts.full ? 100_000 : 20_000, rounds))];
      printTable(`acknowledged schedules/s (redis-server AOF appendfsync ${fsync}; median of ${rounds} alternating rounds)`, addRows);
      results.schedules = addRows;
      for (const [w, factor] of [[1, 1], [50, 1.5]] as const) {
        const g = pick(addRows, 'godelayq', 'acked/s', (r) => r['in flight'] === w);
        const b = pick(addRows, 'BullMQ', 'acked/s', (r) => r['in flight'] === w);
        versus(`schedules/s >= ${factor}x BullMQ's (${w} in flight)`, g, b, g >= factor * b);
      }
    }
    if (only.has('completions')) {
      const total = opts.full ? 50_000 : 10_000;
      const runRows = [...(await completionsPerSec(url, 1, total, rounds)), ...(await completionsPerSec(url, 4, total, rounds))];
      printTable(`claims + completions/s: ${fmt(total)} jobs due at one instant, trivial handlers, concurrency ${CONCURRENCY} per process (median of ${rounds})`, runRows);
      results.completions = runRows;
      for (const [p, factor] of [[1, 1], [4, 1.5]] as const) {
        const g = pick(runRows, 'godelayq', 'jobs/s', (r) => r.processes === p);
        const b = pick(runRows, 'BullMQ', 'jobs/s', (r) => r.processes === p);
        versus(`claims+completions/s >= ${factor}x BullMQ's (${p} process${p > 1 ? 'es' : ''})`, g, b, g >= factor * b);
      }
    }
    if (only.has('latency')) {
      const latRows = await addToStart(url, opts.full ? 3000 : 1000);
      printTable('add-to-start latency, ms (one job at a time, due now)', latRows);
      results.addToStart = latRows;
      for (const r of latRows.filter((row) => String(row.contender).startsWith('godelayq'))) {
        verdicts.push({ target: `add-to-start p99 < ${TARGETS.addToStartP99Ms} ms (${r.contender})`, measured: `${fmt(Number(r.p99), 2)} ms`, met: Number(r.p99) < TARGETS.addToStartP99Ms });
      }
    }
    if (only.has('groups')) {
      const n = opts.full ? 8000 : 2000;
      const g = await redisGroupsClaimBench(url, n);
      const report = groupsReport('godelayq RedisStore', g);
      printTable(report.title, report.rows);
      results.groups = { jobs: n, grouped: g.grouped, plain: g.plain, ratio: g.ratio };
      verdicts.push(report.verdict);
    }
    console.log('\nTargets');
    for (const v of verdicts) console.log(`  ${v.met ? 'MET   ' : 'MISSED'}  ${v.target}: ${v.measured}`);
    results.targets = verdicts;
    if (SECTIONS.every((s) => only.has(s))) writeResults('redis', results);
    else if (only.has('groups')) writeResults('redis-groups', results);
  } finally {
    await server?.destroy();
  }
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) await child(JSON.parse(process.argv[i + 1] as string) as ChildConfig);
  else await run({ full: process.argv.includes('--full') });
}
