/**
 * No RedisStore script half-writes (issue 12 item 4): a Lua script that fails
 * half-way keeps what it wrote, so every script checks every key it may
 * write before its first write. Here another program overwrites one of the
 * store's keys with a value of the wrong type, for every key and every
 * script: the call is refused with an error naming the key and nothing under
 * the prefix changes (compared key by key, value by value); a broken job key
 * found through an index is skipped with a warning and left alone.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../src/redis.js';
import { StorePersistError } from '../src/errors.js';
import type { JobRecord } from '../src/store/store.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { admin, claimNow, dumpKeys, job, liveContext, withPrefix, type LiveContext } from './fixtures/redis-helpers.js';

interface Fixture {
  store: RedisStore;
  ctx: LiveContext;
  running: JobRecord;
}

/** A store holding one job in every place: due, ready (name 'other', no capacity), running, done, dead. */
async function populate(url: string, prefix: string): Promise<Fixture> {
  const ctx = liveContext();
  const store = new RedisStore({ url, prefix, pollMs: 60_000 });
  await store.open(ctx);
  const past = Date.now() - 1000;
  await store.insert([
    { record: job('s', { runAt: Date.now() + 3_600_000 }), onDuplicate: 'reject' },
    { record: job('r', { runAt: past, name: 'other' }), onDuplicate: 'reject' },
    { record: job('run', { runAt: past }), onDuplicate: 'reject' },
    { record: job('d1', { runAt: past }), onDuplicate: 'reject' },
    { record: job('d2', { runAt: past }), onDuplicate: 'reject' },
    { record: job('c', { runAt: Date.now() + 3_600_000 }), onDuplicate: 'reject' },
  ]);
  const { jobs } = await store.claim(claimNow({ capacity: (name) => (name === 'other' ? 0 : 100) }));
  const by = new Map(jobs.map((j) => [j.id, j]));
  await store.settle('d1', by.get('d1')!.token!, { ...by.get('d1')!, state: 'completed', finishedAt: Date.now() });
  await store.settle('d2', by.get('d2')!.token!, { ...by.get('d2')!, state: 'dead', finishedAt: Date.now() });
  await store.cancel('c', Date.now());
  return { store, ctx, running: by.get('run')! };
}

type Internals = { leases: { tick(): Promise<void> }; poll(): Promise<boolean> };

/** Every store call that runs a writing script; `throws` = the caller sees the refusal. */
const OPERATIONS: { name: string; throws: boolean; run(f: Fixture): Promise<unknown> }[] = [
  { name: 'insert', throws: true, run: (f) => f.store.insert([{ record: job('n'), onDuplicate: 'reject' }]) },
  { name: 'claim', throws: true, run: (f) => f.store.claim(claimNow()) },
  { name: 'settle', throws: true, run: (f) => f.store.settle('run', f.running.token!, { ...f.running, state: 'completed', finishedAt: Date.now() }) },
  { name: 'cancel', throws: true, run: (f) => f.store.cancel('s', Date.now()) },
  { name: 'reschedule', throws: true, run: (f) => f.store.reschedule('s', Date.now() + 10) },
  { name: 'revive', throws: true, run: (f) => f.store.revive('d2', Date.now()) },
  { name: 'renew (lease tick)', throws: false, run: (f) => (f.store as unknown as Internals).leases.tick() },
  { name: 'poll (lease recovery)', throws: false, run: (f) => (f.store as unknown as Internals).poll() },
  { name: 'close (hands leases back)', throws: false, run: (f) => f.store.close() },
];

const FIXED: { key: string; plant: 'string' | 'list' }[] = [
  { key: 'due', plant: 'string' },
  { key: 'leases', plant: 'string' },
  { key: 'done', plant: 'list' },
  { key: 'dead', plant: 'string' },
  { key: 'readyn', plant: 'string' },
  { key: 'counts', plant: 'string' },
  { key: 'ghm', plant: 'list' },
  { key: 'ghn', plant: 'string' },
];

