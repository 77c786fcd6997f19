/**
 * A/B of the scheduler's hot paths between source trees, in one process on
 * the same load: `node --expose-gc --import tsx bench/ab.ts <what> <trees>
 * [rounds] [n]`. <what>: `fire` (CPU per fire of n = 5e4 no-op jobs due
 * within 1 s, MemoryStore, as bench/scheduler.ts measures it) or `schedule`
 * (scheduleIn awaited one by one: CPU ns/job and bytes/job, n = 2e5).
 * <trees>: comma-separated folders holding `scheduler.ts` and
 * `store/memory.ts` (this tree's `src`, an exported copy of another
 * commit's, inside the checkout so it compiles as an ES module:
 * `mkdir -p .tmp/base && git archive <commit> src | tar -x -C .tmp/base`), a bundle
 * (.mjs), or `setTimeout` (one timer per job, the baseline); a tree
 * followed by `+packed` uses `new MemoryStore({ packed: true })`. Rounds
 * alternate the trees; a line per round, then medians with min and max.
 * PROFILE=<file> writes a CPU profile of the (last) measured phase (the
 * fires, or the scheduleIn calls); ALLOC=<file> a sampling heap profile of
 * what it allocates.
 */
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { assertEsmSource, measureMemory } from './lib.js';

interface Order {
  orderId: string;
  amount: number;
}
const payloadOf = (i: number): Order => ({ orderId: `ord-${i}`, amount: (i % 9973) + 0.5 });
const noop = (_payload?: unknown): void => undefined;

const [what = 'fire', treesArg = 'src', roundsArg = '3', nArg] = process.argv.slice(2);
const rounds = Number(roundsArg);

type SchedulerCtor = new (options: { store: unknown; concurrency: number }) => {
  register(name: string, fn: (job: { runAt: Date }) => unknown): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  scheduleIn(name: string, delay: number, payload: unknown): Promise<{ id: string }>;
  scheduleMany(items: { name: string; payload: unknown; at: number }[]): Promise<unknown>;
};

/** One contender: a source tree's Scheduler and MemoryStore, or `setTimeout` (the baseline). */
interface Tree {
  label: string;
  Scheduler?: SchedulerCtor;
  MemoryStore?: new () => unknown;
}

async function loadTree(arg: string): Promise<Tree> {
  if (arg === 'setTimeout') return { label: arg };
  const packed = arg.endsWith('+packed');
  const root = path.resolve(packed ? arg.slice(0, -'+packed'.length) : arg);
  // A bundle (.mjs) exports both, for profiles with line numbers.
  const bundle = root.endsWith('.mjs') ? pathToFileURL(root).href : undefined;
  if (bundle === undefined) assertEsmSource(path.join(root, 'scheduler.ts'));
  const a = (await import(bundle ?? pathToFileURL(path.join(root, 'scheduler.ts')).href)) as { Scheduler: SchedulerCtor };
  const b = (await import(bundle ?? pathToFileURL(path.join(root, 'store/memory.ts')).href)) as { MemoryStore: new (options?: { packed: boolean }) => object };
  const Store = b.MemoryStore;
  return { label: arg, Scheduler: a.Scheduler, MemoryStore: packed ? class extends Store { constructor() { super({ packed: true }); } } : Store };
}

const trees = await Promise.all(treesArg.split(',').map(loadTree));

/**
 * PROFILE=<file>: a CPU profile of the measured phase only (node:inspector).
 * ALLOC=<file>: instead, a sampling heap profile of what that phase
 * allocates, garbage included (one sample per 256 B on average).
 */
async function startProfile(): Promise<(() => Promise<void>) | undefined> {
  const allocFile = process.env.ALLOC;
  const file = process.env.PROFILE ?? '';
  if (!file && !allocFile) return undefined;
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  if (allocFile) {
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    return async () => {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(allocFile, JSON.stringify(profile));
      session.disconnect();
    };
  }
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/**
 * Jobs are due from this long after scheduling starts: loading them must end
 * before. It adapts (a loaded machine schedules slowly): at least 2.5x the
 * last scheduling time, doubled and the round run again when one ran past it.
 */
let leadMs = 4000;
const MAX_LEAD_MS = 60_000;

const cpuMs = (since: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

/** A ref'd timer while waiting: the SystemClock's timers are unref'd. */
async function keepAlive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 1000);
  try {
    return await promise;
  } finally {
    clearInterval(timer);
  }
}

async function fire(tree: Tree, n: number): Promise<number> {
  for (;;) {
    const cpuNs = await fireOnce(tree, n);
    if (cpuNs !== undefined) return cpuNs;
    if (leadMs >= MAX_LEAD_MS) throw new Error(`scheduling ran past the first due time even with a ${leadMs} ms lead`);
    leadMs = Math.min(MAX_LEAD_MS, leadMs * 2);
    console.log(`scheduling ran past the first due time: again with a ${leadMs} ms lead`);
  }
}

