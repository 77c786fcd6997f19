/**
 * Per-job retention on RedisStore with two schedulers sharing it: a job one
 * scheduler runs and removes at once is gone for a waitFor() polling from
 * the other (JobNotFoundError, as the README says); with `{ count }` the
 * other scheduler's waitFor gets the result.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JobNotFoundError } from '../src/errors.js';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { deletePrefix, redisSkip, useRedisServer } from './redis-server.js';

type Jobs = { work: { n: number } };

describe('per-job retention on RedisStore, two schedulers', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('a waitFor in the other scheduler: gone with removeOnComplete: true, answered with { count }', async () => {
    const prefix = 'retention-shared';
    const runner = new Scheduler<Jobs>({ store: new RedisStore({ url: server.url, prefix }) });
    const watcher = new Scheduler<Jobs>({ store: new RedisStore({ url: server.url, prefix }) });
    runner.register('work', (job) => job.payload.n + 1);
    await runner.start();
    await watcher.start();
    try {
      const gone = await watcher.scheduleIn('work', 300, { n: 1 }, { removeOnComplete: true });
      const kept = await watcher.scheduleIn('work', 300, { n: 41 }, { removeOnComplete: { count: 5 } });
      const goneWait = assert.rejects(watcher.waitFor(gone), JobNotFoundError);
      assert.equal(await watcher.waitFor(kept), 42);
      await goneWait;
      assert.equal(await runner.get(gone.id), undefined);
      assert.equal((await runner.get(kept.id))?.state, 'completed');
    } finally {
      await runner.stop();
      await watcher.stop();
      await deletePrefix(server.url, prefix);
    }
  });
});
