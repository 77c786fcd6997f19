/**
 * `godelayq` on a RedisStore (`redis://` URL + `--prefix`), against a real
 * redis-server: reads go through a RedisStore opened `readOnly` (no
 * subscription, no timers, no lease recovery, not a key written, checked by
 * dumping every key before and after, and in-process), changes go through
 * live.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, StorePersistError, VirtualClock } from '../src/index.js';
import { RedisStore } from '../src/redis.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { admin, dumpKeys, job, liveContext, withPrefix } from './fixtures/redis-helpers.js';
import { cli, cliJson } from './cli-helpers.js';

async function fill(url: string, prefix: string): Promise<void> {
  const scheduler = new Scheduler({ store: new RedisStore({ url, prefix }), retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
  scheduler.register('pay', () => {
    throw new Error('card declined');
  });
  await scheduler.start();
  try {
    await scheduler.scheduleIn('order.cancel', 3_600_000, { orderId: 'A1' }, { id: 'order-1' });
    await scheduler.scheduleIn('pay', 0, { orderId: 'A2' }, { id: 'pay-1' });
    await scheduler.scheduleCron('report.daily', '0 9 * * *', null, { id: 'report', tz: 'Europe/Paris' });
    for (let i = 0; i < 400 && (await scheduler.get('pay-1'))?.state !== 'dead'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await scheduler.get('pay-1'))?.state, 'dead');
  } finally {
    await scheduler.stop();
  }
}

describe('godelayq on a RedisStore', { skip: redisSkip, timeout: 600_000 }, () => {
  const server = useRedisServer({ appendfsync: 'everysec' });

  it('jobs, show and stats read without writing a key; retry changes the job live', async () => {
    await withPrefix(server.url, async (prefix) => {
      await fill(server.url, prefix);
      const before = await dumpKeys(server.url, prefix);
      const jobs = await cliJson<{ jobs: { id: string; state: string }[]; source: { kind: string; store: string } }>(['jobs', server.url, '--prefix', prefix]);
      assert.deepEqual(jobs.jobs.map((j) => [j.id, j.state]).sort(), [['order-1', 'scheduled'], ['pay-1', 'dead'], ['report', 'scheduled']]);
      assert.equal(jobs.source.kind, 'redis');
      assert.equal(jobs.source.store, `${server.url} prefix ${prefix}`);
      const dead = await cliJson<{ jobs: { id: string }[] }>(['jobs', server.url, '--prefix', prefix, '--state', 'dead']);
      assert.deepEqual(dead.jobs.map((j) => j.id), ['pay-1']);
      const shown = await cli(['show', server.url, 'pay-1', '--prefix', prefix]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /^last error +Error: card declined$/m);
      assert.equal((await cli(['show', server.url, 'nope', '--prefix', prefix])).code, 2);
      const stats = await cliJson<{ counts: Record<string, number>; total: number }>(['stats', server.url, '--prefix', prefix]);
      assert.deepEqual(stats.counts, { scheduled: 2, running: 0, completed: 0, dead: 1, cancelled: 0, recurring: 1 });
      assert.deepEqual(await dumpKeys(server.url, prefix), before, 'a read wrote to Redis');

      const retried = await cli(['retry', server.url, 'pay-1', '--prefix', prefix, '--in', '1h', '--json']);
      assert.equal(retried.code, 0, retried.stderr);
      assert.equal((JSON.parse(retried.stdout) as { job: { state: string } }).job.state, 'scheduled');
      const after = await cliJson<{ job: { state: string; attempt: number } }>(['show', server.url, 'pay-1', '--prefix', prefix]);
      assert.deepEqual([after.job.state, after.job.attempt], ['scheduled', 0]);
      assert.equal((await cli(['cancel', server.url, 'order-1', '--prefix', prefix])).code, 0);
      assert.equal((await cli(['cancel', server.url, 'order-1', '--prefix', prefix])).code, 5);
    }, 'cli');
  });

  it('a retry made with the command while an app runs is picked up: the job runs again', async () => {
    await withPrefix(server.url, async (prefix) => {
      await fill(server.url, prefix);
      const app = new Scheduler({ store: new RedisStore({ url: server.url, prefix }) });
      const ran: string[] = [];
      app.register('pay', (job) => {
        ran.push(job.id);
        return 'paid';
      });
      await app.start();
      try {
        const r = await cli(['retry', server.url, 'pay-1', '--prefix', prefix]);
        assert.equal(r.code, 0, r.stderr);
        for (let i = 0; i < 500 && (await app.get('pay-1'))?.state !== 'completed'; i++) await new Promise((res) => setTimeout(res, 10));
        assert.deepEqual(ran, ['pay-1']);
        assert.equal((await app.get('pay-1'))?.result, 'paid');
      } finally {
        await app.stop();
      }
    }, 'live');
  });

  it('a read-only RedisStore subscribes to nothing, arms no timer, recovers no lease and refuses every change', async () => {
    await withPrefix(server.url, async (prefix) => {
      // A job running under a lease that has expired: an open for writing would recover it.
      const writer = new RedisStore({ url: server.url, prefix, leaseMs: 100 });
      await writer.open(liveContext());
      await writer.insert([{ record: job('leased', { runAt: Date.now() - 1 }), onDuplicate: 'reject' }]);
      const claimed = await writer.claim({ now: Date.now(), limit: 1, capacity: () => 1, token: () => 'tok-1' });
      assert.equal(claimed.jobs.length, 1);
      // Drop the writer's connection without giving the lease back (as a crash would).
      (writer as unknown as { leases: { stop(): void; held: Map<string, unknown> } }).leases.stop();
      (writer as unknown as { leases: { held: Map<string, unknown> } }).leases.held.clear();
      await writer.close();
      await new Promise((r) => setTimeout(r, 150));
      const before = await dumpKeys(server.url, prefix);

      const clock = new VirtualClock(Date.now());
      const store = new RedisStore({ url: server.url, prefix, readOnly: true });
      await store.open(liveContext({ clock }));
      const redis = admin(server.url);
      try {
        assert.equal(clock.pendingTimers, 0, 'a read-only store armed a timer (poll, lease watch)');
        const subs = (await redis.pubsub('NUMSUB', `${prefix}:wake`, `${prefix}:lost`)) as (string | number)[];
        assert.deepEqual(subs.filter((_, i) => i % 2 === 1).map(Number), [0, 0], 'a read-only store subscribed');
        assert.deepEqual(store.counts(), { scheduled: 0, running: 1, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 0 });
        assert.equal((await store.get('leased'))?.state, 'running', 'the expired lease was recovered by a read');
        assert.deepEqual((await store.list({})).map((j) => j.id), ['leased']);
        await assert.rejects(store.insert([{ record: job('x'), onDuplicate: 'reject' }]), (e: unknown) => e instanceof StorePersistError && /readOnly: true/.test((e as Error).message));
        await assert.rejects(store.cancel('leased', Date.now()), StorePersistError);
        await assert.rejects(store.revive('leased', Date.now()), StorePersistError);
        await assert.rejects(store.claim({ now: Date.now(), limit: 1, capacity: () => 1, token: () => 't' }), StorePersistError);
        assert.deepEqual(await dumpKeys(server.url, prefix), before, 'a read-only store wrote to Redis');
      } finally {
        redis.disconnect();
        await store.close();
      }
    }, 'ro');
  });

  it('an unreachable Redis exits 3', async () => {
    const r = await cli(['stats', 'redis://127.0.0.1:1', '--prefix', 'x']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /Expected Redis at redis:\/\/127\.0\.0\.1:1 to accept a connection/);
  });
});