describe('RedisStore: no half-writes when a key has the wrong type', { skip: redisSkip }, () => {
  const server = useRedisServer();

  async function plant(key: string, as: 'string' | 'list'): Promise<void> {
    const redis = admin(server.url);
    await redis.del(key);
    if (as === 'string') await redis.set(key, 'written by someone else');
    else await redis.rpush(key, 'written by someone else');
    redis.disconnect();
  }

  /** Runs `op` and checks it was refused (when it throws), naming `key`, and that nothing under the prefix changed. */
  async function refusedUntouched(prefix: string, f: Fixture, op: (typeof OPERATIONS)[number], key: string): Promise<void> {
    const before = await dumpKeys(server.url, prefix);
    if (op.throws) {
      await assert.rejects(op.run(f), (e: unknown) => {
        assert.ok(e instanceof StorePersistError, `${op.name}: ${String(e)}`);
        assert.ok(e.message.includes(JSON.stringify(key)), `${op.name}: names ${key}: ${e.message}`);
        assert.match(e.message, /nothing was changed/);
        return true;
      });
    } else {
      await op.run(f);
    }
    assert.deepEqual(await dumpKeys(server.url, prefix), before, `${op.name} wrote nothing`);
  }

  for (const { key, plant: as } of FIXED) {
    it(`\`${key}\` of the wrong type: every script refuses before writing`, async () => {
      for (const op of OPERATIONS) {
        await withPrefix(server.url, async (prefix) => {
          const f = await populate(server.url, prefix);
          try {
            await plant(`${prefix}:${key}`, as);
            await refusedUntouched(prefix, f, op, `${prefix}:${key}`);
          } finally {
            await f.store.close();
          }
        });
      }
    });
  }

  it('a counter that is not an integer: every script refuses before writing', async () => {
    for (const op of OPERATIONS) {
      await withPrefix(server.url, async (prefix) => {
        const f = await populate(server.url, prefix);
        try {
          const redis = admin(server.url);
          await redis.hset(`${prefix}:counts`, 'scheduled', 'many');
          redis.disconnect();
          await refusedUntouched(prefix, f, op, `${prefix}:counts`);
        } finally {
          await f.store.close();
        }
      });
    }
  });

  it('the job key a call names is not a hash: insert, settle, cancel, reschedule, revive and get refuse, nothing written', async () => {
    const cases: { id: string; run(f: Fixture): Promise<unknown> }[] = [
      { id: 'n', run: (f) => f.store.insert([{ record: job('ok'), onDuplicate: 'reject' }, { record: job('n'), onDuplicate: 'reject' }]) },
      { id: 'run', run: (f) => f.store.settle('run', f.running.token!, { ...f.running, state: 'completed', finishedAt: Date.now() }) },
      { id: 's', run: (f) => f.store.cancel('s', Date.now()) },
      { id: 's', run: (f) => f.store.reschedule('s', Date.now()) },
      { id: 'd2', run: (f) => f.store.revive('d2', Date.now()) },
      { id: 's', run: (f) => f.store.get('s') },
    ];
    for (const c of cases) {
      await withPrefix(server.url, async (prefix) => {
        const f = await populate(server.url, prefix);
        try {
          const key = `${prefix}:j=${c.id}`;
          await plant(key, 'list');
          await refusedUntouched(prefix, f, { name: `${c.id}`, throws: true, run: c.run }, key);
        } finally {
          await f.store.close();
        }
      });
    }
  });

  it("a name's ready set of the wrong type: claim, cancel, reschedule and a replacing insert refuse, nothing written", async () => {
    const cases: ((f: Fixture) => Promise<unknown>)[] = [
      (f) => f.store.claim(claimNow()),
      (f) => f.store.cancel('r', Date.now()),
      (f) => f.store.reschedule('r', Date.now()),
      (f) => f.store.insert([{ record: job('r', { name: 'other' }), onDuplicate: 'replace' }]),
    ];
    for (const [i, run] of cases.entries()) {
      await withPrefix(server.url, async (prefix) => {
        const f = await populate(server.url, prefix);
        try {
          // 'r' stays in the ready set: the ready set itself is replaced by a list holding nothing of ours.
          const key = `${prefix}:r=other`;
          await plant(key, 'list');
          await refusedUntouched(prefix, f, { name: `ready case ${i}`, throws: true, run }, key);
        } finally {
          await f.store.close();
        }
      });
    }
  });

  it('a broken job key found through an index is skipped, its entry dropped, the key left alone, and a warning names it', async () => {
    await withPrefix(server.url, async (prefix) => {
      const f = await populate(server.url, prefix);
      try {
        await f.store.insert([{ record: job('good', { runAt: Date.now() - 10 }), onDuplicate: 'reject' }, { record: job('bad', { runAt: Date.now() - 20 }), onDuplicate: 'reject' }]);
        await plant(`${prefix}:j=bad`, 'string');
        const { jobs } = await f.store.claim(claimNow({ capacity: (name) => (name === 'other' ? 0 : 100) }));
        assert.deepEqual(jobs.map((j) => j.id), ['good']);
        const redis = admin(server.url);
        assert.equal(await redis.get(`${prefix}:j=bad`), 'written by someone else', 'left alone');
        assert.deepEqual((await redis.zrange(`${prefix}:due`, 0, -1)).filter((m) => m.endsWith('bad')), [], 'its due entry dropped');
        redis.disconnect();
        assert.ok(f.ctx.warnings.some((w) => w.includes(JSON.stringify(`${prefix}:j=bad`))), f.ctx.warnings.join('\n'));
        assert.ok(!(await f.store.list({})).some((j) => j.id === 'bad'));
      } finally {
        await f.store.close();
      }
    });
  });
});
