/**
 * listSchedules() and nextRuns(): the schedules with their expression, tz,
 * next runs and last outcome; previews of a schedule or an expression; bad
 * input. (That every store keeps `recur.last`: store-conformance-job-control.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { ValidationError } from '../src/errors.js';
import { T0, until } from './helpers.js';

type Jobs = { 'report.daily': { format: string }; tick: null; once: null };

const iso = (dates: readonly Date[]): string[] => dates.map((d) => d.toISOString());

async function setup(): Promise<{ scheduler: Scheduler<Jobs>; clock: VirtualClock }> {
  const clock = new VirtualClock(T0); // Friday 2027-01-01 00:00 UTC
  const scheduler = new Scheduler<Jobs>({ clock, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
  await scheduler.start();
  return { scheduler, clock };
}

describe('listSchedules', () => {
  it('lists cron and every schedules with expression, tz, next runs and run count; never one-off jobs', async () => {
    const { scheduler } = await setup();
    await scheduler.scheduleCron('report.daily', '0 9 * * 1-5', { format: 'pdf' }, { id: 'daily', tz: 'Europe/Paris' });
    await scheduler.scheduleEvery('tick', 60_000, null, { id: 'minutely' });
    await scheduler.scheduleIn('once', 1000, null);
    const list = await scheduler.listSchedules({ runs: 3 });
    assert.deepEqual(
      list.map((s) => ({ ...s, nextRuns: iso(s.nextRuns) })),
      [
        { id: 'minutely', name: 'tick', every: 60_000, state: 'scheduled', runs: 0, nextRuns: ['2027-01-01T00:01:00.000Z', '2027-01-01T00:02:00.000Z', '2027-01-01T00:03:00.000Z'] },
        {
          id: 'daily',
          name: 'report.daily',
          expression: '0 9 * * 1-5',
          tz: 'Europe/Paris',
          state: 'scheduled',
          runs: 0,
          // Friday 09:00 Paris (08:00Z), then Monday and Tuesday.
          nextRuns: ['2027-01-01T08:00:00.000Z', '2027-01-04T08:00:00.000Z', '2027-01-05T08:00:00.000Z'],
        },
      ],
    );
    assert.equal((await scheduler.listSchedules())[0]?.nextRuns.length, 5, 'five next runs by default');
    assert.deepEqual((await scheduler.listSchedules({ name: 'report.daily' })).map((s) => s.id), ['daily']);
    assert.deepEqual((await scheduler.listSchedules({ runs: 0 }))[0]?.nextRuns, []);
    const cron = await scheduler.scheduleCron('tick', '*/10 * * * *', null, { id: 'utc' });
    assert.equal((await scheduler.listSchedules()).find((s) => s.id === cron.id)?.tz, 'UTC', 'the default zone is named');
    await scheduler.stop();
  });

  it('reports the last occurrence’s outcome: completed, then dead with its error', async () => {
    const { scheduler, clock } = await setup();
    let fail = false;
    scheduler.register('tick', () => {
      if (fail) throw new RangeError('disk full');
    });
    await scheduler.scheduleEvery('tick', 1000, null, { id: 't' });
    assert.equal((await scheduler.listSchedules())[0]?.lastOutcome, undefined, 'no outcome before the first occurrence');
    await clock.advance(1000);
    let [s] = await scheduler.listSchedules({ runs: 1 });
    assert.deepEqual(s?.lastOutcome, { state: 'completed', slot: new Date(T0 + 1000), at: new Date(T0 + 1000) });
    assert.equal(s?.runs, 1);
    assert.deepEqual(s?.nextRuns, [new Date(T0 + 2000)]);
    fail = true;
    await clock.advance(1000);
    [s] = await scheduler.listSchedules({ runs: 1 });
    assert.deepEqual(s?.lastOutcome, { state: 'dead', slot: new Date(T0 + 2000), at: new Date(T0 + 2000), error: { name: 'RangeError', message: 'disk full' } });
    assert.equal(s?.runs, 2);
    await scheduler.stop();
  });

  it('stops the next runs at the schedule’s limit, shows a running occurrence, and drops an ended schedule', async () => {
    const { scheduler, clock } = await setup();
    let release: (() => void) | undefined;
    scheduler.register('tick', () => new Promise<void>((resolve) => (release = resolve)));
    await scheduler.scheduleEvery('tick', 1000, null, { id: 'three', limit: 3 });
    assert.deepEqual(iso((await scheduler.listSchedules())[0]?.nextRuns ?? []), ['2027-01-01T00:00:01.000Z', '2027-01-01T00:00:02.000Z', '2027-01-01T00:00:03.000Z']);
    await clock.advance(1000);
    const [running] = await scheduler.listSchedules();
    assert.equal(running?.state, 'running');
    assert.equal(running?.limit, 3);
    assert.deepEqual(iso(running?.nextRuns ?? []), ['2027-01-01T00:00:02.000Z', '2027-01-01T00:00:03.000Z']);
    release?.();
    await clock.advance(1000);
    release?.();
    await clock.advance(1000);
    release?.();
    await clock.advance(0);
    await until(async () => (await scheduler.get('three'))?.state === 'completed');
    assert.deepEqual(await scheduler.listSchedules(), []);
    await scheduler.stop();
  });

  it('keeps the last outcome across a JsonFileStore restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-schedules-'));
    try {
      const clock = new VirtualClock(T0);
      const first = new Scheduler<Jobs>({ clock, store: new JsonFileStore(dir) });
      first.register('tick', () => undefined);
      await first.start();
      await first.scheduleEvery('tick', 1000, null, { id: 't' });
      await clock.advance(1000);
      await until(async () => (await first.listSchedules())[0]?.lastOutcome !== undefined);
      await first.stop();
      const second = new Scheduler<Jobs>({ clock, store: new JsonFileStore(dir) });
      await second.start();
      assert.deepEqual((await second.listSchedules())[0]?.lastOutcome, { state: 'completed', slot: new Date(T0 + 1000), at: new Date(T0 + 1000) });
      await second.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('nextRuns', () => {
  it('previews a cron expression in a time zone, across a DST change', async () => {
    const { scheduler } = await setup();
    // Paris moves to summer time on 2027-03-28: 09:00 is 08:00Z before, 07:00Z after.
    const runs = await scheduler.nextRuns('0 9 * * *', 3, { tz: 'Europe/Paris', from: new Date('2027-03-26T12:00:00Z') });
    assert.deepEqual(iso(runs), ['2027-03-27T08:00:00.000Z', '2027-03-28T07:00:00.000Z', '2027-03-29T07:00:00.000Z']);
    assert.deepEqual(iso(await scheduler.nextRuns('@hourly', 2)), ['2027-01-01T01:00:00.000Z', '2027-01-01T02:00:00.000Z'], 'after now, in UTC by default');
    await scheduler.stop();
  });

  it('gives the next runs of a schedule by id, as listSchedules does', async () => {
    const { scheduler } = await setup();
    await scheduler.scheduleCron('report.daily', '30 6 * * *', { format: 'csv' }, { id: 'r', tz: 'America/New_York', limit: 2 });
    assert.deepEqual(iso(await scheduler.nextRuns('r', 5)), ['2027-01-01T11:30:00.000Z', '2027-01-02T11:30:00.000Z'], 'cut by its limit');
    assert.deepEqual(await scheduler.nextRuns('r', 2), (await scheduler.listSchedules({ runs: 2 }))[0]?.nextRuns);
    await scheduler.stop();
  });

  it('refuses bad input with ValidationError', async () => {
    const { scheduler } = await setup();
    const one = await scheduler.scheduleIn('once', 1000, null);
    await scheduler.scheduleEvery('tick', 1000, null, { id: 'e' });
    await assert.rejects(scheduler.nextRuns('0 9 * * *', 0), /Expected `n` to be an integer from 1 to 1000, got 0/);
    await assert.rejects(scheduler.nextRuns('0 9 * * *', 1001), ValidationError);
    await assert.rejects(scheduler.nextRuns('0 9 * * *', 1.5), ValidationError);
    await assert.rejects(scheduler.nextRuns('', 1), /Expected `idOrExpression` to be a schedule id or a cron expression, got ""/);
    await assert.rejects(scheduler.nextRuns(7 as never, 1), ValidationError);
    await assert.rejects(scheduler.nextRuns('not a cron', 1), /no job has that id, and as an expression/);
    await assert.rejects(scheduler.nextRuns('0 0 30 2 *', 1), (e: unknown) => e instanceof ValidationError && /days of month that never occur/.test(e.message));
    await assert.rejects(scheduler.nextRuns('0 9 * * *', 1, { tz: 'Mars/Olympus' }), ValidationError);
    await assert.rejects(scheduler.nextRuns('0 9 * * *', 1, { tz: 5 } as never), /Expected `options.tz` to be an IANA time zone name/);
    await assert.rejects(scheduler.nextRuns('0 9 * * *', 1, { from: 'soon' } as never), /options.from/);
    await assert.rejects(scheduler.nextRuns('0 9 * * *', 1, { nope: 1 } as never), /Unknown option `options.nope`/);
    await assert.rejects(scheduler.nextRuns(one.id, 1), /got the id of the one-off job/);
    await assert.rejects(scheduler.nextRuns('e', 1, { tz: 'UTC' }), /only with a cron expression/);
    await assert.rejects(scheduler.listSchedules({ runs: -1 }), /Expected `options.runs` to be an integer from 0 to 1000/);
    await assert.rejects(scheduler.listSchedules({ name: '' }), ValidationError);
    await assert.rejects(scheduler.listSchedules({ state: 'dead' } as never), /Unknown option `options.state`/);
    await scheduler.stop();
  });
});
