/**
 * Retries: exact backoff timing on a VirtualClock, policy precedence,
 * UnrecoverableError, events, `retry(id)` and retention of finished jobs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JobNotFoundError, UnrecoverableError } from '../src/errors.js';
import type { SchedulerEvents } from '../src/events.js';
import type { HandlerRetryOptions } from '../src/types.js';
import { T0, record, virtualScheduler } from './helpers.js';

type Jobs = {
  a: { n: number };
  b: { n: number };
};

/** Start times (relative to T0) and attempt numbers of every attempt. */
function starts(scheduler: Awaited<ReturnType<typeof virtualScheduler<Jobs>>>['scheduler'], clock: { now(): number }): { at: number; attempt: number; id: string }[] {
  const out: { at: number; attempt: number; id: string }[] = [];
  scheduler.on('started', (e) => out.push({ at: clock.now() - T0, attempt: e.job.attempt, id: e.job.id }));
  return out;
}

const alwaysFail = (): never => {
  throw new Error('fail');
};

describe('backoff timing', () => {
  it('fixed: every retry waits `delay`; maxRetries 2 means 3 attempts, then dead', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen = starts(scheduler, clock);
    scheduler.register('a', alwaysFail, { retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 1000 } } });
    const info = await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(1_000_000);
    assert.deepEqual(
      seen.map((s) => [s.at, s.attempt]),
      [
        [0, 1],
        [1000, 2],
        [2000, 3],
      ],
    );
    const job = await scheduler.get(info.id);
    assert.equal(job?.state, 'dead');
    assert.equal(job?.attempt, 3);
    assert.equal(job?.maxRetries, 2);
    await scheduler.stop();
  });

  it('exponential with factor and maxDelay: retry n waits min(maxDelay, delay × factor^(n−1))', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['retrying']);
    const seen = starts(scheduler, clock);
    scheduler.register('a', alwaysFail, { retry: { maxRetries: 5, backoff: { type: 'exponential', delay: 100, factor: 3, maxDelay: 1000 } } });
    await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(1_000_000);
    assert.deepEqual(
      seen.map((s) => s.at),
      [0, 100, 400, 1300, 2300, 3300],
    );
    assert.deepEqual(
      log.map((e) => (e.payload as SchedulerEvents['retrying']).delay),
      [100, 300, 900, 1000, 1000],
    );
    await scheduler.stop();
  });

  it('exponential factor defaults to 2', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen = starts(scheduler, clock);
    scheduler.register('a', alwaysFail);
    await scheduler.scheduleIn('a', 0, { n: 1 }, { retry: { maxRetries: 4, backoff: { type: 'exponential', delay: 250 } } });
    await clock.advance(1_000_000);
    assert.deepEqual(
      seen.map((s) => s.at),
      [0, 250, 750, 1750, 3750],
    );
    await scheduler.stop();
  });

  it('the scheduler default is 3 retries, exponential from 1000 ms', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen = starts(scheduler, clock);
    scheduler.register('a', alwaysFail);
    const info = await scheduler.scheduleIn('a', 0, { n: 1 });
    assert.equal(info.maxRetries, 3);
    await clock.advance(1_000_000);
    assert.deepEqual(
      seen.map((s) => s.at),
      [0, 1000, 3000, 7000],
    );
    assert.equal((await scheduler.get(info.id))?.state, 'dead');
    await scheduler.stop();
  });

  it('maxRetries 0 never retries', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen = starts(scheduler, clock);
    scheduler.register('a', alwaysFail, { retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    const info = await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(1_000_000);
    assert.equal(seen.length, 1);
    assert.equal((await scheduler.get(info.id))?.state, 'dead');
    await scheduler.stop();
  });

  for (const [label, backoff, d] of [
    ['jitter 0.5', { type: 'exponential', delay: 1000, jitter: 0.5 }, 1000],
    ['jitter 1', { type: 'exponential', delay: 1000, jitter: 1 }, 1000],
    ['jitter 0.25 on a capped delay', { type: 'exponential', delay: 4000, factor: 10, maxDelay: 1500, jitter: 0.25 }, 1500],
  ] as const) {
    it(`${label}: each wait is in [(1 − jitter) × d, d], and the retry starts exactly then`, async () => {
      const { scheduler, clock } = await virtualScheduler<Jobs>({ concurrency: 100 });
      const nextRunAt = new Map<string, number>();
      const failedAt = new Map<string, number>();
      const retriedAt = new Map<string, number>();
      scheduler.on('failed', (e) => {
        failedAt.set(e.job.id, clock.now());
        nextRunAt.set(e.job.id, e.nextRunAt!.getTime());
      });
      scheduler.register(
        'a',
        (job) => {
          if (job.attempt === 1) throw new Error('once');
          retriedAt.set(job.id, clock.now());
        },
        { retry: { maxRetries: 1, backoff } },
      );
      const n = 60;
      for (let i = 0; i < n; i++) await scheduler.scheduleIn('a', 0, { n: i });
      await clock.advance(10_000);
      assert.equal(retriedAt.size, n);
      const waits: number[] = [];
      for (const [id, at] of retriedAt) {
        const wait = at - failedAt.get(id)!;
        waits.push(wait);
        assert.ok(wait >= (1 - backoff.jitter) * d && wait <= d, `wait ${wait} outside [${(1 - backoff.jitter) * d}, ${d}]`);
        assert.ok(at >= nextRunAt.get(id)!, 'a retry never starts before its announced nextRunAt');
        assert.ok(at - nextRunAt.get(id)! < 1, 'a retry starts at its announced nextRunAt');
      }
      assert.ok(new Set(waits).size > n / 2, 'the waits are spread, not one value');
      await scheduler.stop();
    });
  }
});

