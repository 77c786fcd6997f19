/**
 * RedisStore when Redis is out of memory (issue 12 item 2): with
 * `maxmemory-policy noeviction`, a full Redis must refuse new work up front
 * (inserts, claims) and still let running attempts record their outcome, so
 * no job runs again and again while no outcome can be stored. The scripts
 * declare Redis 7 flags (`#!lua` / `#!lua flags=allow-oom`): Redis checks
 * them before the script runs, instead of at its first write that may grow
 * memory (a script starting with ZREM would otherwise get through).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../src/redis.js';
import { Scheduler } from '../src/scheduler.js';
import { StorePersistError } from '../src/errors.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { waitFor } from './fixtures/redis-workers.js';
import { admin, claimNow, dumpKeys, job, withPrefix, withStore } from './fixtures/redis-helpers.js';

describe('RedisStore: Redis out of memory (maxmemory, noeviction)', { skip: redisSkip }, () => {
  const server = useRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });

  /** Below what Redis already uses: every command that may grow memory is refused. */
  const fill = async (): Promise<void> => {
    const redis = admin(server.url);
    await redis.call('CONFIG', 'SET', 'maxmemory', '1');
    redis.disconnect();
  };
  const free = async (): Promise<void> => {
    const redis = admin(server.url);
    await redis.call('CONFIG', 'SET', 'maxmemory', '0');
    redis.disconnect();
  };

  it('refuses inserts and claims up front, changing nothing, and still records running attempts, renews and cancels', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store) => {
        const due = Date.now() - 1000;
        await store.insert(['a', 'b', 'c', 'd'].map((id) => ({ record: job(id, { runAt: due }), onDuplicate: 'reject' as const })));
        // 'b' is promoted to its ready set by a claim that takes only 'a' (a ready set is where an unflagged claim's first write was a ZREM).
        const [a] = (await store.claim(claimNow({ limit: 1 }))).jobs;
        assert.equal(a?.id, 'a');
        await fill();
        try {
          const before = await dumpKeys(server.url, prefix);
          await assert.rejects(store.claim(claimNow()), (e: unknown) => e instanceof StorePersistError && /OOM/.test(e.message) && /nothing was changed/.test(e.message));
          await assert.rejects(store.insert([{ record: job('e'), onDuplicate: 'reject' }]), (e: unknown) => e instanceof StorePersistError && /OOM/.test(e.message));
          assert.deepEqual(await dumpKeys(server.url, prefix), before, 'refused calls wrote nothing');
          // Finishing or giving back work still goes through.
          assert.equal(await store.settle('a', a!.token!, { ...a!, state: 'completed', finishedAt: Date.now() }), true);
          assert.ok(await store.cancel('d', Date.now()));
        } finally {
          await free();
        }
        const { jobs } = await store.claim(claimNow());
        assert.deepEqual(jobs.map((j) => j.id).sort(), ['b', 'c']);
        assert.equal((await store.get('a'))?.state, 'completed');
        assert.equal((await store.get('d'))?.state, 'cancelled');
      });
    });
  });

  it('with a scheduler: no job runs while Redis is full, then each runs exactly once', async () => {
    await withPrefix(server.url, async (prefix) => {
      const scheduler = new Scheduler({ store: new RedisStore({ url: server.url, prefix, leaseMs: 1000 }), concurrency: 20 });
      const runs = new Map<string, number>();
      const oomErrors: Error[] = [];
      scheduler.on('error', ({ error }) => {
        if (/OOM/.test(error.message)) oomErrors.push(error);
      });
      scheduler.register('work', (j) => {
        runs.set(j.id, (runs.get(j.id) ?? 0) + 1);
      });
      await scheduler.start();
      try {
        const infos = await scheduler.scheduleMany(Array.from({ length: 50 }, (_, i) => ({ name: 'work' as const, payload: { i }, delay: 2000 })));
        await fill();
        try {
          // The scheduler tried to claim (and was refused) at least twice after the jobs were due.
          await waitFor(() => oomErrors.length >= 2, 20_000, 'claims refused with OOM');
          assert.equal(runs.size, 0, 'no job ran while its outcome could not be recorded');
        } finally {
          await free();
        }
        await waitFor(async () => (await scheduler.list({ state: 'completed' })).length === 50, 20_000, 'all 50 completed');
        assert.deepEqual(
          infos.map((info) => runs.get(info.id)),
          infos.map(() => 1),
          'each ran exactly once',
        );
      } finally {
        await scheduler.stop();
      }
    });
  });
});
