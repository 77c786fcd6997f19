/**
 * Shrinking: the smallest subset of a failing scenario's steps that still
 * fails the same invariant (delta debugging: drop ever smaller chunks, keep
 * any drop that still fails). Steps are independent of each other by design
 * (ids from pools, times relative to the clock), so any subset is a valid
 * scenario and replays from the same seed with `--keep`.
 */
import type { Expectations } from './known.js';
import type { Scenario } from './plan.js';
import { runScenario, type RunResult } from './run.js';

export interface Shrunk {
  keep: number[];
  result: RunResult;
  runs: number;
}

export async function shrink(sc: Scenario, failed: RunResult, expect: Expectations, maxRuns = 300): Promise<Shrunk> {
  let keep = sc.steps.map((_, i) => i);
  if (failed.failedStep !== undefined && failed.failedStep >= 0) keep = keep.slice(0, failed.failedStep + 1);
  let best = failed;
  let runs = 0;
  const fails = async (candidate: number[]): Promise<RunResult | undefined> => {
    runs++;
    const r = await runScenario(sc, { keep: new Set(candidate), expect });
    return !r.ok && r.invariant === failed.invariant ? r : undefined;
  };
  // The prefix up to the failing step may not fail alone (the final phase found it): check once.
  if (keep.length < sc.steps.length) {
    const r = await fails(keep);
    if (r) best = r;
    else keep = sc.steps.map((_, i) => i);
  }
  let chunk = Math.max(1, Math.floor(keep.length / 2));
  while (chunk >= 1 && runs < maxRuns) {
    let removed = false;
    for (let start = 0; start < keep.length && runs < maxRuns; ) {
      const candidate = keep.slice(0, start).concat(keep.slice(start + chunk));
      const r = candidate.length > 0 ? await fails(candidate) : undefined;
      if (r) {
        keep = candidate;
        best = r;
        removed = true;
      } else start += chunk;
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  return { keep, result: best, runs };
}
