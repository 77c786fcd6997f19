/**
 * RedisStore's claim over groups reads each name's best free group from a
 * heads index (`P:h=<name>`, kept by every script: lua.ts `gindex`), not
 * every free group. Found 5 December 2026: the claim script read the head of
 * every group in `P:gfree` per claim, so running n jobs in n groups was
 * quadratic and each claim held the server for every client (8,000 jobs in
 * as many groups, 10 a claim: 47 s, ~60 ms a claim; without groups 1.8 s;
 * .tmp/groups-claim-shared.ts, untracked).
 *
 * Checked three ways: the commands one claim sends must not grow with the
 * groups it does not pick (Redis counts the commands scripts send); claims
 * must answer what a MemoryStore answers over random operations; and an
 * index that is missing (a store written before it existed) or changed by
 * another program is rebuilt, never trusted into skipping a job.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RedisStore } from '../src/redis.js';
import { Scheduler } from '../src/scheduler.js';
import { StorePersistError } from '../src/errors.js';
import type { Store } from '../src/store/store.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { admin, dumpKeys, liveContext, withPrefix } from './fixtures/redis-helpers.js';
import { claimAll, CT0, newRecord } from './store-conformance.js';
import { complete, compareGroupClaims, groupClaimOps, ids, insertAll as insert } from './fixtures/group-claims-model.js';

/** Claims `limit` at a time at `now` and completes each job, until a claim takes nothing: the ids in claim order. */
async function runAll(store: Store, now: number, limit: number): Promise<string[]> {
  const order: string[] = [];
  for (;;) {
    const { jobs } = await store.claim(claimAll(now, { limit }));
    if (jobs.length === 0) return order;
    order.push(...ids(jobs));
    for (const j of jobs) await complete(store, j);
  }
}

/** A claim with no capacity: it moves what is due at `now` into the ready sets (and the index) and takes nothing. */
async function promote(store: Store, now: number): Promise<void> {
  assert.equal((await store.claim(claimAll(now, { limit: 1, capacity: () => 0 }))).jobs.length, 0);
}

/** Calls of each command the server ran (scripts' commands included) since the last reset. */
async function commandCalls(url: string): Promise<Map<string, number>> {
  const client = admin(url);
  try {
    const out = new Map<string, number>();
    for (const line of (await client.info('commandstats')).split('\n')) {
      const m = /^cmdstat_([a-z|]+):calls=(\d+)/.exec(line.trim());
      if (m) out.set(m[1] as string, Number(m[2]));
    }
    return out;
  } finally {
    client.disconnect();
  }
}

async function resetStats(url: string): Promise<void> {
  const client = admin(url);
  await client.config('RESETSTAT');
  client.disconnect();
}

/** n due jobs of name 'mail', each in its own group, all moved into their groups' ready sets. */
async function manyGroups(store: RedisStore, n: number): Promise<void> {
  await insert(store, Array.from({ length: n }, (_, k) => newRecord(`j${k}`, { name: 'mail', group: `user-${k}`, runAt: CT0 })));
  // A claim moves up to 1,000 due jobs into their ready sets; these take nothing.
  for (let i = 0; i < n / 1000 + 1; i++) await promote(store, CT0 + 1);
}

