/**
 * Job control on PostgresStore at the scheduler level, against a real
 * PostgreSQL server, with two schedulers sharing one schema: per-job
 * retention (a job removed at once is gone for the other scheduler's
 * waitFor: JobNotFoundError; `{ count }` keeps the newest), and dedupe
 * windows (created / throttled / debounced, as on the other stores; a
 * window opened in the caller's transaction holds a racing call until the
 * commit, and a rollback leaves no window).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { track, waitFor, withSchema } from './fixtures/postgres-helpers.js';
import { removedElsewhere, type RetentionJobs } from './fixtures/retention-shared-check.js';

type Jobs = { work: { n: number }; mail: { to: string } };

describe('job control on PostgresStore, two schedulers', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  it('removeOnComplete: a waitFor in the other scheduler: gone with true, answered with { count }; count keeps the newest', async () => {
    await withSchema(server.url, async (schema) => {
      const runner = new Scheduler<RetentionJobs>({ store: new PostgresStore({ connectionString: server.url, schema }) });
      const watcher = new Scheduler<RetentionJobs>({ store: new PostgresStore({ connectionString: server.url, schema }) });
      runner.register('work', (job) => job.payload.n + 1, { removeOnComplete: { count: 2 } });
      await runner.start();
      await watcher.start();
      try {
        await removedElsewhere(runner, watcher);
        // The name's own policy ({ count: 2 }): four more finish; a finish trims its name's list to its own count, so the newest two stay.
        const more = [];
        for (let n = 0; n < 4; n++) {
          const job = await watcher.scheduleIn('work', 0, { n });
          await watcher.waitFor(job);
          more.push(job.id);
        }
        const completed = (await watcher.list({ state: 'completed' })).map((j) => j.id).sort();
        assert.deepEqual(completed, more.slice(2).sort());
      } finally {
        await runner.stop();
        await watcher.stop();
      }
    });
  });

  it('dedupe: throttle answers with the window job from the other scheduler; debounce moves it; a started job opens a new window', async () => {
    await withSchema(server.url, async (schema) => {
      const first = new Scheduler<Jobs>({ store: new PostgresStore({ connectionString: server.url, schema }) });
      const second = new Scheduler<Jobs>({ store: new PostgresStore({ connectionString: server.url, schema }) });
      await first.start();
      await second.start();
      try {
        const a = await first.scheduleIn('mail', 60_000, { to: 'a' }, { dedupe: { key: 't', ttlMs: 60_000 } });
        const b = await second.scheduleIn('mail', 60_000, { to: 'b' }, { dedupe: { key: 't', ttlMs: 60_000 } });
        assert.deepEqual([a.dedupe, b.dedupe, b.id, b.payload], ['created', 'throttled', a.id, { to: 'a' }]);
        const d = await first.scheduleIn('mail', 60_000, { to: 'd1' }, { dedupe: { key: 'd', ttlMs: 60_000, mode: 'debounce' } });
        const moved = await second.scheduleIn('mail', 120_000, { to: 'd2' }, { dedupe: { key: 'd', ttlMs: 60_000, mode: 'debounce' } });
        assert.deepEqual([moved.dedupe, moved.id, moved.payload], ['debounced', d.id, { to: 'd2' }]);
        assert.ok(moved.runAt.getTime() - d.runAt.getTime() >= 50_000, 'the due time moved with the debounce');
        assert.deepEqual((await first.get(d.id))?.payload, { to: 'd2' });
        assert.equal((await first.list({ name: 'mail' })).length, 2);
        // Once the window's job started, a debounce creates a new job and window.
        first.register('mail', () => undefined);
        await first.reschedule(d.id, new Date(0));
        await waitFor(async () => (await first.get(d.id))?.state === 'completed', 60_000, 'the debounced job ran');
        const after = await second.scheduleIn('mail', 60_000, { to: 'd3' }, { dedupe: { key: 'd', ttlMs: 60_000, mode: 'debounce' } });
        assert.equal(after.dedupe, 'created');
        assert.notEqual(after.id, d.id);
      } finally {
        await second.stop();
        await first.stop();
      }
    });
  });

  it('dedupe in your transaction: a racing call waits for the commit and gets its job; after a rollback it creates one', async () => {
    await withSchema(server.url, async (schema) => {
      const store = new PostgresStore({ connectionString: server.url, schema });
      const scheduler = new Scheduler<Jobs>({ store });
      const other = new Scheduler<Jobs>({ store: new PostgresStore({ connectionString: server.url, schema }) });
      await scheduler.start();
      await other.start();
      const client = await server.client();
      try {
        for (const end of ['COMMIT', 'ROLLBACK'] as const) {
          const key = `tx-${end}`;
          await client.query('BEGIN');
          const mine = await scheduler.scheduleIn('mail', 60_000, { to: 'tx' }, { dedupe: { key, ttlMs: 60_000 }, db: client });
          assert.equal(mine.dedupe, 'created');
          const racing = track(other.scheduleIn('mail', 60_000, { to: 'other' }, { dedupe: { key, ttlMs: 60_000 } }));
          await new Promise((resolve) => setTimeout(resolve, 300));
          assert.equal(racing.state, 'pending', 'the racing call waits for the transaction that holds the window');
          await client.query(end);
          await waitFor(() => racing.state !== 'pending', 60_000, 'the racing call settles');
          assert.equal(racing.state, 'resolved', String(racing.error));
          if (end === 'COMMIT') assert.deepEqual([racing.value?.dedupe, racing.value?.id], ['throttled', mine.id]);
          else {
            assert.equal(racing.value?.dedupe, 'created');
            assert.notEqual(racing.value?.id, mine.id);
            assert.equal(await other.get(mine.id), undefined, 'the rolled-back job left nothing');
          }
        }
      } finally {
        await client.end();
        await other.stop();
        await scheduler.stop();
      }
    });
  });
});
