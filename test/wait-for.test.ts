/**
 * scheduler.waitFor(): the typed result of a job, or its final error, for a
 * job that finishes later, one already finished, one cancelled; timeouts,
 * abort signals, stop(), bad input; the same through a JsonFileStore restart.
 * (RedisStore and PostgresStore, a job finished in another process: wait-for-shared.test.ts.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Scheduler } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import { JsonFileStore } from '../src/store/json-file.js';
import {
  JobCancelledError,
  JobFailedError,
  JobNotFoundError,
  SchedulerStoppedError,
  UnrecoverableError,
  ValidationError,
  WaitTimeoutError,
} from '../src/errors.js';
import type { JsonValue } from '../src/types.js';
import { T0, noUnhandledRejections, until } from './helpers.js';

type Jobs = { 'report.build': { day: string }; 'mail.send': { to: string }; tick: null };
type Results = { 'report.build': { rows: number } };

async function setup(): Promise<{ scheduler: Scheduler<Jobs, Results>; clock: VirtualClock }> {
  const clock = new VirtualClock(T0);
  const scheduler = new Scheduler<Jobs, Results>({ clock, retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 1000 } } });
  await scheduler.start();
  return { scheduler, clock };
}

/** Settled state of a promise without waiting for it. */
function track<T>(promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const out: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => {
      out.state = 'resolved';
      out.value = value;
    },
    (error: unknown) => {
      out.state = 'rejected';
      out.error = error;
    },
  );
  return out;
}

