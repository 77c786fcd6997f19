/**
 * A lost lease counts as a failed attempt (issue 12 item 3). The store
 * brings a job whose lease lapsed back as `scheduled` with `lost: 'lease'`
 * (attempt kept); the scheduler that next claims it charges that attempt to
 * the retry policy with a LeaseLostError, so a job that always outlives its
 * lease (a handler that blocks its process, a process that keeps dying) ends
 * `dead` after its retries instead of running again and again: the same
 * rule as JsonFileStore's crash rule.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../src/redis.js';
import { Scheduler } from '../src/scheduler.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { spawnWorker, waitFor, type Worker, type WorkerEvent } from './fixtures/redis-workers.js';
import { withPrefix } from './fixtures/redis-helpers.js';

describe('RedisStore: a lost lease is a failed attempt', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('a handler that always blocks its process past the lease runs maxRetries + 1 times, then the job is dead with a LeaseLostError', async () => {
    await withPrefix(server.url, async (prefix) => {
      const scheduler = new Scheduler({ store: new RedisStore({ url: server.url, prefix, leaseMs: 300 }) });
      scheduler.on('error', () => undefined);
      let runs = 0;
      scheduler.register('stuck', async () => {
        runs++;
        const until = Date.now() + 700;
        while (Date.now() < until) {
          // a sync call that outlives the lease
        }
        await new Promise((r) => setTimeout(r, 10));
      });
      await scheduler.start();
      try {
        await scheduler.scheduleIn('stuck', 0, {}, { id: 'stuck', retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 10 } } });
        await waitFor(async () => (await scheduler.get('stuck'))?.state === 'dead', 30_000, 'the job to end dead');
        const info = await scheduler.get('stuck');
        assert.equal(info?.lastError?.name, 'LeaseLostError');
        assert.ok(runs >= 1 && runs <= 3, `ran ${runs} times for maxRetries 2`);
      } finally {
        await scheduler.stop({ timeout: 1000 });
      }
    });
  });

  describe('across processes', () => {
    const workers: Worker[] = [];
    after(async () => {
      await Promise.all(workers.map((w) => w.kill()));
    });

    it('a job that kills every process running it (kill -9 while it runs) ends dead after its retries', async () => {
      await withPrefix(server.url, async (prefix) => {
        const all: WorkerEvent[] = [];
        // A 2 s lease, as the PostgreSQL twin has: with 500 ms, a freshly spawned worker paused between
        // its claim and the settle of the lost attempt's charge lost that lease too (one start short).
        const config = { url: server.url, prefix, names: ['poison'], leaseMs: 2000, pollMs: 100, handlerMs: 60_000 };
        const boss = new Scheduler({ store: new RedisStore({ url: server.url, prefix, pollMs: 100 }) });
        boss.on('error', () => undefined);
        await boss.start();
        try {
          await boss.scheduleIn('poison', 0, {}, { id: 'poison', retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 10 } } });
          for (let round = 0; round < 4; round++) {
            const state = (await boss.get('poison'))?.state;
            if (state === 'dead') break;
            const worker = await spawnWorker(config, all);
            workers.push(worker);
            let dead = false;
            await waitFor(
              async () => worker.events.some((e) => e.ev === 'start') || (dead = (await boss.get('poison'))?.state === 'dead'),
              60_000,
              'the worker to start the job, or the job to be dead',
            );
            await worker.kill();
            if (dead) break;
          }
          await waitFor(async () => (await boss.get('poison'))?.state === 'dead', 60_000, 'the job to end dead');
          assert.equal((await boss.get('poison'))?.lastError?.name, 'LeaseLostError');
          const starts = all.filter((e) => e.ev === 'start').length;
          assert.equal(starts, 2, `started ${starts} times for maxRetries 1`);
        } finally {
          await boss.stop();
        }
      });
    });
  });
});
