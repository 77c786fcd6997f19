/**
 * RedisStore against a real redis-server (started here on a free port, AOF
 * on): the shared Store conformance suite, then what only a shared store
 * has: push between stores, leases, recovery, connection loss.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RedisStore } from '../src/redis.js';
import { Scheduler } from '../src/scheduler.js';
import { DuplicateJobError, StorePersistError } from '../src/errors.js';
import { VirtualClock } from '../src/clock.js';
import { storeConformance } from './store-conformance.js';
import { deletePrefix, keysUnder, redisSkip, useRedisServer } from './redis-server.js';
import { waitFor } from './fixtures/redis-workers.js';
import { claimNow, job, liveContext, untilOk, withPrefix, withStore } from './fixtures/redis-helpers.js';

describe('RedisStore', { skip: redisSkip }, () => {
  const server = useRedisServer();
  let n = 0;

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

  describe('options', () => {
    it('validates its options', () => {
      assert.throws(() => new RedisStore({ url: 'redis://x', client: {} as never }), /one of `options.client` or `options.url`/);
      assert.throws(() => new RedisStore({ client: {} as never }), /ioredis Redis or Cluster client/);
      assert.throws(() => new RedisStore({ url: 'http://x' }), /redis:\/\/ or rediss:\/\/ URL/);
      assert.throws(() => new RedisStore({ leaseMs: -1 }), /options.leaseMs/);
      assert.throws(() => new RedisStore({ leaseMs: 50 }), /options.leaseMs` to be at least 100/);
      assert.throws(() => new RedisStore({ commandTimeoutMs: 0 }), /options.commandTimeoutMs/);
      assert.throws(() => new RedisStore({ prefix: '' }), /options.prefix/);
      assert.throws(() => new RedisStore({ prefix: 'a\ud800' }), /well-formed Unicode/);
      assert.throws(() => new RedisStore({ nope: 1 } as never), /Unknown option `options.nope`/);
    });
  });

  describe('records', () => {
    it('round-trips payloads exactly (empty arrays and objects, long decimals, unicode) and every optional field', async () => {
      await withPrefix(server.url, async (prefix) => {
        await withStore({ url: server.url, prefix }, async (store) => {
          const payload = { a: [], o: {}, d: 0.1 + 0.2, big: 1234567890123456, tiny: 5e-324, s: 'ü 😀 \n "q"', nested: [[], [{}], null, true] };
          const [r] = await store.insert([
            {
              record: job('p', {
                payload,
                runAt: 1_700_000_000_000.25,
                priority: -2.5,
                attempt: 2,
                lost: 'lease',
                relative: true,
                retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 5 } },
                timeout: 100,
                lastError: { name: 'Error', message: 'x' },
              }),
              onDuplicate: 'reject',
            },
          ]);
          const got = await store.get('p');
          assert.deepEqual(got, r?.record);
          assert.deepEqual(got?.payload, payload);
          assert.equal(got?.runAt, 1_700_000_000_000.25);
          assert.equal(got?.lost, 'lease');
          assert.equal(got?.relative, true);
        });
      });
    });

    it('a settle writes the whole record: `lost` and `relative` go when the new record has none', async () => {
      await withPrefix(server.url, async (prefix) => {
        await withStore({ url: server.url, prefix }, async (store) => {
          await store.insert([{ record: job('l', { lost: 'lease', relative: true, attempt: 1 }), onDuplicate: 'reject' }]);
          const [claimed] = (await store.claim(claimNow())).jobs;
          assert.equal(claimed?.lost, 'lease', 'the claim hands the lost attempt to the scheduler');
          const { lost: _lost, relative: _relative, token: _token, ...rest } = claimed!;
          assert.equal(await store.settle('l', claimed!.token!, { ...rest, state: 'scheduled', runAt: Date.now() + 60_000 }), true);
          const got = await store.get('l');
          assert.equal(got?.lost, undefined);
          assert.equal(got?.relative, undefined);
          assert.equal(got?.attempt, 2);
        });
      });
    });

    it('lists a big set in runAt order with offset and limit', async () => {
      await withPrefix(server.url, async (prefix) => {
        await withStore({ url: server.url, prefix }, async (store) => {
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
        });
      });
    });

    it('lists every state in runAt order: due, ready (promoted but unclaimed), running, finished, dead', async () => {
      await withPrefix(server.url, async (prefix) => {
        await withStore({ url: server.url, prefix }, async (store) => {
          const t = Date.now() - 10_000;
          await store.insert(['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => ({ record: job(id, { runAt: t + i, name: id === 'e' ? 'other' : 'work' }), onDuplicate: 'reject' as const })));
          await store.insert([{ record: job('later', { runAt: Date.now() + 60_000 }), onDuplicate: 'reject' }]);
          // 'other' has no capacity: 'e' is promoted to its ready set and stays there.
          const { jobs } = await store.claim(claimNow({ capacity: (name) => (name === 'work' ? 100 : 0) }));
          const by = new Map(jobs.map((j) => [j.id, j]));
          await store.settle('a', by.get('a')!.token!, { ...by.get('a')!, state: 'completed', finishedAt: Date.now() });
          await store.settle('b', by.get('b')!.token!, { ...by.get('b')!, state: 'dead', finishedAt: Date.now() });
          await store.cancel('c', Date.now());
          const list = await store.list({});
          assert.deepEqual(list.map((j) => [j.id, j.state]), [
            ['a', 'completed'],
            ['b', 'dead'],
            ['c', 'cancelled'],
            ['d', 'running'],
            ['e', 'scheduled'],
            ['f', 'running'],
            ['later', 'scheduled'],
          ]);
          assert.deepEqual((await store.list({ states: ['scheduled'] })).map((j) => j.id), ['e', 'later']);
          assert.deepEqual((await store.list({ states: ['running'], limit: 1 })).map((j) => j.id), ['d']);
          assert.deepEqual((await store.list({ name: 'other' })).map((j) => j.id), ['e']);
          assert.deepEqual((await store.list({ offset: 2, limit: 2 })).map((j) => j.id), ['c', 'd']);
        });
      });
    });
  });

  describe('several stores on one job set', () => {
    it('pushes: a job due earlier than anything known wakes another process at once (no poll)', async () => {
      await withPrefix(server.url, async (prefix) => {
        // pollMs of a minute: only the push can start these jobs within the test's time.
        const a = new Scheduler({ store: new RedisStore({ url: server.url, prefix, pollMs: 60_000 }) });
        const b = new Scheduler({ store: new RedisStore({ url: server.url, prefix, pollMs: 60_000 }) });
        const started = new Map<string, number>();
        b.register('work', (j) => {
          started.set(j.id, Date.now());
        });
        await a.start();
        await b.start();
        try {
          await a.scheduleIn('work', 3_600_000, {}, { id: 'far' });
          await a.scheduleIn('work', 0, {}, { id: 'now' });
          await waitFor(() => started.has('now'), 20_000, 'now started');
          const soon = await a.scheduleIn('work', 300, {}, { id: 'soon' });
          await waitFor(() => started.has('soon'), 20_000, 'soon started');
          assert.ok((started.get('soon') as number) >= Math.floor(soon.runAt.getTime()), 'not early');
          assert.equal(started.has('far'), false);
        } finally {
          await a.stop();
          await b.stop();
        }
      });
    });

    it('the same schedule declared by several processes at once is one job', async () => {
      await withPrefix(server.url, async (prefix) => {
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

    it('a cancel or replace elsewhere tells the process running the attempt at once, with the reason', async () => {
      await withPrefix(server.url, async (prefix) => {
        const ctxA = liveContext();
        const a = new RedisStore({ url: server.url, prefix, pollMs: 60_000 });
        const b = new RedisStore({ url: server.url, prefix, pollMs: 60_000 });
        await a.open(ctxA);
        await b.open(liveContext());
        try {
          await a.insert([{ record: job('c'), onDuplicate: 'reject' }, { record: job('r'), onDuplicate: 'reject' }]);
          const { jobs } = await a.claim(claimNow());
          assert.equal(jobs.length, 2);
          await b.cancel('c', Date.now());
          await b.insert([{ record: job('r', { payload: 'new' }), onDuplicate: 'replace' }]);
          await waitFor(() => ctxA.lostAttempts.length === 2, 10_000, 'lost notices');
          const tokens = new Map(jobs.map((j) => [j.id, j.token]));
          assert.deepEqual(
            [...ctxA.lostAttempts].sort((x, y) => x.id.localeCompare(y.id)),
            [
              { id: 'c', token: tokens.get('c'), reason: 'cancelled' },
              { id: 'r', token: tokens.get('r'), reason: 'replaced' },
            ],
          );
          assert.deepEqual(ctxA.warnings, []);
        } finally {
          await a.close();
          await b.close();
        }
      });
    });

    it('a job cancelled from another process is aborted where it runs, and not retried', async () => {
      await withPrefix(server.url, async (prefix) => {
        const a = new Scheduler({ store: new RedisStore({ url: server.url, prefix }) });
        const b = new Scheduler({ store: new RedisStore({ url: server.url, prefix }) });
        let started = 0;
        let aborted = false;
        b.register('work', (j) => {
          started++;
          return new Promise<void>((_resolve, reject) => {
            j.signal.addEventListener('abort', () => {
              aborted = true;
              reject(j.signal.reason as Error);
            });
          });
        });
        await a.start();
        await b.start();
        try {
          await a.scheduleIn('work', 0, {}, { id: 'long' });
          await waitFor(() => started === 1, 20_000, 'started in b');
          assert.equal(await a.cancel('long'), true);
          // Renewal (which would notice too) runs every 10 s: only the push can abort it this soon.
          await waitFor(() => aborted, 5000, 'aborted in b');
          assert.equal((await a.get('long'))?.state, 'cancelled');
        } finally {
          await a.stop();
          await b.stop({ timeout: 1000 });
        }
        assert.equal(started, 1, 'not retried');
      });
    });

    it('recovers the lease of a process that stopped renewing: the job runs again, attempt kept, marked lost; the old outcome is refused and reported', async () => {
      await withPrefix(server.url, async (prefix) => {
        const deadClient = new Redis(server.url);
        deadClient.on('error', () => undefined);
        const ctxA = liveContext();
        const ctxB = liveContext();
        const a = new RedisStore({ client: deadClient, prefix, leaseMs: 300 });
        const b = new RedisStore({ url: server.url, prefix, leaseMs: 300 });
        await a.open(ctxA);
        await b.open(ctxB);
        try {
          await a.insert([{ record: job('x'), onDuplicate: 'reject' }]);
          const t0 = Date.now();
          const [claimed] = (await a.claim(claimNow())).jobs;
          assert.ok(claimed?.token);
          deadClient.disconnect(); // a can no longer renew: as if it died
          await waitFor(async () => (await b.get('x'))?.state === 'scheduled', 10_000, 'recovered');
          const elapsed = Date.now() - t0;
          assert.ok(elapsed >= 250, `recovered ${elapsed} ms after the claim, before its 300 ms lease ended`);
          assert.equal((await b.get('x'))?.lost, 'lease');
          assert.ok(ctxB.wakes > 0, 'the recovering process woke its scheduler');
          const [again] = (await b.claim(claimNow())).jobs;
          assert.equal(again?.id, 'x');
          assert.equal(again?.attempt, 2);
          assert.equal(again?.lost, 'lease');
          await deadClient.connect();
          assert.equal(await a.settle('x', claimed.token, { ...claimed, state: 'completed', finishedAt: Date.now() }), false);
          assert.deepEqual(ctxA.lostAttempts, [{ id: 'x', token: claimed.token, reason: 'lease' }], 'the refused outcome is reported, once');
          assert.equal((await b.get('x'))?.state, 'running');
        } finally {
          await a.close();
          await b.close();
          deadClient.disconnect();
        }
      });
    });
  });

  describe('timers', () => {
    it("its poll runs on the scheduler's Clock: under a VirtualClock a lapsed lease is recovered when the clock is advanced", async () => {
      await withPrefix(server.url, async (prefix) => {
        const deadClient = new Redis(server.url);
        deadClient.on('error', () => undefined);
        const clock = new VirtualClock(Date.now());
        const a = new RedisStore({ client: deadClient, prefix, leaseMs: 300 });
        const b = new RedisStore({ url: server.url, prefix, leaseMs: 300, pollMs: 1000 });
        await a.open(liveContext());
        await b.open(liveContext({ clock }));
        try {
          await a.insert([{ record: job('x'), onDuplicate: 'reject' }]);
          await a.claim(claimNow());
          deadClient.disconnect(); // a can no longer renew
          // Wait (real time) until the lease has ended on the server's clock.
          const probe = new Redis(server.url);
          await waitFor(async () => {
            const [[, end], [, time]] = (await probe.multi().zscore(`${prefix}:leases`, 'x').time().exec()) as [[null, string], [null, [string, string]]];
            return Number(end) < Number(time[0]) * 1000 + Number(time[1]) / 1000;
          }, 10_000, 'the lease to end');
          probe.disconnect();
          // Nothing in b runs on real time to recover it: its poll and lease watch wait for the virtual clock.
          assert.equal((await b.get('x'))?.state, 'running');
          assert.ok(clock.pendingTimers > 0, 'b armed its timers on the VirtualClock');
          await clock.advance(1000);
          await waitFor(async () => (await b.get('x'))?.state === 'scheduled', 10_000, 'recovered by the poll');
          assert.equal((await b.get('x'))?.lost, 'lease');
        } finally {
          await a.close();
          await b.close();
          deadClient.disconnect();
        }
      });
    });
  });

  describe('connection loss', () => {
    const own = useRedisServer();

    it('a claim whose second round trip fails still returns the jobs its first one took (they run under leases this process renews)', async () => {
      // Before: the claim rejected, and the jobs of its first round stayed
      // `running` under leases this process kept renewing, never started.
      await withPrefix(own.url, async (prefix) => {
        await withStore({ url: own.url, prefix }, async (store) => {
          await store.insert(Array.from({ length: 300 }, (_, i) => ({ record: job(`j${i}`, { runAt: Date.now() - 1000 }), onDuplicate: 'reject' as const })));
          const s = store as unknown as { exec: (script: { name: string }, ...rest: unknown[]) => Promise<unknown> };
          const exec = s.exec.bind(store);
          // The round after the first one that took jobs fails (a first round may only learn the names).
          let took = false;
          let failed = 0;
          s.exec = async (script, ...rest) => {
            if (script.name === 'claim' && took) {
              failed++;
              throw new StorePersistError('connection lost (test)');
            }
            const reply = (await exec(script, ...rest)) as unknown[];
            if (script.name === 'claim' && (reply[1] as unknown[]).length > 0) took = true;
            return reply;
          };
          const first = await store.claim(claimNow({ limit: 300, capacity: () => 300 }));
          s.exec = exec;
          assert.equal(failed, 1, 'a further round was tried, and failed');
          assert.ok(first.jobs.length > 0 && first.jobs.length < 300, `the first round's jobs are handed out (${first.jobs.length})`);
          for (const j of first.jobs) assert.equal(await store.settle(j.id, j.token!, { ...j, state: 'completed', finishedAt: Date.now() }), true);
          const rest = await store.claim(claimNow({ limit: 300, capacity: () => 300 }));
          assert.equal(first.jobs.length + rest.jobs.length, 300);
        });
      });
    });

    it('a subscriber that reconnects just as the store closes leaves no unhandled rejection', async () => {
      // ioredis re-sends SUBSCRIBE on its own after a reconnect
      // (autoResubscribe) and no caller holds that call; closing the store
      // before Redis answers it must not surface "Connection is closed." as an
      // unhandled rejection (a crash under Node's default
      // --unhandled-rejections=throw). Holds on every ioredis version tested.
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        await withPrefix(own.url, async (prefix) => {
          const store = new RedisStore({ url: own.url, prefix });
          await store.open(liveContext());
          const sub = (store as unknown as { sub: { client: Redis } }).sub.client;
          const reconnected = new Promise<void>((resolve) => sub.once('ready', () => resolve()));
          sub.disconnect(true);
          await reconnected;
          await store.close(); // within the tick ioredis emits 'ready': a resubscribe would still be unanswered
          await waitFor(() => sub.status === 'end', 10_000, 'the subscriber closed');
          await new Promise((r) => setTimeout(r, 100));
        });
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
      assert.deepEqual(unhandled.map((e) => String(e)), []);
    });

    it('the subscriber subscribes again after a reconnect: wake and lost messages reach the store', async () => {
      await withPrefix(own.url, async (prefix) => {
        await withStore({ url: own.url, prefix }, async (store) => {
          const sub = (store as unknown as { sub: { client: Redis } }).sub.client;
          const reconnected = new Promise<void>((resolve) => sub.once('ready', () => resolve()));
          sub.disconnect(true);
          await reconnected;
          const heard: string[] = [];
          sub.on('message', (channel: string) => heard.push(channel));
          const pub = new Redis(own.url);
          try {
            for (const channel of [`${prefix}:wake`, `${prefix}:lost`]) {
              await waitFor(async () => (await pub.pubsub('NUMSUB', channel))[1] === 1, 10_000, `subscribed to ${channel} again`);
              await pub.publish(channel, 'x');
              await waitFor(() => heard.includes(channel), 10_000, `a message on ${channel} reached the store`);
            }
          } finally {
            pub.disconnect();
          }
        });
      });
    });

    it('rejects with StorePersistError while Redis is down, resumes when it is back, and keeps what it acknowledged', async () => {
      await withPrefix(own.url, async (prefix) => {
        const store = new RedisStore({ url: own.url, prefix, pollMs: 200 });
        const ctx = liveContext();
        await store.open(ctx);
        try {
          await store.insert([{ record: job('before', { runAt: Date.now() + 60_000 }), onDuplicate: 'reject' }]);
          await own.kill();
          await assert.rejects(store.insert([{ record: job('during'), onDuplicate: 'reject' }]), StorePersistError);
          await assert.rejects(store.get('before'), StorePersistError);
          await assert.rejects(store.claim(claimNow()), StorePersistError);
          const wakesBefore = ctx.wakes; // no call can succeed (so wake) while it is down
          await own.start();
          // 'keep', as a caller retries: an attempt that timed out after it was sent may have landed (outcomeUnknown).
          await untilOk(() => store.insert([{ record: job('after'), onDuplicate: 'keep' }]), 20_000, 'reconnected');
          assert.equal((await store.get('before'))?.state, 'scheduled', 'acknowledged before the crash: kept (AOF)');
          assert.equal(await store.get('during'), undefined);
          await waitFor(() => ctx.wakes > wakesBefore, 10_000, 'woke the scheduler after reconnecting');
          assert.deepEqual((await store.claim(claimNow())).jobs.map((j) => j.id), ['after']);
        } finally {
          await store.close();
        }
      });
    });
  });
});
