/**
 * Several processes sharing one PostgresStore on a real PostgreSQL: every
 * one-off job runs once, a cron slot runs once across processes that all
 * declare it, a killed (kill -9) process's jobs run elsewhere after the
 * lease, charged to the retry policy, a job that kills every process running
 * it ends dead, a server restart loses no acknowledged job, and a process
 * whose clock is 5 minutes fast runs nothing early.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../src/scheduler.js';
import { StorePersistError } from '../src/errors.js';
import { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { spawnWorker, type Worker, type WorkerEvent } from './fixtures/redis-workers.js';
import { POSTGRES_WORKER, type PostgresWorkerConfig } from './fixtures/postgres-worker.js';
import { waitFor, withSchema } from './fixtures/postgres-helpers.js';

const starts = (events: readonly WorkerEvent[], name?: string): WorkerEvent[] =>
  events.filter((e) => e.ev === 'start' && (name === undefined || e.name === name));

function countBy<T>(items: readonly T[], key: (item: T) => string | number): Map<string | number, number> {
  const map = new Map<string | number, number>();
  for (const item of items) map.set(key(item), (map.get(key(item)) ?? 0) + 1);
  return map;
}

describe('PostgresStore across processes', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  /** A scheduler with no handlers, to schedule and inspect jobs from the test process. */
  async function controller(url: string, schema: string): Promise<Scheduler> {
    const scheduler = new Scheduler({ store: new PostgresStore({ connectionString: url, schema, pollMs: 100 }), keepCompleted: 100_000 });
    scheduler.on('error', () => undefined);
    await scheduler.start();
    return scheduler;
  }

  async function withWorkers(url: string, fn: (schema: string, spawn: (config: Omit<PostgresWorkerConfig, 'url' | 'schema'>, all: WorkerEvent[]) => Promise<Worker>) => Promise<void>): Promise<void> {
    const workers: Worker[] = [];
    await withSchema(url, async (schema) => {
      try {
        await fn(schema, async (config, all) => {
          const worker = await spawnWorker({ url, schema, ...config }, all, POSTGRES_WORKER);
          workers.push(worker);
          return worker;
        });
      } finally {
        await Promise.all(workers.map((w) => w.kill()));
      }
    });
  }

  it('3 processes: 1,000 one-off jobs each run exactly once, never early; a cron declared by all runs once per slot', async () => {
    await withWorkers(server.url, async (schema, spawn) => {
      const all: WorkerEvent[] = [];
      const cron = { name: 'tick', expression: '* * * * * *', id: 'shared-tick' };
      const workers = await Promise.all([0, 1, 2].map(() => spawn({ names: ['job', 'tick'], concurrency: 50, cron }, all)));
      const boss = await controller(server.url, schema);
      try {
        const t0 = Date.now();
        const runAt = new Map<string, number>();
        for (let batch = 0; batch < 10; batch++) {
          const items = Array.from({ length: 100 }, (_, i) => ({ name: 'job' as const, payload: { n: batch * 100 + i }, delay: 200 + Math.floor(Math.random() * 3000) }));
          for (const info of await boss.scheduleMany(items)) runAt.set(info.id, info.runAt.getTime());
        }
        await waitFor(() => new Set(starts(all, 'job').map((e) => e.id)).size >= 1000, 20_000, '1000 jobs started');
        await new Promise((r) => setTimeout(r, Math.max(500, t0 + 7000 - Date.now())));
        await Promise.all(workers.map((w) => w.stop()));

        const jobStarts = starts(all, 'job');
        const perJob = countBy(jobStarts, (e) => e.id as string);
        assert.deepEqual([...perJob].filter(([, n]) => n > 1), [], 'no job ran twice');
        assert.equal(perJob.size, 1000);
        assert.deepEqual(jobStarts.filter((e) => (e.at as number) < Math.floor(runAt.get(e.id as string) as number)), [], 'no job started before its runAt');
        assert.equal(countBy(jobStarts, (e) => e.pid).size, 3, 'every process ran jobs');
        const ticks = starts(all, 'tick');
        const perSlot = countBy(ticks, (e) => e.slot as number);
        assert.deepEqual([...perSlot].filter(([, n]) => n > 1), [], 'no cron slot ran twice');
        assert.ok(perSlot.size >= 5, `cron ran ${perSlot.size} slots`);
        const slots = [...perSlot.keys()].map(Number).sort((a, b) => a - b);
        for (let i = 1; i < slots.length; i++) assert.equal((slots[i] as number) - (slots[i - 1] as number), 1000, 'no slot skipped');
        assert.deepEqual(ticks.filter((e) => (e.at as number) < (e.slot as number)), [], 'no slot ran early');
        assert.ok(!all.some((e) => e.ev === 'error'), JSON.stringify(all.filter((e) => e.ev === 'error').slice(0, 3)));
      } finally {
        await boss.stop();
      }
    });
  });

  it('kill -9 a process holding leases: its jobs run elsewhere once the lease ends (within lease + 3 s), the lost attempt charged (attempt 2)', async () => {
    await withWorkers(server.url, async (schema, spawn) => {
      const all: WorkerEvent[] = [];
      // A lease long enough that a loaded machine's pauses do not lapse the survivor's leases too.
      const leaseMs = 2000;
      const config = { names: ['slow'], concurrency: 20, handlerMs: 6000, leaseMs };
      const [a, b] = await Promise.all([spawn(config, all), spawn(config, all)]);
      const boss = await controller(server.url, schema);
      try {
        await boss.scheduleMany(Array.from({ length: 20 }, (_, i) => ({ name: 'slow' as const, payload: { i }, delay: 0, options: { retry: { maxRetries: 3, backoff: { type: 'fixed' as const, delay: 1 } } } })));
        await waitFor(() => starts(all).length >= 20, 10_000, 'all 20 started');
        const victim = (starts(a!.events).length > 0 ? a : b) as Worker;
        const survivor = (victim === a ? b : a) as Worker;
        const lost = starts(victim.events).map((e) => e.id as string);
        assert.ok(lost.length > 0);
        const killedAt = Date.now();
        await victim.kill();
        await waitFor(() => lost.every((id) => starts(survivor.events).some((e) => e.id === id)), leaseMs + 30_000, 'lost jobs restarted');
        for (const id of lost) {
          const rerun = starts(survivor.events).find((e) => e.id === id) as WorkerEvent;
          assert.equal(rerun.attempt, 2, 'the lost attempt counts');
          assert.ok((rerun.at as number) - killedAt <= leaseMs + 3000, `job ${id} restarted ${(rerun.at as number) - killedAt} ms after the kill`);
        }
        await waitFor(async () => (await boss.list({ state: 'completed' })).length === 20, 10_000, 'all completed');
        for (const id of lost) assert.equal((await boss.get(id))?.lastError?.name, 'LeaseLostError', 'charged to the retry policy');
        const perJob = countBy(starts(all), (e) => e.id as string);
        for (const [id, count] of perJob) assert.equal(count, lost.includes(id as string) ? 2 : 1, `job ${id} started ${count} times`);
      } finally {
        await boss.stop();
      }
    });
  });

  it('a job that kills every process running it (kill -9 while it runs) ends dead after its retries, with a LeaseLostError', async () => {
    await withWorkers(server.url, async (schema, spawn) => {
      const all: WorkerEvent[] = [];
      const boss = await controller(server.url, schema);
      try {
        await boss.scheduleIn('poison', 0, {}, { id: 'poison', retry: { maxRetries: 1, backoff: { type: 'fixed', delay: 10 } } });
        for (let round = 0; round < 4; round++) {
          if ((await boss.get('poison'))?.state === 'dead') break;
          // 2 s leases: a shorter one can lapse on a loaded machine between the claim and the record of the lost attempt (an extra attempt that runs nothing).
          const worker = await spawn({ names: ['poison'], leaseMs: 2000, pollMs: 100, handlerMs: 60_000 }, all);
          let dead = false;
          try {
            await waitFor(async () => worker.events.some((e) => e.ev === 'start') || (dead = (await boss.get('poison'))?.state === 'dead'), 60_000, 'a start, or the job dead'); // a worker started under load takes seconds to come up
          } catch (error) {
            throw new Error(`round ${round}: ${String(error)}; job ${JSON.stringify(await boss.get('poison'))}; worker events ${JSON.stringify(worker.events)}`);
          }
          await worker.kill();
          if (dead) break;
        }
        await waitFor(async () => (await boss.get('poison'))?.state === 'dead', 60_000, 'the job to end dead');
        assert.equal((await boss.get('poison'))?.lastError?.name, 'LeaseLostError');
        assert.equal(all.filter((e) => e.ev === 'start').length, 2, 'started maxRetries + 1 times');
      } finally {
        await boss.stop();
      }
    });
  });

  it('a process whose clock is 5 minutes fast runs nothing early (jobs, cron slots, its own delays)', async () => {
    await withWorkers(server.url, async (schema, spawn) => {
      const all: WorkerEvent[] = [];
      const fast = await spawn(
        { names: ['job', 'tick', 'own'], clockOffsetMs: 5 * 60_000, cron: { name: 'tick', expression: '* * * * * *', id: 'fast-tick' }, selfSchedule: { name: 'own', count: 5, delay: 1000 } },
        all,
      );
      const boss = await controller(server.url, schema);
      try {
        const runAt = new Map<string, number>();
        for (const info of await boss.scheduleMany(Array.from({ length: 50 }, (_, i) => ({ name: 'job' as const, payload: { i }, delay: 300 + i * 30 })))) runAt.set(info.id, info.runAt.getTime());
        await waitFor(() => starts(all, 'job').length >= 50 && starts(all, 'own').length >= 5 && starts(all, 'tick').length >= 3, 15_000, 'jobs ran');
        await fast.stop();
        const jobs = starts(all, 'job');
        assert.deepEqual(jobs.filter((e) => (e.at as number) < Math.floor(runAt.get(e.id as string) as number)), [], 'no job early');
        const own = all.filter((e) => e.ev === 'scheduled');
        for (const e of starts(all, 'own')) {
          const scheduled = own.find((s) => s.id === e.id) as WorkerEvent;
          assert.ok((e.at as number) >= Math.floor(scheduled.runAt as number), 'own job not early');
          assert.ok(Math.abs((scheduled.runAt as number) - Date.now()) < 60_000, 'own job stamped in the database clock');
        }
        const ticks = starts(all, 'tick');
        assert.deepEqual(ticks.filter((e) => (e.at as number) < (e.slot as number)), [], 'no slot early');
        assert.ok(ticks.every((e) => Math.abs((e.slot as number) - (e.at as number)) < 2000), 'slots are database-time slots');
        assert.equal(new Set(ticks.map((e) => e.slot)).size, ticks.length, 'no slot twice');
      } finally {
        await boss.stop();
      }
    });
  });

  describe('a server restart', () => {
    const own = usePostgresServer();

    it('restarting PostgreSQL mid-run (immediate shutdown: crash recovery) loses no acknowledged job', async () => {
      await withWorkers(own.url, async (schema, spawn) => {
        const all: WorkerEvent[] = [];
        const config = { names: ['job'], concurrency: 50, leaseMs: 2000, pollMs: 300 };
        await Promise.all([spawn(config, all), spawn(config, all)]);
        const boss = await controller(own.url, schema);
        try {
          const acked = new Set<string>();
          const failures: unknown[] = [];
          let stopScheduling = false;
          const producer = (async () => {
            let n = 0;
            while (!stopScheduling) {
              const items = Array.from({ length: 20 }, () => ({ name: 'job' as const, payload: { n: n++ }, delay: 50 + Math.floor(Math.random() * 700) }));
              try {
                for (const info of await boss.scheduleMany(items)) acked.add(info.id);
              } catch (error) {
                failures.push(error);
              }
              await new Promise((r) => setTimeout(r, 20));
            }
          })();
          await new Promise((r) => setTimeout(r, 1000));
          await own.crash();
          await new Promise((r) => setTimeout(r, 300));
          await own.start();
          // Go on until the restarted server has acknowledged 100 more jobs (at least 1.5 s): a loaded machine schedules slowly.
          const before = acked.size;
          const resumed = Date.now();
          await waitFor(() => acked.size >= before + 100 && Date.now() - resumed >= 1500, 120_000, '100 jobs acknowledged after the restart');
          stopScheduling = true;
          await producer;
          assert.ok(failures.length > 0, 'some calls failed while the server was down');
          assert.ok(failures.every((e) => e instanceof StorePersistError), String(failures.find((e) => !(e instanceof StorePersistError))));
          assert.ok(acked.size >= 100, `acknowledged ${acked.size}`);
          try {
            await waitFor(() => [...acked].every((id) => starts(all).some((e) => e.id === id)), 120_000, 'every acknowledged job started');
          } catch (error) {
            const missing = [...acked].filter((id) => !starts(all).some((e) => e.id === id)).slice(0, 5);
            const records = await Promise.all(missing.map((id) => boss.get(id).catch((e: unknown) => String(e))));
            throw new Error(`${String(error)}: e.g. ${JSON.stringify(records)}; worker errors ${JSON.stringify(all.filter((e) => e.ev === 'error').slice(0, 5))}`);
          }
          await waitFor(
            async () => {
              const done = new Set((await boss.list({ state: 'completed' })).map((j) => j.id));
              return [...acked].every((id) => done.has(id));
            },
            120_000,
            'every acknowledged job completed',
          );
        } finally {
          await boss.stop();
        }
      });
    });
  });
});
