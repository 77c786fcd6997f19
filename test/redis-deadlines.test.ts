/**
 * No RedisStore call stays pending, whatever the connection does (issue 12
 * item 1): the ioredis #2193 hang (a connection dropped while a command
 * waits, reconnected at once: the command is never settled), a peer that
 * never answers, a reply lost after Redis applied the command. Each call
 * rejects within `commandTimeoutMs` saying the outcome is unknown, `stop()`
 * returns, and retrying as the README says is safe.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStore } from '../src/redis.js';
import { Scheduler } from '../src/scheduler.js';
import { StorePersistError } from '../src/errors.js';
import { redisSkip, useRedisServer } from './redis-server.js';
import { waitFor } from './fixtures/redis-workers.js';
import { unsentSettleIsRefused } from './fixtures/unsent-settle.js';
import { RedisProxy } from './fixtures/redis-proxy.js';
import { admin, claimNow, job, liveContext, untilOk, withPrefix } from './fixtures/redis-helpers.js';

/** Settles `promise` into a readable state, so a test can wait for it without hanging. */
function track<T>(promise: Promise<T>): { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } {
  const t: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => Object.assign(t, { state: 'resolved', value }),
    (error: unknown) => Object.assign(t, { state: 'rejected', error }),
  );
  return t;
}

const UNKNOWN = /no answer.*the outcome is unknown/s;

