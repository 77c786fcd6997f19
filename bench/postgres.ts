/**
 * PostgreSQL bench: PostgresStore beside pg-boss (10.x) and graphile-worker
 * (0.17.x) on the same PostgreSQL server, in the same run, same payloads.
 *
 * Figures are the median of 3 rounds (5 with --full) in which the
 * contenders alternate, since a shared machine's load drifts during a run.
 *
 * 0. Bytes per delayed job on disk: total size of the contender's tables
 *    (heap, indexes, TOAST) after adding 20,000 jobs due in 1-2 h, minus
 *    before, per job.
 * 1. Acknowledged schedules/s with 1 and 4 producer processes, 50 calls in
 *    flight each: godelayq `scheduleIn` (delay 1 h ± random), pg-boss `send`
 *    with `startAfter`, graphile-worker `addJob` with `runAt`. Acknowledged
 *    = the promise resolved (committed).
 * 2. Claims + completions/s with 1 and 4 consumer processes: N jobs all due
 *    at one instant T (scheduled beforehand, consumers started and idle);
 *    time from T until the N-th completion is recorded; trivial handlers.
 *    godelayq: concurrency 50 per process; graphile-worker: concurrency 50,
 *    pollInterval 100 ms (jobs due in the future are found by polling);
 *    pg-boss: its fastest polling (0.5 s) and batchSize 500 (a pg-boss
 *    worker fetches one batch per polling interval).
 * Target (issue 18): godelayq >= 1.5x the faster of the two, for 1 and 4
 * processes, in both.
 * 3. Claims of jobs in a group each (bench/postgres-groups.ts; the drain is
 *    bench/groups-drain.ts, shared with bench/redis.ts): 2,000 due jobs
 *    (8,000 with --full), each in its own group, claimed 10 at a time and
 *    completed, against the same jobs without groups: wall ms and the
 *    slowest claim of each. Target: grouped <= 3x plain. Beside it, a
 *    figure with no clock in it: the index scans of `jobs` (and `heads`)
 *    one claim of 10 makes with as many jobs ready, in its own transaction
 *    (pg_stat_xact_user_tables). Until schema version 7 (5 December 2026)
 *    a claim read the head of every group waiting: ~2 scans of `jobs` per
 *    group.
 *
 * The server is started here (initdb in a temp folder, fsync on: the
 * defaults), or PG_URL is used. Run: `npm run bench -- postgres`, or
 * `node --import tsx bench/postgres.ts [--full] [--only=disk,adds,completions,groups]`.
 * Writes bench/results/postgres.json (every section run), or
 * bench/results/postgres-groups.json (`--only=...` with groups among them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { Logger, makeWorkerUtils, run as runGraphile, type Runner, type WorkerUtils } from 'graphile-worker';
import { Scheduler } from '../src/scheduler.js';
import { PostgresStore } from '../src/postgres.js';
import { startPostgres, type PostgresServer } from '../test/postgres-server.js';
import { isMain, writeResults, type BenchOptions } from './lib.js';
import { groupsReport } from './groups-drain.js';
import { postgresClaimScans, postgresGroupsClaimBench } from './postgres-groups.js';

const HERE = fileURLToPath(import.meta.url);
const HOUR = 3_600_000;
const IN_FLIGHT = 50;
const CONCURRENCY = 50;
const KINDS = ['godelayq', 'pg-boss', 'graphile-worker'] as const;
type Kind = (typeof KINDS)[number];
type Row = Record<string, string | number>;

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const payload = (i: number): { orderId: string; amount: number } => ({ orderId: `order-${i}`, amount: i % 1000 });
const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? (s[s.length >> 1] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] as Row);
  const cells = rows.map((r) => cols.map((c) => (typeof r[c] === 'number' ? fmt(r[c] as number, Number.isInteger(r[c]) ? 0 : 2) : String(r[c]))));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  console.log(cols.map((c, i) => c.padEnd(widths[i] as number)).join('  '));
  for (const row of cells) console.log(row.map((v, i) => (i === 0 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number))).join('  '));
}

/** Runs `op(i)` for i < total keeping `width` calls in flight. */
async function inFlight(width: number, total: number, op: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, total) }, lane));
}

// ------------------------------------------------------------ contenders

/** Each contender's data lives in its own schema, so sizes and counts are per contender. */
const SCHEMA: Record<Kind, string> = { godelayq: 'bench_godelayq', 'pg-boss': 'bench_pgboss', 'graphile-worker': 'bench_graphile' };
const QUEUE = 'bench_job';
/** graphile-worker logs every job by default: that would be part of what is measured. */
const quiet = new Logger(() => () => undefined);

