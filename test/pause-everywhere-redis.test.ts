/**
 * pause({ everywhere: true }) across real processes sharing a real
 * redis-server: the other process stops claiming (and says so), a process
 * started while paused stays paused, any process resumes, and a process that
 * missed the notice still cannot claim (the claim script refuses) and picks
 * a resume up from its poll. Each "does not start" check follows a control
 * showing the same process starts a due job promptly when not paused.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Scheduler } from '../src/scheduler.js';
import { RedisStore } from '../src/redis.js';
import { deletePrefix, redisSkip, useRedisServer } from './redis-server.js';
import { spawnWorker, waitFor, type Worker, type WorkerEvent } from './fixtures/redis-workers.js';
import type { ManyChildConfig, ManyJobs } from './fixtures/control-many-child.js';
import type { SchedulerEvents } from '../src/events.js';

const CHILD = fileURLToPath(new URL('./fixtures/control-many-child.ts', import.meta.url));
/** The child's poll interval, where a test relies on it. */
const POLL_MS = 200;

type ChildEvent = WorkerEvent & { everywhere?: boolean; origin?: string; paused?: boolean };

function child(url: string, prefix: string, extra: Partial<ManyChildConfig> = {}): Promise<Worker> {
  const config: ManyChildConfig = { url, prefix, pollMs: POLL_MS, ...extra };
  return spawnWorker(config, undefined, CHILD);
}

const seen = (worker: Worker, ev: string, id?: string): ChildEvent[] => (worker.events as ChildEvent[]).filter((e) => e.ev === ev && (id === undefined || e.id === id));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A scheduler in this process that runs nothing itself (no handlers): jobs run in the child. */
async function parent(url: string, prefix: string): Promise<{ scheduler: Scheduler<ManyJobs>; log: (SchedulerEvents['paused'] & { type: string })[] }> {
  const scheduler = new Scheduler<ManyJobs>({ store: new RedisStore({ url, prefix, pollMs: POLL_MS }) });
  const log: (SchedulerEvents['paused'] & { type: string })[] = [];
  scheduler.on('paused', (e) => log.push({ type: 'paused', ...e }));
  scheduler.on('resumed', (e) => log.push({ type: 'resumed', ...e }));
  await scheduler.start();
  return { scheduler, log };
}

async function cleanUp(url: string, prefix: string, worker: Worker, scheduler: Scheduler<ManyJobs>): Promise<void> {
  await worker.stop();
  await scheduler.stop();
  await deletePrefix(url, prefix);
}

