/**
 * Helpers shared by every benchmark scenario (bench/<scenario>.ts): timing
 * (wall and CPU) with the median of several rounds, memory after gc, a table
 * with ratios against a baseline contender, headline ratios for the summary
 * table and chart, and bench/results/<name>.json (untracked) with the machine
 * it ran on; `--save` also writes the tracked copy in bench/saved/ that the
 * README shows. Scenarios run under `node --expose-gc` (see bench/run.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '../src/clock.js';
import type { StoreContext } from '../src/store/store.js';

/** Options every scenario module's `run` receives. */
export interface BenchOptions {
  /** BENCH_FULL=1: the large sizes too (slow). */
  full: boolean;
}

/** What bench/run.ts expects a scenario module to export. */
export interface BenchModule {
  run(opts: BenchOptions): Promise<void>;
}

/** Where and when a benchmark ran; goes into every results file. */
export interface MachineInfo {
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpu: string;
  cores: number;
  totalMemGiB: number;
  /** 1, 5 and 15 minute load averages when the file was written: a busy machine makes every figure slower. */
  loadavg: number[];
  date: string;
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    totalMemGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nanoseconds since an arbitrary origin, as a number. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Runs `fn` once and returns the wall-clock nanoseconds per op. */
export function nsPerOp(ops: number, fn: () => void): number {
  return timeOp(ops, fn).wall;
}

/** Wall-clock and CPU (user + system of this process) nanoseconds per op of one run. */
export interface Timing {
  wall: number;
  cpu: number;
}

/**
 * Runs `fn` once; wall and CPU time per op. CPU time is what this process
 * used, so a machine shared with other work inflates it less than wall time
 * (GC helper threads count in it too).
 */
export function timeOp(ops: number, fn: () => void): Timing {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - start) / ops;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: ((used.user + used.system) * 1000) / ops };
}

/** Like timeOp() for an async `fn`. */
export async function timeOpAsync(ops: number, fn: () => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - start) / ops;
  const used = process.cpuUsage(cpu);
  return { wall, cpu: ((used.user + used.system) * 1000) / ops };
}

/** Median wall and CPU figures of several rounds of one contender. */
export interface TimedSample extends Sample {
  cpu: number;
  cpuRounds: number[];
}

/**
 * sampleInterleaved() for contenders that return a Timing: median wall time
 * (with min/max) and median CPU time. A contender mapped to null is skipped.
 */
export function sampleTimed(
  rounds: number,
  contenders: Readonly<Record<string, ((index: number) => Timing) | null>>,
  warmup = 1,
): Record<string, TimedSample | null> {
  const names = Object.keys(contenders);
  const walls = new Map<string, number[]>(names.map((n) => [n, []]));
  const cpus = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let i = -warmup; i < rounds; i++) {
    for (const name of names) {
      const fn = contenders[name];
      if (!fn) continue;
      const t = fn(i);
      if (i >= 0) {
        walls.get(name)!.push(t.wall);
        cpus.get(name)!.push(t.cpu);
      }
    }
  }
  const out: Record<string, TimedSample | null> = {};
  for (const name of names) {
    const w = walls.get(name)!;
    const c = cpus.get(name)!;
    out[name] = contenders[name]
      ? { median: median(w), min: Math.min(...w), max: Math.max(...w), rounds: w, cpu: median(c), cpuRounds: c }
      : null;
  }
  return out;
}

/** Summary of several rounds of one measurement. */
export interface Sample {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}

/**
 * Runs `round` `rounds` times (after `warmup` unrecorded runs) and returns
 * the median. Each round returns its own figure, e.g. from nsPerOp(), so it
 * can rebuild its input outside the timed part.
 */
export function sample(rounds: number, round: (index: number) => number, warmup = 1): Sample {
  for (let i = 0; i < warmup; i++) round(-1 - i);
  const values: number[] = [];
  for (let i = 0; i < rounds; i++) values.push(round(i));
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), rounds: values };
}

/**
 * Like sample(), for several contenders at once: each round runs every
 * contender once, in turn, so a change in machine load during the run hits
 * them all alike. A contender mapped to null is skipped (not applicable).
 */
