/**
 * RedisStore's key layout (issue 12 item 5): no prefix and no id can produce
 * another store's key. Stores with prefixes `x` and `x:job` share one
 * server, with ids named like the store's own keys; each sees exactly its
 * own jobs. Ids with `:` and `%` round-trip, the Lua and JS key builders
 * agree, and a data set in the old layout is refused with a clear message.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../src/redis.js';
import { StorePersistError, ValidationError } from '../src/errors.js';
import { escapeKeyPart, hashTagOf } from '../src/store/redis/keys.js';
import { keysUnder, redisSkip, useRedisServer } from './redis-server.js';
import { admin, claimNow, dumpKeys, job, liveContext, withPrefix, withStore } from './fixtures/redis-helpers.js';

const TRICKY_IDS = ['due', 'version', 'counts', 'leases', 'readyn', 'done', 'dead', 'seq', 'wake', 'lost', 'job', 'job:due', 'j=due', 'r=work', 'a:b', 'a%3Ab', '%', ':', 'x:job:version', '{tag}'];

describe('key layout', () => {
  it('escapes `%` and `:` so an escaped part never holds a colon, and distinct parts stay distinct', () => {
    const seen = new Map<string, string>();
    for (const id of [...TRICKY_IDS, 'a%25', 'a%', 'a:', '%3A', '%253A']) {
      const e = escapeKeyPart(id);
      assert.ok(!e.includes(':'), e);
      assert.equal(seen.get(e), undefined, `${id} and ${seen.get(e)} escape alike`);
      seen.set(e, id);
    }
  });

  it('finds the hash tag Redis Cluster hashes on', () => {
    assert.equal(hashTagOf('{billing}'), 'billing');
    assert.equal(hashTagOf('app:{billing}:x'), 'billing');
    assert.equal(hashTagOf('billing'), undefined);
    assert.equal(hashTagOf('{}billing'), undefined);
    assert.equal(hashTagOf('a{b'), undefined, 'an open brace the prefix does not close: the rest of the key would decide');
  });
});

describe('RedisStore: keys of different stores never collide', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('prefixes `x` and `x:job` on one server, with ids named like the store keys: each store sees only its own jobs', async () => {
    await withPrefix(server.url, async (base) => {
      const a = new RedisStore({ url: server.url, prefix: base });
      const b = new RedisStore({ url: server.url, prefix: `${base}:job` });
      await a.open(liveContext());
      await b.open(liveContext());
      try {
        for (const store of [a, b]) {
          const results = await store.insert(TRICKY_IDS.map((id) => ({ record: job(id, { payload: { id, store: store === a ? 'a' : 'b' } }), onDuplicate: 'reject' as const })));
          assert.deepEqual(results.map((r) => r.outcome), TRICKY_IDS.map(() => 'inserted'));
        }
        for (const [store, name] of [[a, 'a'], [b, 'b']] as const) {
          assert.deepEqual((await store.list({})).map((j) => j.payload), TRICKY_IDS.map((id) => ({ id, store: name })));
          assert.equal(store.counts().scheduled, TRICKY_IDS.length);
          for (const id of TRICKY_IDS) assert.deepEqual((await store.get(id))?.payload, { id, store: name });
        }
        // Run every job of a to completion: b is untouched.
        const { jobs } = await a.claim(claimNow({ limit: 1000 }));
        assert.equal(jobs.length, TRICKY_IDS.length);
        for (const j of jobs) assert.equal(await a.settle(j.id, j.token!, { ...j, state: 'completed', finishedAt: Date.now() }), true);
        assert.equal(a.counts().completed, TRICKY_IDS.length);
        assert.deepEqual((await b.list({ states: ['scheduled'] })).length, TRICKY_IDS.length);
        assert.equal((await b.claim(claimNow({ limit: 1000 }))).jobs.length, TRICKY_IDS.length);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  it('builds the same job keys in Lua and in JS: `a:b%c` lives at `<prefix>:j=a%3Ab%25c`', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store) => {
        await store.insert([{ record: job('a:b%c'), onDuplicate: 'reject' }]);
        assert.equal((await store.get('a:b%c'))?.id, 'a:b%c');
        assert.ok((await keysUnder(server.url, prefix)).includes(`${prefix}:j=a%3Ab%25c`));
        for (const key of await keysUnder(server.url, prefix)) assert.ok(!key.slice(prefix.length + 1).includes(':'), `${key}: one colon after the prefix`);
      });
    });
  });

  it('refuses ids and names with a lone surrogate (UTF-8 would map two ids to one key)', async () => {
    await withPrefix(server.url, async (prefix) => {
      await withStore({ url: server.url, prefix }, async (store) => {
        await assert.rejects(store.insert([{ record: job('a\ud800'), onDuplicate: 'reject' }]), ValidationError);
        await assert.rejects(store.insert([{ record: job('a', { name: '\udc00' }), onDuplicate: 'reject' }]), ValidationError);
        assert.equal(store.counts().scheduled, 0);
      });
    });
  });

  it('refuses a data set in the old key layout (version 1) with a message saying what to do, writing nothing', async () => {
    await withPrefix(server.url, async (prefix) => {
      const redis = admin(server.url);
      await redis.set(`${prefix}:version`, '1');
      await redis.hset(`${prefix}:job:a`, { st: 'scheduled', nm: 'work', pl: '{}', at: '1' });
      await redis.zadd(`${prefix}:due`, 1, 'a');
      redis.disconnect();
      const before = await dumpKeys(server.url, prefix);
      const store = new RedisStore({ url: server.url, prefix });
      await assert.rejects(store.open(liveContext()), (e: unknown) => {
        assert.ok(e instanceof StorePersistError);
        assert.match(e.message, /layout version 2, got version 1 \(written by godelayq 0\.1\)/);
        assert.match(e.message, /delete the keys matching/);
        return true;
      });
      assert.deepEqual(await dumpKeys(server.url, prefix), before);
    });
  });
});