describe('RedisStore: group claims read a heads index', { skip: redisSkip }, () => {
  const server = useRedisServer();
  const open = async (prefix: string): Promise<RedisStore> => {
    const store = new RedisStore({ url: server.url, prefix });
    await store.open(liveContext());
    return store;
  };

  it('a claim of 10 with 4,000 groups waiting sends a number of commands that does not grow with the groups', async () => {
    await withPrefix(server.url, async (prefix) => {
      const store = await open(prefix);
      try {
        await manyGroups(store, 4000);
        await resetStats(server.url);
        const { jobs } = await store.claim(claimAll(CT0 + 1, { limit: 10 }));
        assert.deepEqual(ids(jobs), Array.from({ length: 10 }, (_, k) => `j${k}`), 'oldest first, one per group');
        const calls = await commandCalls(server.url);
        const total = [...calls.values()].reduce((a, b) => a + b, 0);
        // The walk read every group's head: 4,000 ZRANGE and 4,000 HMGET. Now ~10 commands a job.
        assert.ok((calls.get('zrange') ?? 0) < 200, `ZRANGE calls: ${calls.get('zrange')}`);
        assert.ok((calls.get('hmget') ?? 0) < 200, `HMGET calls: ${calls.get('hmget')}`);
        assert.ok(total < 600, `commands: ${total}`);
        for (const j of jobs) await complete(store, j);
      } finally {
        await store.close();
      }
    });
  });

  it('a store without the index (written before it existed) is indexed at the first claim, and runs in the same order', async () => {
    await withPrefix(server.url, async (prefix) => {
      const store = await open(prefix);
      try {
        // Three groups with priorities, and a plain job between them.
        await insert(store, [
          newRecord('low', { group: 'a', priority: 0, runAt: CT0 }),
          newRecord('high', { group: 'b', priority: 5, runAt: CT0 + 1 }),
          newRecord('mid', { group: 'c', priority: 2, runAt: CT0 + 2 }),
          newRecord('plain', { priority: 3, runAt: CT0 + 3 }),
          newRecord('high-2', { group: 'b', priority: 5, runAt: CT0 + 4 }),
        ]);
        await promote(store, CT0 + 10);
        const client = admin(server.url);
        const index = (await client.keys(`${prefix}:h=*`)).concat([`${prefix}:ghm`, `${prefix}:ghn`]);
        assert.ok(index.length >= 3, `the index exists: ${index.join(', ')}`);
        assert.ok((await client.del(...index)) >= 3);
        client.disconnect();
        assert.deepEqual(await runAll(store, CT0 + 10, 1), ['high', 'high-2', 'plain', 'mid', 'low']);
      } finally {
        await store.close();
      }
    });
  });

  it('an index changed by another program (an entry gone, a stray entry, a wrong head) is rebuilt; no job is skipped or run twice', async () => {
    const damages: { what: string; harm(client: ReturnType<typeof admin>, prefix: string): Promise<void> }[] = [
      { what: 'an entry gone', harm: async (c, p) => void (await c.zpopmin(`${p}:h=work`)) },
      { what: 'a stray entry', harm: async (c, p) => void (await c.zadd(`${p}:h=work`, -9, `--------0000000000000000--------ghost`)) },
      {
        what: 'an entry naming an old head',
        harm: async (c, p) => {
          const [member, score] = await c.zrange(`${p}:h=work`, 0, 0, 'WITHSCORES');
          await c.zrem(`${p}:h=work`, member as string);
          await c.zadd(`${p}:h=work`, Number(score) - 1, `${(member as string).slice(0, 8)}0000000000000000--------${(member as string).slice(32)}`);
        },
      },
      { what: 'the map emptied', harm: async (c, p) => void (await c.del(`${p}:ghm`)) },
    ];
    for (const d of damages) {
      await withPrefix(server.url, async (prefix) => {
        const store = await open(prefix);
        try {
          await insert(store, Array.from({ length: 12 }, (_, k) => newRecord(`j${k}`, { group: `g${k % 4}`, runAt: CT0 + k })));
          await promote(store, CT0 + 100);
          const client = admin(server.url);
          await d.harm(client, prefix);
          client.disconnect();
          assert.deepEqual(await runAll(store, CT0 + 100, 2), Array.from({ length: 12 }, (_, k) => `j${k}`), d.what);
          assert.equal(store.counts().scheduled, 0, d.what);
        } finally {
          await store.close();
        }
      });
    }
  });

  it('a heads index key of the wrong type: the claim refuses by name and writes nothing', async () => {
    await withPrefix(server.url, async (prefix) => {
      const store = await open(prefix);
      try {
        await insert(store, [newRecord('a', { group: 'g', runAt: CT0 }), newRecord('b', { group: 'h', runAt: CT0 })]);
        await promote(store, CT0 + 1);
        const client = admin(server.url);
        await client.del(`${prefix}:h=work`);
        await client.set(`${prefix}:h=work`, 'written by someone else');
        client.disconnect();
        const before = await dumpKeys(server.url, prefix);
        await assert.rejects(store.claim(claimAll(CT0 + 1)), (e: unknown) => {
          assert.ok(e instanceof StorePersistError, String(e));
          assert.ok(e.message.includes(JSON.stringify(`${prefix}:h=work`)), e.message);
          assert.match(e.message, /nothing was changed/);
          return true;
        });
        assert.deepEqual(await dumpKeys(server.url, prefix), before);
        // Once the key is gone the index is rebuilt and both jobs run.
        const fix = admin(server.url);
        await fix.del(`${prefix}:h=work`);
        fix.disconnect();
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 1))).jobs).sort(), ['a', 'b']);
      } finally {
        await store.close();
      }
    });
  });

  it('a heads index key of the wrong type for a name not indexed yet: the claim that brings its first group does not fail half-way; the next one refuses it by name', async () => {
    await withPrefix(server.url, async (prefix) => {
      const store = await open(prefix);
      try {
        // The store learns the name from a job without a group, so a claim sends its capacity.
        await insert(store, [newRecord('plain', { name: 'other', runAt: CT0 })]);
        assert.deepEqual(await runAll(store, CT0 + 1, 10), ['plain']);
        const client = admin(server.url);
        await client.set(`${prefix}:h=other`, 'written by someone else');
        client.disconnect();
        await insert(store, [newRecord('x', { name: 'other', group: 'g', runAt: CT0 })]);
        // This claim moves x into its group and cannot index it: it takes nothing, and throws
        // nothing (it read the key with redis.call after its writes: an error half-way).
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 1))).jobs), []);
        const before = await dumpKeys(server.url, prefix);
        await assert.rejects(store.claim(claimAll(CT0 + 1)), (e: unknown) => {
          assert.ok(e instanceof StorePersistError, String(e));
          assert.ok(e.message.includes(JSON.stringify(`${prefix}:h=other`)), e.message);
          return true;
        });
        assert.deepEqual(await dumpKeys(server.url, prefix), before);
      } finally {
        await store.close();
      }
    });
  });

  it('a Scheduler: a group whose next job is of a name never seen outside groups starts it while the first runs', async () => {
    // Found by the comparison below: the claim that took the group's first job left the next
    // one (of a name this process had sent no capacity for) for later, and the scheduler
    // claimed again only when a slot freed, so here it waited for the first job to end.
    await withPrefix(server.url, async (prefix) => {
      const scheduler = new Scheduler({ store: new RedisStore({ url: server.url, prefix, pollMs: 60_000 }) });
      let secondStarted!: () => void;
      const second = new Promise<void>((resolve) => (secondStarted = resolve));
      const started: string[] = [];
      scheduler.register('sync', async () => {
        started.push('sync');
        // Bounded: the code before the fix never starts 'mail' while this runs.
        await Promise.race([second, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      });
      scheduler.register('mail', () => {
        started.push('mail');
        secondStarted();
      });
      await scheduler.start();
      // Both due at one instant, so one claim finds both.
      const at = new Date(Date.now() + 300);
      await scheduler.scheduleAt('sync', at, {}, { id: 'first', group: { id: 'g', concurrency: 2 } });
      await scheduler.scheduleAt('mail', at, {}, { id: 'second', group: { id: 'g', concurrency: 2 } });
      const t0 = Date.now();
      try {
        await second;
        assert.deepEqual(started, ['sync', 'mail']);
        assert.ok(Date.now() - t0 < 9_000, 'mail started while sync ran');
      } finally {
        await scheduler.stop();
      }
    });
  });

  it('claims answer what a MemoryStore answers, over random inserts, claims, completions, cancels and reschedules in groups', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(groupClaimOps, async (ops) => {
        await withPrefix(server.url, async (prefix) => {
          const redis = new RedisStore({ url: server.url, prefix });
          await redis.open(liveContext());
          try {
            await compareGroupClaims(redis, ops, 'RedisStore');
          } finally {
            await redis.close();
          }
        });
        runs++;
      }),
      { numRuns: 150 },
    );
    assert.equal(runs, 150);
  });
});
