/**
 * Rate limits through the Scheduler (issue 16 item 1): register's per-name
 * `rateLimit` and the scheduler-wide one hold jobs back (they wait, in
 * order, and never fail for it); `job.rateLimit(ms)` / RateLimitError push a
 * name back without counting the attempt; bad limits are refused; a store
 * without rate limits refuses the option. Store rules: store-conformance-rate-limits.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../src/clock.js';
import { RateLimitError, UnsupportedOptionError, ValidationError } from '../src/errors.js';
import { Scheduler } from '../src/scheduler.js';
import { MemoryStore } from '../src/store/memory.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { T0, collectEvents, until, virtualScheduler } from './helpers.js';

type Jobs = { api: { n: number }; other: { n: number } };

/** Start times (ms after T0) per job tag. */
function starts(clock: VirtualClock) {
  const log: [string, number][] = [];
  return { log, at: (tag: string): void => void log.push([tag, clock.now() - T0]) };
}

describe('rate limits', () => {
  it('starts at most max jobs of a name per window; the rest wait in order and none fails', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 10 });
    const s = starts(clock);
    const events = collectEvents(scheduler, ['failed', 'completed']);
    scheduler.register('api', (job) => s.at(`api${job.payload.n}`), { rateLimit: { max: 2, durationMs: 1000 } });
    scheduler.register('other', (job) => s.at(`other${job.payload.n}`));
    for (let n = 0; n < 5; n++) await scheduler.scheduleIn('api', 0, { n });
    await scheduler.scheduleIn('other', 0, { n: 0 });
    await clock.advance(0);
    assert.deepEqual(s.log, [['api0', 0], ['api1', 0], ['other0', 0]]);
    await clock.advance(999);
    assert.equal(s.log.length, 3);
    await clock.advance(1);
    await clock.advance(1000);
    assert.deepEqual(s.log.slice(3), [['api2', 1000], ['api3', 1000], ['api4', 2000]]);
    assert.equal(events.of('failed').length, 0);
    assert.equal(events.of('completed').length, 6);
    await scheduler.stop();
  });

  it('limits every name together with the constructor’s rateLimit', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 10, rateLimit: { max: 3, durationMs: 60_000 } });
    const s = starts(clock);
    scheduler.register('api', (job) => s.at(`api${job.payload.n}`));
    scheduler.register('other', (job) => s.at(`other${job.payload.n}`));
    for (let n = 0; n < 2; n++) {
      await scheduler.scheduleIn('api', n, { n });
      await scheduler.scheduleIn('other', n, { n });
    }
    await clock.advance(59_999);
    assert.deepEqual(s.log, [['api0', 0], ['other0', 0], ['api1', 1]]);
    // The first start (at 0) leaves the window at 60 000: one more may start.
    await clock.advance(1);
    assert.deepEqual(s.log.slice(3), [['other1', 60_000]]);
    await scheduler.stop();
  });

  it('job.rateLimit(ms) holds the whole name until then, without counting the attempt', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 10 });
    const s = starts(clock);
    const events = collectEvents(scheduler, ['failed', 'rateLimited', 'completed']);
    let pushed = false;
    scheduler.register('api', (job) => {
      s.at(`api${job.payload.n}#${job.attempt}`);
      if (!pushed) {
        pushed = true;
        job.rateLimit(5000);
      }
    });
    scheduler.register('other', (job) => s.at(`other${job.payload.n}`));
    const first = await scheduler.scheduleIn('api', 0, { n: 0 });
    await scheduler.scheduleIn('api', 100, { n: 1 });
    await scheduler.scheduleIn('other', 100, { n: 0 });
    await clock.advance(4999);
    assert.deepEqual(s.log, [['api0#1', 0], ['other0', 100]], 'no api job starts before the push-back ends');
    const [limited] = events.of('rateLimited');
    assert.equal(limited?.delayMs, 5000);
    assert.equal(limited?.until.getTime(), T0 + 5000);
    assert.equal(limited?.job.id, first.id);
    assert.equal(limited?.job.state, 'scheduled');
    assert.equal((await scheduler.get(first.id))?.attempt, 0, 'the pushed-back attempt is not counted');
    await clock.advance(1);
    assert.deepEqual(s.log.slice(2), [['api0#1', 5000], ['api1#1', 5000]], 'in due order, the first again as attempt 1');
    assert.equal(events.of('failed').length, 0);
    await scheduler.stop();
  });

  it('a thrown RateLimitError does the same, and never makes a job dead', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    let calls = 0;
    scheduler.register('api', () => {
      if (++calls <= 3) throw new RateLimitError(1000);
      return 'ok';
    });
    const info = await scheduler.scheduleIn('api', 0, { n: 0 });
    await clock.advance(3000);
    const done = await scheduler.get(info.id);
    assert.equal(done?.state, 'completed');
    assert.equal(done?.attempt, 1);
    assert.equal(calls, 4);
    await scheduler.stop();
  });

  it('refuses bad limits with a clear error', async () => {
    const bad: [unknown, RegExp][] = [
      [{ max: 0, durationMs: 1000 }, /Expected `register options.rateLimit.max` to be an integer > 0, got 0/],
      [{ max: 2, durationMs: 0 }, /Expected `register options.rateLimit.durationMs` to be a whole number of ms from 1 to 604800000 \(7 days\), got 0/],
      [{ max: 2, durationMs: 1.5 }, /durationMs` to be a whole number of ms/],
      [{ max: 2 }, /durationMs` to be a whole number of ms .* got undefined/],
      [{ max: 2, durationMs: 10, per: 's' }, /Unknown option `register options.rateLimit.per`/],
      [5, /Expected `register options.rateLimit` to be an options object, got 5/],
    ];
    const scheduler = new Scheduler<Jobs>({ clock: new VirtualClock(T0) });
    for (const [rateLimit, message] of bad) {
      assert.throws(() => scheduler.register('api', () => undefined, { rateLimit } as never), (e: unknown) => e instanceof ValidationError && message.test(e.message));
    }
    assert.throws(() => new Scheduler({ rateLimit: { max: -1, durationMs: 1 } }), /Expected `options.rateLimit.max` to be an integer > 0, got -1/);
    // A handler that calls job.rateLimit with a bad delay fails like any throw.
    await scheduler.start();
    scheduler.register('api', (job) => job.rateLimit(-5));
    const events = collectEvents(scheduler, ['failed']);
    await scheduler.scheduleIn('api', 0, { n: 0 });
    const clock = (scheduler as unknown as { baseClock: VirtualClock }).baseClock;
    await clock.advance(0);
    assert.match(String(events.of('failed')[0]?.error.message), /Expected `ms` to be a finite number of ms >= 0, got -5/);
    await scheduler.stop();
  });

  it('is refused by a store without rate limits; a push-back there still waits, without counting the attempt', async () => {
    class PlainStore extends MemoryStore {
      override readonly features = {};
    }
    assert.throws(
      () => new Scheduler({ store: new PlainStore(), rateLimit: { max: 1, durationMs: 1 } }),
      (e: unknown) => e instanceof UnsupportedOptionError && /`options.rateLimit` only with a store that supports rateLimits.*PlainStore/.test(e.message),
    );
    const clock = new VirtualClock(T0);
    const scheduler = new Scheduler<Jobs>({ store: new PlainStore(), clock });
    assert.throws(() => scheduler.register('api', () => undefined, { rateLimit: { max: 1, durationMs: 1000 } }), UnsupportedOptionError);
    const runs: number[] = [];
    scheduler.register('api', (job) => {
      runs.push(clock.now() - T0);
      if (runs.length === 1) job.rateLimit(2000);
    });
    await scheduler.start();
    const info = await scheduler.scheduleIn('api', 0, { n: 0 });
    await clock.advance(1999);
    assert.deepEqual(runs, [0]);
    await clock.advance(1);
    assert.deepEqual(runs, [0, 2000]);
    assert.equal((await scheduler.get(info.id))?.attempt, 1);
    await scheduler.stop();
  });
});

