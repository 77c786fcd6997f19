/**
 * Rate limits across processes (issue 16 item 1): three processes share one
 * RedisStore on a real redis-server. The per-name limit is one window for
 * all of them (BullMQ's global limiter), and a push-back from one handler
 * holds the name in every process. Windows run on Redis's clock; start
 * times are printed by the workers a moment after their claim, hence the
 * small tolerance in the bounds below (they only ever loosen the check).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { deletePrefix, keysUnder, redisSkip, useRedisServer } from './redis-server.js';
import { spawnWorker, waitFor, type Worker, type WorkerEvent } from './fixtures/redis-workers.js';

// A worker prints a start a moment after its claim; on a loaded machine that moment can be long.
// Half a window still catches a shared limit that lets through more than `max`: jobs due together
// start bunched at a window's opening, so a fifth start in one window lands ~0 ms after the first.
const TOLERANCE_MS = 500;

describe('rate limits across processes (RedisStore)', { skip: redisSkip }, () => {
  const server = useRedisServer();
  let prefixes = 0;

  async function withWorkers(config: object, fn: (boss: Scheduler, all: WorkerEvent[]) => Promise<void>): Promise<void> {
    const prefix = `rl-mp${++prefixes}-${process.pid}`;
    const workers: Worker[] = [];
    const all: WorkerEvent[] = [];
    const boss = new Scheduler({ store: new RedisStore({ url: server.url, prefix }), keepCompleted: 100_000 });
    boss.on('error', () => undefined);
    try {
      // 60 s to start: three tsx processes spawned at once on a loaded CI machine took over 20 s.
      const spawn = (): Promise<Worker> => spawnWorker({ url: server.url, prefix, names: ['api'], concurrency: 10, ...config }, all, undefined, 60_000);
      workers.push(...(await Promise.all([0, 1, 2].map(spawn))));
      await boss.start();
      await fn(boss, all);
    } finally {
      await boss.stop().catch(() => undefined);
      await Promise.all(workers.map((w) => w.kill()));
      await deletePrefix(server.url, prefix);
      assert.deepEqual(await keysUnder(server.url, prefix), []);
    }
  }

  it('3 processes share one window: at most max starts of a name in any durationMs, whoever runs them', async () => {
    // Two slots per process and handlers longer than the window: no process can take a whole window's
    // four starts, so the window is shared by at least two processes every second (whoever is quicker).
    await withWorkers({ rateLimit: { max: 4, durationMs: 1000 }, concurrency: 2, handlerMs: 1100 }, async (boss, all) => {
      const items = Array.from({ length: 16 }, (_, i) => ({ name: 'api' as const, payload: { i }, delay: 300 }));
      await boss.scheduleMany(items);
      await waitFor(() => all.filter((e) => e.ev === 'done').length >= 16, 30_000, '16 jobs done');
      const starts = all.filter((e) => e.ev === 'start').sort((a, b) => (a.at as number) - (b.at as number));
      assert.equal(starts.length, 16, 'every job ran once');
      for (let i = 0; i + 4 < starts.length; i++) {
        const gap = (starts[i + 4]?.at as number) - (starts[i]?.at as number);
        assert.ok(gap >= 1000 - TOLERANCE_MS, `starts ${i} and ${i + 4} only ${gap} ms apart: more than 4 in a window`);
      }
      assert.ok(new Set(starts.map((e) => e.pid)).size >= 2, 'the jobs ran in more than one process');
      const failed = all.filter((e) => e.ev === 'error');
      assert.deepEqual(failed, []);
    });
  });

  it('a push-back in one process holds the name in every process, and the job runs again', async () => {
    // The store records the push-back 300 ms after the handler's call, as a loaded machine may:
    // until it lands, the other processes may still claim the name's jobs (CI once started one
    // 5 ms after the call), so the jobs below are scheduled once it is recorded.
    await withWorkers({ pushBack: true, pushBackDelayMs: 300 }, async (boss, all) => {
      const pushed = await boss.scheduleIn('api', 200, { pushBack: 1500 });
      await waitFor(() => all.some((e) => e.ev === 'pushBack'), 20_000, 'the push-back');
      const at = all.find((e) => e.ev === 'pushBack')?.at as number;
      // The handler's process settles the job (running -> scheduled) only after the push-back is recorded.
      await waitFor(async () => (await boss.get(pushed.id))?.state !== 'running', 20_000, 'the push-back recorded');
      await boss.scheduleMany(Array.from({ length: 6 }, (_, i) => ({ name: 'api' as const, payload: { i }, delay: 0 })));
      await waitFor(() => all.filter((e) => e.ev === 'done').length >= 7, 20_000, '7 jobs done');
      const others = all.filter((e) => e.ev === 'start' && e.id !== pushed.id);
      assert.equal(others.length, 6);
      for (const e of others) assert.ok((e.at as number) >= at + 1500 - TOLERANCE_MS, `job ${e.id} started ${(e.at as number) - at} ms after the push-back`);
      const again = all.filter((e) => e.ev === 'start' && e.id === pushed.id);
      assert.deepEqual(again.map((e) => e.attempt), [1, 1], 'the pushed-back attempt is not counted');
      // A worker prints `done` when the handler returns, before its settle reaches Redis.
      await waitFor(async () => (await boss.get(pushed.id))?.state !== 'running', 20_000, 'the settle of the pushed-back job');
      assert.equal((await boss.get(pushed.id))?.state, 'completed');
    });
  });
});
