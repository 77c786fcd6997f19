/**
 * A claim the store refused (a failed journal write) is tried again a
 * second later (not before), whatever else re-arms the dispatch timer meanwhile.
 *
 * Found by the simulation (seed 299129367, frozen as a regression): a
 * claim's write failed with EIO and was undone; the job it had picked went
 * back to the due heap, and the other due jobs it had readied stayed in the
 * ready queues. A cancel of the picked job then re-armed the timer for the
 * next due time in the heap, an hour away, replacing the one-second retry:
 * the readied jobs, due already, waited for that hour.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { FaultyFs } from '../src/store/json-file/faulty-fs.js';
import { StorePersistError } from '../src/errors.js';
import { T0 } from './helpers.js';

type Jobs = { work: null };

/** Moves the virtual clock `ms` in steps of `step`, letting the store's real file I/O finish between steps. */
async function pass(clock: VirtualClock, ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await clock.advance(step);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('a refused claim', () => {
  for (const later of [true, false]) {
    it(`is retried a second later even when a call re-arms the timer ${later ? 'for a later job' : 'with no job left in the due heap'} first`, async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-claim-retry-'));
      const clock = new VirtualClock(T0);
      const fs = new FaultyFs();
      const scheduler = new Scheduler<Jobs>({ store: new JsonFileStore(dir, { fs }), clock, concurrency: 1 });
      const ran: { id: string; at: number }[] = [];
      scheduler.register('work', (job) => {
        ran.push({ id: job.id, at: clock.now() - T0 });
      });
      const errors: unknown[] = [];
      let refused = (): void => undefined;
      let refusedAt = NaN;
      const claimRefused = new Promise<void>((resolve) => (refused = resolve));
      scheduler.on('error', ({ error }) => {
        errors.push(error);
        refusedAt = clock.now() - T0;
        refused();
      });
      try {
        await scheduler.start();
        scheduler.pause();
        // The claim picks `first` (the higher priority) and readies `second` beside it.
        await scheduler.scheduleIn('work', 10, null, { id: 'first', priority: 1 });
        await scheduler.scheduleIn('work', 10, null, { id: 'second' });
        if (later) await scheduler.scheduleIn('work', 3_600_000, null, { id: 'in-an-hour' });
        await pass(clock, 1000);
        fs.failAt(1, 'EIO', { only: ['write'] });
        scheduler.resume();
        await claimRefused;
        fs.heal();
        assert.ok(errors[0] instanceof StorePersistError, String(errors[0]));
        assert.equal(ran.length, 0);
        // The undone claim put `first` back; cancelling it re-arms the timer for the next due time in the heap.
        assert.equal(await scheduler.cancel('first'), true);
        await pass(clock, 3000);
        assert.equal(ran.length, 1, `ran: ${JSON.stringify(ran)}`);
        assert.equal(ran[0]?.id, 'second');
        assert.ok((ran[0]?.at ?? Infinity) <= 1000 + 2100, `second started at +${ran[0]?.at} ms`);
        // Not before the second is up: a failing store is not asked again at once, in a loop.
        assert.ok((ran[0]?.at ?? -Infinity) >= refusedAt + 1000, `second started at +${ran[0]?.at} ms, the claim was refused at +${refusedAt} ms`);
        if (later) assert.equal((await scheduler.get('in-an-hour'))?.state, 'scheduled');
      } finally {
        await scheduler.stop();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
