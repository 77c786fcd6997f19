/**
 * Per-job retention on RedisStore with two schedulers sharing it: a job one
 * scheduler runs and removes at once is gone for a waitFor() polling from
 * the other (JobNotFoundError, as the README says); with `{ count }` the
 * other scheduler's waitFor gets the result.
 */
import { describe, it } from 'node:test';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { deletePrefix, redisSkip, useRedisServer } from './redis-server.js';
import { removedElsewhere, type RetentionJobs } from './fixtures/retention-shared-check.js';

describe('per-job retention on RedisStore, two schedulers', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('a waitFor in the other scheduler: gone with removeOnComplete: true, answered with { count }', async () => {
    const prefix = 'retention-shared';
    const runner = new Scheduler<RetentionJobs>({ store: new RedisStore({ url: server.url, prefix }) });
    const watcher = new Scheduler<RetentionJobs>({ store: new RedisStore({ url: server.url, prefix }) });
    runner.register('work', (job) => job.payload.n + 1);
    await runner.start();
    await watcher.start();
    try {
      await removedElsewhere(runner, watcher);
    } finally {
      await runner.stop();
      await watcher.stop();
      await deletePrefix(server.url, prefix);
    }
  });
});
