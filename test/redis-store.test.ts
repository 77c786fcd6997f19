/**
 * RedisStore against a real redis-server (started here on a free port, AOF
 * on): the shared Store conformance suite, then what only a shared store
 * has: push between stores, leases, recovery, connection loss.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/redis.js';
import { Scheduler } from '../src/scheduler.js';
import { SystemClock } from '../src/clock.js';
import { DuplicateJobError, StorePersistError } from '../src/errors.js';
import type { ClaimRequest, NewJobRecord, StoreContext } from '../src/store/store.js';
import { storeConformance } from './store-conformance.js';
import { deletePrefix, keysUnder, startRedis, type RedisServer } from './redis-server.js';
import { waitFor } from './fixtures/redis-workers.js';

let server: RedisServer;
let n = 0;

before(async () => {
  server = await startRedis();
});

after(async () => {
  await server?.destroy();
});

storeConformance('RedisStore', () => {
  const prefix = `conf${++n}`;
  const make = (): RedisStore => new RedisStore({ url: server.url, prefix });
  return Promise.resolve({
    store: make(),
    reopen: () => Promise.resolve(make()),
    cleanup: async () => {
      await deletePrefix(server.url, prefix);
      assert.deepEqual(await keysUnder(server.url, prefix), []);
    },
  });
});

describe('RedisStore basics', () => {
  it('validates its options', () => {
    assert.throws(() => new RedisStore({ url: 'redis://x', client: {} as never }), /one of `options.client` or `options.url`/);
    assert.throws(() => new RedisStore({ leaseMs: -1 }), /options.leaseMs/);
    assert.throws(() => new RedisStore({ prefix: '' }), /options.prefix/);
    assert.throws(() => new RedisStore({ nope: 1 } as never), /Unknown option `options.nope`/);
  });
});

/** A store context on the real clock that records wakes, warnings and lost attempts. */
function liveContext(): StoreContext & { wakes: number; warnings: string[]; lostAttempts: string[] } {
  const ctx = {
    now: () => Date.now(),
    clock: new SystemClock(),
    wakes: 0,
    warnings: [] as string[],
    lostAttempts: [] as string[],
    keepCompleted: 1000,
    keepDead: 1000,
    maxPayloadBytes: 1 << 20,
    wake: () => {
      ctx.wakes++;
    },
    warn: (message: string) => {
      ctx.warnings.push(message);
    },
    lost: (id: string) => {
      ctx.lostAttempts.push(id);
    },
  };
  return ctx;
}

async function withPrefix(fn: (prefix: string) => Promise<void>, url = (): string => server.url): Promise<void> {
  const prefix = `unit${++n}`;
  try {
    await fn(prefix);
  } finally {
    await deletePrefix(url(), prefix);
    assert.deepEqual(await keysUnder(url(), prefix), []);
  }
}

const job = (id: string, overrides: Partial<NewJobRecord> = {}): NewJobRecord => ({
  id,
  name: 'work',
  payload: { id },
  state: 'scheduled',
  runAt: Date.now(),
  createdAt: Date.now(),
  attempt: 0,
  priority: 0,
  ...overrides,
});

const claimNow = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => {
  let t = 0;
  return { now: Date.now(), limit: 100, capacity: () => 100, token: () => `tok${++t}-${Math.random()}`, ...overrides };
};

describe('RedisStore: records', () => {
  it('round-trips payloads exactly (empty arrays and objects, long decimals, unicode)', async () => {
    await withPrefix(async (prefix) => {
      const store = new RedisStore({ url: server.url, prefix });
      await store.open(liveContext());
      try {
        const payload = { a: [], o: {}, d: 0.1 + 0.2, big: 1234567890123456, tiny: 5e-324, s: 'ü 😀 \n "q"', nested: [[], [{}], null, true] };
        const [r] = await store.insert([{ record: job('p', { payload, runAt: 1_700_000_000_000.25, priority: -2.5 }), onDuplicate: 'reject' }]);
        const got = await store.get('p');
        assert.deepEqual(got, r?.record);
        assert.deepEqual(got?.payload, payload);
        assert.equal(got?.runAt, 1_700_000_000_000.25);
      } finally {
        await store.close();
      }
    });
  });

  it('lists a big set in runAt order with offset and limit', async () => {
    await withPrefix(async (prefix) => {
      const store = new RedisStore({ url: server.url, prefix });
      await store.open(liveContext());
      try {
        const base = Date.now() + 3_600_000;
        const records = Array.from({ length: 2500 }, (_, i) => job(`j${i}`, { runAt: base + ((i * 7919) % 1000), name: i % 2 ? 'odd' : 'even' }));
        await store.insert(records.map((record) => ({ record, onDuplicate: 'reject' })));
        const expected = [...records].map((r, seq) => ({ ...r, seq })).sort((a, b) => a.runAt - b.runAt || a.seq - b.seq);
        const all = await store.list({});
        assert.deepEqual(all.map((r) => r.id), expected.map((r) => r.id));
        assert.deepEqual((await store.list({ offset: 1995, limit: 10 })).map((r) => r.id), expected.slice(1995, 2005).map((r) => r.id));
        assert.deepEqual(
          (await store.list({ name: 'odd', states: ['scheduled'], offset: 700, limit: 3 })).map((r) => r.id),
          expected.filter((r) => r.name === 'odd').slice(700, 703).map((r) => r.id),
        );
        assert.equal(store.counts().scheduled, 2500);
      } finally {
        await store.close();
      }
    });
  });
});

