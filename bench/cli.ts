/**
 * The `godelayq` command on a big JsonFileStore (issue 15 item 9: "a 1M-job
 * store must be feasible"): builds a store of N jobs (default 200 000; a
 * snapshot plus 10 000 changes in the journal after it, as a running app
 * leaves it), then times `godelayq stats`, `godelayq jobs --limit 20` and
 * `godelayq show <id>` as child processes (the built dist/cli.js when it
 * exists, else the source through tsx), each the median of 3 runs, with the
 * child's peak memory when /usr/bin/time is there.
 *
 *   node --import tsx bench/cli.ts [jobs]        e.g. `bench/cli.ts 1000000`
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import type { InsertRequest, StoreContext } from '../src/store/store.js';
import { isMain, median, writeResults } from './lib.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILT = path.join(ROOT, 'dist', 'cli.js');

function context(): StoreContext {
  return { now: () => Date.now(), clock: new SystemClock(), wake: () => undefined, keepCompleted: 1e9, keepDead: 1e9, maxPayloadBytes: 1 << 20, warn: () => undefined };
}

async function buildStore(dir: string, n: number): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const store = new JsonFileStore(dir, { fsync: false });
  await store.open(context());
  const now = Date.now();
  const batch = 10_000;
  const states = ['scheduled', 'scheduled', 'scheduled', 'completed', 'dead'] as const;
  const insert = async (from: number, to: number): Promise<void> => {
    const requests: InsertRequest[] = [];
    for (let i = from; i < to; i++) {
      const state = states[i % states.length]!;
      requests.push({
        record: {
          id: `job-${i}`,
          name: `name.${i % 13}`,
          payload: { orderId: `A${i}`, amount: i % 1000, note: 'x'.repeat(i % 64) },
          state,
          runAt: now + (i % 86_400) * 1000,
          createdAt: now,
          attempt: state === 'scheduled' ? 0 : 1,
          priority: 0,
          ...(state === 'dead' ? { lastError: { name: 'Error', message: 'card declined' }, finishedAt: now } : state === 'completed' ? { finishedAt: now } : {}),
        },
        onDuplicate: 'reject',
      });
    }
    await store.insert(requests);
  };
  const inJournal = Math.min(10_000, Math.floor(n / 10));
  for (let i = 0; i < n - inJournal; i += batch) await insert(i, Math.min(i + batch, n - inJournal));
  await store.snapshot();
  for (let i = n - inJournal; i < n; i += 1000) await insert(i, Math.min(i + 1000, n));
  await store.close();
  let bytes = 0;
  for (const name of await readdir(dir)) bytes += (await stat(path.join(dir, name))).size;
  return { ms: performance.now() - t0, bytes };
}

const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** One run of the command: wall ms, and peak RSS in MB when /usr/bin/time is there. */
function runOnce(args: readonly string[]): { ms: number; rssMb: number | undefined; stdout: string } {
  const node = existsSync(BUILT) ? [process.execPath, BUILT] : [process.execPath, '--import', 'tsx', path.join(ROOT, 'src', 'cli', 'main.ts')];
  const [cmd, ...rest] = timeBin ? [timeBin, '-f', 'RSS_KB=%M', ...node, ...args] : [...node, ...args];
  const t0 = performance.now();
  const r = spawnSync(cmd!, rest, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`godelayq ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  const rss = /RSS_KB=(\d+)/.exec(r.stderr)?.[1];
  return { ms, rssMb: rss === undefined ? undefined : Math.round(Number(rss) / 1024), stdout: r.stdout };
}

export async function run(n = 200_000): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-bench-cli-'));
  try {
    const built = await buildStore(dir, n);
    console.log(`store of ${n} jobs: ${(built.bytes / 2 ** 20).toFixed(1)} MB on disk, built in ${(built.ms / 1000).toFixed(1)} s`);
    const baseline = runOnce(['cron', '0 9 * * *', '-n', '1']); // start-up cost of the command alone
    const rows: Record<string, unknown>[] = [];
    for (const args of [['stats', dir], ['jobs', dir, '--limit', '20'], ['jobs', dir, '--state', 'dead', '--limit', '20', '--json'], ['show', dir, `job-${n - 1}`]]) {
      const runs = [runOnce(args), runOnce(args), runOnce(args)];
      const row = { command: `godelayq ${args.join(' ').replace(dir, '<store>')}`, medianMs: Math.round(median(runs.map((r) => r.ms))), peakRssMb: runs[0]!.rssMb ?? null };
      rows.push(row);
      console.log(`${row.command.padEnd(62)} ${String(row.medianMs).padStart(6)} ms${row.peakRssMb === null ? '' : `  peak RSS ${row.peakRssMb} MB`}`);
    }
    console.log(`(the command's start-up alone, \`godelayq cron\`: ${Math.round(baseline.ms)} ms; ${existsSync(BUILT) ? 'dist/cli.js' : 'source via tsx'})`);
    writeResults('cli', { jobs: n, storeBytes: built.bytes, command: existsSync(BUILT) ? 'dist/cli.js' : 'tsx src/cli/main.ts', startupMs: Math.round(baseline.ms), rows });
  } finally {
    if (process.env.KEEP) console.log("kept", dir); else await rm(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) await run(Number(process.argv[2] ?? 200_000));
