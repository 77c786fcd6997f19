/**
 * A/B of the scheduler's hot paths between two source trees on the same
 * load: `node --expose-gc --import tsx bench/ab.ts <what> <srcRoot> [rounds]`
 * where <what> is `fire` (CPU per fire of FIRE_N no-op jobs due within 1 s,
 * MemoryStore, as bench/scheduler.ts measures it), `schedule` (scheduleIn
 * awaited one by one: CPU ns/job and bytes/job at N) or `setTimeout` (the
 * baselines of both). <srcRoot> is a folder holding `scheduler.ts` and
 * `store/memory.ts` (this tree's `src`, or an exported copy of another
 * commit's). Run two trees back to back, alternating, to compare: one JSON
 * line per round on stdout.
 */
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { measureMemory } from './lib.js';

interface Order {
  orderId: string;
  amount: number;
}
const payloadOf = (i: number): Order => ({ orderId: `ord-${i}`, amount: (i % 9973) + 0.5 });
const noop = (_payload?: unknown): void => undefined;

const [what = 'fire', srcArg = 'src', roundsArg = '1', nArg] = process.argv.slice(2);
const srcRoot = path.resolve(srcArg);
const rounds = Number(roundsArg);

type SchedulerCtor = new (options: { store: unknown; concurrency: number }) => {
  register(name: string, fn: (job: { runAt: Date }) => unknown): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  scheduleIn(name: string, delay: number, payload: unknown): Promise<{ id: string }>;
  scheduleMany(items: { name: string; payload: unknown; at: number }[]): Promise<unknown>;
};

const baselineOnly = what === 'setTimeout';
const { Scheduler } = baselineOnly
  ? { Scheduler: undefined as unknown as SchedulerCtor }
  : ((await import(pathToFileURL(path.join(srcRoot, 'scheduler.ts')).href)) as { Scheduler: SchedulerCtor });
const { MemoryStore } = baselineOnly
  ? { MemoryStore: undefined as unknown as new () => unknown }
  : ((await import(pathToFileURL(path.join(srcRoot, 'store/memory.ts')).href)) as { MemoryStore: new () => unknown });

/** PROFILE=<file>: a CPU profile of the firing phase only (node:inspector). */
async function startProfile(): Promise<(() => Promise<void>) | undefined> {
  const file = process.env.PROFILE;
  if (!file) return undefined;
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/** Jobs are due from this long after scheduling starts: loading them must end before. */
const LEAD_MS = 4000;

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

async function fire(n: number): Promise<number> {
  const scheduler = new Scheduler({ store: new MemoryStore(), concurrency: 100 });
  let count = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((resolve) => (resolveAll = resolve));
  scheduler.register('bench.job', () => {
    if (++count === n) resolveAll();
  });
  await scheduler.start();
  const base = Date.now() + LEAD_MS;
  for (let from = 0; from < n; from += 1000) {
    const items = [];
    for (let i = from; i < Math.min(n, from + 1000); i++) items.push({ name: 'bench.job', payload: payloadOf(i), at: base + ((i * 7919) % 1000) });
    await scheduler.scheduleMany(items);
  }
  if (Date.now() >= base) throw new Error('scheduling ran past the first due time: raise LEAD_MS');
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
  const base = Date.now() + LEAD_MS;
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

async function schedule(n: number): Promise<{ cpuNs: number; bytes: number }> {
  const scheduler = new Scheduler({ store: new MemoryStore(), concurrency: 100 });
  scheduler.register('bench.job', noop);
  await scheduler.start();
  const before = measureMemory();
  const cpu = process.cpuUsage();
  const ids = new Array<string>(n);
  for (let i = 0; i < n; i++) ids[i] = (await scheduler.scheduleIn('bench.job', 60_000 + ((i * 7919) % 3_000_000), payloadOf(i))).id;
  const cpuNs = (cpuMs(cpu) * 1e6) / n;
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

for (let r = 0; r < rounds; r++) {
  if (what === 'fire') console.log(JSON.stringify({ what, src: srcArg, cpuNsPerFire: await fire(Number(nArg ?? 50_000)) }));
  else if (what === 'schedule') console.log(JSON.stringify({ what, src: srcArg, ...(await schedule(Number(nArg ?? 200_000))) }));
  else if (what === 'setTimeout') {
    console.log(JSON.stringify({ what: 'fire-setTimeout', cpuNsPerFire: await fireSetTimeout(Number(nArg ?? 50_000)) }));
    console.log(JSON.stringify({ what: 'schedule-setTimeout', ...scheduleSetTimeout(Number(nArg ?? 200_000)) }));
  } else throw new Error(`unknown: ${what}`);
}
