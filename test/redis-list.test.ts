/**
 * RedisStore reads only what it returns, and stores only what fits (issue 12
 * item 8): `list({ limit: 1 })` over big jobs sends one record's bytes, not a
 * page of whole records (measured on the server: total_net_output_bytes),
 * and records above `maxPayloadBytes` are refused before anything is sent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../src/redis.js';
import { ValidationError } from '../src/errors.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { admin, claimNow, job, liveContext, withPrefix, withStore } from './fixtures/redis-helpers.js';

const MB = 1024 * 1024;

describe('RedisStore: list reads only what it returns; payload limits', { skip: redisSkip }, () => {
  const server = useRedisServer({ appendfsync: 'everysec' });

  async function bytesSentBy(fn: () => Promise<unknown>): Promise<number> {
    const redis = admin(server.url);
    try {
      const read = async (): Promise<number> => Number(/total_net_output_bytes:(\d+)/.exec(await redis.info('stats'))?.[1]);
      const before = await read();
      await fn();
      return (await read()) - before;
    } finally {
      redis.disconnect();
    }
  }

  it('list({ limit: 1 }) over ten 2 MB jobs in every state sends about one job', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store) => {
        const big = 'x'.repeat(2 * MB);
        const t = Date.now();
        await store.insert(Array.from({ length: 10 }, (_, i) => ({ record: job(`big${i}`, { payload: big, runAt: t - 1000 + i }), onDuplicate: 'reject' as const })));
        // Some running, one completed, one dead: every index holds big records.
        const { jobs } = await store.claim(claimNow({ limit: 4 }));
        await store.settle(jobs[0]!.id, jobs[0]!.token!, { ...jobs[0]!, state: 'completed', finishedAt: t });
        await store.settle(jobs[1]!.id, jobs[1]!.token!, { ...jobs[1]!, state: 'dead', finishedAt: t });
        let first: Awaited<ReturnType<RedisStore['list']>> = [];
        const sent = await bytesSentBy(async () => {
          first = await store.list({ limit: 1 });
        });
        assert.deepEqual(first.map((j) => j.id), ['big0']);
        assert.ok(sent < 2.5 * MB, `list({ limit: 1 }) made Redis send ${(sent / MB).toFixed(1)} MB`);
        const scheduledOnly = await bytesSentBy(async () => {
          first = await store.list({ states: ['scheduled'], limit: 2, offset: 1 });
        });
        assert.deepEqual(first.map((j) => j.id), ['big5', 'big6']);
        assert.ok(scheduledOnly < 4.5 * MB, `sent ${(scheduledOnly / MB).toFixed(1)} MB for two jobs`);
      }, liveContext({ maxPayloadBytes: 4 * MB }));
    });
  });

  it('refuses payloads and results above maxPayloadBytes (UTF-8 bytes of JSON), writing nothing', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store) => {
        // 'é€' is 5 bytes of UTF-8 in 2 UTF-16 units: 1002 bytes of JSON in 402 units.
        const wide = 'é€'.repeat(200);
        await assert.rejects(store.insert([{ record: job('ok'), onDuplicate: 'reject' }, { record: job('wide', { payload: wide }), onDuplicate: 'reject' }]), (e: unknown) => {
          assert.ok(e instanceof ValidationError);
          assert.match(e.message, /payload of job `wide` to be at most 1000 bytes of JSON, got 1002/);
          return true;
        });
        assert.equal(store.counts().scheduled, 0);
        assert.equal(await store.get('ok'), undefined, 'all or none');
        await store.insert([{ record: job('a', { payload: 'x'.repeat(990) }), onDuplicate: 'reject' }]);
        const [claimed] = (await store.claim(claimNow())).jobs;
        await assert.rejects(store.settle('a', claimed!.token!, { ...claimed!, state: 'completed', finishedAt: Date.now(), result: 'y'.repeat(2000) }), /result of job `a` to be at most 1000 bytes/);
        assert.equal((await store.get('a'))?.state, 'running');
      }, liveContext({ maxPayloadBytes: 1000 }));
    });
  });
});
