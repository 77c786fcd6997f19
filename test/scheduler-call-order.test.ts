/**
 * Calls on one job id made without awaiting each other reach the store in
 * the order they were made: the final state is the one call order gives,
 * on MemoryStore and on JsonFileStore (whose writes are asynchronous).
 * The re-base case (calls made while a clock step's re-base is owed) is in
 * scheduler-clock-step.test.ts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { MemoryStore } from '../src/store/memory.js';
import type { Store } from '../src/store/store.js';
import { T0, collectEvents } from './helpers.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

const MIN = 60_000;
type Jobs = { work: { n: number } };

const stores: [string, () => Promise<Store>][] = [
  ['MemoryStore', () => Promise.resolve(new MemoryStore())],
  ['JsonFileStore', async () => new JsonFileStore(await tempDir('godelayq-order-'), { fsync: false })],
];

async function setup(store: Store): Promise<{ scheduler: Scheduler<Jobs>; clock: VirtualClock }> {
  const clock = new VirtualClock(T0);
  const scheduler = new Scheduler<Jobs>({ clock, store });
  scheduler.register('work', () => undefined);
  await scheduler.start();
  return { scheduler, clock };
}

for (const [label, makeStore] of stores) {
  describe(`call order on one id (${label})`, () => {
    it('reschedule, then a replacing insert: the insert made last decides the due time', async () => {
      const { scheduler } = await setup(await makeStore());
      const events = collectEvents(scheduler, ['rescheduled']);
      await scheduler.scheduleIn('work', 1 * MIN, { n: 1 }, { id: 'x' });
      const moved = scheduler.reschedule('x', T0 + 2 * MIN);
      const replaced = scheduler.scheduleAt('work', T0 + 5 * MIN, { n: 2 }, { id: 'x', onDuplicate: 'replace' });
      assert.equal((await moved).runAt.getTime(), T0 + 2 * MIN);
      assert.equal((await replaced).runAt.getTime(), T0 + 5 * MIN);
      const job = await scheduler.get('x');
      assert.equal(job?.runAt.getTime(), T0 + 5 * MIN, 'the later call wins');
      assert.deepEqual(job?.payload, { n: 2 });
      assert.deepEqual(
        events.of('rescheduled').map((e) => e.previousRunAt.getTime()),
        [T0 + 1 * MIN],
        'previousRunAt is the due time before the reschedule',
      );
      await scheduler.stop();
    });

    it('reschedule, then cancel: both land, the job ends cancelled', async () => {
      const { scheduler } = await setup(await makeStore());
      await scheduler.scheduleIn('work', 1 * MIN, { n: 1 }, { id: 'x' });
      const moved = scheduler.reschedule('x', T0 + 2 * MIN);
      const cancelled = scheduler.cancel('x');
      assert.equal((await moved).runAt.getTime(), T0 + 2 * MIN, 'the reschedule, made first, found the job scheduled');
      assert.equal(await cancelled, true);
      assert.equal((await scheduler.get('x'))?.state, 'cancelled');
      await scheduler.stop();
    });

    it('insert, then cancel: the cancel finds the job', async () => {
      const { scheduler } = await setup(await makeStore());
      const inserted = scheduler.scheduleIn('work', 1 * MIN, { n: 1 }, { id: 'x' });
      const cancelled = scheduler.cancel('x');
      assert.equal((await inserted).state, 'scheduled');
      assert.equal(await cancelled, true);
      assert.equal((await scheduler.get('x'))?.state, 'cancelled');
      await scheduler.stop();
    });
  });
}
