/**
 * waitFor on shared stores: a job run and finished by another process
 * (test/fixtures/job-control-child.ts) resolves with its result, or rejects
 * with its final error, in this one — on RedisStore and PostgresStore.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { PostgresStore } from '../src/postgres.js';
import { JobFailedError } from '../src/errors.js';
import type { Store } from '../src/store/store.js';
import { deletePrefix, redisSkip, useRedisServer } from './redis-server.js';
import { dropSchema, postgresSkip, usePostgresServer } from './postgres-server.js';
import { spawnWorker } from './fixtures/redis-workers.js';
import type { ChildConfig, ChildJobs } from './fixtures/job-control-child.js';

const CHILD = fileURLToPath(new URL('./fixtures/job-control-child.ts', import.meta.url));

type Results = { 'work.ok': { double: number; pid: number } };

async function finishedElsewhere(config: ChildConfig, store: Store): Promise<void> {
  // This process has no handlers: every job runs in the child.
  const scheduler = new Scheduler<ChildJobs, Results>({ store });
  await scheduler.start();
  const worker = await spawnWorker(config, undefined, CHILD);
  try {
    const ok = await scheduler.scheduleIn('work.ok', 0, { n: 21 });
    const bad = await scheduler.scheduleIn('work.fail', 0, { n: 1 });
    const [result, failure] = await Promise.all([
      scheduler.waitFor(ok, { timeout: 60_000 }),
      scheduler.waitFor(bad, { timeout: 60_000 }).then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      ),
    ]);
    assert.equal(result.double, 42);
    assert.equal(result.pid, worker.pid, 'the other process ran it');
    assert.ok(failure instanceof JobFailedError, String(failure));
    assert.equal((failure.cause as Error).name, 'TypeError');
    assert.equal((failure.cause as Error).message, 'bad input 1');
    assert.equal(failure.attempt, 1);
    // A job finished before the wait began answers from the store.
    assert.equal((await scheduler.waitFor(ok)).double, 42);
  } finally {
    await worker.stop();
    await scheduler.stop();
  }
}

describe('waitFor on RedisStore', { skip: redisSkip }, () => {
  const server = useRedisServer();
  it('resolves for a job completed in another process, rejects for one dead there', async () => {
    const prefix = 'waitfor';
    try {
      await finishedElsewhere({ kind: 'redis', url: server.url, namespace: prefix }, new RedisStore({ url: server.url, prefix }));
    } finally {
      await deletePrefix(server.url, prefix);
    }
  });
});

describe('waitFor on PostgresStore', { skip: postgresSkip }, () => {
  const server = usePostgresServer();
  it('resolves for a job completed in another process, rejects for one dead there', async () => {
    const schema = 'waitfor';
    try {
      await finishedElsewhere({ kind: 'postgres', url: server.url, namespace: schema }, new PostgresStore({ connectionString: server.url, schema }));
    } finally {
      await dropSchema(server.url, schema);
    }
  });
});
