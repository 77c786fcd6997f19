/**
 * A wake push that lands after a later reply. RedisStore's `nextDueAt()` is a
 * cache that replies and `P:wake` pushes refresh; a push of an earlier change
 * (an insert) can reach this process after the reply of a later one (a
 * reschedule), as Redis Cluster's bus did in CI. The cache is then early,
 * never late, and the first round trip after it (the empty claim the
 * scheduler makes when it wakes) sets it right. Here the push is held back on
 * purpose, so the race happens every run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../src/redis.js';
import { CT0, claimAll, dueSettles, newRecord, storeContext } from './store-conformance.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { waitFor } from './fixtures/redis-workers.js';
import { withPrefix } from './fixtures/redis-helpers.js';

describe('RedisStore: a wake push that lands after a later reply', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('leaves nextDueAt early, never late, and the next empty claim sets it right', async () => {
    await withPrefix(server.url, async (prefix) => {
      const store = new RedisStore({ url: server.url, prefix });
      // Hold back every push this store hears until the test delivers it.
      const held: string[] = [];
      const hook = store as unknown as { onWake(message: string): void };
      const deliver = hook.onWake.bind(store);
      hook.onWake = (message) => {
        held.push(message);
      };
      await store.open(storeContext());
      try {
        const recur = { every: 1000, misfire: 'once' as const, slot: CT0 + 1000, count: 0, signature: 'sig' };
        await store.insert([{ record: newRecord('s', { runAt: CT0 + 1000, recur }), onDuplicate: 'reject' }]);
        await store.reschedule('s', CT0 + 7777);
        assert.equal(store.nextDueAt(), CT0 + 7777, "the reschedule's reply");
        await waitFor(() => held.includes(String(CT0 + 1000)), 10_000, "the insert's push");
        for (const message of held.splice(0)) deliver(message);
        assert.equal(store.nextDueAt(), CT0 + 1000, "the insert's late push makes the cache early");
        // What the scheduler does on waking then: an empty claim, whose reply refreshes the cache.
        await dueSettles(store, CT0 + 7777);
        assert.deepEqual((await store.claim(claimAll(CT0 + 7776))).jobs, []);
        const [job] = (await store.claim(claimAll(CT0 + 7777))).jobs;
        assert.equal(job?.id, 's');
        assert.equal(job?.recur?.slot, CT0 + 7777);
      } finally {
        await store.close();
      }
    });
  });
});
