/**
 * `npm run bench [-- scenario...]`: runs every scenario in SCENARIOS, or only
 * the named ones, one after another in this process (started with
 * --expose-gc by the npm script). BENCH_FULL=1 adds the slow large sizes.
 * Each scenario prints its table and writes bench/results/<scenario>.json.
 */
import type { BenchModule } from './lib.js';

const SCENARIOS: Record<string, () => Promise<BenchModule>> = {
  heap: () => import('./heap.js'),
  store: () => import('./store.js'),
  redis: () => import('./redis.js'),
  postgres: () => import('./postgres.js'),
  scheduler: () => import('./scheduler.js'),
  cron: () => import('./cron.js'),
  loader: () => import('./loader.js'),
};

const wanted = process.argv.slice(2);
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
for (const name of wanted.length > 0 ? wanted : Object.keys(SCENARIOS)) {
  console.log(`\n== ${name}${full ? ' (BENCH_FULL=1)' : ''} ==`);
  const started = Date.now();
  const scenario = await SCENARIOS[name]!();
  await scenario.run({ full });
  console.log(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
