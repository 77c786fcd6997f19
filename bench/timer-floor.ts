/**
 * What this machine itself adds to a start's lateness, before any scheduler:
 * `node --import tsx bench/timer-floor.ts [ms] [rounds]`.
 *
 * 1. A chain of `setTimeout(fn, 1)`: the time from each call to its
 *    callback. A scheduler that re-arms one timer after each burst of starts
 *    (godelayq's dispatcher does) cannot wake sooner than this after the
 *    burst, whatever the due time: libuv computes the poll's timeout from
 *    the loop's cached millisecond clock, so a wait of "1 ms" counts from
 *    when the loop goes to poll, not from the due time.
 * 2. A busy loop that reads `performance.now()` and allocates nothing: the
 *    gaps between two reads are time the thread did not run (the OS or the
 *    hypervisor took the core). No JS garbage collector runs in it.
 *
 * Lateness p99 at 50k fires/s (bench/scheduler.ts) is one burst's work plus
 * (1), with (2) and GC pauses on top; a p99 target is only as good as these.
 */

import { isMain } from './lib.js';

const quantile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
const f2 = (x: number): string => x.toFixed(2);

/** Delays of a chain of setTimeout(1) over `ms` of real time, sorted. */
async function wakeChain(ms: number): Promise<number[]> {
  const delays: number[] = [];
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let calledAt = performance.now();
    const tick = (): void => {
      const t = performance.now();
      delays.push(t - calledAt);
      if (t - start > ms) return resolve();
      calledAt = performance.now();
      setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
  });
  return delays.sort((a, b) => a - b);
}

/** Gaps over 0.2 ms between two clock reads of a busy loop over `ms`: how long and how many. */
function busyGaps(ms: number): { gaps: number[]; lostMs: number } {
  const found = new Float64Array(1 << 16);
  let n = 0;
  const start = performance.now();
  let last = start;
  for (;;) {
    const t = performance.now();
    if (t - last > 0.2 && n < found.length) found[n++] = t - last;
    last = t;
    if (t - start > ms) break;
  }
  const gaps = Array.from(found.subarray(0, n)).sort((a, b) => b - a);
  return { gaps, lostMs: gaps.reduce((a, b) => a + b, 0) };
}

/** What one probe of `ms` (a wake chain, then a busy loop, each `ms` long) found. */
export interface TimerFloor {
  wakeP50: number;
  wakeP99: number;
  wakeMax: number;
  /** ms the busy thread did not run, in gaps over 0.2 ms */
  lostMs: number;
  longestGapMs: number;
  gapsOver1ms: number;
}

export async function timerFloor(ms: number): Promise<TimerFloor> {
  const d = await wakeChain(ms);
  const { gaps, lostMs } = busyGaps(ms);
  return {
    wakeP50: quantile(d, 0.5),
    wakeP99: quantile(d, 0.99),
    wakeMax: d[d.length - 1] ?? NaN,
    lostMs,
    longestGapMs: gaps[0] ?? 0,
    gapsOver1ms: gaps.filter((g) => g > 1).length,
  };
}

/** One line for a bench's log. */
export function describeFloor(f: TimerFloor, ms: number): string {
  return (
    `setTimeout(1) wakes after p50 ${f2(f.wakeP50)} p99 ${f2(f.wakeP99)} max ${f2(f.wakeMax)} ms; ` +
    `a busy thread lost ${f2(f.lostMs)} ms of ${ms} (${f.gapsOver1ms} gaps > 1 ms, longest ${f2(f.longestGapMs)} ms)`
  );
}

if (isMain(import.meta.url)) {
  const [msArg = '2000', roundsArg = '3'] = process.argv.slice(2);
  const ms = Number(msArg);
  console.log(`timer floor: ${roundsArg} rounds of ${ms} ms each`);
  for (let r = 0; r < Number(roundsArg); r++) console.log(`  round ${r}: ${describeFloor(await timerFloor(ms), ms)}`);
}
