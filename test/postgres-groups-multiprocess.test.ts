/**
 * Groups across processes on PostgresStore (issue 18): three processes
 * share one schema on a real PostgreSQL server and claim concurrently. A
 * group's limit holds whichever process runs its jobs (the claim counts a
 * group's running jobs under the group's advisory lock), a group of limit 1
 * starts its jobs in scheduling order, and groups run side by side.
 *
 * Workers print `start` after their claim committed and `done` before their
 * settle is sent, so each printed interval lies inside the time the job
 * held its group's slot: overlaps seen here are real ones.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { maxOverlap, spawnWorker, waitFor, type Worker, type WorkerEvent } from './fixtures/redis-workers.js';
import { POSTGRES_WORKER } from './fixtures/postgres-worker.js';
import { withSchema } from './fixtures/postgres-helpers.js';

describe('groups across processes (PostgresStore)', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  it('3 processes: a group never runs more than its limit at once, a group of 1 runs in order; groups run side by side', async () => {
    await withSchema(server.url, async (schema) => {
      const workers: Worker[] = [];
      const all: WorkerEvent[] = [];
      const boss = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema }), keepCompleted: 100_000 });
      boss.on('error', () => undefined);
      try {
        // Four slots per process, twelve in all: without the group rule, a group's jobs (all due at once) would overlap.
        // Every claim pauses 30 ms between counting a group's running jobs and taking its next ones: without the
        // group's lock, claims of other processes would count the same slot free in that time (checked: they do).
        const config = { url: server.url, schema, names: ['sync'], concurrency: 4, handlerMs: 40, pollMs: 500, claimPause: 0.03 };
        workers.push(...(await Promise.all([0, 1, 2].map(() => spawnWorker(config, all, POSTGRES_WORKER, 60_000)))));
        await boss.start();
        const groupOf = new Map<string, string>();
        const order = new Map<string, string[]>();
        // Groups of limit 1, interleaved (group k gets every 4th job), and one group of limit 2.
        const items = [
          ...Array.from({ length: 32 }, (_, i) => ({ name: 'sync' as const, payload: { i }, delay: 500, options: { group: `customer:${i % 4}` } })),
          ...Array.from({ length: 16 }, (_, i) => ({ name: 'sync' as const, payload: { i }, delay: 500, options: { group: { id: 'wide', concurrency: 2 } } })),
        ];
        for (const info of await boss.scheduleMany(items)) {
          const group = (info.group as { id: string }).id;
          groupOf.set(info.id, group);
          order.set(group, [...(order.get(group) ?? []), info.id]);
        }
        await waitFor(() => all.filter((e) => e.ev === 'done').length >= 48, 60_000, '48 jobs done');
        const starts = all.filter((e) => e.ev === 'start');
        assert.equal(new Set(starts.map((e) => e.id)).size, 48);
        assert.equal(starts.length, 48, 'no job ran twice');
        const doneAt = new Map(all.filter((e) => e.ev === 'done').map((e) => [e.id as string, e.at as number]));
        const pids = new Set<number>();
        for (const [group, ids] of order) {
          const limit = group === 'wide' ? 2 : 1;
          assert.ok(maxOverlap(new Set(ids), all) <= limit, `group ${group} ran more than ${limit} at once`);
          if (limit !== 1) continue;
          const byStart = starts.filter((e) => groupOf.get(e.id as string) === group).sort((a, b) => (a.at as number) - (b.at as number));
          assert.deepEqual(byStart.map((e) => e.id), ids, `group ${group} started in scheduling order`);
          for (let k = 1; k < byStart.length; k++) {
            const prev = byStart[k - 1] as WorkerEvent;
            const next = byStart[k] as WorkerEvent;
            assert.ok((next.at as number) >= (doneAt.get(prev.id as string) as number), `group ${group}: ${next.id} started before ${prev.id} was done`);
            pids.add(next.pid);
          }
        }
        assert.ok(pids.size >= 2, `expected the groups' jobs to run in more than one process, got ${pids.size}`);
        assert.deepEqual(all.filter((e) => e.ev === 'error'), []);
        // Groups ran side by side: jobs of different groups overlapped.
        assert.ok(maxOverlap(new Set(groupOf.keys()), all) >= 2, 'expected jobs of different groups to run at the same time');
      } finally {
        await boss.stop().catch(() => undefined);
        await Promise.all(workers.map((w) => w.kill()));
      }
    });
  });
});
