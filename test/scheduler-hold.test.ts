/**
 * When the scheduler holds the process open (Clock.hold), in process: a
 * VirtualClock that counts the holds it gave and the releases. The real
 * process-level behaviour (a script that exits or stays) is in
 * scheduler-keepalive.test.ts, in child processes; this file pins the rule
 * itself, where a mutation test can see it: held while a job is scheduled or
 * running, released when nothing is left, after stop(), and never with
 * `unref: true`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import type { InsertRequest, InsertResult } from '../src/store/store.js';
import { T0 } from './helpers.js';

type Jobs = { tick: null; slow: null; orphan: null };

/** A VirtualClock whose hold() is counted: `held` is the holds given and not yet released. */
class HoldingClock extends VirtualClock {
  held = 0;
  given = 0;

  hold(): () => void {
    this.held++;
    this.given++;
    let released = false;
    return () => {
      // A release called twice must not count twice (the count would go negative and hide a leak).
      assert.equal(released, false, 'a hold released twice');
      released = true;
      this.held--;
    };
  }
}

async function holding(options: { unref?: boolean; store?: MemoryStore } = {}): Promise<{ scheduler: Scheduler<Jobs>; clock: HoldingClock }> {
  const clock = new HoldingClock(T0);
  const scheduler = new Scheduler<Jobs>({ ...options, clock });
  await scheduler.start();
  return { scheduler, clock };
}

describe('the process hold', () => {
  it('holds while a job waits, and lets go once it ran and nothing is left', async () => {
    const { scheduler, clock } = await holding();
    scheduler.register('tick', () => undefined);
    assert.equal(clock.held, 0, 'a started scheduler with nothing to do holds nothing');
    await scheduler.scheduleIn('tick', 1000, null);
    assert.equal(clock.held, 1);
    await clock.advance(999);
    assert.equal(clock.held, 1, 'still waiting');
    await clock.advance(1);
    assert.equal(clock.held, 0, 'ran, nothing left');
    await scheduler.scheduleIn('tick', 10, null);
    assert.equal(clock.held, 1, 'held again for new work');
    await scheduler.stop();
    assert.equal(clock.held, 0);
    assert.equal(clock.given, 2, 'one hold at a time, not one per call');
  });

  it('holds while a handler runs, though nothing else is scheduled', async () => {
    const { scheduler, clock } = await holding();
    let finish!: () => void;
    scheduler.register('slow', () => new Promise<void>((resolve) => (finish = resolve)));
    await scheduler.scheduleIn('slow', 0, null);
    await clock.advance(0);
    assert.equal((await scheduler.list({ state: 'running' })).length, 1);
    assert.equal(clock.held, 1, 'the running attempt holds');
    finish();
    await clock.advance(0);
    assert.equal((await scheduler.list({ state: 'completed' })).length, 1);
    assert.equal(clock.held, 0);
    await scheduler.stop();
  });

  it('holds while a due job waits for a handler (it is still scheduled work)', async () => {
    const { scheduler, clock } = await holding();
    await scheduler.scheduleIn('orphan', 0, null);
    await clock.advance(5000);
    assert.equal((await scheduler.list({ state: 'scheduled' })).length, 1);
    assert.equal(clock.held, 1);
    scheduler.register('orphan', () => undefined);
    await clock.advance(0);
    assert.equal(clock.held, 0, 'it ran once its handler came');
    await scheduler.stop();
  });

  it('a recurring schedule holds for as long as it lasts', async () => {
    const { scheduler, clock } = await holding();
    scheduler.register('tick', () => undefined);
    await scheduler.scheduleEvery('tick', 1000, null, { id: 'every', limit: 2 });
    assert.equal(clock.held, 1);
    await clock.advance(1000);
    assert.equal(clock.held, 1, 'one run of two');
    await clock.advance(1000);
    assert.equal(clock.held, 0, 'ended after its limit');
    await scheduler.stop();
  });

  it('stop() lets go with work still waiting; start() holds again', async () => {
    const { scheduler, clock } = await holding();
    scheduler.register('tick', () => undefined);
    await scheduler.scheduleIn('tick', 60_000, null);
    assert.equal(clock.held, 1);
    await scheduler.stop();
    assert.equal(clock.held, 0);
    await scheduler.start();
    assert.equal(clock.held, 1, 'the job still waits');
    await scheduler.stop();
    assert.equal(clock.held, 0);
  });

  it('an insert that lands after stop() returned takes no hold (it would keep the process alive for good)', async () => {
    // A store whose insert waits for a gate: a slow disk, a far server.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    class SlowStore extends MemoryStore {
      override get insertSync(): undefined {
        return undefined;
      }
      override async insert(requests: readonly InsertRequest[]): Promise<InsertResult[]> {
        await gate;
        return super.insert(requests);
      }
    }
    const { scheduler, clock } = await holding({ store: new SlowStore() });
    scheduler.register('tick', () => undefined);
    const pending = scheduler.scheduleIn('tick', 60_000, null);
    // stop()'s wait for calls in flight ends at its deadline (real time), before the insert lands.
    await scheduler.stop({ timeout: 20 });
    assert.equal(clock.held, 0);
    open();
    await pending;
    assert.equal(clock.held, 0, 'the late insert re-armed nothing after stop()');
  });

  it('unref: true never holds', async () => {
    const { scheduler, clock } = await holding({ unref: true });
    let ran = 0;
    scheduler.register('tick', () => {
      ran++;
    });
    await scheduler.scheduleIn('tick', 1000, null);
    await clock.advance(1000);
    assert.equal(ran, 1, 'jobs still run');
    await scheduler.stop();
    assert.equal(clock.given, 0);
  });
});