describe('custom backoff functions', () => {
  for (const level of ['register', 'constructor'] as const) {
    it(`at ${level} level: called with (retry number, the thrown error); its result is the wait`, async () => {
      const calls: [number, Error][] = [];
      const retry: HandlerRetryOptions = {
        maxRetries: 3,
        backoff: (attempt, error) => {
          calls.push([attempt, error]);
          return attempt * 70;
        },
      };
      const { scheduler, clock } = await virtualScheduler<Jobs>(level === 'constructor' ? { retry } : {});
      const seen = starts(scheduler, clock);
      const thrown: Error[] = [];
      scheduler.register(
        'a',
        (job) => {
          const error = new Error(`fail ${job.attempt}`);
          thrown.push(error);
          throw error;
        },
        level === 'register' ? { retry } : {},
      );
      const info = await scheduler.scheduleIn('a', 0, { n: 1 });
      await clock.advance(1_000_000);
      assert.deepEqual(
        seen.map((s) => s.at),
        [0, 70, 210, 420],
      );
      assert.deepEqual(
        calls.map(([n]) => n),
        [1, 2, 3],
      );
      for (let i = 0; i < 3; i++) assert.equal(calls[i]![1], thrown[i], 'the backoff gets the thrown error itself');
      const job = await scheduler.get(info.id);
      assert.equal(job?.state, 'dead');
      assert.equal(job?.maxRetries, 3);
      await scheduler.stop();
    });
  }

  it('a backoff function gets an Error even when the handler throws a non-Error', async () => {
    const got: unknown[] = [];
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register(
      'a',
      () => {
        throw 'a string';
      },
      {
        retry: {
          maxRetries: 1,
          backoff: (_n, error) => {
            got.push(error);
            return 5;
          },
        },
      },
    );
    await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(100);
    assert.equal(got.length, 1);
    assert.ok(got[0] instanceof Error);
    assert.match((got[0] as Error).message, /a string/);
    await scheduler.stop();
  });
});

describe('policy precedence', () => {
  it('per-job retry overrides the handler’s, which overrides the scheduler’s', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 4, backoff: { type: 'fixed', delay: 10 } } });
    const seen = starts(scheduler, clock);
    scheduler.register('a', alwaysFail);
    scheduler.register('b', alwaysFail, { retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 20 } } });
    const fromScheduler = await scheduler.scheduleIn('a', 0, { n: 1 });
    const fromHandler = await scheduler.scheduleIn('b', 0, { n: 2 });
    const fromJob = await scheduler.scheduleIn('b', 0, { n: 3 }, { retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 30 } } });
    const fromJobOverScheduler = await scheduler.scheduleIn('a', 0, { n: 4 }, { retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    assert.deepEqual(
      [fromScheduler, fromHandler, fromJob, fromJobOverScheduler].map((j) => j.maxRetries),
      [4, 2, 1, 0],
    );
    await clock.advance(1_000_000);
    const timesOf = (id: string): number[] => seen.filter((s) => s.id === id).map((s) => s.at);
    assert.deepEqual(timesOf(fromScheduler.id), [0, 10, 20, 30, 40]);
    assert.deepEqual(timesOf(fromHandler.id), [0, 20, 40]);
    assert.deepEqual(timesOf(fromJob.id), [0, 30]);
    assert.deepEqual(timesOf(fromJobOverScheduler.id), [0]);
    for (const j of [fromScheduler, fromHandler, fromJob, fromJobOverScheduler]) assert.equal((await scheduler.get(j.id))?.state, 'dead');
    await scheduler.stop();
  });
});

