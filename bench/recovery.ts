/**
 * Recovery bench (issue 14 item 4): `JsonFileStore.open` of N scheduled jobs
 * against a plain `JSON.parse` of the same records as one array, in the
 * same process, CPU time (wall beside it), at N = 2e5 and 1e6; then the
 * first `list({ limit: 100 })` after the open (a page: only its jobs are
 * parsed), then a `list()` of every job (it parses every job open left as
 * bytes: the cost cold jobs move there), and the time to write a
 * snapshot of those N jobs (`store.snapshot()`), the compaction cost that
 * pays for a fast open.
 *
 * The records are what `scheduleIn` stores: string ids, payload
 * `{ orderId, amount }`, integer due times with ties, `relative`. The store
 * folder is one snapshot (written by the store's own snapshot writer) and
 * an empty journal: the state after a compaction. Each round runs both
 * contenders, alternating which goes first, with a full gc before each.
 *
 * Run: `npm run bench -- recovery` or `node --expose-gc --import tsx bench/recovery.ts [--rounds 3]`.
 * Writes bench/results/recovery.json.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JsonFileStore } from '../src/store/json-file.js';
import { journalHeaderLine, journalName, snapshotName } from '../src/store/json-file/format.js';
import { nodeFs } from '../src/store/json-file/fs.js';
import { writeSnapshotTemp } from '../src/store/json-file/snapshot.js';
import type { JobRecord, StoreContext } from '../src/store/store.js';
import { type BenchOptions, type Row, fmt, gc, headline, isMain, printTable, storeContext, writeResults } from './lib.js';

const SIZES = [200_000, 1_000_000];
const TARGET = 1.0;
const HOUR = 3_600_000;
const STORE_ID = 'benchRecoveryAAA';

export function context(): StoreContext {
  return storeContext();
}

export function records(n: number, now: number): JobRecord[] {
  const out: JobRecord[] = new Array<JobRecord>(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      id: `job-${i.toString(36).padStart(6, '0')}-${(i * 2654435761) % 99991}`,
      name: 'bench.job',
      payload: { orderId: `A${1_000_000 + i}`, amount: i % 1000 },
      state: 'scheduled',
      runAt: now + HOUR + (i % 3_600) * 1000,
      createdAt: now,
      attempt: 0,
      priority: 0,
      seq: i + 1,
      relative: true,
    };
  }
  return out;
}

/** A store folder holding `jobs` as snapshot 1 and an empty journal 1. */
export async function storeFolder(base: string, jobs: readonly JobRecord[]): Promise<string> {
  const dir = await mkdtemp(path.join(base, 'rec-'));
  const { tempPath } = await writeSnapshotTemp(nodeFs, dir, 1, jobs, {
    nextSeq: jobs.length + 1,
    storeId: STORE_ID,
    nonce: 'benchNon',
    sync: false,
    createdAt: new Date().toISOString(),
  });
  await nodeFs.link(tempPath, path.join(dir, snapshotName(1)));
  await nodeFs.unlink(tempPath);
  await writeFile(path.join(dir, journalName(1)), journalHeaderLine({ store: STORE_ID, generation: 1 }));
  return dir;
}

interface Timed {
  wallMs: number;
  cpuMs: number;
}

