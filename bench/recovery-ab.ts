/**
 * A/B of `JsonFileStore.open` between this tree's src and an older copy, with
 * a plain `JSON.parse` of the same records beside them, in one process:
 * `node --expose-gc --import tsx bench/recovery-ab.ts [old src] [rounds] [n]`.
 * The old copy is a src folder exported from another commit inside the
 * checkout, e.g. `mkdir -p .tmp/old && git archive <commit> src | tar -x -C .tmp/old`
 * then `.tmp/old/src` (outside it tsx compiles the copy as CommonJS, slower:
 * see assertEsmSource).
 *
 * Unlike bench/recovery.ts, which builds a fresh folder each round, every
 * open here reads the same folder (bench/recovery.ts's records, one snapshot
 * and an empty journal, written once), so the rounds differ only in the
 * code that opens it. The three contenders alternate within a round and
 * their order flips between rounds. Prints CPU ms a round, then medians and
 * the per-round ratios.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { JsonFileStore } from '../src/store/json-file.js';
import { assertEsmSource } from './lib.js';
import { context, records, storeFolder, timed } from './recovery.js';

type StoreCtor = typeof JsonFileStore;

const [oldRoot = '.tmp/old/src', roundsArg = '9', nArg = '200000'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const n = Number(nArg);
const oldFile = path.join(oldRoot, 'store', 'json-file.ts');
assertEsmSource(oldFile);
const OldStore = ((await import(pathToFileURL(path.resolve(oldFile)).href)) as { JsonFileStore: StoreCtor }).JsonFileStore;

const base = await mkdtemp(path.join(os.tmpdir(), 'godelayq-recovery-ab-'));
let jobs = records(n, Date.now());
const dir = await storeFolder(base, jobs);
const text = JSON.stringify(jobs);
jobs = [];

const cpuMs = async (fn: () => unknown): Promise<number> => (await timed(fn)).cpuMs;

async function open(Store: StoreCtor): Promise<number> {
  const store = new Store(dir, { fsync: false, snapshotEvery: { changes: 1e9, bytes: 2 ** 50 } });
  const ms = await cpuMs(() => store.open(context()));
  if (store.counts().scheduled !== n) throw new Error(`expected ${n} scheduled jobs after open, got ${store.counts().scheduled}`);
  await store.close();
  return ms;
}

const times = { new: [] as number[], old: [] as number[], parse: [] as number[] };
try {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (['new', 'old', 'parse'] as const) : (['parse', 'old', 'new'] as const);
    for (const who of order) {
      if (who === 'parse') {
        let parsed: unknown;
        times.parse.push(
          await cpuMs(() => {
            parsed = JSON.parse(text);
          }),
        );
        if (!Array.isArray(parsed) || parsed.length !== n) throw new Error('JSON.parse returned the wrong records');
      } else {
        times[who].push(await open(who === 'new' ? JsonFileStore : OldStore));
      }
    }
    console.log(`round ${r + 1}: this tree ${times.new[r]!.toFixed(0)}, ${oldRoot} ${times.old[r]!.toFixed(0)}, JSON.parse ${times.parse[r]!.toFixed(0)} CPU ms; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  }
} finally {
  await rm(base, { recursive: true, force: true });
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
};
const byRound = (a: readonly number[], b: readonly number[]): string => `${median(a.map((v, i) => v / b[i]!)).toFixed(2)}x`;
console.log(`medians, CPU ms: this tree ${median(times.new).toFixed(0)}, ${oldRoot} ${median(times.old).toFixed(0)}, JSON.parse ${median(times.parse).toFixed(0)}`);
console.log(`by round (medians): this tree / old ${byRound(times.new, times.old)}, this tree / JSON.parse ${byRound(times.new, times.parse)}, old / JSON.parse ${byRound(times.old, times.parse)}`);
