/**
 * Job-control bench (issue 16): what each option costs on the claim path of
 * the local store engine (MemoryStore), against the same work with no
 * option. One round: insert N jobs due now, then claim them in batches of
 * 100 and settle each as completed (the store side of schedule, claim and
 * fire). Limits are set so they never bind: the figure is the bookkeeping,
 * not waiting.
 *
 * - none: no option (the fast path every other bench measures).
 * - group (1000 groups): every job in one of 1000 groups, concurrency 1000.
 * - rateLimit (per name): the name limited to 1e9 starts a second.
 * - rateLimit (scheduler-wide): every start counted in one window.
 *
 * Run: `npm run bench -- control`, or `node --expose-gc --import tsx bench/control.ts`.
 */
import { MemoryStore } from '../src/store/memory.js';
import { patchRecord } from '../src/store/record.js';
import type { ClaimRequest, NewJobRecord } from '../src/store/store.js';
import { VirtualClock } from '../src/clock.js';
import { type BenchOptions, type Row, isMain, nowNs, printTable, writeResults } from './lib.js';

const N = 50_000;
const BATCH = 100;
const T0 = Date.UTC(2027, 0, 1);
const WIDE = { max: 1e9, durationMs: 1000 };

interface Variant {
  record(i: number): Partial<NewJobRecord>;
  claim(request: ClaimRequest): void;
}

const VARIANTS: Record<string, Variant> = {
  none: { record: () => ({}), claim: () => undefined },
  'group (1000 groups)': { record: (i) => ({ group: `g${i % 1000}`, groupConcurrency: 1000 }), claim: () => undefined },
  'rateLimit (per name)': { record: () => ({}), claim: (r) => void (r.rateLimit = () => WIDE) },
  'rateLimit (scheduler-wide)': { record: () => ({}), claim: (r) => void (r.globalRateLimit = WIDE) },
};

/** One round: wall and CPU ns per job for insert + claim + settle. */
async function round(variant: Variant): Promise<{ wall: number; cpu: number }> {
  const store = new MemoryStore();
  const clock = new VirtualClock(T0);
  await store.open({ now: () => T0, clock, wake: () => undefined, keepCompleted: 1000, keepDead: 1000, warn: () => undefined, maxPayloadBytes: 1 << 20 });
  const records: NewJobRecord[] = [];
  for (let i = 0; i < N; i++) {
    records.push({ id: `j${i}`, name: 'bench.job', payload: { i }, state: 'scheduled', runAt: T0, createdAt: T0, attempt: 0, priority: 0, ...variant.record(i) } as NewJobRecord);
  }
  let token = 0;
  const cpu0 = process.cpuUsage();
  const t0 = nowNs();
  for (const record of records) await store.insert([{ record, onDuplicate: 'reject' }]);
  for (let done = 0; done < N; ) {
    const request: ClaimRequest = { now: T0, limit: BATCH, capacity: () => BATCH, token: () => `t${++token}` };
    variant.claim(request);
    const { jobs } = await store.claim(request);
    if (jobs.length === 0) throw new Error('bench: a claim took nothing (a limit bound?)');
    for (const job of jobs) await store.settle(job.id, job.token as string, patchRecord(job, { state: 'completed', finishedAt: T0, token: undefined }));
    done += jobs.length;
  }
  const wall = (nowNs() - t0) / N;
  const cpu = process.cpuUsage(cpu0);
  await store.close();
  return { wall, cpu: ((cpu.user + cpu.system) * 1000) / N };
}

export async function run(_options: BenchOptions = { full: false }): Promise<void> {
  const rounds = 5;
  const results: Record<string, { wall: number[]; cpu: number[] }> = {};
  // Interleaved rounds (each variant once per round), so load changes hit them alike.
  for (let i = -1; i < rounds; i++) {
    for (const [name, variant] of Object.entries(VARIANTS)) {
      const t = await round(variant);
      if (i < 0) continue;
      const r = (results[name] ??= { wall: [], cpu: [] });
      r.wall.push(t.wall);
      r.cpu.push(t.cpu);
    }
  }
  const med = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
  const rows: Row[] = Object.entries(results).map(([name, r]) => ({ scenario: `insert + claim + settle, N=${N}`, contender: name, value: med(r.wall), cpu: med(r.cpu) }));
  printTable('Job-control options on MemoryStore (ns per job; ratio vs no option)', rows, { baseline: 'none', unit: 'ns/job' });
  writeResults('control', { n: N, batch: BATCH, rows });
}

if (isMain(import.meta.url)) await run({ full: process.argv.includes('--full') });
