/**
 * The firing path stays optimized through a quiet spell. V8 collects a
 * hidden class once no object has it, and throws away optimized code that
 * embedded it: without AttemptContext.keepers, a scheduler whose
 * jobs had all finished lost its optimized claim-and-run code at the next
 * full GC, and its next burst started late while V8 compiled it again.
 * V8's own optimization status is read through natives syntax (enabled for
 * this test process only).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { AttemptContext } from '../src/scheduler/context.js';
import { runningRecord } from '../src/store/record.js';
import { virtualScheduler } from './helpers.js';

v8.setFlagsFromString('--allow-natives-syntax');
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
type Fn = (...args: never[]) => unknown;
const status = new Function('f', 'return %GetOptimizationStatus(f)') as (f: Fn) => number;
const prepare = new Function('f', '%PrepareFunctionForOptimization(f)') as (f: Fn) => void;
const optimizeOnNextCall = new Function('f', '%OptimizeFunctionOnNextCall(f)') as (f: Fn) => void;
/** V8's OptimizationStatus bit for "has optimized code" (src/runtime/runtime.h). */
const OPTIMIZED = 1 << 4;
const optimized = (f: Fn): boolean => (status(f) & OPTIMIZED) !== 0;

describe('shape keepers', () => {
  it('keeps the claim-and-run builders optimized after every scheduled and running record died and a full GC ran', async () => {
    const { scheduler, clock } = await virtualScheduler<{ 'order.cancel': { orderId: string; amount: number } }>();
    let runs = 0;
    scheduler.register('order.cancel', (job) => {
      runs += job.payload.amount > 0 ? 1 : 0;
    });
    const burst = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await scheduler.scheduleIn('order.cancel', 1000 + i, { orderId: `ord-${runs}-${i}`, amount: i + 0.5 });
      await clock.advance(1000 + n);
    };
    const hot = [AttemptContext as unknown as Fn, runningRecord as Fn];
    await burst(300);
    for (const f of hot) prepare(f);
    await burst(50);
    for (const f of hot) optimizeOnNextCall(f);
    await burst(5);
    assert.equal(runs, 355);
    for (const f of hot) assert.ok(optimized(f), `${f.name} is optimized after a burst (status ${status(f)})`);
    // A quiet spell: nothing scheduled or running; only finished records are kept.
    assert.deepEqual(await scheduler.list({ state: ['scheduled', 'running'] }), []);
    gc();
    gc();
    for (const f of hot) assert.ok(optimized(f), `${f.name} is still optimized after the quiet spell's full GC (status ${status(f)})`);
    await scheduler.stop();
  });
});
