/**
 * Store bench, part 2 (issue 11 items 7 and 8): JsonFileStore with one big
 * record, and `stop({ timeout: 100 })` while a snapshot runs.
 *
 * 1. One job whose payload is 4/8/16/32 MB (and 100 MB with --full): the
 *    snapshot's time and longest event-loop block (target: never > 50 ms),
 *    the journal bytes that claim + settle (dead) + revive + cancel of that job
 *    add (target: bytes, not megabytes), and the time to open the store.
 * 2. `scheduler.stop({ timeout: 100 })` called while a snapshot of 230k jobs,
 *    or of one 32 MB payload, is being written: how long stop takes.
 *
 * Used by bench/store.ts (`npm run bench -- store`); also runs alone:
 * `node --expose-gc --import tsx bench/store-large.ts [--full]`.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Scheduler } from '../src/scheduler.js';
import { SystemClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import type { JobRecord, StoreContext } from '../src/store/store.js';
import { isMain, probeEventLoop } from './lib.js';

const MiB = 2 ** 20;
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

function context(maxPayloadBytes: number): StoreContext {
  return { now: () => Date.now(), clock: new SystemClock(), wake: () => undefined, keepCompleted: 1000, keepDead: 1000, maxPayloadBytes, warn: () => undefined };
}

async function journalBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) if (name.startsWith('journal-')) total += (await stat(path.join(dir, name))).size;
  return total;
}

/** One job with a `mb` MB payload: snapshot time and block, bytes of its state changes, open time. */
async function oneBigRecord(base: string, mb: number): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(base, `big-${mb}-`));
  const ctx = context(2 * mb * MiB);
  const store = new JsonFileStore(dir, { snapshotEvery: { changes: 1e9, bytes: 2 ** 50 } });
  await store.open(ctx);
  const now = Date.now();
  const record: Omit<JobRecord, 'seq'> = {
    id: 'big',
    name: 'bench.big',
    payload: { blob: 'x'.repeat(mb * MiB) },
    state: 'scheduled',
    runAt: now,
    createdAt: now,
    attempt: 0,
    priority: 0,
  };
  await store.insert([{ record, onDuplicate: 'reject' }]);
  const beforeChanges = await journalBytes(dir);
  const { jobs } = await store.claim({ now, limit: 1, capacity: () => 1, token: () => 't1' });
  const job = jobs[0] as JobRecord;
  await store.settle(job.id, 't1', { ...job, state: 'dead', finishedAt: now, lastError: { name: 'Error', message: 'boom' } });
  await store.revive(job.id, now + 1000);
  await store.cancel(job.id, now);
  const changeBytes = (await journalBytes(dir)) - beforeChanges;
  const p = probeEventLoop();
  const t0 = performance.now();
  await store.snapshot();
  const snapshotMs = performance.now() - t0;
  const block = p.stop();
  await store.close();
  const t1 = performance.now();
  const again = new JsonFileStore(dir);
  await again.open(ctx);
  const openMs = performance.now() - t1;
  await again.close();
  await rm(dir, { recursive: true, force: true });
  const row = { payloadMB: mb, snapshotMs: round(snapshotMs, 0), ...block, bytesOf4StateChanges: changeBytes, openMs: round(openMs, 0) };
  console.log(
    `one ${mb} MB payload: snapshot ${row.snapshotMs} ms, longest event-loop block ${block.maxGapMs} ms (monitorEventLoopDelay ${block.histogramMaxMs} ms, CPU-bound ${block.maxCpuGapMs} ms); ` +
      `claim+settle+revive+cancel wrote ${changeBytes} bytes; open ${row.openMs} ms`,
  );
  return row;
}

/** `stop({ timeout: 100 })` while a snapshot runs: of `jobs` small jobs, or of one `mb` MB payload. */
async function stopDuringSnapshot(base: string, what: { jobs: number } | { mb: number }): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(base, 'stop-'));
  const options = { snapshotEvery: { changes: 1e9, bytes: 2 ** 50 } };
  if ('mb' in what) {
    // Put in directly: the scheduler's own payload limit is 1 MiB.
    const filler = new JsonFileStore(dir, options);
    await filler.open(context(2 * what.mb * MiB));
    const now = Date.now();
    const record: Omit<JobRecord, 'seq'> = {
      id: 'big',
      name: 'bench.job',
      payload: { blob: 'x'.repeat(what.mb * MiB) },
      state: 'scheduled',
      runAt: now + 3_600_000,
      createdAt: now,
      attempt: 0,
      priority: 0,
    };
    await filler.insert([{ record, onDuplicate: 'reject' }]);
    await filler.close();
  }
  const store = new JsonFileStore(dir, options);
  const scheduler = new Scheduler<{ 'bench.job': { orderId: string; amount: number } }>({ store });
  await scheduler.start();
  if ('jobs' in what) {
    for (let i = 0; i < what.jobs; i += 10_000) {
      const n = Math.min(10_000, what.jobs - i);
      await scheduler.scheduleMany(
        Array.from({ length: n }, (_, k) => ({ name: 'bench.job' as const, payload: { orderId: `A${i + k}`, amount: k }, delay: 3_600_000 })),
      );
    }
  }
  const snapshot = store.snapshot().catch(() => undefined);
  // Let the snapshot get going.
  for (let i = 0; i < 200 && !(await readdir(dir)).some((n) => n.includes('.tmp')); i++) await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  await scheduler.stop({ timeout: 100 });
  const stopMs = performance.now() - t0;
  await snapshot;
  await rm(dir, { recursive: true, force: true });
  const label = 'jobs' in what ? `${what.jobs} jobs` : `one ${what.mb} MB payload`;
  console.log(`stop({ timeout: 100 }) during a snapshot of ${label}: ${round(stopMs, 0)} ms`);
  return { snapshotOf: label, stopMs: round(stopMs, 0) };
}

export async function largeRecordBench(full: boolean): Promise<{ bigRecord: Record<string, unknown>[]; stopDuringSnapshot: Record<string, unknown>[] }> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'godelayq-bench-large-'));
  try {
    const bigRecord: Record<string, unknown>[] = [];
    for (const mb of full ? [4, 8, 16, 32, 100] : [4, 8, 16, 32]) bigRecord.push(await oneBigRecord(base, mb));
    const stops = [await stopDuringSnapshot(base, { jobs: 230_000 }), await stopDuringSnapshot(base, { mb: 32 })];
    return { bigRecord, stopDuringSnapshot: stops };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await largeRecordBench(process.argv.includes('--full'));
