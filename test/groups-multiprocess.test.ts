/**
 * Groups across processes (issue 16 item 2): three processes share one
 * RedisStore on a real redis-server; the jobs of one group never overlap,
 * whichever process runs them, and start in the order they were scheduled.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { deletePrefix, keysUnder, redisSkip, useRedisServer } from './redis-server.js';
import { maxOverlap, spawnWorker, waitFor, type Worker, type WorkerEvent } from './fixtures/redis-workers.js';

describe('groups across processes (RedisStore)', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('3 processes: the jobs of a group run one at a time, in order; groups run side by side', async () => {
    const prefix = `groups-mp-${process.pid}`;
    const workers: Worker[] = [];
    const all: WorkerEvent[] = [];
    const boss = new Scheduler({ store: new RedisStore({ url: server.url, prefix }), keepCompleted: 100_000 });
    boss.on('error', () => undefined);
    try {
      const config = { url: server.url, prefix, names: ['sync'], concurrency: 2, handlerMs: 40 };
      // 60 s to start: three tsx processes spawned at once on a loaded CI machine took over 20 s.
      workers.push(...(await Promise.all([0, 1, 2].map(() => spawnWorker(config, all, undefined, 60_000)))));
      await boss.start();
      const groupOf = new Map<string, string>();
      const order = new Map<string, string[]>();
      // Two slots per process, four groups: six slots, so without the group rule two jobs of a group would run at once.
      // Interleaved: group k gets every 4th job, all due at once.
      const items = Array.from({ length: 32 }, (_, i) => ({ name: 'sync' as const, payload: { i }, delay: 300, options: { group: `customer:${i % 4}` } }));
      for (const info of await boss.scheduleMany(items)) {
        const group = (info.group as { id: string }).id;
        groupOf.set(info.id, group);
        order.set(group, [...(order.get(group) ?? []), info.id]);
      }
      await waitFor(() => all.filter((e) => e.ev === 'done').length >= 32, 30_000, '32 jobs done');
      const starts = all.filter((e) => e.ev === 'start');
      assert.equal(new Set(starts.map((e) => e.id)).size, 32);
      assert.equal(starts.length, 32, 'no job ran twice');
      const doneAt = new Map(all.filter((e) => e.ev === 'done').map((e) => [e.id as string, e.at as number]));
      const pids = new Set<number>();
      for (const [group, ids] of order) {
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
      // Groups ran side by side: jobs of different groups overlapped. (Not a bound on the whole run's
      // time: a group is a chain of 8 jobs, each a claim, 40 ms and a settle, and a loaded machine
      // stretches any chain; a claim takes two free groups at once, so two start before either ends.)
      assert.ok(maxOverlap(new Set(groupOf.keys()), all) >= 2, 'expected jobs of different groups to run at the same time');
    } finally {
      await boss.stop().catch(() => undefined);
      await Promise.all(workers.map((w) => w.kill()));
      await deletePrefix(server.url, prefix);
      assert.deepEqual(await keysUnder(server.url, prefix), []);
    }
  });
});