describe('UnrecoverableError and events', () => {
  it('UnrecoverableError goes straight to dead: one attempt, failed(willRetry false), dead, no retrying', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ retry: { maxRetries: 5, backoff: { type: 'fixed', delay: 10 } } });
    const log = record(scheduler, clock, ['started', 'failed', 'retrying', 'dead']);
    const boom = new UnrecoverableError('order gone');
    scheduler.register('a', () => {
      throw boom;
    });
    const info = await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(1000);
    assert.deepEqual(
      log.map((e) => [e.type, e.at - T0]),
      [
        ['started', 0],
        ['failed', 0],
        ['dead', 0],
      ],
    );
    const failed = log[1]!.payload as SchedulerEvents['failed'];
    assert.equal(failed.error, boom);
    assert.equal(failed.willRetry, false);
    assert.equal('nextRunAt' in failed, false);
    const job = await scheduler.get(info.id);
    assert.equal(job?.state, 'dead');
    assert.deepEqual(job?.lastError, { name: 'UnrecoverableError', message: 'order gone' });
    await scheduler.stop();
  });

  it('a subclass of UnrecoverableError is unrecoverable too', async () => {
    class OrderGone extends UnrecoverableError {}
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen = starts(scheduler, clock);
    scheduler.register('a', () => {
      throw new OrderGone('gone');
    });
    const info = await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(1_000_000);
    assert.equal(seen.length, 1);
    assert.deepEqual((await scheduler.get(info.id))?.lastError, { name: 'OrderGone', message: 'gone' });
    await scheduler.stop();
  });

  it('retries keep the job id; failed/retrying/dead carry the documented payloads', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const log = record(scheduler, clock, ['scheduled', 'started', 'failed', 'retrying', 'dead', 'completed']);
    const ids = new Set<string>();
    const errors: Error[] = [];
    scheduler.register(
      'a',
      (job) => {
        ids.add(job.id);
        const error = new RangeError(`attempt ${job.attempt}`);
        errors.push(error);
        throw error;
      },
      { retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 500 } } },
    );
    const info = await scheduler.scheduleIn('a', 100, { n: 7 });
    await clock.advance(10_000);
    assert.deepEqual([...ids], [info.id]);
    assert.deepEqual(
      log.map((e) => [e.type, e.id, e.at - T0]),
      [
        ['scheduled', info.id, 0],
        ['started', info.id, 100],
        ['failed', info.id, 100],
        ['retrying', info.id, 100],
        ['started', info.id, 600],
        ['failed', info.id, 600],
        ['dead', info.id, 600],
      ],
    );
    const failed1 = log[2]!.payload as SchedulerEvents['failed'];
    assert.equal(failed1.error, errors[0]);
    assert.equal(failed1.willRetry, true);
    assert.equal(failed1.nextRunAt?.getTime(), T0 + 600);
    assert.equal(failed1.job.state, 'scheduled');
    assert.equal(failed1.job.attempt, 1);
    // The event describes the attempt that failed (due at +100); the retry is nextRunAt.
    assert.equal(failed1.job.runAt.getTime(), T0 + 100);
    assert.deepEqual(failed1.job.lastError, { name: 'RangeError', message: 'attempt 1' });
    assert.deepEqual(failed1.job.payload, { n: 7 });

    const retrying = log[3]!.payload as SchedulerEvents['retrying'];
    assert.equal(retrying.attempt, 2);
    assert.equal(retrying.delay, 500);
    assert.equal(retrying.nextRunAt.getTime(), T0 + 600);
    assert.equal(retrying.job.id, info.id);

    const failed2 = log[5]!.payload as SchedulerEvents['failed'];
    assert.equal(failed2.error, errors[1]);
    assert.equal(failed2.willRetry, false);
    assert.equal(failed2.nextRunAt, undefined);
    assert.equal(failed2.job.state, 'dead');

    const dead = log[6]!.payload as SchedulerEvents['dead'];
    assert.equal(dead.error, errors[1]);
    assert.equal(dead.job.state, 'dead');
    assert.equal(dead.job.attempt, 2);
    assert.deepEqual(dead.job.lastError, { name: 'RangeError', message: 'attempt 2' });

    assert.equal((await scheduler.list()).length, 1, 'a retry does not create a new job');
    await scheduler.stop();
  });

  it('a job that fails then succeeds completes on attempt 2 with its result', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    scheduler.register(
      'a',
      (job) => {
        if (job.attempt === 1) throw new Error('flaky');
        return 'ok';
      },
      { retry: { maxRetries: 3, backoff: { type: 'fixed', delay: 50 } } },
    );
    const info = await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(50);
    const job = await scheduler.get(info.id);
    assert.equal(job?.state, 'completed');
    assert.equal(job?.attempt, 2);
    assert.equal(job?.result, 'ok');
    await scheduler.stop();
  });
});

