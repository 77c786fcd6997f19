/**
 * job.progress()/job.log() on shared stores: on RedisStore and PostgresStore
 * what a handler in another process reports is visible here (get, list)
 * while it runs, and kept when the job ends.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { PostgresStore } from '../src/postgres.js';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { instrument } from '../src/otel.js';
import { deletePrefix, redisSkip, useRedisServer } from './redis-server.js';
import { dropSchema, postgresSkip, usePostgresServer } from './postgres-server.js';
import { spawnWorker, waitFor, type Worker } from './fixtures/redis-workers.js';
import type { ChildJobs } from './fixtures/job-control-child.js';

const CHILD = fileURLToPath(new URL('./fixtures/job-control-child.ts', import.meta.url));

/** A job run by `worker` (another process) reports; this scheduler sees it while it runs, and after a cancel. */
async function reportedElsewhere(scheduler: Scheduler<ChildJobs>, worker: Worker): Promise<void> {
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
}

describe('job progress on RedisStore', { skip: redisSkip }, () => {
  const server = useRedisServer();
  it('shows the progress and logs a handler in another process reports, while it runs', async () => {
    const prefix = 'progress';
    const scheduler = new Scheduler<ChildJobs>({ store: new RedisStore({ url: server.url, prefix }) });
    await scheduler.start();
    const worker = await spawnWorker({ kind: 'redis', url: server.url, namespace: prefix }, undefined, CHILD);
    try {
      await reportedElsewhere(scheduler, worker);
    } finally {
      await worker.stop();
      await scheduler.stop();
      await deletePrefix(server.url, prefix);
    }
  });
});

describe('job progress on PostgresStore', { skip: postgresSkip }, () => {
  const server = usePostgresServer();
  it('shows the progress and logs a handler in another process reports, while it runs, and keeps them when the job ends', async () => {
    const schema = 'progress';
    const scheduler = new Scheduler<ChildJobs>({ store: new PostgresStore({ connectionString: server.url, schema }) });
    await scheduler.start();
    const worker = await spawnWorker({ kind: 'postgres', url: server.url, namespace: schema }, undefined, CHILD);
    try {
      await reportedElsewhere(scheduler, worker);
    } finally {
      await worker.stop();
      await scheduler.stop();
      await dropSchema(server.url, schema);
    }
  });

  it('accepts keepLogs and a linked instrument(): the trace context is stored with the job', async () => {
    const schema = 'progress_options';
    const store = new PostgresStore({ connectionString: server.url, schema });
    const scheduler = new Scheduler<{ work: null }>({ store, keepLogs: 2 });
    scheduler.register('work', () => undefined, { keepLogs: 1 });
    const remove = instrument(scheduler);
    assert.ok(scheduler.listenerCount('started') > 0);
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    await scheduler.start();
    try {
      const request = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 });
      const job = await context.with(trace.setSpan(context.active(), request), () => scheduler.scheduleIn('work', 3_600_000, null));
      assert.equal((await store.get(job.id))?.trace, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'the traceparent is stored with the job');
    } finally {
      context.disable();
      remove();
      await scheduler.stop();
      await dropSchema(server.url, schema);
    }
  });
});
