/**
 * The one timer (README, Timing guarantees): a scheduler keeps a single
 * timer on its clock, armed for the earliest due job, whatever the number
 * of jobs; none while paused, none after stop(). Counted on a VirtualClock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { T0, virtualScheduler } from './helpers.js';

type Jobs = { work: { n: number } };

describe('the one timer', () => {
  it('one timer for many jobs, armed for the earliest; none while paused or after stop()', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const ran: number[] = [];
    scheduler.register('work', (job) => void ran.push(job.payload.n));
    assert.equal(clock.pendingTimers, 0, 'nothing scheduled: no timer');
    for (let n = 0; n < 100; n++) await scheduler.scheduleIn('work', 1000 + ((n * 37) % 100) * 10, { n });
    assert.equal(clock.pendingTimers, 1, 'one timer, not one a job');
    scheduler.pause();
    assert.equal(clock.pendingTimers, 0, 'paused: the timer is cleared, not left to fire');
    await scheduler.scheduleIn('work', 500, { n: 100 });
    assert.equal(clock.pendingTimers, 0, 'paused: a new job arms nothing');
    scheduler.resume();
    await clock.advance(0);
    assert.equal(clock.pendingTimers, 1);
    await clock.advance(499);
    assert.deepEqual(ran, [], 'the earliest is due at +500');
    await clock.advance(1);
    assert.deepEqual(ran, [100]);
    await clock.advance(500);
    assert.deepEqual(ran, [100, 0]);
    assert.equal(clock.pendingTimers, 1, 're-armed for the next');
    await scheduler.stop();
    assert.equal(clock.pendingTimers, 0, 'stop() leaves no timer behind');
    assert.equal(clock.now(), T0 + 1000);
  });
});