describe('RedisStore: every call settles within its deadline', { skip: redisSkip }, () => {
  const server = useRedisServer();

  it('ioredis #2193 (CLIENT PAUSE + CLIENT KILL): the pending scheduleIn rejects "outcome unknown", the store works again, stop() returns', async () => {
    await withPrefix(server.url, async (prefix) => {
      const scheduler = new Scheduler({ store: new RedisStore({ url: server.url, prefix, commandTimeoutMs: 300 }) });
      scheduler.on('error', () => undefined);
      await scheduler.start();
      const redis = admin(server.url);
      try {
        await redis.call('CLIENT', 'PAUSE', '5000', 'WRITE');
        const call = track(scheduler.scheduleIn('work', 60_000, { a: 1 }, { id: 'paused' }));
        await new Promise((r) => setTimeout(r, 100));
        await redis.call('CLIENT', 'KILL', 'TYPE', 'normal');
        await waitFor(() => call.state !== 'pending', 20_000, 'the call to settle');
        assert.equal(call.state, 'rejected');
        assert.ok(call.error instanceof StorePersistError, String(call.error));
        assert.match((call.error as Error).message, UNKNOWN);
        assert.equal((call.error as StorePersistError).outcomeUnknown, true);
        assert.match((call.error as Error).message, new RegExp(`127\\.0\\.0\\.1:${server.port}`), 'names the address');
        await redis.call('CLIENT', 'UNPAUSE');
        // Retrying as the README says: same id, onDuplicate 'keep'.
        await untilOk(() => scheduler.scheduleIn('work', 60_000, { a: 1 }, { id: 'paused', onDuplicate: 'keep' }), 20_000, 'the store to work again');
        assert.equal((await scheduler.list({})).filter((j) => j.id === 'paused').length, 1);
      } finally {
        await redis.call('CLIENT', 'UNPAUSE').catch(() => undefined);
        redis.disconnect();
        const stopped = track(scheduler.stop({ timeout: 1000 }));
        await waitFor(() => stopped.state !== 'pending', 20_000, 'stop() to return');
      }
    });
  });

  describe('through a proxy', () => {
    let proxy: RedisProxy;
    before(async () => {
      proxy = await new RedisProxy(server.port).listen();
    });
    after(async () => {
      await proxy?.close();
    });

    it('a Redis that accepts and never answers: every Store method rejects within the deadline, close() returns', async () => {
      await withPrefix(server.url, async (prefix) => {
        proxy.mode = 'pass';
        const store = new RedisStore({ url: proxy.url, prefix, commandTimeoutMs: 200 });
        await store.open(liveContext());
        await store.insert([{ record: job('a'), onDuplicate: 'reject' }, { record: job('d', { runAt: Date.now() + 60_000 }), onDuplicate: 'reject' }]);
        const [claimed] = (await store.claim(claimNow())).jobs;
        assert.equal(claimed?.id, 'a');
        proxy.mode = 'blackhole';
        const calls = {
          insert: track(store.insert([{ record: job('b'), onDuplicate: 'reject' }])),
          get: track(store.get('a')),
          list: track(store.list({ limit: 5 })),
          cancel: track(store.cancel('d', Date.now())),
          reschedule: track(store.reschedule('d', Date.now())),
          revive: track(store.revive('d', Date.now())),
          claim: track(store.claim(claimNow())),
          settle: track(store.settle('a', claimed!.token!, { ...claimed!, state: 'completed', finishedAt: Date.now() })),
        };
        await waitFor(() => Object.values(calls).every((c) => c.state !== 'pending'), 20_000, 'every call to settle');
        for (const [name, call] of Object.entries(calls)) {
          assert.equal(call.state, 'rejected', `${name} ${call.state}`);
          assert.ok(call.error instanceof StorePersistError, `${name}: ${String(call.error)}`);
          assert.match((call.error as Error).message, UNKNOWN, name);
        }
        const closed = track(store.close());
        await waitFor(() => closed.state !== 'pending', 20_000, 'close() to return');
        proxy.mode = 'pass';
      });
    });

    it('an insert whose reply was lost with its connection after Redis applied it: retried with the same id and onDuplicate keep, it returns the job, stored once', async () => {
      await withPrefix(server.url, async (prefix) => {
        proxy.mode = 'pass';
        const store = new RedisStore({ url: proxy.url, prefix, commandTimeoutMs: 300 });
        await store.open(liveContext());
        try {
          proxy.mode = 'dropReplies';
          const before = proxy.dropped;
          const first = track(store.insert([{ record: job('once', { payload: { first: true } }), onDuplicate: 'reject' }]));
          await proxy.droppedAtLeast(before + 1);
          // The connection dies with the reply (TCP loses nothing on a live one); ioredis reconnects at once.
          proxy.mode = 'pass';
          proxy.cut();
          await waitFor(() => first.state !== 'pending', 20_000, 'the insert to settle');
          assert.equal(first.state, 'rejected');
          assert.match((first.error as Error).message, UNKNOWN);
          proxy.mode = 'pass';
          const kept = await untilOk(() => store.insert([{ record: job('once', { payload: { second: true } }), onDuplicate: 'keep' }]), 20_000, 'the retry to get through');
          assert.equal(kept[0]?.outcome, 'kept', 'the first insert had been applied');
          assert.deepEqual(kept[0]?.record.payload, { first: true });
          assert.deepEqual((await store.list({})).map((j) => j.id), ['once']);
        } finally {
          proxy.mode = 'pass';
          await store.close();
        }
      });
    });

    it('a settle whose reply was lost with its connection: its retry is answered true (it got through), with no lost attempt reported', async () => {
      await withPrefix(server.url, async (prefix) => {
        proxy.mode = 'pass';
        const ctx = liveContext();
        const store = new RedisStore({ url: proxy.url, prefix, commandTimeoutMs: 300 });
        await store.open(ctx);
        try {
          await store.insert([{ record: job('s'), onDuplicate: 'reject' }]);
          const [claimed] = (await store.claim(claimNow())).jobs;
          const done = { ...claimed!, state: 'completed' as const, finishedAt: Date.now(), result: 'ok' };
          proxy.mode = 'dropReplies';
          const before = proxy.dropped;
          const first = track(store.settle('s', claimed!.token!, done));
          await proxy.droppedAtLeast(before + 1);
          proxy.mode = 'pass';
          proxy.cut();
          await waitFor(() => first.state !== 'pending', 20_000, 'the settle to settle');
          assert.equal(first.state, 'rejected');
          proxy.mode = 'pass';
          const again = await untilOk(() => store.settle('s', claimed!.token!, done), 20_000, 'the retry to get through');
          assert.equal(again, true);
          assert.equal((await store.get('s'))?.state, 'completed');
          assert.deepEqual(ctx.lostAttempts, []);
          assert.equal(await store.settle('s', claimed!.token!, done), false, 'a settle after a known success is still refused');
        } finally {
          proxy.mode = 'pass';
          await store.close();
        }
      });
    });

    for (const [what, removal, keepCompleted] of [
      ['removed at once by its own removal policy (removeOnComplete: true)', { at: 0 }, 1000],
      ['trimmed at once by its own count (removeOnComplete: { count: 0 })', { count: 0 }, 1000],
      ['trimmed at once by keepCompleted: 0', undefined, 0],
    ] as const) {
      it(`a settle whose job was ${what}, whose reply was lost: its retry is answered true, with no lost attempt reported`, async () => {
        await withPrefix(server.url, async (prefix) => {
          proxy.mode = 'pass';
          const ctx = liveContext({ keepCompleted });
          const store = new RedisStore({ url: proxy.url, prefix, commandTimeoutMs: 300 });
          await store.open(ctx);
          try {
            await store.insert([{ record: job('r'), onDuplicate: 'reject' }, { record: job('other'), onDuplicate: 'reject' }]);
            const claimed = (await store.claim(claimNow())).jobs;
            const mine = claimed.find((j) => j.id === 'r')!;
            const theirs = claimed.find((j) => j.id === 'other')!;
            const finishedAt = Date.now();
            const done = {
              ...mine,
              state: 'completed' as const,
              finishedAt,
              result: 'ok',
              ...(removal === undefined ? {} : { removal: 'at' in removal ? { at: finishedAt } : removal }),
            };
            proxy.mode = 'dropReplies';
            const before = proxy.dropped;
            const first = track(store.settle('r', mine.token!, done));
            await proxy.droppedAtLeast(before + 1);
            // The dropped reply may be a background poll's: wait (on a direct connection) until Redis has applied the settle.
            const direct = admin(server.url);
            try {
              await waitFor(async () => (await direct.exists(`${prefix}:j=r`)) === 0, 20_000, 'Redis to apply the settle');
            } finally {
              direct.disconnect();
            }
            proxy.mode = 'pass';
            proxy.cut();
            await waitFor(() => first.state !== 'pending', 20_000, 'the settle to settle');
            assert.equal(first.state, 'rejected');
            assert.equal(await untilOk(() => store.get('r'), 20_000, 'a get to get through'), undefined, 'the first settle landed and removed the job');
            const again = await untilOk(() => store.settle('r', mine.token!, done), 20_000, 'the retry to get through');
            assert.equal(again, true, 'the retry learns that its settle landed');
            assert.deepEqual(ctx.lostAttempts, []);
            // A retried settle that never reached the server, of a job cancelled meanwhile, is still refused.
            await unsentSettleIsRefused(store, proxy, theirs, { ...done, ...theirs, state: 'completed', finishedAt: Date.now() });
            // With keepCompleted: 0 the cancelled job is gone too: its retry is refused without a record to go by.
            assert.equal((await store.get('other'))?.state, keepCompleted === 0 ? undefined : 'cancelled');
          } finally {
            proxy.mode = 'pass';
            await store.close();
          }
        });
      });
    }

    it('a claim whose reply comes after its deadline gives its jobs back at once, unstarted and uncharged', async () => {
      await withPrefix(server.url, async (prefix) => {
        proxy.mode = 'pass';
        const store = new RedisStore({ url: proxy.url, prefix, commandTimeoutMs: 1000 });
        await store.open(liveContext());
        try {
          await store.insert([{ record: job('late', { attempt: 0 }), onDuplicate: 'reject' }]);
          proxy.mode = 'holdReplies';
          const claim = track(store.claim(claimNow()));
          await waitFor(() => claim.state !== 'pending', 20_000, 'the claim to settle');
          assert.equal(claim.state, 'rejected');
          assert.ok(proxy.holding > 0, 'Redis ran the claim; its reply is held');
          proxy.release();
          await waitFor(async () => (await store.get('late'))?.state === 'scheduled', 20_000, 'the job to be given back');
          const back = await store.get('late');
          assert.equal(back?.attempt, 0, 'the attempt nobody started is not counted');
          assert.equal(back?.lost, undefined);
          assert.equal(back?.token, undefined);
          assert.deepEqual((await store.claim(claimNow())).jobs.map((j) => [j.id, j.attempt]), [['late', 1]]);
        } finally {
          proxy.mode = 'pass';
          await store.close();
        }
      });
    });

    it('a connection that went dead without a reset (a partition): the store drops it and works again on a new one', async () => {
      await withPrefix(server.url, async (prefix) => {
        proxy.mode = 'pass';
        const store = new RedisStore({ url: proxy.url, prefix, commandTimeoutMs: 300 });
        await store.open(liveContext());
        try {
          proxy.zombify();
          await assert.rejects(store.insert([{ record: job('a'), onDuplicate: 'reject' }]), UNKNOWN);
          // Every call on the dead socket would time out forever: the store reconnects after a second silent deadline.
          // 'keep', as a caller retries: an attempt that timed out after it was sent may have landed (outcomeUnknown).
          await untilOk(() => store.insert([{ record: job('b'), onDuplicate: 'keep' }]), 20_000, 'a call to get through on a new connection');
          assert.equal((await store.get('b'))?.id, 'b');
        } finally {
          await store.close();
        }
      });
    });

    it('stop({ timeout }) returns while Redis does not answer, with a handler running', async () => {
      await withPrefix(server.url, async (prefix) => {
        proxy.mode = 'pass';
        const scheduler = new Scheduler({ store: new RedisStore({ url: proxy.url, prefix, commandTimeoutMs: 200 }) });
        scheduler.on('error', () => undefined);
        let running = false;
        scheduler.register('work', () => {
          running = true;
          return new Promise(() => undefined); // never settles
        });
        await scheduler.start();
        await scheduler.scheduleIn('work', 0, {});
        await waitFor(() => running, 20_000, 'the handler to start');
        proxy.mode = 'blackhole';
        const stopped = track(scheduler.stop({ timeout: 300 }));
        await waitFor(() => stopped.state !== 'pending', 20_000, 'stop() to return');
        proxy.mode = 'pass';
      });
    });
  });
});