export function sampleInterleaved(
  rounds: number,
  contenders: Readonly<Record<string, ((index: number) => number) | null>>,
  warmup = 1,
): Record<string, Sample | null> {
  const names = Object.keys(contenders);
  const values = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let i = -warmup; i < rounds; i++) {
    for (const name of names) {
      const fn = contenders[name];
      if (!fn) continue;
      const v = fn(i);
      if (i >= 0) values.get(name)!.push(v);
    }
  }
  const out: Record<string, Sample | null> = {};
  for (const name of names) {
    const v = values.get(name)!;
    out[name] = contenders[name] ? { median: median(v), min: Math.min(...v), max: Math.max(...v), rounds: v } : null;
  }
  return out;
}

/** Forces full garbage collections; throws unless node runs with --expose-gc. */
export function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (typeof collect !== 'function') throw new Error('benchmarks need `node --expose-gc` (use `npm run bench`)');
  collect();
  collect();
}

/**
 * Bytes in use after a full gc: JS heap plus ArrayBuffer backing stores
 * (typed arrays live outside the JS heap, so heapUsed alone misses them).
 * Take it before and after building a structure, keeping both the
 * structure and its inputs reachable, and divide the difference.
 */
export function measureMemory(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** One figure of one contender in one scenario; null when the contender cannot do it. */
export interface Row {
  scenario: string;
  contender: string;
  value: number | null;
  /** CPU time in the same unit as value, when value is a wall time. */
  cpu?: number;
  /** Why value is null, or a caveat printed beside the figure. */
  note?: string;
}

/** Formats a number with 3 significant digits and thousands separators. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * Prints rows grouped by scenario, one line per contender, with
 * `value / baseline's value` beside each figure (for times: above 1 is slower
 * than the baseline).
 */
export function printTable(title: string, rows: readonly Row[], options: { baseline: string; unit: string }): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const ratioHeader = `vs ${options.baseline}`;
  const withCpu = rows.some((r) => r.cpu !== undefined);
  const lines: string[][] = [
    withCpu ? ['scenario', 'contender', `${options.unit} (wall)`, ratioHeader, 'CPU', 'CPU ratio', 'note'] : ['scenario', 'contender', options.unit, ratioHeader, 'note'],
  ];
  const ratioOf = (v: number | null | undefined, b: number | null | undefined): string =>
    v === null || v === undefined || b === null || b === undefined || b === 0 ? '' : `${(v / b).toFixed(2)}x`;
  for (const scenario of scenarios) {
    const group = rows.filter((r) => r.scenario === scenario);
    const baseRow = group.find((r) => r.contender === options.baseline);
    const base = baseRow?.value ?? null;
    group.forEach((r, i) => {
      const head = [i === 0 ? scenario : '', r.contender, r.value === null ? 'n/a' : fmt(r.value), ratioOf(r.value, base)];
      const cpu = withCpu ? [r.cpu === undefined ? '' : fmt(r.cpu), ratioOf(r.cpu, baseRow?.cpu)] : [];
      lines.push([...head, ...cpu, r.note ?? '']);
    });
  }
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  const right = new Set(withCpu ? [2, 3, 4, 5] : [2, 3]);
  const render = (l: string[]) =>
    l
      .map((cell, c) => (right.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const out = [`\n${title}`, render(lines[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.slice(1).map(render)].join(
    '\n',
  );
  console.log(out);
  return out;
}

/** Untracked output of every run (.gitignore'd), so a bench run leaves `git status` clean. */
export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
/** Tracked copy written only with `--save`: what the README shows. */
export const SAVED_DIR = fileURLToPath(new URL('./saved/', import.meta.url));

/** True when the bench was started with `--save` (npm run bench -- --save). */
export function saving(): boolean {
  return process.argv.includes('--save');
}

/** Writes `text` to bench/results/<file> and, with --save, to bench/saved/<file>; returns the paths. */
export function writeOutput(file: string, text: string): string[] {
  const dirs = saving() ? [RESULTS_DIR, SAVED_DIR] : [RESULTS_DIR];
  return dirs.map((dir) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}${file}`, text);
    return `${dir}${file}`;
  });
}

/** Writes bench/results/<name>.json (and bench/saved/ with --save) with the machine info; returns the first path. */
export function writeResults(name: string, data: Record<string, unknown>): string {
  const files = writeOutput(`${name}.json`, `${JSON.stringify({ name, machine: machineInfo(), ...data }, null, 2)}\n`);
  console.log(`results written to ${files.join(' and ')}`);
  return files[0]!;
}

/**
 * One headline figure for the summary table and chart: godelayq's figure
 * against a peer's, as ours / theirs (for times and bytes: below 1 is
 * better), with the target when the project set one.
 */
export interface Headline {
  /** What is compared, e.g. "heap hold N=2e5 (ns/op, CPU)". */
  label: string;
  peer: string;
  ours: number;
  theirs: number;
  /** ours / theirs must be at most this (undefined: no target). */
  target?: number;
}

const headlines: Headline[] = [];

/** Records a headline figure (bench/run.ts prints them all and draws the chart at the end). */
export function headline(h: Headline): void {
  headlines.push(h);
}

/** Every headline recorded so far in this process. */
export function allHeadlines(): readonly Headline[] {
  return headlines;
}

/**
 * Throws unless `file` (a .ts source an A/B loads as its other contender)
 * would be compiled as an ES module: tsx compiles a .ts file whose nearest
 * package.json is missing or not `"type": "module"` as CommonJS, where every
 * imported function is a property load on a module object. An exported copy
 * of this tree's src in /tmp ran the hold model 1.2x-1.35x slower than the
 * same code in the checkout (A/A, 4 December 2026), a bias that looks like a
 * gain. Export copies inside the checkout (`.tmp/…`) or beside a package.json.
 */
export function assertEsmSource(file: string): void {
  for (let dir = path.dirname(path.resolve(file)); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const type = (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type;
      if (type === 'module') return;
      throw new Error(`${file}: ${manifest} does not say "type": "module", so tsx would compile it as CommonJS (slower: an unfair A/B). Export the copy inside the checkout, e.g. under .tmp/`);
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`${file}: no package.json above it, so tsx would compile it as CommonJS (slower: an unfair A/B). Export the copy inside the checkout, e.g. under .tmp/`);
    }
  }
}

/** True when `importMetaUrl` is the module node was started with (`node bench/x.ts`). */
export function isMain(importMetaUrl: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(importMetaUrl) === process.argv[1];
}

/** Small, fast, seeded PRNG (mulberry32) so every contender sees the same inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What probeEventLoop() saw between its start and `stop()`. */
export interface EventLoopBlocks {
  /** Longest wall-clock gap between two setImmediate ticks, ms. */
  maxGapMs: number;
  /** The same gap counted only as far as this process used CPU in it: a loaded machine descheduling us is no block of ours (GC helper threads make it an upper bound). */
  maxCpuGapMs: number;
  /** perf_hooks monitorEventLoopDelay's max, ms. */
  histogramMaxMs: number;
}

/**
 * Starts measuring the longest event-loop block: wall gaps between
 * setImmediate ticks, the CPU-bound part of each gap, and
 * monitorEventLoopDelay's max. `stop()` ends it and returns the figures.
 */
export function probeEventLoop(): { stop(): EventLoopBlocks } {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let maxGap = 0;
  let maxCpuGap = 0;
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let on = true;
  const tick = (): void => {
    const t = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    maxGap = Math.max(maxGap, t - last);
    maxCpuGap = Math.max(maxCpuGap, Math.min(t - last, (cpu.user + cpu.system) / 1000));
    last = t;
    lastCpu = process.cpuUsage();
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  const ms = (x: number): number => Math.round(x * 10) / 10;
  return {
    stop() {
      on = false;
      histogram.disable();
      return { maxGapMs: ms(maxGap), maxCpuGapMs: ms(maxCpuGap), histogramMaxMs: ms(histogram.max / 1e6) };
    },
  };
}

/** What a bench gives a store it opens by hand: the system clock, 1 MiB records, `keep` finished and dead jobs kept. */
export function storeContext(keep = 1000): StoreContext {
  return { now: () => Date.now(), clock: new SystemClock(), wake: () => undefined, keepCompleted: keep, keepDead: keep, maxPayloadBytes: 1 << 20, warn: () => undefined };
}

/** `x` rounded to `digits` decimals, for printed figures. */
export function round(x: number, digits = 1): number {
  return Math.round(x * 10 ** digits) / 10 ** digits;
}
