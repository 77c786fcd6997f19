/**
 * What recurring jobs report (issue 13 #2–#4): the misfire grace period,
 * the record a re-declared schedule answers with after downtime, and events
 * that describe the occurrence that finished.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import type { SchedulerEvents } from '../src/events.js';
import { T0, record } from './helpers.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;
type Jobs = { report: { kind: string } };

async function boot(
  store: MemoryStore,
  clock: VirtualClock,
  options: { misfireGraceMs?: number } = {},
): Promise<{ scheduler: Scheduler<Jobs>; runs: { slot: number; at: number; attempt: number }[]; misfired: ReturnType<typeof record> }> {
  const scheduler = new Scheduler<Jobs>({ store, clock, ...options });
  // Recorded before start(): recovery plans misfires as soon as it starts.
  const misfired = record(scheduler, clock, ['misfired']);
  const runs: { slot: number; at: number; attempt: number }[] = [];
  scheduler.register('report', (job) => {
    runs.push({ slot: job.runAt.getTime(), at: clock.now(), attempt: job.attempt });
    return { rows: runs.length };
  });
  await scheduler.start();
  return { scheduler, runs, misfired };
}

describe('misfire grace', () => {
  it("a restart 2 s after a daily slot runs that day's slot, even with misfire 'skip', and reports no misfire", async () => {
    const store = new MemoryStore();
    const clock = new VirtualClock(T0);
    const a = await boot(store, clock);
    await a.scheduler.scheduleCron('report', '0 9 * * *', { kind: 'daily' }, { id: 'daily', misfire: 'skip' });
    await a.scheduler.stop();
    await clock.advance(9 * H + 2 * S);
    const b = await boot(store, clock);
    await clock.advance(MIN);
    assert.deepEqual(b.runs, [{ slot: T0 + 9 * H, at: T0 + 9 * H + 2 * S, attempt: 1 }]);
    assert.deepEqual(b.misfired, []);
    await b.scheduler.stop();
  });

  it('past the grace (scheduler option or per schedule) the slot is missed', async () => {
    for (const [schedulerGrace, scheduleGrace] of [[1000, undefined], [undefined, 1000]] as const) {
      const store = new MemoryStore();
      const clock = new VirtualClock(T0);
      const a = await boot(store, clock);
      await a.scheduler.scheduleCron('report', '0 9 * * *', { kind: 'daily' }, { id: 'daily', misfire: 'skip', ...(scheduleGrace === undefined ? {} : { misfireGraceMs: scheduleGrace }) });
      await a.scheduler.stop();
      await clock.advance(9 * H + 2 * S);
      const b = await boot(store, clock, schedulerGrace === undefined ? {} : { misfireGraceMs: schedulerGrace });
      const log = b.misfired;
      await clock.advance(MIN);
      assert.deepEqual(b.runs, [], `grace ${schedulerGrace ?? scheduleGrace} ms: a 2 s late slot is skipped`);
      assert.equal(log.length, 1);
      assert.equal((log[0]?.payload as SchedulerEvents['misfired']).missed, 1);
      assert.equal((await b.scheduler.get('daily'))?.runAt.getTime(), T0 + D + 9 * H);
      await b.scheduler.stop();
    }
  });

  it('rejects a bad misfireGraceMs', async () => {
    assert.throws(() => new Scheduler({ misfireGraceMs: -1 }), /misfireGraceMs/);
    const { scheduler } = await boot(new MemoryStore(), new VirtualClock(T0));
    await assert.rejects(scheduler.scheduleEvery('report', 1000, { kind: 'x' }, { misfireGraceMs: 1.5 }), /misfireGraceMs/);
    await scheduler.stop();
  });
});

describe('re-declaring a schedule after downtime', () => {
  it("answers with the record after misfire planning ('skip'): scheduled, next slot in the future", async () => {
    const store = new MemoryStore();
    const clock = new VirtualClock(T0);
    const a = await boot(store, clock);
    await a.scheduler.scheduleCron('report', '0 9 * * *', { kind: 'daily' }, { id: 'daily', misfire: 'skip' });
    await a.scheduler.stop();
    await clock.advance(3 * D);
    const b = await boot(store, clock);
    const again = await b.scheduler.scheduleCron('report', '0 9 * * *', { kind: 'daily' }, { id: 'daily', misfire: 'skip' });
    assert.equal(again.state, 'scheduled');
    assert.equal(again.runAt.getTime(), T0 + 3 * D + 9 * H);
    assert.equal(again.cron?.nextRunAt?.getTime(), T0 + 3 * D + 9 * H);
    assert.deepEqual(b.runs, []);
    await b.scheduler.stop();
  });

  it("answers with the catch-up recorded by misfire planning ('once'): its slot is the latest missed one, and it runs next", async () => {
    const store = new MemoryStore();
    const clock = new VirtualClock(T0);
    const a = await boot(store, clock);
    await a.scheduler.scheduleCron('report', '0 9 * * *', { kind: 'daily' }, { id: 'daily' });
    await a.scheduler.stop();
    await clock.advance(3 * D);
    const b = new Scheduler<Jobs>({ store, clock });
    let release!: () => void;
    const slots: number[] = [];
    const stored: (number | undefined)[] = [];
    b.register('report', async (job) => {
      slots.push(job.runAt.getTime());
      // What a crash right now would leave: the store's record must hold the planned slot (misfireKept, found by the simulation).
      stored.push((await store.get('daily'))?.recur?.slot);
      await new Promise<void>((resolve) => (release = resolve));
    });
    const misfired: number[] = [];
    b.on('misfired', (e) => misfired.push(e.missed));
    await b.start();
    const again = await b.scheduleCron('report', '0 9 * * *', { kind: 'daily' }, { id: 'daily' });
    // The planned slot is recorded before it runs (a crash cannot bring back the slots declared missed).
    assert.equal(again.state, 'scheduled');
    assert.equal(again.runAt.getTime(), T0 + 2 * D + 9 * H, 'the catch-up runs the most recent missed slot');
    assert.equal(again.cron?.nextRunAt?.getTime(), T0 + 2 * D + 9 * H, 'the catch-up is the next run');
    await clock.advance(0);
    assert.deepEqual(slots, [T0 + 2 * D + 9 * H], 'the catch-up runs at once');
    assert.deepEqual(stored, [T0 + 2 * D + 9 * H], 'the store recorded the catch-up slot before the handler ran');
    assert.deepEqual(misfired, [2], 'the two older slots were declared missed');
    const running = await b.get('daily');
    assert.equal(running?.state, 'running');
    assert.equal(running?.runAt.getTime(), T0 + 2 * D + 9 * H, 'get() agrees');
    release();
    await clock.advance(0);
    assert.ok(((await b.get('daily'))?.runAt.getTime() as number) > clock.now(), 'then the next run is in the future');
    await b.stop();
  });
});

describe('events of a recurring job describe the occurrence that finished', () => {
  it('completed carries the slot, attempt, state and stored result; nextRunAt is the next slot', async () => {
    const clock = new VirtualClock(T0);
    const { scheduler } = await boot(new MemoryStore(), clock);
    const log = record(scheduler, clock, ['completed']);
    await scheduler.scheduleCron('report', '0 * * * *', { kind: 'hourly' }, { id: 'hourly' });
    await clock.advance(H);
    const e = log[0]?.payload as SchedulerEvents['completed'];
    assert.equal(e.job.state, 'completed');
    assert.equal(e.job.runAt.getTime(), T0 + H);
    assert.equal(e.job.attempt, 1);
    assert.deepEqual(e.job.result, { rows: 1 });
    assert.deepEqual(e.result, { rows: 1 });
    assert.equal(e.nextRunAt?.getTime(), T0 + 2 * H);
    assert.equal(e.job.cron?.nextRunAt?.getTime(), T0 + 2 * H);
    const stored = await scheduler.get('hourly');
    assert.equal(stored?.state, 'scheduled');
    assert.equal(stored?.runAt.getTime(), T0 + 2 * H);
    await scheduler.stop();
  });

  it("a one-off's completed event carries its stored result and no nextRunAt", async () => {
    const clock = new VirtualClock(T0);
    const { scheduler } = await boot(new MemoryStore(), clock);
    const log = record(scheduler, clock, ['completed']);
    const info = await scheduler.scheduleIn('report', 10, { kind: 'once' });
    await clock.advance(10);
    const e = log[0]?.payload as SchedulerEvents['completed'];
    assert.equal(e.job.id, info.id);
    assert.equal(e.job.state, 'completed');
    assert.deepEqual(e.job.result, { rows: 1 });
    assert.equal(e.nextRunAt, undefined);
    await scheduler.stop();
  });
});