describe('rate limits: faults found by the simulation', () => {
  it('schedules on a name whose window frees slower than their slots come keep running (a claim planned as a misfire gives its start back)', async () => {
    // Two every-7 s schedules share one start per 5 s: each is always behind, so every claim finds
    // the next slot due and plans a catch-up instead of running. That claim counted as a start, and
    // the catch-up, claimed again after the window, was behind again: neither ever ran after 20 s
    // (local simulation seed 229). A claim that starts nothing now gives its start back.
    const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 10 });
    const runs: string[] = [];
    scheduler.register('api', (job) => void runs.push(job.id), { rateLimit: { max: 1, durationMs: 5000 } });
    await scheduler.scheduleEvery('api', 7000, { n: 1 }, { id: 'one' });
    await scheduler.scheduleEvery('api', 7000, { n: 2 }, { id: 'two' });
    await clock.advance(140_000);
    const count = (id: string): number => runs.filter((r) => r === id).length;
    // One start per 5 s is 28 in 140 s; each schedule runs at most once per slot (20 slots each).
    assert.ok(runs.length >= 20, `only ${runs.length} runs in 140 s: ${runs.join(',')}`);
    assert.ok(count('one') >= 8 && count('two') >= 8, `one ran ${count('one')} times, two ${count('two')}`);
    await scheduler.stop();
  });

  it('a backward clock step moves the windows with it: the name is not held until the wall clock catches up', async () => {
    // The windows hold start instants on the wall clock; left in place after a step back by an
    // hour, the last start was an hour in the future and the name waited that hour (local
    // simulation seed 13). Windows are lengths of elapsed time: they move with the step, as delays do.
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const s = starts(clock);
    scheduler.register('api', (job) => s.at(`api${job.payload.n}`), { rateLimit: { max: 1, durationMs: 1000 } });
    await scheduler.scheduleIn('api', 0, { n: 0 });
    await clock.advance(10);
    await clock.set(clock.now() - 3_600_000);
    await scheduler.scheduleIn('api', 2000, { n: 1 });
    await clock.advance(2100);
    assert.deepEqual(
      s.log.map(([tag, at]) => [tag, at + (tag === 'api0' ? 0 : 3_600_000)]),
      [['api0', 0], ['api1', 2010]],
      'the second job runs at its due time, 2 s after the step',
    );
    await scheduler.stop();
  });

  it('a backward clock step moves a push-back with it', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const s = starts(clock);
    scheduler.register('api', (job) => {
      s.at(`api${job.payload.n}`);
      if (job.payload.n === 0) job.rateLimit(1000);
    });
    await scheduler.scheduleIn('api', 0, { n: 0 });
    await clock.advance(0);
    await clock.set(clock.now() - 3_600_000);
    await scheduler.scheduleIn('api', 0, { n: 1 });
    await clock.advance(1100);
    // Job 0 ran, pushed its name back 1 s; after the step both wait that second of elapsed time, not an hour.
    assert.deepEqual(s.log.map(([tag]) => tag).sort(), ['api0', 'api0', 'api1']);
    await scheduler.stop();
  });
  it('a push-back made after a forward step, while that step’s re-base is being stored, is not moved by it (simulation seed 257100416)', async (t) => {
    // The handler ended after the step, so its push-back was already in the new frame; the
    // re-base, still writing the shifted delays (a JsonFileStore write takes real time, the
    // virtual timers do not), then moved every push-back by the step too, and the name waited
    // an hour instead of a second.
    const dir = await mkdtemp(join(tmpdir(), 'godelayq-rl-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const { scheduler, clock } = await virtualScheduler<Jobs>({ store: new JsonFileStore(join(dir, 'store')) });
    const s = starts(clock);
    scheduler.register('api', async (job) => {
      s.at(`api${job.payload.n}`);
      if (job.payload.n !== 0 || s.log.length > 1) return;
      await new Promise<void>((resolve) => clock.setTimer(clock.now() + 10, resolve));
      job.rateLimit(1000);
    });
    scheduler.register('other', () => undefined);
    await scheduler.scheduleIn('api', 0, { n: 0 });
    // A delay, so the re-base has a record to write (and the store is mid-write when the handler ends).
    await scheduler.scheduleIn('other', 600_000, { n: 0 });
    await clock.advance(0);
    await clock.set(clock.now() + 3_600_000);
    const stepped = clock.now();
    // Behind the owed re-base: once this resolves, the re-base has landed.
    await scheduler.scheduleIn('api', 0, { n: 1 });
    // Virtual time in 100 ms steps, with real time between them for the store's writes.
    await until(async () => {
      await clock.advance(100);
      return s.log.length >= 3;
    });
    const later = s.log.slice(1);
    assert.deepEqual(later.map(([tag]) => tag).sort(), ['api0', 'api1']);
    for (const [tag, at] of later) {
      const wait = T0 + at - stepped;
      assert.ok(wait >= 1000 && wait < 60_000, `${tag} started ${wait} ms after the step: it waits out the 1 s push-back, not the hour`);
    }
    await scheduler.stop();
  });
});

