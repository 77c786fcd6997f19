/**
 * `npm run bench [-- scenario...] [-- --save]`: runs every scenario in
 * SCENARIOS, or only the named ones, one after another in this process
 * (started with --expose-gc by the npm script). BENCH_FULL=1 adds the slow
 * large sizes. Each scenario prints its table and writes
 * bench/results/<scenario>.json (untracked); at the end the headline ratios
 * print as one table and go to bench/results/summary.svg. `--save` also
 * writes the tracked copies in bench/saved/ that the README shows.
 */
import { ratioChart, summaryTable } from './chart.js';
import { type BenchModule, allHeadlines, machineInfo, writeOutput } from './lib.js';

const SCENARIOS: Record<string, () => Promise<BenchModule>> = {
  heap: () => import('./heap.js'),
  store: () => import('./store.js'),
  redis: () => import('./redis.js'),
  postgres: () => import('./postgres.js'),
  scheduler: () => import('./scheduler.js'),
  cron: () => import('./cron.js'),
  loader: () => import('./loader.js'),
  recovery: () => import('./recovery.js'),
  'job-control': () => import('./job-control.js'),
  control: () => import('./control.js'),
};

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const unknown = wanted.filter((name) => !(name in SCENARIOS));
if (unknown.length > 0) {
  console.error(`Unknown scenario(s): ${unknown.join(', ')}. Known: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}
if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
  console.error('Run with `node --expose-gc` (npm run bench does).');
  process.exit(2);
}

const full = process.env.BENCH_FULL === '1';
const names = wanted.length > 0 ? wanted : Object.keys(SCENARIOS);
for (const name of names) {
  console.log(`\n== ${name}${full ? ' (BENCH_FULL=1)' : ''} ==`);
  const started = Date.now();
  const scenario = await SCENARIOS[name]!();
  await scenario.run({ full });
  console.log(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const list = allHeadlines();
if (list.length > 0) {
  const m = machineInfo();
  console.log('\n== summary: ours / theirs (times and bytes: below 1x is better) ==');
  console.log(summaryTable(list));
  const caption = `Node ${m.node}, ${m.cores} × ${m.cpu}, load ${m.loadavg[0]} at the end, ${m.date.slice(0, 10)}; npm run bench -- ${names.join(' ')}${full ? ' (BENCH_FULL=1)' : ''}`;
  const files = writeOutput('summary.svg', ratioChart(list, caption));
  console.log(`chart written to ${files.join(' and ')}`);
}