describe('pause({ everywhere: true }) on RedisStore, many processes', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('stops claims in another process until that process resumes', async () => {
    const prefix = 'pause-a';
    const { scheduler, log } = await parent(server.url, prefix);
    const worker = await child(server.url, prefix);
    try {
      const control = await scheduler.scheduleIn('work.ok', 0, { n: 1 });
      await waitFor(() => seen(worker, 'started', control.id).length === 1, 60_000, 'control: the child starts a due job');

      await scheduler.pause({ everywhere: true });
      assert.deepEqual(log, [{ type: 'paused', everywhere: true, origin: 'local' }]);
      await waitFor(() => seen(worker, 'paused').length === 1, 60_000, 'the child hears the pause');
      assert.deepEqual(seen(worker, 'paused')[0], { ev: 'paused', everywhere: true, origin: 'remote' });

      const job = await scheduler.scheduleIn('work.ok', 0, { n: 2 });
      // Due now: unpaused, the child started the control within moments. Ten of its poll intervals.
      await sleep(10 * POLL_MS);
      assert.equal(seen(worker, 'started', job.id).length, 0, 'not started while paused everywhere');
      assert.equal((await scheduler.get(job.id))?.state, 'scheduled');

      worker.child.kill('SIGUSR2'); // the child resumes everywhere
      await waitFor(() => seen(worker, 'started', job.id).length === 1, 60_000, 'the child starts the job after its own resume');
      assert.deepEqual(seen(worker, 'resumed'), [{ ev: 'resumed', everywhere: true, origin: 'local' }]);
      await waitFor(() => log.length === 2, 60_000, 'this process hears the resume');
      assert.deepEqual(log[1], { type: 'resumed', everywhere: true, origin: 'remote' });
      assert.equal(scheduler.isPaused(), false);
    } finally {
      await cleanUp(server.url, prefix, worker, scheduler);
    }
  });

  it('a process started while paused stays paused until resumed from another process', async () => {
    const prefix = 'pause-b';
    const { scheduler } = await parent(server.url, prefix);
    await scheduler.pause({ everywhere: true });
    const job = await scheduler.scheduleIn('work.ok', 0, { n: 1 });
    const worker = await child(server.url, prefix);
    try {
      assert.equal(seen(worker, 'ready')[0]?.paused, true, 'paused at start');
      assert.deepEqual(seen(worker, 'paused'), [{ ev: 'paused', everywhere: true, origin: 'remote' }]);
      await sleep(10 * POLL_MS);
      assert.equal(seen(worker, 'started').length, 0, 'the due job did not start');

      await scheduler.resume({ everywhere: true });
      await waitFor(() => seen(worker, 'started', job.id).length === 1, 60_000, 'control: resumed, the child starts it');
      assert.deepEqual(seen(worker, 'resumed'), [{ ev: 'resumed', everywhere: true, origin: 'remote' }]);
    } finally {
      await cleanUp(server.url, prefix, worker, scheduler);
    }
  });

  it('a process that missed the notice cannot claim: the claim script refuses, and it learns the pause from that', async () => {
    const prefix = 'pause-c';
    const { scheduler } = await parent(server.url, prefix);
    // Both due before the child starts: it claims `hold` at once (priority), the other waits for its one slot.
    const hold = await scheduler.scheduleIn('work.hold', 0, { n: 1 }, { priority: 10 });
    const job = await scheduler.scheduleIn('work.ok', 0, { n: 2 });
    // No wake notices (cut) and no poll for a minute: the only way it can learn the pause is its claim's reply.
    const worker = await child(server.url, prefix, { cut: true, pollMs: 60_000, concurrency: 1 });
    try {
      await waitFor(() => seen(worker, 'started', hold.id).length === 1, 60_000, 'the child runs hold');
      await scheduler.pause({ everywhere: true });
      await sleep(5 * POLL_MS);
      assert.equal(seen(worker, 'paused').length, 0, 'the child did not hear the pause (cut off)');

      worker.child.kill('SIGHUP'); // hold finishes: the child's slot frees and it claims again
      await waitFor(() => seen(worker, 'completed', hold.id).length === 1, 60_000, 'hold completes');
      await waitFor(() => seen(worker, 'paused').length === 1, 60_000, 'the refused claim tells the child');
      assert.deepEqual(seen(worker, 'paused')[0], { ev: 'paused', everywhere: true, origin: 'remote' });
      await sleep(5 * POLL_MS);
      assert.equal(seen(worker, 'started', job.id).length, 0, 'the due job was not claimed');
      assert.equal((await scheduler.get(job.id))?.state, 'scheduled');

      worker.child.kill('SIGUSR2'); // resumed from the child itself: the control
      await waitFor(() => seen(worker, 'started', job.id).length === 1, 60_000, 'resumed, the child claims it');
    } finally {
      await cleanUp(server.url, prefix, worker, scheduler);
    }
  });

  it('a process that missed the notices picks the pause and the resume up within its poll interval', async () => {
    const prefix = 'pause-d';
    const { scheduler } = await parent(server.url, prefix);
    const worker = await child(server.url, prefix, { cut: true });
    try {
      const control = await scheduler.scheduleIn('work.ok', 0, { n: 1 });
      await waitFor(() => seen(worker, 'started', control.id).length === 1, 60_000, 'control: the child finds due jobs by polling');
      await scheduler.pause({ everywhere: true });
      await waitFor(() => seen(worker, 'paused').length === 1, 60_000, 'the child polls the pause');
      const job = await scheduler.scheduleIn('work.ok', 0, { n: 2 });
      await sleep(10 * POLL_MS);
      assert.equal(seen(worker, 'started', job.id).length, 0, 'not started while paused');
      await scheduler.resume({ everywhere: true });
      await waitFor(() => seen(worker, 'resumed').length === 1, 60_000, 'the child polls the resume');
      await waitFor(() => seen(worker, 'started', job.id).length === 1, 60_000, 'and starts the job');
    } finally {
      await cleanUp(server.url, prefix, worker, scheduler);
    }
  });

  it('survives the process that paused: the pause is in Redis, not in a process', async () => {
    const prefix = 'pause-e';
    const first = await parent(server.url, prefix);
    await first.scheduler.pause({ everywhere: true });
    await first.scheduler.stop();
    const second = await parent(server.url, prefix);
    try {
      assert.equal(second.scheduler.isPaused({ everywhere: true }), true);
      assert.deepEqual(second.log, [{ type: 'paused', everywhere: true, origin: 'remote' }]);
      await second.scheduler.resume({ everywhere: true });
      assert.equal(second.scheduler.isPaused(), false);
    } finally {
      await second.scheduler.stop();
      await deletePrefix(server.url, prefix);
    }
  });

  it('a pause key deleted with the rest of the prefix reads as not paused (versions start over)', async () => {
    const prefix = 'pause-f';
    const { scheduler, log } = await parent(server.url, prefix);
    const raw = new Redis(server.url);
    try {
      await scheduler.pause({ everywhere: true });
      await scheduler.resume({ everywhere: true });
      await scheduler.pause({ everywhere: true });
      await raw.del(`${prefix}:pause`);
      await waitFor(() => !scheduler.isPaused(), 60_000, 'the poll finds the key gone');
      assert.deepEqual(log.at(-1), { type: 'resumed', everywhere: true, origin: 'remote' });
      await scheduler.pause({ everywhere: true }); // version 1 again: not taken for an old state
      assert.equal(scheduler.isPaused(), true);
    } finally {
      raw.disconnect();
      await scheduler.stop();
      await deletePrefix(server.url, prefix);
    }
  });
});