describe('rate limits: what is not kept', () => {
  it('a schedule’s occurrence pushed back beyond its misfire grace is late: its misfire policy decides', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const events = collectEvents(scheduler, ['misfired', 'rateLimited']);
    const runs: number[] = [];
    scheduler.register('api', (job) => {
      runs.push(clock.now() - T0);
      if (runs.length === 1) job.rateLimit(5000);
    });
    await scheduler.scheduleEvery('api', 60_000, { n: 0 }, { misfireGraceMs: 1000, misfire: 'skip' });
    await clock.advance(120_000);
    assert.equal(events.of('rateLimited').length, 1);
    assert.equal(events.of('misfired')[0]?.missed, 1, "'skip': the pushed-back slot is skipped");
    assert.deepEqual(runs, [60_000, 120_000]);
    await scheduler.stop();
  });

  it('JsonFileStore keeps the windows in memory: a store opened again starts with empty windows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'godelayq-rl-'));
    try {
      const limits = { api: { max: 1, durationMs: 60_000 } };
      const request = (n: number) => ({ now: T0, limit: 10, capacity: () => 10, token: () => `t${n}-${Math.random()}`, rateLimit: (name: string) => limits[name as 'api'] });
      const context = { now: () => T0, clock: new VirtualClock(T0), wake: () => undefined, keepCompleted: 10, keepDead: 10, warn: () => undefined, maxPayloadBytes: 1 << 20 };
      const first = new JsonFileStore(join(dir, 'store'));
      await first.open(context);
      await first.insert(['a', 'b', 'c'].map((id) => ({ record: { id, name: 'api', payload: null, state: 'scheduled' as const, runAt: T0, createdAt: T0, attempt: 0, priority: 0 }, onDuplicate: 'reject' as const })));
      assert.equal((await first.claim(request(1))).jobs.length, 1);
      assert.equal((await first.claim(request(2))).jobs.length, 0);
      await first.close();
      const again = new JsonFileStore(join(dir, 'store'));
      await again.open(context);
      // The crashed-open recovery puts the running one back too: all three due, one start allowed.
      assert.equal((await again.claim(request(3))).jobs.length, 1);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