describe('RedisStore: several stores on one job set', () => {
  it('pushes: a job due earlier than anything known wakes another process within 100 ms', async () => {
    await withPrefix(async (prefix) => {
      const a = new Scheduler({ store: new RedisStore({ url: server.url, prefix, pollMs: 60_000 }) });
      const b = new Scheduler({ store: new RedisStore({ url: server.url, prefix, pollMs: 60_000 }) });
      const started = new Map<string, number>();
      b.register('work', (j) => {
        started.set(j.id, Date.now());
      });
      await a.start();
      await b.start();
      try {
        await a.scheduleIn('work', 10_000, {}, { id: 'far' });
        await new Promise((r) => setTimeout(r, 50));
        const t0 = Date.now();
        await a.scheduleIn('work', 0, {}, { id: 'now' });
        await waitFor(() => started.has('now'), 2000, 'now started');
        assert.ok((started.get('now') as number) - t0 < 100, `started ${(started.get('now') as number) - t0} ms after scheduling`);
        const t1 = Date.now();
        const soon = await a.scheduleIn('work', 300, {}, { id: 'soon' });
        await waitFor(() => started.has('soon'), 2000, 'soon started');
        const at = started.get('soon') as number;
        assert.ok(at >= Math.floor(soon.runAt.getTime()), 'not early');
        assert.ok(at - t1 < 400, `started ${at - t1} ms after scheduling a 300 ms delay`);
        assert.equal(started.has('far'), false);
      } finally {
        await a.stop();
        await b.stop();
      }
    });
  });

  it('the same schedule declared by several processes at once is one job', async () => {
    await withPrefix(async (prefix) => {
      const schedulers = [0, 1, 2].map(() => new Scheduler({ store: new RedisStore({ url: server.url, prefix }) }));
      await Promise.all(schedulers.map((s) => s.start()));
      try {
        const infos = await Promise.all(schedulers.map((s) => s.scheduleEvery('work', 60_000, { x: 1 }, { id: 'every-minute' })));
        assert.deepEqual(new Set(infos.map((i) => i.id)), new Set(['every-minute']));
        assert.equal(new Set(infos.map((i) => i.runAt.getTime())).size, 1, 'every process got the one stored schedule');
        const list = await (schedulers[0] as Scheduler).list({});
        assert.equal(list.length, 1);
        await assert.rejects((schedulers[1] as Scheduler).scheduleEvery('work', 30_000, { x: 1 }, { id: 'every-minute' }), DuplicateJobError);
      } finally {
        await Promise.all(schedulers.map((s) => s.stop()));
      }
    });
  });

  it('a cancel or replace elsewhere tells the process running the attempt at once', async () => {
    await withPrefix(async (prefix) => {
      const ctxA = liveContext();
      const a = new RedisStore({ url: server.url, prefix });
      const b = new RedisStore({ url: server.url, prefix });
      await a.open(ctxA);
      await b.open(liveContext());
      try {
        await a.insert([{ record: job('c'), onDuplicate: 'reject' }, { record: job('r'), onDuplicate: 'reject' }]);
        const { jobs } = await a.claim(claimNow());
        assert.equal(jobs.length, 2);
        await b.cancel('c', Date.now());
        await b.insert([{ record: job('r', { payload: 'new' }), onDuplicate: 'replace' }]);
        await waitFor(() => ctxA.lostAttempts.length === 2, 1000, 'lost notices');
        assert.deepEqual([...ctxA.lostAttempts].sort(), ['c', 'r']);
        assert.deepEqual(ctxA.warnings, []);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  it('a job cancelled from another process is aborted where it runs, and not retried', async () => {
    await withPrefix(async (prefix) => {
      const a = new Scheduler({ store: new RedisStore({ url: server.url, prefix }) });
      const b = new Scheduler({ store: new RedisStore({ url: server.url, prefix }) });
      let started = 0;
      let abortedAt: number | undefined;
      b.register('work', (j) => {
        started++;
        return new Promise<void>((_resolve, reject) => {
          j.signal.addEventListener('abort', () => {
            abortedAt = Date.now();
            reject(j.signal.reason as Error);
          });
        });
      });
      await a.start();
      await b.start();
      try {
        await a.scheduleIn('work', 0, {}, { id: 'long' });
        await waitFor(() => started === 1, 2000, 'started in b');
        const t0 = Date.now();
        assert.equal(await a.cancel('long'), true);
        await waitFor(() => abortedAt !== undefined, 2000, 'aborted in b');
        assert.ok((abortedAt as number) - t0 < 200, `aborted ${(abortedAt as number) - t0} ms after the cancel`);
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(started, 1, 'not retried');
        assert.equal((await a.get('long'))?.state, 'cancelled');
      } finally {
        await a.stop();
        await b.stop({ timeout: 1000 });
      }
    });
  });

  it('recovers the lease of a process that stopped renewing: the job runs again, attempt kept, the old outcome is ignored', async () => {
    await withPrefix(async (prefix) => {
      const deadClient = new Redis(server.url);
      const ctxB = liveContext();
      const a = new RedisStore({ client: deadClient, prefix, leaseMs: 300 });
      const b = new RedisStore({ url: server.url, prefix, leaseMs: 300 });
      await a.open(liveContext());
      await b.open(ctxB);
      try {
        await a.insert([{ record: job('x'), onDuplicate: 'reject' }]);
        const [claimed] = (await a.claim(claimNow())).jobs;
        assert.ok(claimed?.token);
        const t0 = Date.now();
        deadClient.disconnect(); // a can no longer renew: as if it died
        await waitFor(async () => (await b.get('x'))?.state === 'scheduled', 2000, 'recovered');
        const elapsed = Date.now() - t0;
        assert.ok(elapsed >= 250 && elapsed < 1000, `recovered after ${elapsed} ms (lease 300 ms)`);
        assert.ok(ctxB.wakes > 0, 'the recovering process woke its scheduler');
        const [again] = (await b.claim(claimNow())).jobs;
        assert.equal(again?.id, 'x');
        assert.equal(again?.attempt, 2);
        await deadClient.connect();
        assert.equal(await a.settle('x', claimed.token, { ...claimed, state: 'completed', finishedAt: Date.now() }), false);
        assert.equal((await b.get('x'))?.state, 'running');
      } finally {
        await a.close();
        await b.close();
        deadClient.disconnect();
      }
    });
  });
});

describe('RedisStore: connection loss', () => {
  let own: RedisServer;
  before(async () => {
    own = await startRedis();
  });
  after(async () => {
    await own?.destroy();
  });

  it('rejects with StorePersistError while Redis is down, resumes when it is back, and keeps what it acknowledged', async () => {
    await withPrefix(
      async (prefix) => {
        const store = new RedisStore({ url: own.url, prefix, pollMs: 200 });
        const ctx = liveContext();
        await store.open(ctx);
        try {
          await store.insert([{ record: job('before', { runAt: Date.now() + 60_000 }), onDuplicate: 'reject' }]);
          await own.kill();
          const t0 = Date.now();
          await assert.rejects(store.insert([{ record: job('during'), onDuplicate: 'reject' }]), StorePersistError);
          await assert.rejects(store.get('before'), StorePersistError);
          await assert.rejects(store.claim(claimNow()), StorePersistError);
          assert.ok(Date.now() - t0 < 1000, 'fails fast');
          const wakesBefore = ctx.wakes; // no call can succeed (so wake) while it is down
          await own.start();
          await waitFor(
            async () => {
              try {
                await store.insert([{ record: job('after'), onDuplicate: 'reject' }]);
                return true;
              } catch {
                return false;
              }
            },
            10_000,
            'reconnected',
          );
          assert.equal((await store.get('before'))?.state, 'scheduled', 'acknowledged before the crash: kept (AOF)');
          assert.equal(await store.get('during'), undefined);
          await waitFor(() => ctx.wakes > wakesBefore, 3000, 'woke the scheduler after reconnecting');
          assert.deepEqual((await store.claim(claimNow())).jobs.map((j) => j.id), ['after']);
        } finally {
          await store.close();
        }
      },
      () => own.url,
    );
  });
});