describe('waitFor', () => {
  it('resolves with the typed result when the job completes, not before', async () => {
    const { scheduler, clock } = await setup();
    scheduler.register('report.build', (job) => ({ rows: job.payload.day.length }));
    const job = await scheduler.scheduleIn('report.build', 5000, { day: '2027-01-01' });
    const waiting = scheduler.waitFor(job);
    const seen = track(waiting);
    await clock.advance(4999);
    assert.equal(seen.state, 'pending');
    await clock.advance(1);
    const result = await waiting;
    // Typed by the result map through the JobInfo's name: no cast needed.
    const rows: number = result.rows;
    assert.equal(rows, 10);
    assert.equal(scheduler.listenerCount('completed'), 0, 'no listener is left behind');
    await scheduler.stop();
  });

  it('answers at once for a job already finished, by id', async () => {
    const { scheduler, clock } = await setup();
    scheduler.register('report.build', () => ({ rows: 3 }));
    const job = await scheduler.scheduleIn('report.build', 0, { day: 'd' });
    await clock.advance(0);
    assert.equal((await scheduler.get(job.id))?.state, 'completed');
    const result = await scheduler.waitFor<'report.build'>(job.id);
    assert.deepEqual(result, { rows: 3 });
    await scheduler.stop();
  });

  it('resolves undefined for a handler that returns nothing, and any JSON when no result type is declared', async () => {
    const { scheduler, clock } = await setup();
    scheduler.register('mail.send', () => undefined);
    scheduler.register('tick', () => undefined);
    const a = await scheduler.scheduleIn('mail.send', 10, { to: 'x' });
    const waiting: Promise<JsonValue | undefined> = scheduler.waitFor(a);
    await clock.advance(10);
    assert.equal(await waiting, undefined);
    await scheduler.stop();
  });

  it('rejects with JobFailedError whose cause is the thrown error once the job is dead (after its retries)', async () => {
    const { scheduler, clock } = await setup();
    const thrown: Error[] = [];
    scheduler.register('mail.send', () => {
      const error = new TypeError(`smtp down ${thrown.length}`);
      thrown.push(error);
      throw error;
    });
    const job = await scheduler.scheduleIn('mail.send', 0, { to: 'x' });
    const seen = track(scheduler.waitFor(job));
    await clock.advance(0);
    assert.equal(seen.state, 'pending', 'a failed attempt that will be retried is not the end');
    await clock.advance(1000);
    await until(() => seen.state !== 'pending');
    assert.equal(seen.state, 'rejected');
    const error = seen.error as JobFailedError;
    assert.ok(error instanceof JobFailedError);
    assert.equal(error.code, 'ERR_JOB_FAILED');
    assert.equal(error.jobId, job.id);
    assert.equal(error.attempt, 2);
    assert.equal(error.cause, thrown[1], 'the last attempt’s own error');
    assert.match(error.message, /dead after attempt 2: TypeError: smtp down 1/);
    await scheduler.stop();
  });

  it('rejects a job already dead with its stored last error', async () => {
    const { scheduler, clock } = await setup();
    scheduler.register('mail.send', () => {
      throw new UnrecoverableError('no such mailbox');
    });
    const job = await scheduler.scheduleIn('mail.send', 0, { to: 'x' });
    await clock.advance(0);
    const error = await scheduler.waitFor(job).then(
      () => assert.fail('expected a rejection'),
      (e: unknown) => e as JobFailedError,
    );
    assert.ok(error instanceof JobFailedError);
    assert.equal((error.cause as Error).name, 'UnrecoverableError');
    assert.equal((error.cause as Error).message, 'no such mailbox');
    await scheduler.stop();
  });

  it('rejects with JobCancelledError when the job is cancelled, before or while waiting', async () => {
    const { scheduler } = await setup();
    const a = await scheduler.scheduleIn('mail.send', 1000, { to: 'a' });
    const b = await scheduler.scheduleIn('mail.send', 1000, { to: 'b' });
    const waitA = scheduler.waitFor(a);
    await scheduler.cancel(a.id);
    await assert.rejects(waitA, (e: unknown) => e instanceof JobCancelledError && e.code === 'ERR_JOB_CANCELLED' && e.jobId === a.id);
    await scheduler.cancel(b.id);
    await assert.rejects(scheduler.waitFor(b), JobCancelledError);
    await scheduler.stop();
  });

  it('times out on the scheduler’s clock with WaitTimeoutError and leaves the job alone', async () => {
    const { scheduler, clock } = await setup();
    scheduler.register('report.build', () => ({ rows: 1 }));
    const job = await scheduler.scheduleIn('report.build', 10_000, { day: 'd' });
    const seen = track(scheduler.waitFor(job, { timeout: 3000 }));
    await clock.advance(2999);
    assert.equal(seen.state, 'pending');
    await clock.advance(1);
    assert.equal(seen.state, 'rejected');
    assert.ok(seen.error instanceof WaitTimeoutError);
    assert.equal(seen.error.timeout, 3000);
    assert.equal((await scheduler.get(job.id))?.state, 'scheduled');
    await clock.advance(7000);
    assert.equal((await scheduler.get(job.id))?.state, 'completed');
    await scheduler.stop();
  });

  it('rejects with the signal’s reason when it aborts (and at once when already aborted)', async () => {
    const { scheduler } = await setup();
    const job = await scheduler.scheduleIn('mail.send', 10_000, { to: 'x' });
    const controller = new AbortController();
    const waiting = scheduler.waitFor(job, { signal: controller.signal });
    const reason = new Error('user left');
    controller.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    await assert.rejects(scheduler.waitFor(job, { signal: AbortSignal.abort('gone') }), (e) => e === 'gone');
    assert.equal(scheduler.listenerCount('cancelled'), 0);
    await scheduler.stop();
  });

  it('rejects pending waits with SchedulerStoppedError when the scheduler stops', async () => {
    await noUnhandledRejections(async () => {
      const { scheduler } = await setup();
      const job = await scheduler.scheduleIn('mail.send', 10_000, { to: 'x' });
      const waiting = scheduler.waitFor(job, { timeout: 60_000 });
      await scheduler.stop();
      await assert.rejects(waiting, SchedulerStoppedError);
      await assert.rejects(scheduler.waitFor(job), SchedulerStoppedError);
    });
  });

  it('refuses bad input with ValidationError, an unknown id with JobNotFoundError, a schedule with ValidationError', async () => {
    const { scheduler } = await setup();
    const job = await scheduler.scheduleIn('mail.send', 10_000, { to: 'x' });
    await assert.rejects(scheduler.waitFor(''), /Expected `id` to be a non-empty string/);
    await assert.rejects(scheduler.waitFor(42 as never), ValidationError);
    await assert.rejects(scheduler.waitFor(job, { timeout: -1 }), /Expected `options.timeout` to be a finite number of ms >= 0, got -1/);
    await assert.rejects(scheduler.waitFor(job, { timeout: Number.NaN }), ValidationError);
    await assert.rejects(scheduler.waitFor(job, { signal: {} as never }), /Expected `options.signal` to be an AbortSignal/);
    await assert.rejects(scheduler.waitFor(job, { nope: 1 } as never), /Unknown option `options.nope`/);
    await assert.rejects(scheduler.waitFor(job, 'x' as never), /Expected `options` to be an options object/);
    await assert.rejects(scheduler.waitFor('missing'), (e: unknown) => e instanceof JobNotFoundError && /missing/.test(e.message));
    const every = await scheduler.scheduleEvery('tick', 1000, null, { id: 'ticker' });
    await assert.rejects(scheduler.waitFor(every), /Expected `id` to name a one-off job, got the schedule `ticker`/);
    assert.equal(scheduler.listenerCount('completed'), 0);
    await scheduler.stop();
  });

  it('several waiters of one job all get the answer', async () => {
    const { scheduler, clock } = await setup();
    scheduler.register('report.build', () => ({ rows: 7 }));
    const job = await scheduler.scheduleIn('report.build', 100, { day: 'd' });
    const all = Promise.all([scheduler.waitFor(job), scheduler.waitFor(job.id), scheduler.waitFor(job, { timeout: 1000 })]);
    await clock.advance(100);
    assert.deepEqual(await all, [{ rows: 7 }, { rows: 7 }, { rows: 7 }]);
    await scheduler.stop();
  });
});

describe('waitFor with JsonFileStore', () => {
  it('answers from the stored result after a restart', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'godelayq-waitfor-'));
    try {
      const clock = new VirtualClock(T0);
      const first = new Scheduler<Jobs, Results>({ clock, store: new JsonFileStore(dir) });
      first.register('report.build', () => ({ rows: 42 }));
      await first.start();
      const ok = await first.scheduleIn('report.build', 0, { day: 'd' });
      const waiting = first.waitFor(ok);
      await clock.advance(0);
      assert.deepEqual(await waiting, { rows: 42 });
      const bad = await first.scheduleIn('mail.send', 0, { to: 'x' }, { retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
      first.register('mail.send', () => {
        throw new RangeError('quota');
      });
      await clock.advance(0);
      await until(async () => (await first.get(bad.id))?.state === 'dead');
      await first.stop();

      const second = new Scheduler<Jobs, Results>({ clock, store: new JsonFileStore(dir) });
      await second.start();
      assert.deepEqual(await second.waitFor(ok), { rows: 42 });
      const error = await second.waitFor(bad).then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e as JobFailedError,
      );
      assert.ok(error instanceof JobFailedError);
      assert.equal((error.cause as Error).name, 'RangeError');
      assert.equal((error.cause as Error).message, 'quota');
      await second.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
