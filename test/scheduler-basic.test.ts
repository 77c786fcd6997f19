import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { DuplicateJobError, JobNotFoundError, SchedulerStoppedError } from '../src/errors.js';
import { T0, record, virtualScheduler } from './helpers.js';

type Jobs = {
  'order.cancel': { orderId: string };
  'mail.send': { to: string };
  noop: null;
};

describe('scheduleIn / scheduleAt', () => {
  it('runs a job at its due time, not before, with the JobContext fields', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen: { at: number; attempt: number; runAt: number; payload: unknown; name: string; id: string }[] = [];
    scheduler.register('order.cancel', (job) => {
      seen.push({ at: clock.now(), attempt: job.attempt, runAt: job.runAt.getTime(), payload: job.payload, name: job.name, id: job.id });
      return 'cancelled';
    });
    const info = await scheduler.scheduleIn('order.cancel', 30 * 60_000, { orderId: 'A1' });
    assert.equal(info.state, 'scheduled');
    assert.equal(info.runAt.getTime(), T0 + 30 * 60_000);
    await clock.advance(30 * 60_000 - 1);
    assert.equal(seen.length, 0, 'must not run early');
    await clock.advance(1);
    assert.deepEqual(seen, [{ at: T0 + 30 * 60_000, attempt: 1, runAt: T0 + 30 * 60_000, payload: { orderId: 'A1' }, name: 'order.cancel', id: info.id }]);
    const done = await scheduler.get(info.id);
    assert.equal(done?.state, 'completed');
    assert.equal(done?.result, 'cancelled');
    await scheduler.stop();
  });

  it('scheduleAt in the past runs at once; in the future at that instant', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const ran: [string, number][] = [];
    scheduler.register('mail.send', (job) => {
      ran.push([job.payload.to, clock.now()]);
    });
    await scheduler.scheduleAt('mail.send', new Date(T0 - 5000), { to: 'past' });
    await scheduler.scheduleAt('mail.send', T0 + 10_000, { to: 'future' });
    await clock.advance(0);
    assert.deepEqual(ran, [['past', T0]]);
    await clock.advance(10_000);
    assert.deepEqual(ran, [['past', T0], ['future', T0 + 10_000]]);
    await scheduler.stop();
  });

  it('fires many jobs in due order, each at its own instant', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const ran: number[] = [];
    scheduler.register('noop', () => {
      ran.push(clock.now());
    });
    const delays = [500, 100, 300, 100, 900, 0, 700];
    for (const d of delays) await scheduler.scheduleIn('noop', d, null);
    await clock.advance(1000);
    assert.deepEqual(ran, [...delays].sort((a, b) => a - b).map((d) => T0 + d));
    await scheduler.stop();
  });

  it('emits scheduled, started, completed (with result and duration) and drained in order', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock);
    scheduler.register('mail.send', async () => {
      await new Promise((r) => setImmediate(r));
      return { sent: true };
    });
    const info = await scheduler.scheduleIn('mail.send', 1000, { to: 'x' });
    await clock.advance(1000);
    assert.deepEqual(
      log.map((e) => [e.type, e.id, e.at]),
      [
        ['scheduled', info.id, T0],
        ['started', info.id, T0 + 1000],
        ['completed', info.id, T0 + 1000],
        ['drained', undefined, T0 + 1000],
      ],
    );
    const completed = log[2]?.payload as { result: unknown; durationMs: number };
    assert.deepEqual(completed.result, { sent: true });
    assert.equal(completed.durationMs, 0);
    await scheduler.stop();
  });

  it('createdAt is the instant a delay counts from: runAt - createdAt is the delay, even on a clock that moves between reads', async () => {
    // A clock that moves 1 ms on every read: a call that read it twice (one
    // read for the delay, another for createdAt) would give createdAt 1 ms
    // after the instant its delay was added to.
    const timers = new VirtualClock(T0);
    let t = T0;
    const ticking = { now: () => t++, setTimer: timers.setTimer.bind(timers) };
    const scheduler = new Scheduler<Jobs>({ clock: ticking });
    await scheduler.start();
    for (const delay of [0, 1, 30 * 60_000]) {
      const info = await scheduler.scheduleIn('order.cancel', delay, { orderId: `d${delay}` });
      assert.equal(info.runAt.getTime() - info.createdAt.getTime(), delay, `delay ${delay}`);
    }
    const [a, b] = await scheduler.scheduleMany([
      { name: 'order.cancel', payload: { orderId: 'm1' }, delay: 5_000 },
      { name: 'order.cancel', payload: { orderId: 'm2' }, delay: 7_000, options: { priority: 1 } },
    ]);
    assert.equal(a!.runAt.getTime() - a!.createdAt.getTime(), 5_000);
    assert.equal(b!.runAt.getTime() - b!.createdAt.getTime(), 7_000);
    const withOptions = await scheduler.scheduleIn('order.cancel', 9_000, { orderId: 'o' }, { priority: 2 });
    assert.equal(withOptions.runAt.getTime() - withOptions.createdAt.getTime(), 9_000);
    await scheduler.stop();
  });

  it('generated ids are unique and URL-safe', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) ids.add((await scheduler.scheduleIn('noop', 1000, null)).id);
    assert.equal(ids.size, 2000);
    for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]+$/);
    const other = await virtualScheduler<Jobs>();
    const id2 = (await other.scheduler.scheduleIn('noop', 1, null)).id;
    assert.ok(!ids.has(id2), 'two schedulers must not generate the same id');
    await scheduler.stop();
    await other.scheduler.stop();
  });

  it('rejects calls before start and after stop with SchedulerStoppedError', async () => {
    const scheduler = new Scheduler<Jobs>({ clock: new VirtualClock(T0) });
    await assert.rejects(scheduler.scheduleIn('noop', 1, null), SchedulerStoppedError);
    await scheduler.start();
    await scheduler.stop();
    await assert.rejects(scheduler.scheduleIn('noop', 1, null), SchedulerStoppedError);
    await assert.rejects(scheduler.get('x'), SchedulerStoppedError);
  });
});

