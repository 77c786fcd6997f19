/**
 * DirectoryLoader bench: how long 10,000 job files take to load, and the
 * longest event-loop block while they do, in archive mode and keep mode.
 *
 * Keep mode once rewrote its whole state file after every file (quadratic:
 * 10,000 files took 90 s with 3.7 s blocks, archive mode 16 s). The target
 * (issue 11 item 13): keep mode within 1.5x of archive mode at 10,000 files,
 * the event loop never blocked > 100 ms.
 *
 * Scenarios, each in a fresh temp folder, scheduler on a MemoryStore (the
 * store's cost is the same in both modes and measured in bench/store.ts):
 * - `dropped`: the loader watches an empty folder; N files are written
 *   beside it and renamed in, 64 at a time; time from the first rename to
 *   the last `fileLoaded`.
 * - `at start`: N files are already there; time for `await loader.start()`.
 * - `restart` (keep mode only): N files already loaded and kept; time for
 *   a new loader's `start()` to recognise them all without loading one.
 *
 * Run: `npm run bench loader` (BENCH_FULL=1 adds 50,000 files) or
 * `node --expose-gc --import tsx bench/loader.ts [--full]`.
 * Writes bench/results/loader.json.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DirectoryLoader, MemoryStore, Scheduler } from '../src/index.js';
import { type BenchOptions, type EventLoopBlocks, type Row, isMain, printTable, probeEventLoop, writeResults } from './lib.js';

type Mode = 'archive' | 'keep';

const TARGETS = { keepVsArchive: 1.5, maxBlockMs: 100 };
const WRITERS = 64;

interface Result extends EventLoopBlocks {
  scenario: string;
  mode: Mode;
  files: number;
  ms: number;
}

function job(i: number): string {
  return JSON.stringify({ name: 'bench.file', payload: { n: i, orderId: `A${1_000_000 + i}` }, delay: '1h' });
}

/** Writes files `from..to-1` into `dir`, each written beside it and renamed in, `WRITERS` at a time. */
async function writeFiles(dir: string, from: number, to: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < to) {
        const i = next++;
        const tmp = path.join(dir, `.f${i}.json.part`);
        await writeFile(tmp, job(i));
        await rename(tmp, path.join(dir, `f${i}.json`));
      }
    }),
  );
}

async function withLoader<T>(dir: string, mode: Mode, fn: (loader: DirectoryLoader, loaded: () => number) => Promise<T>): Promise<T> {
  const scheduler = new Scheduler({ store: new MemoryStore() });
  await scheduler.start();
  const loader = new DirectoryLoader(scheduler, { dir, onLoaded: mode });
  let count = 0;
  let failures = 0;
  loader.on('fileLoaded', () => count++);
  loader.on('fileFailed', () => failures++);
  loader.on('error', ({ error }) => console.error('loader error:', error.message));
  try {
    const result = await fn(loader, () => count);
    if (failures > 0) throw new Error(`${failures} file(s) failed`);
    return result;
  } finally {
    await loader.stop();
    await scheduler.stop();
  }
}

async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

async function dropped(base: string, mode: Mode, n: number): Promise<Result> {
  const dir = await mkdtemp(path.join(base, `drop-${mode}-`));
  return withLoader(dir, mode, async (loader, loaded) => {
    await loader.start();
    const probe = probeEventLoop();
    const t0 = performance.now();
    await writeFiles(dir, 0, n);
    await waitFor(() => loaded() >= n);
    const ms = performance.now() - t0;
    return { scenario: 'dropped', mode, files: n, ms: Math.round(ms), ...probe.stop() };
  });
}

async function atStart(base: string, mode: Mode, n: number): Promise<{ result: Result; dir: string }> {
  const dir = await mkdtemp(path.join(base, `start-${mode}-`));
  await writeFiles(dir, 0, n);
  const result = await withLoader(dir, mode, async (loader, loaded) => {
    const probe = probeEventLoop();
    const t0 = performance.now();
    await loader.start();
    const ms = performance.now() - t0;
    if (loaded() !== n) throw new Error(`start() resolved with ${loaded()} of ${n} files loaded`);
    return { scenario: 'at start', mode, files: n, ms: Math.round(ms), ...probe.stop() };
  });
  return { result, dir };
}

async function restart(dir: string, n: number): Promise<Result> {
  return withLoader(dir, 'keep', async (loader, loaded) => {
    const probe = probeEventLoop();
    const t0 = performance.now();
    await loader.start();
    const ms = performance.now() - t0;
    if (loaded() !== 0) throw new Error(`a restart loaded ${loaded()} kept file(s) again`);
    return { scenario: 'restart', mode: 'keep' as const, files: n, ms: Math.round(ms), ...probe.stop() };
  });
}

export async function run(opts: BenchOptions): Promise<void> {
  const loadAverageAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const base = await mkdtemp(path.join(os.tmpdir(), 'godelayq-bench-loader-'));
  const sizes = opts.full ? [10_000, 50_000] : [10_000];
  const results: Result[] = [];
  try {
    for (const n of sizes) {
      for (const mode of ['archive', 'keep'] as const) {
        results.push(await dropped(base, mode, n));
        console.log(JSON.stringify(results.at(-1)));
        const { result, dir } = await atStart(base, mode, n);
        results.push(result);
        console.log(JSON.stringify(result));
        if (mode === 'keep') {
          results.push(await restart(dir, n));
          console.log(JSON.stringify(results.at(-1)));
        }
      }
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  const rows: Row[] = results.map((r) => ({
    scenario: `${r.scenario}, ${r.files.toLocaleString('en-US')} files`,
    contender: r.mode,
    value: r.ms,
    note: `max block ${r.maxCpuGapMs} ms CPU-bound (${r.maxGapMs} ms wall)`,
  }));
  printTable('DirectoryLoader: ms to load every file (lower is better)', rows, { baseline: 'archive', unit: 'ms' });
  const verdicts = results
    .filter((r) => r.mode === 'keep' && r.scenario !== 'restart')
    .map((keep) => {
      const archive = results.find((r) => r.mode === 'archive' && r.scenario === keep.scenario && r.files === keep.files) as Result;
      const ratio = Math.round((keep.ms / archive.ms) * 100) / 100;
      const maxBlock = Math.max(keep.maxCpuGapMs, archive.maxCpuGapMs);
      const maxWall = Math.max(keep.maxGapMs, archive.maxGapMs);
      return {
        scenario: keep.scenario,
        files: keep.files,
        keepVsArchive: { target: TARGETS.keepVsArchive, got: ratio, met: ratio <= TARGETS.keepVsArchive },
        // CPU-bound: a gap counted only as far as this process used CPU in it (see probeEventLoop);
        // the wall-clock gap is beside it, and on a loaded machine includes time descheduled.
        maxBlockMs: { target: TARGETS.maxBlockMs, got: maxBlock, wall: maxWall, met: maxBlock <= TARGETS.maxBlockMs },
      };
    });
  const restartBlocks = results.filter((r) => r.scenario === 'restart').map((r) => r.maxCpuGapMs);
  console.log('verdicts', JSON.stringify(verdicts), 'restart max block', restartBlocks.join(', '), 'ms', 'load average', loadAverageAtStart.join(' '), '→', os.loadavg().map((x) => x.toFixed(2)).join(' '));
  writeResults('loader', { full: opts.full, dir: os.tmpdir(), loadAverageAtStart, targets: TARGETS, results, verdicts });
}

if (isMain(import.meta.url)) await run({ full: process.argv.includes('--full') });
