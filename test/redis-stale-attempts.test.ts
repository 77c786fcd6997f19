/**
 * Attempts that lost their job say so (issue 12 item 6). A process frozen
 * (SIGSTOP) past its lease and then resumed aborts its handler at once,
 * instead of running it on in parallel with the job's new owner; a process
 * whose event loop was blocked past its lease gets its late outcome refused
 * AND reported (`lost`, reason 'lease'), never silently dropped; the job
 * comes back marked `lost: 'lease'` so the lost attempt is charged.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../src/redis.js';
import { Scheduler } from '../src/scheduler.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { spawnWorker, waitFor, type Worker, type WorkerEvent } from './fixtures/redis-workers.js';
import { claimNow, job, withPrefix, withStore } from './fixtures/redis-helpers.js';

describe('RedisStore: attempts that lost their lease', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('a late settle after the event loop was blocked past the lease is refused and reported (reason lease), once', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix, leaseMs: 300 }, async (store, ctx) => {
        await store.insert([{ record: job('b'), onDuplicate: 'reject' }]);
        const [claimed] = (await store.claim(claimNow())).jobs;
        // Block the event loop for longer than the lease: no renewal can run.
        const until = Date.now() + 900;
        while (Date.now() < until) {
          // busy
        }
        const settled = await store.settle('b', claimed!.token!, { ...claimed!, state: 'completed', finishedAt: Date.now() });
        assert.equal(settled, false, 'the outcome of an attempt whose lease lapsed is not recorded');
        assert.deepEqual(ctx.lostAttempts, [{ id: 'b', token: claimed!.token, reason: 'lease' }]);
        const stored = await store.get('b');
        assert.equal(stored?.state, 'scheduled');
        assert.equal(stored?.lost, 'lease');
        assert.equal(stored?.attempt, 1, 'the lost attempt is counted');
      });
    });
  });

  it('a scheduler whose attempt lost its lease aborts the handler at once, before it ends on its own, and emits lost', async () => {
    await withPrefix(server.url, async (prefix) => {
      // A 1 s lease blocked for 2.5 s, as the test below: with 300 ms, a loaded machine's pause between
      // a claim and its settle could lose the charge or the retry too (one more lost, attempt 3).
      const a = new Scheduler({ store: new RedisStore({ url: server.url, prefix, leaseMs: 1000, pollMs: 60_000 }) });
      a.on('error', () => undefined);
      const lost: { id: string; reason: string; error: string }[] = [];
      a.on('lost', ({ job, reason, error }) => lost.push({ id: job.id, reason, error: error.name }));
      const aborts: string[] = [];
      a.register('work', async (j) => {
        if (j.attempt > 1) return;
        // Freeze this process's event loop past the lease, as a long GC or a sync call would.
        const until = Date.now() + 2500;
        while (Date.now() < until) {
          // busy
        }
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, 60_000);
          j.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            aborts.push(String((j.signal.reason as Error | undefined)?.name));
            reject(j.signal.reason as Error);
          });
        });
      });
      await a.start();
      try {
        await a.scheduleIn('work', 0, {}, { id: 'frozen' });
        await waitFor(() => aborts.length > 0, 20_000, 'the handler to be aborted');
        await waitFor(async () => (await a.get('frozen'))?.state === 'completed', 20_000, 'the second run to complete');
        assert.deepEqual(aborts, ['LeaseLostError']);
        assert.deepEqual(lost, [{ id: 'frozen', reason: 'lease', error: 'LeaseLostError' }]);
        assert.equal((await a.get('frozen'))?.attempt, 2, 'the lost attempt was charged');
      } finally {
        await a.stop({ timeout: 1000 });
      }
    });
  });

  it('a handler that returns after blocking its process past the lease: its outcome is refused and a lost event says so', async () => {
    await withPrefix(server.url, async (prefix) => {
      const a = new Scheduler({ store: new RedisStore({ url: server.url, prefix, leaseMs: 1000, pollMs: 60_000 }) });
      a.on('error', () => undefined);
      const lost: string[] = [];
      const completed: number[] = [];
      a.on('lost', ({ reason }) => lost.push(reason));
      a.on('completed', ({ job }) => completed.push(job.attempt));
      a.register('work', (j) => {
        if (j.attempt > 1) return 'second';
        const until = Date.now() + 2500; // well past the lease; the lease itself is generous so a loaded machine does not lose attempt 2 too
        while (Date.now() < until) {
          // busy: no renewal can run
        }
        return 'first';
      });
      await a.start();
      try {
        await a.scheduleIn('work', 0, {}, { id: 'late' });
        await waitFor(async () => (await a.get('late'))?.state === 'completed', 10_000, 'the job to complete');
        assert.deepEqual(lost, ['lease'], 'the late outcome was reported, once');
        assert.equal((await a.get('late'))?.result, 'second', 'the late outcome was not recorded');
        assert.deepEqual(completed, [2]);
      } finally {
        await a.stop({ timeout: 1000 });
      }
    });
  });

  describe('across processes', () => {
    const workers: Worker[] = [];
    after(async () => {
      await Promise.all(workers.map((w) => w.kill()));
    });

    it('SIGSTOP past the lease, then SIGCONT: the frozen process aborts its handler as soon as it runs again; the job ran elsewhere', async () => {
      await withPrefix(server.url, async (prefix) => {
        const all: WorkerEvent[] = [];
        const config = { url: server.url, prefix, names: ['work'], leaseMs: 1000, handlerMs: 30_000, abortable: true, pollMs: 200 };
        const frozen = await spawnWorker(config, all);
        workers.push(frozen);
        const boss = new Scheduler({ store: new RedisStore({ url: server.url, prefix }) });
        await boss.start();
        try {
          await boss.scheduleIn('work', 0, {}, { id: 'job' });
          await waitFor(() => frozen.events.some((e) => e.ev === 'start'), 20_000, 'the job to start in the first process');
          frozen.pause();
          const other = await spawnWorker(config, all);
          workers.push(other);
          await waitFor(() => other.events.some((e) => e.ev === 'start' && e.id === 'job'), 20_000, 'the job to start in the second process');
          const resumedAt = Date.now();
          frozen.resume();
          await waitFor(() => frozen.events.some((e) => e.ev === 'abort'), 20_000, 'the frozen process to abort its handler');
          const abort = frozen.events.find((e) => e.ev === 'abort') as WorkerEvent;
          assert.equal(abort.attempt, 1);
          assert.ok((abort.at as number) >= resumedAt);
          assert.ok(!frozen.events.some((e) => e.ev === 'done'), 'its handler never ran to its end');
          const second = other.events.find((e) => e.ev === 'start' && e.id === 'job') as WorkerEvent;
          assert.equal(second.attempt, 2, 'the lost attempt was counted');
        } finally {
          await boss.stop();
          // Inside withPrefix: a worker left polling would write the prefix's version key again after
          // its keys are deleted, and the check that none is left would fail.
          await Promise.all(workers.map((w) => w.kill()));
        }
      });
    });
  });
});