describe('onDuplicate', () => {
  it("'reject' (default) throws DuplicateJobError and changes nothing", async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    await scheduler.scheduleIn('mail.send', 1000, { to: 'a' }, { id: 'm1' });
    await assert.rejects(scheduler.scheduleIn('mail.send', 5000, { to: 'b' }, { id: 'm1' }), DuplicateJobError);
    const job = await scheduler.get('m1');
    assert.deepEqual(job?.payload, { to: 'a' });
    assert.equal(job?.runAt.getTime(), T0 + 1000);
    await scheduler.stop();
  });

  it("'keep' resolves with the existing job", async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    await scheduler.scheduleIn('mail.send', 1000, { to: 'a' }, { id: 'm1' });
    const kept = await scheduler.scheduleIn('mail.send', 5000, { to: 'b' }, { id: 'm1', onDuplicate: 'keep' });
    assert.deepEqual(kept.payload, { to: 'a' });
    assert.equal(kept.runAt.getTime(), T0 + 1000);
    await scheduler.stop();
  });

  it("'replace' replaces it (new payload and time)", async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const ran: string[] = [];
    scheduler.register('mail.send', (job) => {
      ran.push(job.payload.to);
    });
    await scheduler.scheduleIn('mail.send', 1000, { to: 'a' }, { id: 'm1' });
    const replaced = await scheduler.scheduleIn('mail.send', 5000, { to: 'b' }, { id: 'm1', onDuplicate: 'replace' });
    assert.deepEqual(replaced.payload, { to: 'b' });
    await clock.advance(10_000);
    assert.deepEqual(ran, ['b']);
    assert.equal((await scheduler.list()).length, 1);
    await scheduler.stop();
  });
});

describe('scheduleMany', () => {
  it('inserts all in one call', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const ran: string[] = [];
    scheduler.register('mail.send', (job) => {
      ran.push(job.payload.to);
    });
    const infos = await scheduler.scheduleMany([
      { name: 'mail.send', payload: { to: 'b' }, delay: 200 },
      { name: 'mail.send', payload: { to: 'a' }, at: T0 + 100 },
    ]);
    assert.equal(infos.length, 2);
    await clock.advance(300);
    assert.deepEqual(ran, ['a', 'b']);
    await scheduler.stop();
  });

  it('is all or none: one bad item (or a duplicate) inserts nothing', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    await scheduler.scheduleIn('noop', 1000, null, { id: 'taken' });
    await assert.rejects(
      scheduler.scheduleMany([
        { name: 'noop', payload: null, delay: 1 },
        { name: 'noop', payload: null, delay: Number.NaN },
      ]),
      /delay/,
    );
    await assert.rejects(
      scheduler.scheduleMany([
        { name: 'noop', payload: null, delay: 1, options: { id: 'fresh' } },
        { name: 'noop', payload: null, delay: 1, options: { id: 'taken' } },
      ]),
      DuplicateJobError,
    );
    assert.equal((await scheduler.list()).length, 1);
    assert.equal(await scheduler.get('fresh'), undefined);
    await scheduler.stop();
  });
});

