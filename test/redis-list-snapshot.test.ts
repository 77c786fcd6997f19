/**
 * RedisStore's list() is a snapshot when the indexes it reads are small
 * (list-script.ts): a job that moves between indexes while it is listed is
 * still listed, once. Before, list() read each index in its own round trip,
 * and a job claimed between the read of the running index and the read of
 * the due set was in neither answer (the simulation's known gap
 * `redisListAtomic`). Above ATOMIC_LIST_MAX entries it pages, as before.
 *
 * The race is made deterministic by listing through a ListSource that runs a
 * claim right after list's first read returns.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { KeyLayout } from '../src/store/redis/keys.js';
import { type ListSource, listRecords } from '../src/store/redis/list.js';
import { ATOMIC_LIST_MAX, LIST_ATOMIC } from '../src/store/redis/list-script.js';
import type { Script } from '../src/store/redis/script.js';
import type { StoreListFilter } from '../src/store/store.js';
import type { RedisStore } from '../src/redis.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { admin, claimNow, job, withPrefix, withStore } from './fixtures/redis-helpers.js';

describe('RedisStore: list() is a snapshot of small indexes', { skip: redisSkip }, () => {
  const server = useRedisServer({ appendfsync: 'everysec' });

  /**
   * Lists `filter` on `prefix` with a plain client; `afterFirstRead` runs once, between list's
   * first read and the rest; `paged` makes the atomic read decline, as above the cap. Returns the
   * ids, their states and the scripts list ran.
   */
  async function listWith(
    client: Redis,
    prefix: string,
    filter: StoreListFilter,
    afterFirstRead: () => Promise<unknown> = async () => undefined,
    paged = false,
  ): Promise<{ ids: string[]; states: string[]; scripts: Script[] }> {
    const keys = new KeyLayout(prefix);
    const scripts: Script[] = [];
    let first = true;
    const source: ListSource = {
      read: async (script, args) => {
        scripts.push(script);
        if (paged && script === LIST_ATOMIC) return ['BIG'];
        const reply = await client.eval(script.lua, 1, keys.due, ...args.map(String));
        if (first) {
          first = false;
          await afterFirstRead();
        }
        return reply;
      },
      readyNames: () => client.smembers(keys.fixed('readyn')),
      readyGroups: () => client.smembers(keys.fixed('readyg')),
    };
    const records = await listRecords(source, filter);
    return { ids: records.map((r) => r.id), states: records.map((r) => r.state), scripts };
  }

  async function insertDue(store: RedisStore, ids: readonly string[], at: number): Promise<void> {
    await store.insert(ids.map((id, i) => ({ record: job(id, { runAt: at + i }), onDuplicate: 'reject' as const })));
  }

  it('a job claimed while list() runs is listed once, in the state it had when list() read it', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store) => {
        await insertDue(store, ['a', 'b', 'c'], Date.now() - 1000);
        const client = admin(server.url);
        try {
          // The claim moves `a` from the due set to the running index, and b, c to their ready set.
          const { ids, states, scripts } = await listWith(client, prefix, {}, async () => {
            const { jobs } = await store.claim(claimNow({ limit: 1 }));
            assert.deepEqual(jobs.map((j) => j.id), ['a'], 'the claim took a between two reads of list');
          });
          assert.deepEqual(ids, ['a', 'b', 'c'], 'every job listed, whatever moved meanwhile');
          assert.deepEqual(states, ['scheduled', 'scheduled', 'scheduled'], 'as they were at one instant');
          assert.deepEqual(scripts, [LIST_ATOMIC], 'one read');
          // Now a runs: listed as running, once; b and c sit in the ready set.
          const after = await listWith(client, prefix, {});
          assert.deepEqual(after.ids, ['a', 'b', 'c']);
          assert.deepEqual(after.states, ['running', 'scheduled', 'scheduled']);
          assert.deepEqual((await listWith(client, prefix, { states: ['running'] })).ids, ['a']);
          assert.deepEqual((await listWith(client, prefix, { states: ['scheduled'], offset: 1, limit: 5 })).ids, ['c']);
        } finally {
          client.disconnect();
        }
      });
    });
  });

  it('reads atomically up to ATOMIC_LIST_MAX entries (the due set counted to offset + limit), and pages above', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store) => {
        const n = ATOMIC_LIST_MAX + 1;
        const ids = Array.from({ length: n }, (_, i) => `j${String(i).padStart(5, '0')}`);
        const t = Date.now() + 3_600_000;
        for (let i = 0; i < n; i += 1000) await insertDue(store, ids.slice(i, i + 1000), t + i);
        const client = admin(server.url);
        try {
          const window = await listWith(client, prefix, { offset: 10, limit: 3 });
          assert.deepEqual(window.ids, ids.slice(10, 13));
          assert.deepEqual(window.scripts, [LIST_ATOMIC], 'a window near the front of a big due set: one read');
          const all = await listWith(client, prefix, {});
          assert.deepEqual(all.ids, ids, 'above the cap: every job, in order');
          assert.equal(all.scripts[0], LIST_ATOMIC);
          assert.ok(all.scripts.length > 1, 'above the cap: paged reads after the atomic one declined');
          // The store's own list() gives the same answers.
          assert.deepEqual((await store.list({ offset: 10, limit: 3 })).map((r) => r.id), ids.slice(10, 13));
          assert.equal((await store.list({})).length, n);
        } finally {
          client.disconnect();
        }
      });
    });
  });

  it('without the atomic read, the same race loses the job (what the paged reads do)', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store) => {
        await insertDue(store, ['a', 'b', 'c'], Date.now() - 1000);
        const client = admin(server.url);
        try {
          const { ids } = await listWith(client, prefix, {}, () => store.claim(claimNow({ limit: 1 })), true);
          // Documented for lists above the cap: the running index was read before a started, the due set after.
          assert.deepEqual(ids, ['b', 'c']);
        } finally {
          client.disconnect();
        }
      });
    });
  });

  it('filters by name and state in the atomic read as the paged one does', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store) => {
        const t = Date.now() - 1000;
        await store.insert([
          { record: job('x1', { name: 'x', runAt: t }), onDuplicate: 'reject' },
          { record: job('y1', { name: 'y', runAt: t + 1 }), onDuplicate: 'reject' },
          { record: job('x2', { name: 'x', runAt: t + 2, group: 'g' }), onDuplicate: 'reject' },
          { record: job('y2', { name: 'y', runAt: t + 3, group: 'g' }), onDuplicate: 'reject' },
          { record: job('x3', { name: 'x', runAt: Date.now() + 60_000 }), onDuplicate: 'reject' },
        ]);
        const { jobs } = await store.claim(claimNow({ limit: 1 }));
        await store.settle(jobs[0]!.id, jobs[0]!.token!, { ...jobs[0]!, state: 'completed', finishedAt: Date.now() });
        const client = admin(server.url);
        try {
          for (const filter of [{}, { name: 'x' }, { name: 'y' }, { states: ['completed' as const] }, { name: 'x', states: ['scheduled' as const] }, { name: 'y', offset: 1 }]) {
            const atomic = await listWith(client, prefix, filter);
            assert.deepEqual(atomic.scripts, [LIST_ATOMIC], JSON.stringify(filter));
            const paged = await listWith(client, prefix, filter, undefined, true);
            assert.ok(paged.scripts.length > 1, 'the paged reads ran');
            assert.deepEqual(atomic.ids, paged.ids, JSON.stringify(filter));
            assert.deepEqual(atomic.states, paged.states, JSON.stringify(filter));
          }
          assert.deepEqual((await listWith(client, prefix, { name: 'x' })).ids, ['x1', 'x2', 'x3']);
          assert.deepEqual((await listWith(client, prefix, { states: ['completed'] })).ids, ['x1']);
          assert.deepEqual((await listWith(client, prefix, { name: 'y' })).ids, ['y1', 'y2']);
        } finally {
          client.disconnect();
        }
      });
    });
  });
});
