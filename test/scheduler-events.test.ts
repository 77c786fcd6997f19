/**
 * Which events a call emits, checked against what the store acknowledged
 * (issue 19): `scheduled` once for every job the store newly recorded, never
 * for one it kept. Events are collected and asserted after the fact.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DuplicateJobError } from '../src/errors.js';
import { collectEvents, virtualScheduler } from './helpers.js';

type Jobs = { work: { n: number } };

describe('the scheduled event', () => {
  it('is emitted for new and replaced jobs, never for kept or rejected duplicates', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const log = collectEvents(scheduler);
    const acknowledged: string[] = [];
    const note = (id: string): void => {
      acknowledged.push(id);
    };

    note((await scheduler.scheduleIn('work', 1000, { n: 1 }, { id: 'a' })).id);
    const kept = await scheduler.scheduleIn('work', 5000, { n: 2 }, { id: 'a', onDuplicate: 'keep' });
    assert.deepEqual(kept.payload, { n: 1 }, 'the kept job is the first one');
    await assert.rejects(scheduler.scheduleIn('work', 5000, { n: 3 }, { id: 'a' }), DuplicateJobError);
    note((await scheduler.scheduleIn('work', 5000, { n: 4 }, { id: 'a', onDuplicate: 'replace' })).id);

    // A schedule declared again at start-up with the same expression is kept.
    note((await scheduler.scheduleCron('work', '0 * * * *', { n: 5 }, { id: 'hourly' })).id);
    await scheduler.scheduleCron('work', '0 * * * *', { n: 5 }, { id: 'hourly' });
    note((await scheduler.scheduleEvery('work', 60_000, { n: 6 }, { id: 'minutely' })).id);
    await scheduler.scheduleEvery('work', 60_000, { n: 6 }, { id: 'minutely' });

    // A batch: one kept, one new.
    const batch = await scheduler.scheduleMany([
      { name: 'work', payload: { n: 7 }, delay: 10, options: { id: 'a', onDuplicate: 'keep' } },
      { name: 'work', payload: { n: 8 }, delay: 10, options: { id: 'b' } },
    ]);
    note(batch[1]!.id);
    assert.deepEqual(batch[0]!.payload, { n: 4 });

    assert.deepEqual(log.ids('scheduled'), acknowledged);
    assert.deepEqual(
      log.of('scheduled').map((e) => e.job.payload),
      [{ n: 1 }, { n: 4 }, { n: 5 }, { n: 6 }, { n: 8 }],
    );
    assert.deepEqual(log.of('error'), []);
    await scheduler.stop();
  });

  it('retry() of a dead job emits scheduled once; a job that runs emits started and completed once each', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    let fail = true;
    scheduler.register('work', () => {
      if (fail) throw new Error('no');
    });
    const log = collectEvents(scheduler);
    const { id } = await scheduler.scheduleIn('work', 10, { n: 1 });
    await clock.advance(10);
    fail = false;
    await scheduler.retry(id);
    await clock.advance(0);
    assert.deepEqual(
      log.all.filter((e) => e.type !== 'drained').map((e) => e.type),
      ['scheduled', 'started', 'failed', 'dead', 'scheduled', 'started', 'completed'],
    );
    assert.deepEqual(log.of('error'), []);
    await scheduler.stop();
  });
});
