/**
 * pause({ everywhere: true }) / resume({ everywhere: true }) on the local
 * stores: one process uses them, so the store-wide pause is a pause the
 * store keeps — MemoryStore while the object lives, JsonFileStore on disk
 * (it survives a restart). Also the option checks, the `paused`/`resumed`
 * events and isPaused(), and the refusals of stores without the feature.
 * The many-process behaviour on RedisStore: pause-everywhere-redis.test.ts.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { MemoryStore } from '../src/store/memory.js';
import { JsonFileStore } from '../src/store/json-file.js';
import { PostgresStore } from '../src/postgres.js';
import { SchedulerStoppedError, StorePersistError, UnsupportedOptionError, ValidationError } from '../src/errors.js';
import type { PauseState } from '../src/store/store.js';
import type { SchedulerEvents } from '../src/events.js';
import { T0 } from './helpers.js';
import { removeTempDirs, tempDir } from './json-file-helpers.js';

after(removeTempDirs);

type Jobs = { work: { n: number } };
type PauseEvent = SchedulerEvents['paused'] & { type: 'paused' | 'resumed' };

function pauseLog(scheduler: Scheduler<Jobs>): PauseEvent[] {
  const log: PauseEvent[] = [];
  scheduler.on('paused', (e) => log.push({ type: 'paused', ...e }));
  scheduler.on('resumed', (e) => log.push({ type: 'resumed', ...e }));
  return log;
}

function worker(store: MemoryStore | JsonFileStore, clock: VirtualClock): { scheduler: Scheduler<Jobs>; ran: number[]; log: PauseEvent[] } {
  const scheduler = new Scheduler<Jobs>({ store, clock });
  const ran: number[] = [];
  scheduler.register('work', (job) => {
    ran.push(job.payload.n);
  });
  return { scheduler, ran, log: pauseLog(scheduler) };
}

describe('pause({ everywhere: true }) on MemoryStore', () => {
  it('starts nothing new until resume({ everywhere: true }); a local resume() does not end it', async () => {
    const clock = new VirtualClock(T0);
    const { scheduler, ran, log } = worker(new MemoryStore(), clock);
    await scheduler.start();
    await scheduler.scheduleIn('work', 0, { n: 1 });
    await clock.advance(0);
    assert.deepEqual(ran, [1], 'control: unpaused, a due job runs at once');

    const paused: Promise<void> = scheduler.pause({ everywhere: true }); // typed: a promise only with everywhere: true
    assert.ok(paused instanceof Promise);
    await paused;
    assert.equal(scheduler.isPaused(), true);
    assert.equal(scheduler.isPaused({ everywhere: true }), true);
    assert.equal(scheduler.isPaused({ everywhere: false }), false);
    assert.equal(scheduler.isPaused({}), true, 'no `everywhere`: either pause');
    await scheduler.scheduleIn('work', 1000, { n: 2 });
    await clock.advance(60_000);
    assert.deepEqual(ran, [1], 'due for a minute, not started while paused everywhere');

    scheduler.resume(); // the local pause: not the store-wide one
    await clock.advance(60_000);
    assert.deepEqual(ran, [1]);

    await scheduler.resume({ everywhere: true });
    await clock.advance(0);
    assert.deepEqual(ran, [1, 2]);
    assert.equal(scheduler.isPaused(), false);
    assert.deepEqual(log, [
      { type: 'paused', everywhere: true, origin: 'local' },
      { type: 'resumed', everywhere: true, origin: 'local' },
    ]);
    await scheduler.stop();
  });

  it('lets running attempts finish', async () => {
    const clock = new VirtualClock(T0);
    const store = new MemoryStore();
    const scheduler = new Scheduler<Jobs>({ store, clock });
    let release: () => void = () => undefined;
    const finished: number[] = [];
    scheduler.register('work', async (job) => {
      await new Promise<void>((resolve) => (release = resolve));
      finished.push(job.payload.n);
    });
    await scheduler.start();
    const job = await scheduler.scheduleIn('work', 0, { n: 1 });
    await clock.advance(0);
    assert.equal((await scheduler.get(job.id))?.state, 'running');
    await scheduler.pause({ everywhere: true });
    release();
    await scheduler.waitFor(job, { timeout: 60_000 });
    assert.deepEqual(finished, [1]);
    await scheduler.stop();
  });

  it('a scheduler that starts on a paused store stays paused (origin: remote)', async () => {
    const clock = new VirtualClock(T0);
    const store = new MemoryStore();
    const first = worker(store, clock);
    await first.scheduler.start();
    await first.scheduler.pause({ everywhere: true });
    await first.scheduler.scheduleIn('work', 0, { n: 1 });
    await first.scheduler.stop();

    const second = worker(store, clock);
    await second.scheduler.start();
    assert.equal(second.scheduler.isPaused({ everywhere: true }), true);
    assert.deepEqual(second.log, [{ type: 'paused', everywhere: true, origin: 'remote' }]);
    await clock.advance(60_000);
    assert.deepEqual(second.ran, []);
    await second.scheduler.resume({ everywhere: true });
    await clock.advance(0);
    assert.deepEqual(second.ran, [1]);
    await second.scheduler.stop();
  });
});

/**
 * A store that tells of the pause change (as a shared store's claim reply or
 * poll may) before it answers the setPaused call, then answers it or fails.
 */
