/**
 * `drained` (README, Events): nothing due, nothing running, nothing waiting
 * to be recorded. Emitted once when work runs out, not again until more work
 * ran; never while a due job waits for a free slot or for its rate limit.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { T0, virtualScheduler } from './helpers.js';

type Jobs = { work: { n: number }; api: { n: number } };

describe('drained', () => {
  it('is emitted once a quiet spell: a pass that finds nothing due later does not repeat it', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const drained: number[] = [];
    scheduler.on('drained', () => drained.push(clock.now() - T0));
    scheduler.register('work', () => undefined);
    await scheduler.scheduleIn('work', 10, { n: 1 });
    await clock.advance(10);
    assert.deepEqual(drained, [10]);
    // More calls and dispatch passes with nothing due (a resume and a new handler each kick one): still one drained.
    await scheduler.scheduleIn('work', 3_600_000, { n: 2 });
    await clock.advance(1000);
    await scheduler.cancel((await scheduler.scheduleIn('work', 60_000, { n: 3 })).id);
    scheduler.pause();
    scheduler.resume();
    await clock.advance(0);
    scheduler.register('api', () => undefined);
    await clock.advance(1000);
    assert.deepEqual(drained, [10], 'no work ran since the last drained');
    // The next spell of work ends with its own.
    await clock.advance(3_600_000);
    assert.deepEqual(drained, [10, 3_600_010]);
    await scheduler.stop();
  });

  it('waits while a due job waits for a free slot', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 1 });
    const log: string[] = [];
    scheduler.on('drained', () => log.push(`drained at ${clock.now() - T0}`));
    scheduler.register('work', async (job) => {
      log.push(`start ${job.payload.n} at ${clock.now() - T0}`);
      await new Promise<void>((resolve) => clock.setTimer(clock.now() + 100, resolve));
    });
    await scheduler.scheduleIn('work', 0, { n: 1 });
    await scheduler.scheduleIn('work', 0, { n: 2 });
    await clock.advance(1000);
    assert.deepEqual(log, ['start 1 at 0', 'start 2 at 100', 'drained at 200']);
    await scheduler.stop();
  });

  it('waits while a due job waits for a paused scheduler, though nothing runs', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log: string[] = [];
    scheduler.on('drained', () => log.push(`drained at ${clock.now() - T0}`));
    let finish!: () => void;
    scheduler.register('work', async (job) => {
      log.push(`start ${job.payload.n} at ${clock.now() - T0}`);
      if (job.payload.n === 1) await new Promise<void>((resolve) => (finish = resolve));
    });
    await scheduler.scheduleIn('work', 0, { n: 1 });
    await clock.advance(0);
    scheduler.pause();
    await scheduler.scheduleIn('work', 0, { n: 2 });
    await clock.advance(100);
    finish(); // the last running job ends while job 2 is due and held by the pause
    await clock.advance(100);
    assert.deepEqual(log, ['start 1 at 0'], 'job 2 is due: not drained');
    scheduler.resume();
    await clock.advance(0);
    assert.deepEqual(log, ['start 1 at 0', 'start 2 at 200', 'drained at 200']);
    await scheduler.stop();
  });

  it('waits while a due job waits for its rate limit', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log: string[] = [];
    scheduler.on('drained', () => log.push(`drained at ${clock.now() - T0}`));
    scheduler.register('api', (job) => void log.push(`start ${job.payload.n} at ${clock.now() - T0}`), { rateLimit: { max: 1, durationMs: 1000 } });
    await scheduler.scheduleIn('api', 0, { n: 1 });
    await scheduler.scheduleIn('api', 0, { n: 2 });
    await clock.advance(5000);
    assert.deepEqual(log, ['start 1 at 0', 'start 2 at 1000', 'drained at 1000']);
    await scheduler.stop();
  });
});