interface Producer {
  add(i: number, runAt: number): Promise<unknown>;
  addMany(from: number, count: number, runAt: number): Promise<unknown>;
  close(): Promise<void>;
}

async function producer(kind: Kind, url: string): Promise<Producer> {
  if (kind === 'godelayq') {
    const scheduler = new Scheduler({ store: new PostgresStore({ connectionString: url, schema: SCHEMA.godelayq }), keepCompleted: 1_000_000 });
    await scheduler.start();
    return {
      add: (i, runAt) => scheduler.scheduleAt('bench.job', runAt, payload(i)),
      addMany: (from, count, runAt) => scheduler.scheduleMany(Array.from({ length: count }, (_, k) => ({ name: 'bench.job', payload: payload(from + k), at: runAt }))),
      close: () => scheduler.stop(),
    };
  }
  if (kind === 'pg-boss') {
    const boss = new PgBoss({ connectionString: url, schema: SCHEMA['pg-boss'], supervise: false, schedule: false, max: 10 });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue(QUEUE).catch(() => undefined);
    return {
      add: (i, runAt) => boss.send(QUEUE, payload(i), { startAfter: new Date(runAt) }),
      addMany: (from, count, runAt) => boss.insert(Array.from({ length: count }, (_, k) => ({ name: QUEUE, data: payload(from + k), startAfter: new Date(runAt) }))),
      close: () => boss.stop({ graceful: false, wait: true }),
    };
  }
  const utils: WorkerUtils = await makeWorkerUtils({ connectionString: url, schema: SCHEMA['graphile-worker'], logger: quiet });
  await utils.migrate();
  return {
    add: (i, runAt) => utils.addJob(QUEUE, payload(i), { runAt: new Date(runAt) }),
    addMany: (from, count, runAt) => utils.addJobs(Array.from({ length: count }, (_, k) => ({ identifier: QUEUE, payload: payload(from + k), runAt: new Date(runAt) }))),
    close: async () => {
      await utils.release();
    },
  };
}

/** A consumer in this process, started and idle until jobs are due. */
async function consumer(kind: Kind, url: string): Promise<() => Promise<void>> {
  if (kind === 'godelayq') {
    const scheduler = new Scheduler({ store: new PostgresStore({ connectionString: url, schema: SCHEMA.godelayq }), concurrency: CONCURRENCY, keepCompleted: 1_000_000 });
    scheduler.register('bench.job', () => undefined);
    await scheduler.start();
    return () => scheduler.stop({ timeout: 2000 });
  }
  if (kind === 'pg-boss') {
    const boss = new PgBoss({ connectionString: url, schema: SCHEMA['pg-boss'], supervise: false, schedule: false, max: 10 });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue(QUEUE).catch(() => undefined);
    await boss.work(QUEUE, { batchSize: 500, pollingIntervalSeconds: 0.5 }, () => Promise.resolve());
    return () => boss.stop({ graceful: false, wait: true });
  }
  const runner: Runner = await runGraphile({
    connectionString: url,
    schema: SCHEMA['graphile-worker'],
    concurrency: CONCURRENCY,
    pollInterval: 100,
    noHandleSignals: true,
    taskList: { [QUEUE]: () => Promise.resolve() },
    logger: quiet,
  });
  return () => runner.stop();
}

/** Jobs completed so far (graphile-worker deletes a completed job: `total` minus what is left). */
async function completed(db: pg.Pool, kind: Kind, total: number): Promise<number> {
  if (kind === 'godelayq') return Number((await db.query(`SELECT coalesce(sum(completed), 0) AS n FROM ${SCHEMA.godelayq}.counts`)).rows[0].n);
  if (kind === 'pg-boss') return Number((await db.query(`SELECT count(*) AS n FROM ${SCHEMA['pg-boss']}.job WHERE name = $1 AND state = 'completed'`, [QUEUE])).rows[0].n);
  return total - Number((await db.query(`SELECT count(*) AS n FROM ${SCHEMA['graphile-worker']}._private_jobs`)).rows[0].n);
}

async function schemaBytes(db: pg.Pool, schema: string): Promise<number> {
  const r = await db.query(
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relkind IN ('r', 'm')",
    [schema],
  );
  return Number(r.rows[0].n);
}

async function reset(db: pg.Pool): Promise<void> {
  for (const schema of Object.values(SCHEMA)) await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}

// ------------------------------------------------------------ child processes

interface ChildConfig {
  role: 'produce' | 'consume';
  kind: Kind;
  url: string;
  total: number;
}

