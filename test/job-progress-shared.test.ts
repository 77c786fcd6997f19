/**
 * job.progress()/job.log() on shared stores: on RedisStore what a handler in
 * another process reports is visible here (get, list) while it runs; on
 * PostgresStore the handler's report is refused with UnsupportedOptionError and
 * the job still runs (the README says so).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { PostgresStore } from '../src/postgres.js';
import { instrument } from '../src/otel.js';
import { UnsupportedOptionError } from '../src/errors.js';
import { deletePrefix, redisSkip, useRedisServer } from './redis-server.js';
import { dropSchema, postgresSkip, usePostgresServer } from './postgres-server.js';
import { spawnWorker, waitFor } from './fixtures/redis-workers.js';
import type { ChildJobs } from './fixtures/job-control-child.js';

const CHILD = fileURLToPath(new URL('./fixtures/job-control-child.ts', import.meta.url));

describe('job progress on RedisStore', { skip: redisSkip }, () => {
  const server = useRedisServer();
  it('shows the progress and logs a handler in another process reports, while it runs', async () => {
    const prefix = 'progress';
    const scheduler = new Scheduler<ChildJobs>({ store: new RedisStore({ url: server.url, prefix }) });
    await scheduler.start();
    const worker = await spawnWorker({ kind: 'redis', url: server.url, namespace: prefix }, undefined, CHILD);
    try {
      const job = await scheduler.scheduleIn('work.progress', 0, { steps: 3 });
      await waitFor(() => worker.events.some((e) => e.ev === 'reported' && e.id === job.id), 60_000, 'the child reported');
      const seen = await scheduler.get(job.id);
      assert.equal(seen?.state, 'running');
      assert.deepEqual(seen?.progress, { step: 3, pid: worker.pid });
      assert.deepEqual(seen?.logs, ['step 1 of 3', 'step 2 of 3', 'step 3 of 3']);
      assert.deepEqual((await scheduler.list({ state: 'running' })).map((j) => j.progress), [{ step: 3, pid: worker.pid }]);
      assert.equal(await scheduler.cancel(job.id), true);
      const cancelled = await scheduler.get(job.id);
      assert.deepEqual(cancelled?.progress, { step: 3, pid: worker.pid }, 'kept when the job ends');
    } finally {
      await worker.stop();
      await scheduler.stop();
      await deletePrefix(server.url, prefix);
    }
  });
});

describe('job progress on PostgresStore', { skip: postgresSkip }, () => {
  const server = usePostgresServer();
  it('refuses job.progress() and job.log() with UnsupportedOptionError; the job still completes', async () => {
    const schema = 'progress';
    const scheduler = new Scheduler<{ work: null }>({ store: new PostgresStore({ connectionString: server.url, schema }) });
    const seen: unknown[] = [];
    scheduler.register('work', async (job) => {
      seen.push(await job.progress(1).catch((e: unknown) => e), await job.log('x').catch((e: unknown) => e));
    });
    await scheduler.start();
    try {
      const job = await scheduler.scheduleIn('work', 0, null);
      await scheduler.waitFor(job, { timeout: 60_000 });
      assert.equal(seen.length, 2);
      for (const error of seen) assert.match(String(error), /UnsupportedOptionError: Expected a store that records progress and logs .* got PostgresStore/);
    } finally {
      await scheduler.stop();
      await dropSchema(server.url, schema);
    }
  });

  it('refuses keepLogs and a linked instrument() with UnsupportedOptionError (never ignored); instrument({ link: false }) works', async () => {
    const store = new PostgresStore({ connectionString: server.url, schema: 'progress_options' });
    assert.throws(() => new Scheduler({ store, keepLogs: 10 }), (e: unknown) => e instanceof UnsupportedOptionError && /`options.keepLogs` only with a store that records progress and logs.*got it with PostgresStore/.test(e.message));
    const scheduler = new Scheduler<{ work: null }>({ store });
    assert.throws(() => scheduler.register('work', () => undefined, { keepLogs: 0 }), UnsupportedOptionError);
    assert.throws(() => instrument(scheduler), (e: unknown) => e instanceof UnsupportedOptionError && /trace context.*got PostgresStore/.test(e.message));
    assert.equal(scheduler.listenerCount('started'), 0, 'a refused instrument() changed nothing');
    const remove = instrument(scheduler, { link: false });
    assert.ok(scheduler.listenerCount('started') > 0);
    remove();
  });
});
