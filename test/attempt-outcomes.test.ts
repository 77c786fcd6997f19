/**
 * What an attempt's end records and reports, through the Scheduler on a
 * VirtualClock: a timeout names the timeout the job had, a schedule whose
 * occurrence died reports when it runs next, and stop() hands back an
 * unfinished attempt without counting it (the attempts before it still count),
 * and an outcome the store refuses by its token is not reported.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JobTimeoutError, SchedulerStoppedError } from '../src/errors.js';
import { MemoryStore } from '../src/store/memory.js';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { T0, record, virtualScheduler } from './helpers.js';

type Jobs = { work: { n: number } };

describe('attempt outcomes', () => {
  it('a timed-out attempt fails with JobTimeoutError naming the job’s timeout', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['failed']);
    scheduler.register('work', () => new Promise(() => undefined), { retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1_000 } } });
    await scheduler.scheduleIn('work', 1_000, { n: 1 }, { id: 'slow', timeout: 5_000 });
    await clock.advance(1_000 + 4_999);
    assert.equal(log.length, 0, 'not before its timeout');
    await clock.advance(1);
    const failed = log[0]?.payload as { error: Error };
    assert.ok(failed.error instanceof JobTimeoutError);
    assert.equal(failed.error.timeout, 5_000);
    assert.match(failed.error.message, /within 5000 ms/);
    assert.equal((await scheduler.get('slow'))?.state, 'dead');
    await scheduler.stop({ timeout: 10 });
  });

  it('an every schedule whose occurrence died (no retries left) reports its next run in failed and dead', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['failed', 'dead']);
    scheduler.register(
      'work',
      () => {
        throw new Error('boom');
      },
      { retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1_000 } } },
    );
    await scheduler.scheduleEvery('work', 60_000, { n: 1 }, { id: 'tick' });
    await clock.advance(60_000);
    assert.deepEqual(
      log.map((e) => e.type),
      ['failed', 'dead'],
    );
    const failed = log[0]?.payload as { willRetry: boolean; nextRunAt?: Date; job: { state: string; every?: { nextRunAt?: Date } } };
    assert.equal(failed.willRetry, false);
    assert.equal(failed.nextRunAt?.getTime(), T0 + 120_000, 'the schedule goes on at its next slot');
    assert.equal(failed.job.state, 'dead', 'the occurrence died');
    assert.equal(failed.job.every?.nextRunAt?.getTime(), T0 + 120_000);
    const job = await scheduler.get('tick');
    assert.deepEqual([job?.state, job?.runAt.getTime()], ['scheduled', T0 + 120_000]);
    await scheduler.stop();
  });

  it('stop() hands back an unfinished attempt uncounted: the failed attempts before it still count', async () => {
    const store = new MemoryStore();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock });
    let runs = 0;
    let aborted: unknown;
    scheduler.register(
      'work',
      (job) => {
        runs++;
        if (runs === 1) throw new Error('first attempt fails');
        // The second hangs until stop() aborts it.
        return new Promise((_, reject) => job.signal.addEventListener('abort', () => reject((aborted = job.signal.reason))));
      },
      { retry: { maxRetries: 3, backoff: { type: 'fixed', delay: 1_000 } } },
    );
    await scheduler.start();
    await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 'j' });
    await clock.advance(1_000);
    assert.equal(runs, 2);
    assert.equal((await scheduler.get('j'))?.attempt, 2, 'running its second attempt');
    await scheduler.stop({ timeout: 0 });
    assert.ok(aborted instanceof SchedulerStoppedError);
    // Open the same store again: the job went back with one attempt spent, so its next run is attempt 2 again.
    const again = new Scheduler<Jobs>({ store, clock });
    const seen: number[] = [];
    again.register('work', (job) => {
      seen.push(job.attempt);
    });
    await again.start();
    await clock.advance(1_000);
    assert.deepEqual(seen, [2]);
    const job = await again.get('j');
    assert.deepEqual([job?.state, job?.attempt], ['completed', 2]);
    await again.stop();
  });

  it('an outcome the store refuses (the job ended in the store meanwhile) is not reported, and frees its slot', async () => {
    // The store's own cancel, behind the scheduler's back (as another holder of the store object could):
    // the scheduler hears of it only when the store refuses the attempt's outcome by its token.
    const store = new MemoryStore();
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store, clock, concurrency: 1 });
    const log = record(scheduler, clock, ['completed', 'failed', 'started']);
    const gates: (() => void)[] = [];
    scheduler.register('work', () => new Promise<string>((resolve) => gates.push(() => resolve('done'))));
    await scheduler.start();
    await scheduler.scheduleIn('work', 0, { n: 1 }, { id: 'a' });
    await scheduler.scheduleIn('work', 0, { n: 2 }, { id: 'b' });
    await clock.advance(0);
    assert.equal(gates.length, 1, 'one slot: a runs, b waits');
    assert.equal((await store.cancel('a', clock.now()))?.state, 'cancelled');
    gates[0]?.();
    await clock.advance(0);
    assert.deepEqual(
      log.map((e) => `${e.type} ${e.id ?? ''}`),
      ['started a', 'started b'],
      'no completed for a: its outcome was not recorded; its slot went to b',
    );
    assert.equal((await scheduler.get('a'))?.state, 'cancelled');
    gates[1]?.();
    await clock.advance(0);
    assert.equal((await scheduler.get('b'))?.state, 'completed');
    await scheduler.stop();
  });
});