/** A producer waits for "go" on stdin, adds `total` jobs, prints "done"; a consumer runs until SIGTERM. */
async function child(config: ChildConfig): Promise<void> {
  const keepAlive = setInterval(() => undefined, 1 << 30);
  if (config.role === 'consume') {
    const stop = await consumer(config.kind, config.url);
    process.stdout.write('ready\n');
    process.once('SIGTERM', () => void stop().finally(() => (clearInterval(keepAlive), process.exit(0))));
    return;
  }
  const p = await producer(config.kind, config.url);
  await p.add(-1, Date.now() + HOUR); // connections warm
  process.stdout.write('ready\n');
  process.stdin.once('data', () => {
    void inFlight(IN_FLIGHT, config.total, (i) => p.add(i, Date.now() + HOUR + Math.floor(Math.random() * HOUR))).then(async () => {
      process.stdout.write('done\n');
      await p.close();
      clearInterval(keepAlive);
      process.exit(0);
    });
  });
}

function spawnChild(config: ChildConfig): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', HERE, '--child', JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`bench child exited ${code}`)));
  });
}

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null ? Promise.resolve() : new Promise((resolve) => proc.once('exit', () => resolve()));
}

async function stopChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((c) => {
      if (c.exitCode !== null) return Promise.resolve();
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 5000).unref();
      return exited(c);
    }),
  );
}

// ------------------------------------------------------------ 0. disk

async function diskPerJob(url: string, db: pg.Pool, total: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const kind of KINDS) {
    const p = await producer(kind, url);
    await p.add(-1, Date.now() + HOUR);
    const before = await schemaBytes(db, SCHEMA[kind]);
    for (let i = 0; i < total; i += 1000) await p.addMany(i, Math.min(1000, total - i), Date.now() + HOUR + Math.floor(Math.random() * HOUR));
    const after = await schemaBytes(db, SCHEMA[kind]);
    await p.close();
    rows.push({ contender: kind, jobs: total, 'bytes/job': Math.round((after - before) / total) });
  }
  await reset(db);
  return rows;
}

// ------------------------------------------------------------ 1. schedules/s

async function schedulesPerSec(url: string, db: pg.Pool, processes: number, perProcess: number, rounds: number): Promise<Row[]> {
  const rates = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 ? [...KINDS].reverse() : KINDS) {
      const children = await Promise.all(Array.from({ length: processes }, () => spawnChild({ role: 'produce', kind, url, total: perProcess })));
      const t0 = performance.now();
      for (const c of children) c.stdin?.write('go\n');
      await Promise.all(children.map(exited));
      (rates.get(kind) as number[]).push((processes * perProcess) / ((performance.now() - t0) / 1000));
    }
    await reset(db);
  }
  return KINDS.map((kind) => {
    const r = rates.get(kind) as number[];
    return { contender: kind, processes, 'in flight each': IN_FLIGHT, jobs: processes * perProcess, 'acked/s': Math.round(median(r)), min: Math.round(Math.min(...r)), max: Math.round(Math.max(...r)) };
  });
}

// ------------------------------------------------------------ 2. claims + completions/s

async function completionsPerSec(url: string, db: pg.Pool, processes: number, total: number, rounds: number): Promise<Row[]> {
  const rates = new Map<Kind, number[]>(KINDS.map((k) => [k, []]));
  for (let round = 0; round < rounds; round++) {
    for (const kind of round % 2 ? [...KINDS].reverse() : KINDS) {
      const p = await producer(kind, url);
      const children = await Promise.all(Array.from({ length: processes }, () => spawnChild({ role: 'consume', kind, url, total })));
      try {
        const lead = 1500 + Math.ceil(total / 5);
        const dueAt = Date.now() + lead;
        for (let i = 0; i < total; i += 1000) await p.addMany(i, Math.min(1000, total - i), dueAt);
        if (Date.now() > dueAt) console.log(`  (${kind}: scheduling took past the due time)`);
        while (Date.now() < dueAt) await sleep(1);
        const deadline = Date.now() + 180_000;
        while ((await completed(db, kind, total)) < total && Date.now() < deadline) await sleep(5);
        (rates.get(kind) as number[]).push((total / (Date.now() - dueAt)) * 1000);
      } finally {
        await stopChildren(children);
        await p.close();
        await reset(db);
      }
    }
  }
  return KINDS.map((kind) => {
    const r = rates.get(kind) as number[];
    return { contender: kind, processes, jobs: total, 'jobs/s': Math.round(median(r)), min: Math.round(Math.min(...r)), max: Math.round(Math.max(...r)) };
  });
}

// ------------------------------------------------------------ run