describe('cancel / reschedule / retry / get / list', () => {
  it('cancel of a scheduled job: true, never runs; unknown or finished: false', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    let runs = 0;
    scheduler.register('noop', () => {
      runs++;
    });
    const a = await scheduler.scheduleIn('noop', 1000, null);
    const b = await scheduler.scheduleIn('noop', 500, null);
    assert.equal(await scheduler.cancel(a.id), true);
    assert.equal(await scheduler.cancel(a.id), false);
    assert.equal(await scheduler.cancel('nope'), false);
    await clock.advance(2000);
    assert.equal(runs, 1);
    assert.equal(await scheduler.cancel(b.id), false);
    assert.equal((await scheduler.get(a.id))?.state, 'cancelled');
    await scheduler.stop();
  });

  it('reschedule moves a scheduled job earlier or later; unknown id -> JobNotFoundError', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['rescheduled', 'started']);
    scheduler.register('noop', () => undefined);
    const a = await scheduler.scheduleIn('noop', 10_000, null);
    const moved = await scheduler.reschedule(a.id, T0 + 2000);
    assert.equal(moved.runAt.getTime(), T0 + 2000);
    await clock.advance(2000);
    assert.deepEqual(log.map((e) => [e.type, e.at]), [['rescheduled', T0], ['started', T0 + 2000]]);
    assert.equal((log[0]?.payload as { previousRunAt: Date }).previousRunAt.getTime(), T0 + 10_000);
    await assert.rejects(scheduler.reschedule('nope', T0), JobNotFoundError);
    await assert.rejects(scheduler.reschedule(a.id, T0 + 5000), JobNotFoundError, 'a completed job cannot be rescheduled');
    await scheduler.stop();
  });

  it('list orders by runAt, filters by name and state, pages with limit/offset (no cap)', async () => {
    const { scheduler } = await virtualScheduler<Jobs>();
    for (let i = 0; i < 1500; i++) await scheduler.scheduleIn('noop', 1500 - i, null, { id: `n${i}` });
    await scheduler.scheduleIn('mail.send', 5, { to: 'z' }, { id: 'm' });
    const all = await scheduler.list();
    assert.equal(all.length, 1501);
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.runAt <= all[i]!.runAt);
    assert.deepEqual((await scheduler.list({ name: 'mail.send' })).map((j) => j.id), ['m']);
    const page = await scheduler.list({ name: 'noop', limit: 2, offset: 1 });
    assert.deepEqual(page.map((j) => j.id), ['n1498', 'n1497']);
    assert.equal((await scheduler.list({ state: 'completed' })).length, 0);
    assert.equal((await scheduler.list({ state: ['scheduled', 'dead'] })).length, 1501);
    await scheduler.stop();
  });

  it('stats reports current counts and heap size', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('noop', () => undefined);
    for (let i = 0; i < 5; i++) await scheduler.scheduleIn('noop', 1000 * (i + 1), null);
    let s = scheduler.stats();
    assert.equal(s.scheduled, 5);
    assert.equal(s.heapSize, 5);
    await clock.advance(2000);
    s = scheduler.stats();
    assert.deepEqual([s.scheduled, s.running, s.completed, s.heapSize], [3, 0, 2, 3]);
    assert.equal(s.lateness.p99, 0);
    await scheduler.stop();
  });

  it('stats lateness: p50, p95 and p99 of how late the recent starts were, in numeric order', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register('noop', () => undefined);
    assert.deepEqual(scheduler.stats().lateness, { p50: 0, p95: 0, p99: 0 });
    scheduler.pause();
    // Due every 10 ms from now; all start 1 s from now: 1000, 990, …, 10 ms late (2 to 4 digits, so a sort
    // by text would order them otherwise).
    for (let i = 0; i < 100; i++) await scheduler.scheduleIn('noop', 10 * i, null);
    await clock.advance(1000);
    scheduler.resume();
    await clock.advance(0);
    assert.equal(scheduler.stats().completed, 100);
    assert.deepEqual(scheduler.stats().lateness, { p50: 500, p95: 950, p99: 990 });
    // One more start, 5 s late: of the 101 samples, p50 is the 51st (510), p95 the 96th, p99 the 100th.
    scheduler.pause();
    await scheduler.scheduleIn('noop', 0, null, { id: 'late' });
    await clock.advance(5000);
    scheduler.resume();
    await clock.advance(0);
    assert.equal((await scheduler.get('late'))?.state, 'completed');
    assert.deepEqual(scheduler.stats().lateness, { p50: 510, p95: 960, p99: 1000 });
    await scheduler.stop();
  });
});

describe('missing handlers', () => {
  it('a due job without handler waits, missingHandler fires once per name, registering runs it', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['missingHandler', 'completed']);
    await scheduler.scheduleIn('mail.send', 100, { to: 'a' });
    await scheduler.scheduleIn('mail.send', 200, { to: 'b' });
    await clock.advance(1000);
    assert.deepEqual(log.map((e) => e.type), ['missingHandler']);
    assert.deepEqual(log[0]?.payload, { name: 'mail.send' });
    const got: string[] = [];
    scheduler.register('mail.send', (job) => {
      got.push(job.payload.to);
    });
    await clock.advance(0);
    assert.deepEqual(got, ['a', 'b']);
    await scheduler.stop();
  });

  it('unregister makes due jobs wait; re-register (hot update) uses the new handler', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const got: string[] = [];
    scheduler.register('mail.send', () => {
      got.push('v1');
    });
    await scheduler.scheduleIn('mail.send', 100, { to: 'a' });
    await clock.advance(100);
    assert.equal(scheduler.unregister('mail.send'), true);
    await scheduler.scheduleIn('mail.send', 100, { to: 'b' });
    await clock.advance(100);
    assert.deepEqual(got, ['v1']);
    scheduler.register('mail.send', () => {
      got.push('v2');
    });
    await clock.advance(0);
    assert.deepEqual(got, ['v1', 'v2']);
    await scheduler.stop();
  });
});