class EarlyNoticeStore extends MemoryStore {
  failNext = false;
  override async setPaused(paused: boolean): Promise<PauseState> {
    const state = await super.setPaused(paused);
    this.context?.pauseChanged?.(state);
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failNext) {
      this.failNext = false;
      throw new StorePersistError('reply lost');
    }
    return state;
  }
}

describe('pause({ everywhere: true }): the store tells of the change before the call returns', () => {
  it('this process’s own pause and resume, read back by the store first, are each reported once, as local', async () => {
    const clock = new VirtualClock(T0);
    const store = new EarlyNoticeStore();
    const { scheduler, log } = worker(store, clock);
    await scheduler.start();
    await scheduler.pause({ everywhere: true });
    assert.equal(scheduler.isPaused({ everywhere: true }), true);
    await scheduler.resume({ everywhere: true });
    assert.deepEqual(log, [
      { type: 'paused', everywhere: true, origin: 'local' },
      { type: 'resumed', everywhere: true, origin: 'local' },
    ]);
    // A call that fails after the store told of its change: the change stands, reported once (as the store's).
    store.failNext = true;
    await assert.rejects(scheduler.pause({ everywhere: true }), StorePersistError);
    assert.equal(scheduler.isPaused({ everywhere: true }), true);
    assert.deepEqual(log.slice(2), [{ type: 'paused', everywhere: true, origin: 'remote' }]);
    await scheduler.stop();
  });
});

describe('pause({ everywhere: true }) on JsonFileStore', () => {
  it('survives a restart (the PAUSED file) until resumed', async () => {
    const dir = await tempDir();
    const clock = new VirtualClock(T0);
    const first = worker(new JsonFileStore(dir), clock);
    await first.scheduler.start();
    await first.scheduler.pause({ everywhere: true });
    assert.equal(existsSync(path.join(dir, 'PAUSED')), true);
    const job = await first.scheduler.scheduleIn('work', 0, { n: 1 });
    await first.scheduler.stop();

    const second = worker(new JsonFileStore(dir), clock);
    await second.scheduler.start();
    assert.equal(second.scheduler.isPaused(), true, 'paused after the restart');
    await clock.advance(60_000);
    // A durable store's claim is a write: give it real turns to happen, had the pause not held.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(second.ran, []);
    assert.equal((await second.scheduler.get(job.id))?.state, 'scheduled');
    await second.scheduler.resume({ everywhere: true });
    assert.equal(existsSync(path.join(dir, 'PAUSED')), false);
    await second.scheduler.waitFor(job, { timeout: 60_000 });
    assert.deepEqual(second.ran, [1], 'control: resumed, the same job runs');
    await second.scheduler.stop();

    const third = worker(new JsonFileStore(dir), clock);
    await third.scheduler.start();
    assert.equal(third.scheduler.isPaused(), false, 'the resume survived too');
    assert.deepEqual(third.log, []);
    await third.scheduler.stop();
  });
});