const SECTIONS = ['disk', 'adds', 'completions', 'groups'];

/** Sections to run: `--only=disk,adds,completions,groups` (default: all). */
function sections(): Set<string> {
  const arg = process.argv.find((a) => a.startsWith('--only='));
  return new Set(arg ? arg.slice('--only='.length).split(',') : SECTIONS);
}

export async function run(opts: BenchOptions): Promise<void> {
  const only = sections();
  let server: PostgresServer | undefined;
  const url = process.env.PG_URL ?? (server = await startPostgres({ settings: { fsync: 'on', full_page_writes: 'on', shared_buffers: '128MB' } })).url;
  const db = new pg.Pool({ connectionString: url, max: 2 });
  const results: Record<string, unknown> = { full: opts.full, server: process.env.PG_URL ? 'PG_URL' : 'local PostgreSQL, fsync on', versions: { pgBoss: '10.x', graphileWorker: '0.17.x' } };
  const verdicts: { target: string; measured: string; met: boolean }[] = [];
  const versus = (rows: Row[], col: string, where: (r: Row) => boolean, what: string): void => {
    const pick = (k: Kind): number => Number(rows.find((r) => r.contender === k && where(r))?.[col]);
    const g = pick('godelayq');
    const best = Math.max(pick('pg-boss'), pick('graphile-worker'));
    verdicts.push({ target: `${what} >= 1.5x the faster of pg-boss and graphile-worker`, measured: `${fmt(g)} vs ${fmt(best)} (${fmt(g / best, 2)}x)`, met: g >= 1.5 * best });
  };
  try {
    await reset(db);
    const rounds = opts.full ? 5 : 3;
    if (only.has('disk')) {
      const rows = await diskPerJob(url, db, 20_000);
      printTable('bytes per delayed job on disk (tables + indexes + TOAST, delta / jobs)', rows);
      results.disk = rows;
    }
    if (only.has('adds')) {
      const rows = [...(await schedulesPerSec(url, db, 1, opts.full ? 5000 : 3000, rounds)), ...(await schedulesPerSec(url, db, 4, opts.full ? 2500 : 1500, rounds))];
      printTable(`acknowledged schedules/s, ${IN_FLIGHT} in flight per process (median of ${rounds} alternating rounds)`, rows);
      results.schedules = rows;
      for (const p of [1, 4]) versus(rows, 'acked/s', (r) => r.processes === p, `schedules/s (${p} process${p > 1 ? 'es' : ''})`);
    }
    if (only.has('completions')) {
      const total = opts.full ? 20_000 : 5000;
      const rows = [...(await completionsPerSec(url, db, 1, total, rounds)), ...(await completionsPerSec(url, db, 4, total, rounds))];
      printTable(`claims + completions/s: ${fmt(total)} jobs due at one instant, trivial handlers (median of ${rounds})`, rows);
      results.completions = rows;
      for (const p of [1, 4]) versus(rows, 'jobs/s', (r) => r.processes === p, `claims+completions/s (${p} process${p > 1 ? 'es' : ''})`);
    }
    if (only.has('groups')) {
      const n = opts.full ? 8000 : 2000;
      const g = await postgresGroupsClaimBench(url, n);
      const report = groupsReport('godelayq PostgresStore', g);
      printTable(report.title, report.rows);
      const scans = await postgresClaimScans(url, n);
      const scanRow = (what: string, s: typeof scans.grouped): Row => ({ contender: `godelayq PostgresStore, ${what}`, 'jobs ready': s.ready, claimed: s.claimed, 'index scans of jobs': s.jobsScans, 'of heads': s.headsScans ?? 'no table' });
      printTable(`one claim of 10 with ${fmt(n)} jobs ready (promoted first by claims of zero capacity): index scans in its transaction (pg_stat_xact_user_tables)`, [
        scanRow('each job in its own group', scans.grouped),
        scanRow('no group', scans.plain),
      ]);
      results.groups = { jobs: n, grouped: g.grouped, plain: g.plain, ratio: g.ratio, claimScans: scans };
      verdicts.push(report.verdict);
    }
    console.log('\nTargets');
    for (const v of verdicts) console.log(`  ${v.met ? 'MET   ' : 'MISSED'}  ${v.target}: ${v.measured}`);
    results.targets = verdicts;
    if (SECTIONS.every((s) => only.has(s))) writeResults('postgres', results);
    else if (only.has('groups')) writeResults('postgres-groups', results);
  } finally {
    await db.end();
    await server?.destroy();
  }
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) await child(JSON.parse(process.argv[i + 1] as string) as ChildConfig);
  else await run({ full: process.argv.includes('--full') });
}
