/**
 * Runs many seeds and sums up: failures, scenarios per second, coverage.
 * Shared by the CLI (test/sim/cli.ts, also in worker threads) and the CI
 * budget (test/sim.test.ts).
 */
import { Coverage } from './invariants.js';
import { MAIN, SPEC, type Expectations } from './known.js';
import { generate, genOptionsFor, type GenOptions, type Scenario } from './plan.js';
import { runScenario, type RunResult } from './run.js';

export interface BatchOptions {
  /** The rules to hold main to. @default MAIN (known gaps muted) */
  expect?: Expectations;
  gen?: GenOptions;
  /** Stop after this many failures. @default 5 */
  maxFailures?: number;
  /** Stop once this wall-clock time (Date.now()) has passed. */
  deadline?: number;
}

export interface BatchResult {
  scenarios: number;
  failures: RunResult[];
  coverage: Record<string, number>;
  ms: number;
}

export function expectationsOf(strict: boolean | undefined): Expectations {
  return strict ? SPEC : MAIN;
}

/** The scenario a seed stands for under these options (the CLI and the tests must agree). */
export function scenarioOf(seed: number, options: Pick<BatchOptions, 'expect' | 'gen'> = {}): Scenario {
  return generate(seed, genOptionsFor(options.expect ?? MAIN, options.gen));
}

export async function runBatch(seeds: Iterable<number>, options: BatchOptions = {}): Promise<BatchResult> {
  const expect = options.expect ?? MAIN;
  const coverage = new Coverage();
  const failures: RunResult[] = [];
  const started = performance.now();
  let scenarios = 0;
  for (const seed of seeds) {
    if (options.deadline !== undefined && Date.now() >= options.deadline) break;
    const result = await runScenario(scenarioOf(seed, options), { expect });
    scenarios++;
    coverage.merge(result.coverage);
    coverage.hit('scenarios');
    if (!result.ok) {
      failures.push(result);
      if (failures.length >= (options.maxFailures ?? 5)) break;
    }
  }
  return { scenarios, failures, coverage: coverage.counts, ms: performance.now() - started };
}

/** Seeds from..from+count-1 (every `stride`-th from `offset`, for workers). */
export function* seedRange(from: number, count: number, stride = 1, offset = 0): Generator<number> {
  for (let i = offset; i < count; i += stride) yield from + i;
}

/** The command that replays a scenario; `args` are the options it ran with (--strict, --check X, --store Y). */
export function reproCommand(seed: number, args: readonly string[] = [], keep?: readonly number[]): string {
  return ['npm run sim --', `--seed ${seed}`, ...args, ...(keep ? [`--keep ${keep.join(',')}`] : [])].join(' ');
}