describe('pause() / resume() options and events', () => {
  it('a local pause()/resume() emits paused/resumed with everywhere: false, once per change', async () => {
    const clock = new VirtualClock(T0);
    const { scheduler, log } = worker(new MemoryStore(), clock);
    await scheduler.start();
    const none: void = scheduler.pause();
    assert.equal(none, undefined);
    scheduler.pause();
    assert.equal(scheduler.isPaused(), true);
    assert.equal(scheduler.isPaused({ everywhere: true }), false);
    scheduler.resume({ everywhere: false });
    scheduler.resume();
    assert.deepEqual(log, [
      { type: 'paused', everywhere: false, origin: 'local' },
      { type: 'resumed', everywhere: false, origin: 'local' },
    ]);
    await scheduler.stop();
  });

  it('rejects bad options with ValidationError and changes nothing', async () => {
    const clock = new VirtualClock(T0);
    const { scheduler } = worker(new MemoryStore(), clock);
    await scheduler.start();
    assert.throws(() => scheduler.pause({ everywhere: 'yes' as unknown as boolean }), (e: unknown) => e instanceof ValidationError && e.message === 'Expected `options.everywhere` to be a boolean, got "yes"');
    assert.throws(() => scheduler.resume('all' as unknown as object), (e: unknown) => e instanceof ValidationError && /Expected `options` to be an options object, got "all"/.test(e.message));
    await assert.rejects(
      scheduler.pause({ everywhere: true, names: ['work'] } as unknown as { everywhere: true }),
      (e: unknown) => e instanceof ValidationError && /Unknown option `options.names` \(expected one of everywhere\)/.test(e.message),
    );
    assert.throws(() => scheduler.isPaused({ everywhere: 1 as unknown as boolean }), ValidationError);
    assert.equal(scheduler.isPaused(), false, 'nothing changed');
    await scheduler.stop();
    await assert.rejects(scheduler.pause({ everywhere: true }), SchedulerStoppedError);
  });

  it('a store without the features refuses pause({ everywhere: true }) and remoteEvents with UnsupportedOptionError (PostgresStore has both: postgres-control.test.ts)', async () => {
    class PlainStore extends MemoryStore {
      override readonly features = {};
    }
    const scheduler = new Scheduler<Jobs>({ store: new PlainStore() });
    await assert.rejects(
      scheduler.pause({ everywhere: true }),
      (e: unknown) => e instanceof UnsupportedOptionError && /`options.everywhere: true` only with a store that supports pauseEverywhere \(MemoryStore, JsonFileStore, RedisStore, PostgresStore\), got it with PlainStore/.test(e.message),
    );
    assert.throws(
      () => new Scheduler<Jobs>({ store: new PlainStore(), remoteEvents: true }),
      (e: unknown) => e instanceof UnsupportedOptionError && /`options.remoteEvents: true` only with a store that supports remoteEvents \(RedisStore, PostgresStore\), got it with PlainStore/.test(e.message),
    );
    const postgres = new PostgresStore({ connectionString: 'postgres://localhost:1/none' });
    assert.deepEqual([postgres.features.pauseEverywhere, postgres.features.remoteEvents], [true, true]);
    assert.doesNotThrow(() => new Scheduler<Jobs>({ store: postgres, remoteEvents: true }));
  });

  it('remoteEvents: local stores refuse it (one process: nothing is remote); a non-boolean is a ValidationError', () => {
    assert.throws(() => new Scheduler<Jobs>({ store: new MemoryStore(), remoteEvents: true }), UnsupportedOptionError);
    assert.throws(() => new Scheduler<Jobs>({ remoteEvents: 'yes' as unknown as boolean }), (e: unknown) => e instanceof ValidationError && e.message === 'Expected `options.remoteEvents` to be a boolean, got "yes"');
    assert.doesNotThrow(() => new Scheduler<Jobs>({ store: new MemoryStore(), remoteEvents: false }));
  });
});
