/**
 * Rate limits across processes on PostgresStore (issue 18): three processes
 * share one schema on a real PostgreSQL server. A name's limit is one window
 * for all of them, counted in `S.starts` under the name's advisory lock on
 * the database's clock (each claim's `now` is the store's estimate of it),
 * and a push-back from one handler holds the name in every process. Start
 * times are printed by the workers a moment after their claim, hence the
 * tolerance below (it only ever loosens the check).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { spawnWorker, waitFor, type Worker, type WorkerEvent } from './fixtures/redis-workers.js';
import { POSTGRES_WORKER, type PostgresWorkerConfig } from './fixtures/postgres-worker.js';
import { withSchema } from './fixtures/postgres-helpers.js';

// Half a window still catches a shared limit that lets through more than `max`: jobs due together
// start bunched at a window's opening, so a fifth start in one window lands ~0 ms after the first.
const TOLERANCE_MS = 500;

describe('rate limits across processes (PostgresStore)', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  async function withWorkers(config: Partial<PostgresWorkerConfig>, fn: (boss: Scheduler, all: WorkerEvent[], schema: string) => Promise<void>): Promise<void> {
    await withSchema(server.url, async (schema) => {
      const workers: Worker[] = [];
      const all: WorkerEvent[] = [];
      const boss = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema }), keepCompleted: 100_000 });
      boss.on('error', () => undefined);
      try {
        const spawn = (): Promise<Worker> => spawnWorker({ url: server.url, schema, names: ['api'], concurrency: 10, pollMs: 500, ...config }, all, POSTGRES_WORKER, 60_000);
        workers.push(...(await Promise.all([0, 1, 2].map(spawn))));
        await boss.start();
        await fn(boss, all, schema);
      } finally {
        await boss.stop().catch(() => undefined);
        await Promise.all(workers.map((w) => w.kill()));
      }
    });
  }

  it('3 processes share one window: at most max starts of a name in any durationMs, whoever runs them', async () => {
    // Two slots per process and handlers longer than the window: no process can take a whole window's
    // four starts, so the window is shared by at least two processes every second. Every claim pauses 30 ms
    // between counting the window and taking: without the name's lock, claims elsewhere would count the same room.
    await withWorkers({ rateLimit: { max: 4, durationMs: 1000 }, concurrency: 2, handlerMs: 1100, claimPause: 0.03 }, async (boss, all) => {
      await boss.scheduleMany(Array.from({ length: 16 }, (_, i) => ({ name: 'api' as const, payload: { i }, delay: 300 })));
      await waitFor(() => all.filter((e) => e.ev === 'done').length >= 16, 60_000, '16 jobs done');
      const starts = all.filter((e) => e.ev === 'start').sort((a, b) => (a.at as number) - (b.at as number));
      assert.equal(starts.length, 16, 'every job ran once');
      for (let i = 0; i + 4 < starts.length; i++) {
        const gap = (starts[i + 4]?.at as number) - (starts[i]?.at as number);
        assert.ok(gap >= 1000 - TOLERANCE_MS, `starts ${i} and ${i + 4} only ${gap} ms apart: more than 4 in a window`);
      }
      assert.ok(new Set(starts.map((e) => e.pid)).size >= 2, 'the jobs ran in more than one process');
      assert.deepEqual(all.filter((e) => e.ev === 'error'), []);
    });
  });

  it('a push-back in one process holds the name in every process, and the job runs again', async () => {
    await withWorkers({ pushBack: true }, async (boss, all, schema) => {
      const pushed = await boss.scheduleIn('api', 200, { pushBack: 1500 });
      await waitFor(() => all.some((e) => e.ev === 'pushBack'), 30_000, 'the push-back');
      const at = all.find((e) => e.ev === 'pushBack')?.at as number;
      // The handler's process records the push-back after the handler returns: the jobs below come after that.
      const client = await server.client();
      try {
        await waitFor(async () => (await client.query(`SELECT 1 FROM "${schema}".pushback WHERE name = 'api'`)).rowCount === 1, 30_000, 'the push-back recorded');
      } finally {
        await client.end();
      }
      await boss.scheduleMany(Array.from({ length: 6 }, (_, i) => ({ name: 'api' as const, payload: { i }, delay: 0 })));
      await waitFor(() => all.filter((e) => e.ev === 'done').length >= 7, 30_000, '7 jobs done');
      const others = all.filter((e) => e.ev === 'start' && e.id !== pushed.id);
      assert.equal(others.length, 6);
      for (const e of others) assert.ok((e.at as number) >= at + 1500 - TOLERANCE_MS, `job ${e.id} started ${(e.at as number) - at} ms after the push-back`);
      const again = all.filter((e) => e.ev === 'start' && e.id === pushed.id);
      assert.deepEqual(again.map((e) => e.attempt), [1, 1], 'the pushed-back attempt is not counted');
      await waitFor(async () => (await boss.get(pushed.id))?.state === 'completed', 30_000, 'the settle of the pushed-back job');
    });
  });
});
