/**
 * Lowering retention on a RedisStore that holds many finished jobs. Found
 * 5 December 2026: the next completion dropped the whole excess in its one
 * script, and Redis runs one script at a time. 1e5 completed jobs kept, then
 * `keepCompleted: 1000`: one ~0.9 s script (.tmp/redis-trim.ts, untracked);
 * past Redis's 5 s script limit every client of the server gets BUSY. Now a
 * script drops at most 1000 (TRIM_MAX in src/store/redis/lua.ts), and the
 * excess is worked off by the completions that follow.
 *
 * No timing: the test reads how many finished jobs are left after each
 * completion. Before the fix the first completion left exactly the new limit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import type { RemovePolicy } from '../src/types.js';
import { deletePrefix, redisSkip, useRedisServer } from './redis-server.js';

type Jobs = { work: { n: number } };
const TRIM_MAX = 1000;
const HELD = 2500;

describe('lowered retention on RedisStore', { skip: redisSkip }, () => {
  const server = useRedisServer();

  /** Runs `count` jobs through a scheduler with these settings: all at once, or (with `after`) one at a time, `after` called once each is done. */
  async function runJobs(prefix: string, count: number, keepCompleted: number, removeOnComplete?: RemovePolicy, after?: () => Promise<void>): Promise<void> {
    const scheduler = new Scheduler<Jobs>({ store: new RedisStore({ url: server.url, prefix }), keepCompleted, concurrency: 50 });
    scheduler.register('work', () => undefined);
    await scheduler.start();
    try {
      if (after === undefined) {
        const jobs = await scheduler.scheduleMany(Array.from({ length: count }, (_, n) => ({ name: 'work' as const, delay: 0, payload: { n }, ...(removeOnComplete ? { options: { removeOnComplete } } : {}) })));
        await Promise.all(jobs.map((job) => scheduler.waitFor(job.id, { timeout: 60_000 })));
      } else {
        for (let n = 0; n < count; n++) {
          const job = await scheduler.scheduleIn('work', 0, { n }, removeOnComplete ? { removeOnComplete } : undefined);
          await scheduler.waitFor(job.id, { timeout: 60_000 });
          await after();
        }
      }
    } finally {
      await scheduler.stop();
    }
  }

  it('keepCompleted lowered below what the store holds: a completion drops at most 1000 older jobs, and the completions after it work the rest off', async () => {
    const prefix = 'retention-lowered';
    const redis = new Redis(server.url);
    const done = (): Promise<number> => redis.zcard(`${prefix}:done`);
    try {
      await runJobs(prefix, HELD, 1_000_000);
      assert.equal(await done(), HELD);
      const held = await redis.zrange(`${prefix}:done`, 0, -1);
      const left: number[] = [];
      await runJobs(prefix, 4, 10, undefined, async () => {
        left.push(await done());
      });
      // 2,501 finished after the first completion: at most 1,000 dropped by its script.
      assert.deepEqual(left, [HELD + 1 - TRIM_MAX, HELD + 2 - 2 * TRIM_MAX, 10, 10]);
      // The oldest went first: the ten left are the six newest of those held, and the four new ones.
      assert.deepEqual(await redis.zrange(`${prefix}:done`, 0, 5), held.slice(-6));
      assert.equal((await redis.keys(`${prefix}:j=*`)).length, 10, 'a dropped job leaves no hash behind');
    } finally {
      redis.disconnect();
      await deletePrefix(server.url, prefix);
    }
  });

  it('a removeOnComplete count lowered for a name: the same bound', async () => {
    const prefix = 'retention-lowered-count';
    const redis = new Redis(server.url);
    const listed = (): Promise<number> => redis.zcard(`${prefix}:rc=cwork`);
    try {
      await runJobs(prefix, HELD, 1_000_000, { count: 1_000_000 });
      assert.equal(await listed(), HELD);
      const left: number[] = [];
      await runJobs(prefix, 4, 1_000_000, { count: 10 }, async () => {
        left.push(await listed());
      });
      assert.deepEqual(left, [HELD + 1 - TRIM_MAX, HELD + 2 - 2 * TRIM_MAX, 10, 10]);
      assert.equal(await redis.zcard(`${prefix}:done`), 10);
    } finally {
      redis.disconnect();
      await deletePrefix(server.url, prefix);
    }
  });
});