/** CPU ns per fire, or undefined when scheduling ran past the first due time. */
async function fireOnce(tree: Tree, n: number): Promise<number | undefined> {
  if (!tree.Scheduler || !tree.MemoryStore) return fireSetTimeout(n);
  const scheduler = new tree.Scheduler({ store: new tree.MemoryStore(), concurrency: 100 });
  let count = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  scheduler.register('bench.job', () => {
    if (++count === n) resolveAll();
  });
  await scheduler.start();
  const t0 = performance.now();
  const base = Date.now() + leadMs;
  for (let from = 0; from < n; from += 1000) {
    const items = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) items.push({ name: 'bench.job', payload: payloadOf(i), at: base + ((i * 7919) % 1000) });
    await scheduler.scheduleMany(items);
  }
  leadMs = Math.min(MAX_LEAD_MS, Math.max(leadMs, Math.ceil(2.5 * (performance.now() - t0)) + 500));
  if (Date.now() >= base) {
    await scheduler.stop();
    return undefined;
  }
  globalThis.gc?.();
  const profile = await startProfile();
  const cpu = process.cpuUsage();
  await keepAlive(all);
  const used = cpuMs(cpu);
  await profile?.();
  await scheduler.stop();
  return (used * 1e6) / n;
}

async function fireSetTimeout(n: number): Promise<number> {
  let count = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  const base = Date.now() + leadMs;
  const f = (_at: number, payload: Order): void => {
    if (++count === n) resolveAll();
    noop(payload);
  };
  for (let i = 0; i < n; i++) {
    const at = base + ((i * 7919) % 1000);
    setTimeout(f, at - Date.now(), at, payloadOf(i));
  }
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  await all;
  return (cpuMs(cpu) * 1e6) / n;
}

async function schedule(tree: Tree, n: number): Promise<{ cpuNs: number; bytes: number }> {
  if (!tree.Scheduler || !tree.MemoryStore) return scheduleSetTimeout(n);
  const scheduler = new tree.Scheduler({ store: new tree.MemoryStore(), concurrency: 100 });
  scheduler.register('bench.job', noop);
  await scheduler.start();
  const before = measureMemory();
  const profile = await startProfile();
  const cpu = process.cpuUsage();
  const ids = new Array<string>(n);
  for (let i = 0; i < n; i++) ids[i] = (await scheduler.scheduleIn('bench.job', 60_000 + ((i * 7919) % 3_000_000), payloadOf(i))).id;
  const cpuNs = (cpuMs(cpu) * 1e6) / n;
  await profile?.();
  const bytes = (measureMemory() - before) / n;
  if (ids.length !== n) throw new Error('lost ids');
  await scheduler.stop();
  return { cpuNs, bytes };
}

function scheduleSetTimeout(n: number): { cpuNs: number; bytes: number } {
  const before = measureMemory();
  const cpu = process.cpuUsage();
  const timers = new Array<NodeJS.Timeout>(n);
  for (let i = 0; i < n; i++) timers[i] = setTimeout(noop, 60_000 + ((i * 7919) % 3_000_000), payloadOf(i));
  const cpuNs = (cpuMs(cpu) * 1e6) / n;
  const bytes = (measureMemory() - before) / n;
  for (const t of timers) clearTimeout(t);
  return { cpuNs, bytes };
}

const results = new Map<string, number[][]>();
for (let r = 0; r < rounds; r++) {
  for (const tree of trees) {
    let row: number[];
    if (what === 'fire') row = [await fire(tree, Number(nArg ?? 50_000))];
    else if (what === 'schedule') {
      const m = await schedule(tree, Number(nArg ?? 200_000));
      row = [m.cpuNs, m.bytes];
    } else throw new Error(`unknown: ${what} (fire or schedule)`);
    console.log(JSON.stringify({ what, round: r, tree: tree.label, values: row.map((x) => Math.round(x)) }));
    const list = results.get(tree.label) ?? [];
    list.push(row);
    results.set(tree.label, list);
  }
}
const med = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const names = what === 'fire' ? ['CPU ns/fire'] : ['CPU ns/job', 'bytes/job'];
for (const [label, rows] of results) {
  const parts = names.map((name, i) => {
    const xs = rows.map((row) => row[i]!);
    return `${name} median ${Math.round(med(xs))} (min ${Math.round(Math.min(...xs))}, max ${Math.round(Math.max(...xs))})`;
  });
  console.log(`${label}: ${parts.join('; ')}`);
}