export async function timed(fn: () => unknown): Promise<Timed> {
  gc();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

interface RoundResult {
  open: Timed;
  parse: Timed;
  /** The first list after the open: a page of 100 (only its cold jobs are parsed). */
  page: Timed;
  /** Then a list() of every job (every cold job is parsed for it). */
  list: Timed;
  /** What the open store holds a job in: JS heap and outside it (Buffers, typed arrays), bytes, after a full GC. */
  heapPerJob: number;
  externalPerJob: number;
  snapshot: Timed;
  snapshotBytes: number;
}

async function round(base: string, n: number, index: number): Promise<RoundResult> {
  let jobs: JobRecord[] | undefined = records(n, Date.now());
  const dir = await storeFolder(base, jobs);
  const snapshotBytes = (await stat(path.join(dir, snapshotName(1)))).size;
  let text: string | undefined = JSON.stringify(jobs);
  jobs = undefined;
  let parsed: unknown;
  const parse = async (): Promise<Timed> => {
    // The same start as open's: a collected heap (without it, the garbage of
    // building the folder, or the open store's jobs, is collected on parse's time).
    gc();
    const t = await timed(() => {
      parsed = JSON.parse(text as string);
    });
    parsed = undefined;
    return t;
  };
  const store = new JsonFileStore(dir, { fsync: false, snapshotEvery: { changes: 1e9, bytes: 2 ** 50 } });
  let heapPerJob = 0;
  let externalPerJob = 0;
  const open = async (): Promise<Timed> => {
    gc();
    const before = process.memoryUsage();
    const t = await timed(() => store.open(context()));
    gc();
    const after = process.memoryUsage();
    heapPerJob = (after.heapUsed - before.heapUsed) / n;
    externalPerJob = (after.external - before.external) / n;
    return t;
  };
  let p: Timed;
  let o: Timed;
  if (index % 2 === 0) {
    p = await parse();
    o = await open();
  } else {
    o = await open();
    p = await parse();
  }
  text = undefined;
  if (store.counts().scheduled !== n) throw new Error(`expected ${n} scheduled jobs after open, got ${store.counts().scheduled}`);
  void parsed;
  const page = await timed(async () => {
    if ((await store.list({ limit: 100 })).length !== 100) throw new Error('expected a page of 100 jobs');
  });
  const list = await timed(() => store.list({}));
  const snapshot = await timed(() => store.snapshot());
  await store.close();
  await rm(dir, { recursive: true, force: true });
  return { open: o, parse: p, page, list, snapshot, snapshotBytes, heapPerJob, externalPerJob };
}

const range = (values: number[]): string => `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;

export async function run(opts: BenchOptions & { rounds?: number }): Promise<void> {
  const rounds = opts.rounds ?? 3;
  const base = await mkdtemp(path.join(os.tmpdir(), 'godelayq-bench-recovery-'));
  const results: Record<string, unknown>[] = [];
  const rows: Row[] = [];
  try {
    for (const n of SIZES) {
      const all: RoundResult[] = [];
      for (let i = 0; i < rounds; i++) {
        const r = await round(base, n, i);
        all.push(r);
        console.log(
          `recovery N=${fmt(n)} round ${i + 1}: open ${fmt(r.open.cpuMs)} ms CPU (${fmt(r.open.wallMs)} wall), ` +
            `JSON.parse ${fmt(r.parse.cpuMs)} ms CPU (${fmt(r.parse.wallMs)} wall), ratio ${(r.open.cpuMs / r.parse.cpuMs).toFixed(2)}x; ` +
            `held in ${fmt(r.heapPerJob)} B/job of heap + ${fmt(r.externalPerJob)} outside; first list({ limit: 100 }) ${fmt(r.page.cpuMs)} ms CPU, then list() ${fmt(r.list.cpuMs)}; snapshot ${fmt(r.snapshot.cpuMs)} ms CPU (${fmt(r.snapshot.wallMs)} wall, ${fmt(r.snapshotBytes / 2 ** 20)} MiB)`,
        );
      }
      const ratios = all.map((r) => r.open.cpuMs / r.parse.cpuMs);
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
      const openCpu = median(all.map((r) => r.open.cpuMs));
      const parseCpu = median(all.map((r) => r.parse.cpuMs));
      const scenario = `open ${fmt(n)} jobs (ms)`;
      rows.push({ scenario, contender: 'JsonFileStore.open', value: median(all.map((r) => r.open.wallMs)), cpu: openCpu, note: `ratio range ${ratios.map((x) => x.toFixed(2)).join(', ')}` });
      rows.push({ scenario, contender: 'JSON.parse (one array)', value: median(all.map((r) => r.parse.wallMs)), cpu: parseCpu });
      rows.push({ scenario: `first list({ limit: 100 }) after opening ${fmt(n)} (ms)`, contender: 'JsonFileStore.list', value: median(all.map((r) => r.page.wallMs)), cpu: median(all.map((r) => r.page.cpuMs)) });
      rows.push({ scenario: `then list() of all ${fmt(n)} jobs (ms)`, contender: 'JsonFileStore.list', value: median(all.map((r) => r.list.wallMs)), cpu: median(all.map((r) => r.list.cpuMs)) });
      rows.push({ scenario: `snapshot ${fmt(n)} jobs (ms)`, contender: 'JsonFileStore.snapshot', value: median(all.map((r) => r.snapshot.wallMs)), cpu: median(all.map((r) => r.snapshot.cpuMs)), note: `CPU range ${range(all.map((r) => r.snapshot.cpuMs))} ms` });
      headline({ label: `recovery open N=${fmt(n)} (CPU ms)`, peer: 'JSON.parse', ours: openCpu, theirs: parseCpu, target: TARGET });
      results.push({ jobs: n, rounds: all, ratios });
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  printTable('Recovery: JsonFileStore.open vs JSON.parse of the same records as one array (CPU ratio: above 1 is slower)', rows, {
    baseline: 'JSON.parse (one array)',
    unit: 'ms',
  });
  writeResults('recovery', { target: `open CPU <= ${TARGET}x JSON.parse`, sizes: results });
}

if (isMain(import.meta.url)) {
  const at = process.argv.indexOf('--rounds');
  await run({ full: false, ...(at > 0 ? { rounds: Number(process.argv[at + 1]) } : {}) });
}