describe('retry(id)', () => {
  it('puts a dead job back to scheduled, now, with attempts reset (full retry budget again)', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    const seen = starts(scheduler, clock);
    const log = record(scheduler, clock, ['scheduled']);
    scheduler.register('a', alwaysFail, { retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 10 } } });
    const info = await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(1000);
    assert.equal((await scheduler.get(info.id))?.state, 'dead');
    const revived = await scheduler.retry(info.id);
    assert.equal(revived.id, info.id);
    assert.equal(revived.state, 'scheduled');
    assert.equal(revived.attempt, 0);
    assert.equal(revived.runAt.getTime(), T0 + 1000);
    assert.deepEqual(revived.payload, { n: 1 });
    assert.deepEqual(
      log.map((e) => [e.id, e.at - T0]),
      [
        [info.id, 0],
        [info.id, 1000],
      ],
    );
    await clock.advance(1000);
    assert.deepEqual(
      seen.map((s) => [s.at, s.attempt]),
      [
        [0, 1],
        [10, 2],
        [1000, 1],
        [1010, 2],
      ],
    );
    assert.equal((await scheduler.get(info.id))?.state, 'dead');
    await scheduler.stop();
  });

  it('{ at } runs it at that time, not before', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    let fail = true;
    const ran: number[] = [];
    scheduler.register(
      'a',
      () => {
        ran.push(clock.now() - T0);
        if (fail) throw new Error('x');
      },
      { retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } },
    );
    const info = await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(0);
    fail = false;
    const revived = await scheduler.retry(info.id, { at: new Date(T0 + 5000) });
    assert.equal(revived.runAt.getTime(), T0 + 5000);
    await clock.advance(4999);
    assert.deepEqual(ran, [0]);
    await clock.advance(1);
    assert.deepEqual(ran, [0, 5000]);
    const job = await scheduler.get(info.id);
    assert.equal(job?.state, 'completed');
    assert.equal(job?.attempt, 1);
    await scheduler.stop();
  });

  it('revives a cancelled job; refuses scheduled, completed and unknown jobs with JobNotFoundError', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>();
    let runs = 0;
    scheduler.register('a', () => {
      runs++;
    });
    const cancelled = await scheduler.scheduleIn('a', 100, { n: 1 });
    await scheduler.cancel(cancelled.id);
    const pending = await scheduler.scheduleIn('a', 10_000, { n: 2 });
    const done = await scheduler.scheduleIn('a', 0, { n: 3 });
    await clock.advance(0);
    assert.equal(runs, 1);
    await assert.rejects(scheduler.retry(pending.id), JobNotFoundError);
    await assert.rejects(scheduler.retry(done.id), JobNotFoundError);
    await assert.rejects(scheduler.retry('nope'), JobNotFoundError);
    assert.equal((await scheduler.get(pending.id))?.state, 'scheduled');
    assert.equal((await scheduler.get(done.id))?.state, 'completed');
    const revived = await scheduler.retry(cancelled.id);
    assert.equal(revived.state, 'scheduled');
    await clock.advance(0);
    assert.equal(runs, 2);
    await scheduler.stop();
  });
});

describe('retention', () => {
  it('keepDead drops the oldest dead jobs', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ keepDead: 2, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    scheduler.register('a', alwaysFail);
    for (let i = 1; i <= 4; i++) await scheduler.scheduleIn('a', i * 10, { n: i }, { id: `d${i}` });
    await clock.advance(100);
    assert.deepEqual(
      (await scheduler.list({ state: 'dead' })).map((j) => j.id),
      ['d3', 'd4'],
    );
    assert.equal(await scheduler.get('d1'), undefined);
    assert.equal(await scheduler.get('d2'), undefined);
    assert.equal(scheduler.stats().dead, 2);
    await scheduler.stop();
  });

  it('keepCompleted drops the oldest completed jobs; dead jobs are counted separately', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ keepCompleted: 2, retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
    scheduler.register('a', () => 'ok');
    scheduler.register('b', alwaysFail);
    for (let i = 1; i <= 5; i++) await scheduler.scheduleIn('a', i * 10, { n: i }, { id: `c${i}` });
    await scheduler.scheduleIn('b', 5, { n: 0 }, { id: 'dead' });
    await clock.advance(100);
    assert.deepEqual(
      (await scheduler.list({ state: 'completed' })).map((j) => j.id),
      ['c4', 'c5'],
    );
    assert.equal(await scheduler.get('c1'), undefined);
    assert.equal((await scheduler.get('dead'))?.state, 'dead');
    assert.equal(scheduler.stats().completed, 2);
    await scheduler.stop();
  });

  it('keepCompleted 0 keeps no finished job', async () => {
    const { scheduler, clock } = await virtualScheduler<Jobs>({ keepCompleted: 0 });
    scheduler.register('a', () => 'ok');
    const info = await scheduler.scheduleIn('a', 0, { n: 1 });
    await clock.advance(0);
    assert.equal(await scheduler.get(info.id), undefined);
    assert.equal((await scheduler.list()).length, 0);
    await scheduler.stop();
  });
});
