/**
 * No PostgresStore call stays pending, whatever the connection or the
 * server does (issue 18, the guarantees of issue 12): a server that accepts
 * and never answers, a reply lost after the server committed, a claim whose
 * reply comes late, a connection gone dead without a reset, a statement the
 * server cancels (lock wait past the deadline). Each call settles within
 * `commandTimeoutMs`, saying truthfully whether the outcome is unknown;
 * `stop()` returns; retrying as the README says is safe.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresStore } from '../src/postgres.js';
import { Scheduler } from '../src/scheduler.js';
import { StorePersistError } from '../src/errors.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { unsentSettleIsRefused } from './fixtures/unsent-settle.js';
import { RedisProxy } from './fixtures/redis-proxy.js';
import { claimNow, job, liveContext, track, untilOk, waitFor, withSchema } from './fixtures/postgres-helpers.js';

const UNKNOWN = /no answer.*the outcome is unknown/s;

// A bound on the whole file: a hang here must fail the run, not stall it.
describe('PostgresStore: every call settles within its deadline', { skip: postgresSkip, timeout: 600_000 }, () => {
  const server = usePostgresServer();
  /** A plain TCP proxy: it injects the faults (it knows nothing of Redis or PostgreSQL). */
  let proxy: RedisProxy;
  let url = '';
  before(async () => {
    proxy = await new RedisProxy(server.port).listen();
    url = `postgres://postgres@127.0.0.1:${proxy.port}/postgres`;
  });
  after(async () => {
    await proxy?.close();
  });

  it('a server that accepts and never answers: every Store method rejects within the deadline, close() returns', async () => {
    await withSchema(server.url, async (schema) => {
      proxy.mode = 'pass';
      const store = new PostgresStore({ connectionString: url, schema, commandTimeoutMs: 1500 });
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
        // A pooled client was sent the statement (outcome unknown), or the pool was connecting (nothing sent).
        assert.match((call.error as Error).message, /within 1500 ms, got no answer.*(the outcome is unknown|nothing was sent)/s, name);
        // The flag callers branch on says what the message says.
        assert.equal((call.error as StorePersistError).outcomeUnknown, /the outcome is unknown/.test((call.error as Error).message), `${name}: outcomeUnknown`);
        assert.match((call.error as Error).message, new RegExp(`127\\.0\\.0\\.1:${proxy.port}`), 'names the address');
      }
      const closed = track(store.close());
      await waitFor(() => closed.state !== 'pending', 20_000, 'close() to return');
      proxy.mode = 'pass';
    });
  });

  it('an insert whose reply was lost with its connection after the server committed it: retried with onDuplicate keep, it returns the job, stored once', async () => {
    await withSchema(server.url, async (schema) => {
      proxy.mode = 'pass';
      const store = new PostgresStore({ connectionString: url, schema, commandTimeoutMs: 500 });
      await store.open(liveContext());
      try {
        proxy.mode = 'dropReplies';
        const before = proxy.dropped;
        const first = track(store.insert([{ record: job('once', { payload: { first: true } }), onDuplicate: 'reject' }]));
        await proxy.droppedAtLeast(before + 1);
        proxy.mode = 'pass';
        proxy.cut();
        await waitFor(() => first.state !== 'pending', 20_000, 'the insert to settle');
        assert.equal(first.state, 'rejected');
        assert.match((first.error as Error).message, /the outcome is unknown/);
        // It landed: a caller that trusts `outcomeUnknown` must not take it for a change that never happened (PostgreSQL simulation seed 225000094).
        assert.equal((first.error as StorePersistError).outcomeUnknown, true);
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

  it('a settle whose reply was lost: its retry is answered true (it got through), with no lost attempt reported', async () => {
    await withSchema(server.url, async (schema) => {
      proxy.mode = 'pass';
      const ctx = liveContext();
      const store = new PostgresStore({ connectionString: url, schema, commandTimeoutMs: 500 });
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

  for (const [what, removal] of [
    ['removed at once by its own removal policy (removeOnComplete: true)', { at: 0 }],
    ['trimmed at once by its own count (removeOnComplete: { count: 0 })', { count: 0 }],
  ] as const) {
    it(`a settle whose job was ${what}, whose reply was lost: its retry is answered true, with no lost attempt reported`, async () => {
      await withSchema(server.url, async (schema) => {
        proxy.mode = 'pass';
        const ctx = liveContext();
        const store = new PostgresStore({ connectionString: url, schema, commandTimeoutMs: 500 });
        await store.open(ctx);
        const direct = new pg.Client({ connectionString: server.url });
        await direct.connect();
        try {
          await store.insert([{ record: job('r'), onDuplicate: 'reject' }, { record: job('other'), onDuplicate: 'reject' }]);
          const claimed = (await store.claim(claimNow())).jobs;
          const mine = claimed.find((j) => j.id === 'r')!;
          const theirs = claimed.find((j) => j.id === 'other')!;
          const finishedAt = Date.now();
          const done = { ...mine, state: 'completed' as const, finishedAt, result: 'ok', removal: 'at' in removal ? { at: finishedAt } : removal };
          proxy.mode = 'dropReplies';
          const before = proxy.dropped;
          const first = track(store.settle('r', mine.token!, done));
          await proxy.droppedAtLeast(before + 1);
          // The dropped reply may be another query's: wait (on a direct connection) until the settle committed.
          await waitFor(async () => (await direct.query(`SELECT 1 FROM ${schema}.jobs WHERE id = 'r'`)).rowCount === 0, 20_000, 'the settle to commit');
          proxy.mode = 'pass';
          proxy.cut();
          await waitFor(() => first.state !== 'pending', 20_000, 'the settle to settle');
          assert.equal(first.state, 'rejected');
          const again = await untilOk(() => store.settle('r', mine.token!, done), 20_000, 'the retry to get through');
          assert.equal(again, true, 'the retry learns that its settle landed');
          assert.equal(await store.get('r'), undefined, 'the job completed and was removed, as its policy said');
          assert.deepEqual(ctx.lostAttempts, []);
          // A retried settle that never reached the server, of a job cancelled meanwhile, is still refused.
          await unsentSettleIsRefused(store, proxy, theirs, { ...done, ...theirs, state: 'completed', finishedAt: Date.now() });
        } finally {
          proxy.mode = 'pass';
          await direct.end();
          await store.close();
        }
      });
    });
  }

  it('a claim whose reply comes after its deadline gives its jobs back at once, unstarted and uncharged', async () => {
    await withSchema(server.url, async (schema) => {
      proxy.mode = 'pass';
      const store = new PostgresStore({ connectionString: url, schema, commandTimeoutMs: 1000 });
      await store.open(liveContext());
      try {
        await store.insert([{ record: job('late'), onDuplicate: 'reject' }]);
        proxy.mode = 'holdReplies';
        const claim = track(store.claim(claimNow()));
        await waitFor(() => claim.state !== 'pending', 20_000, 'the claim to settle');
        assert.equal(claim.state, 'rejected');
        assert.match((claim.error as Error).message, UNKNOWN);
        assert.ok(proxy.holding > 0, 'the server ran the claim; its reply is held');
        proxy.release();
        await waitFor(async () => (await store.get('late'))?.state === 'scheduled', 20_000, 'the job to be given back');
        const back = await store.get('late');
        assert.equal(back?.attempt, 0, 'the attempt nobody started is not counted');
        assert.equal(back?.lost, undefined);
        assert.deepEqual((await store.claim(claimNow())).jobs.map((j) => [j.id, j.attempt]), [['late', 1]]);
      } finally {
        proxy.mode = 'pass';
        await store.close();
      }
    });
  });

  it('a connection that went dead without a reset (a partition): the store drops it and works again on a new one', async () => {
    await withSchema(server.url, async (schema) => {
      proxy.mode = 'pass';
      const store = new PostgresStore({ connectionString: url, schema, commandTimeoutMs: 2000, poolConfig: { max: 1 } });
      await store.open(liveContext());
      try {
        await store.get('warm');
        proxy.zombify();
        await assert.rejects(store.insert([{ record: job('a'), onDuplicate: 'reject' }]), UNKNOWN);
        // With one pooled connection, every call would wait behind the dead one: it is destroyed after a second silent deadline.
        // 'keep', as a caller retries: an attempt that timed out after it was sent may have landed (outcomeUnknown).
        await untilOk(() => store.insert([{ record: job('b'), onDuplicate: 'keep' }]), 20_000, 'a call to get through on a new connection');
        assert.equal((await store.get('b'))?.id, 'b');
      } finally {
        await store.close();
      }
    });
  });

  it('a statement the server cancels (a lock held past the deadline) rejects saying nothing was changed; the job is intact', async () => {
    await withSchema(server.url, async (schema) => {
      const store = new PostgresStore({ connectionString: server.url, schema, commandTimeoutMs: 500 });
      await store.open(liveContext());
      const client = await server.client();
      try {
        await store.insert([{ record: job('locked', { runAt: Date.now() + 60_000 }), onDuplicate: 'reject' }]);
        await client.query('BEGIN');
        await client.query(`SELECT 1 FROM "${schema}".jobs WHERE id = 'locked' FOR UPDATE`);
        const t0 = Date.now();
        const error = await store.cancel('locked', Date.now()).then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof StorePersistError, String(error));
        assert.ok(Date.now() - t0 < 5000, 'settled near its deadline');
        assert.match(error.message, /canceling statement due to (lock|statement) timeout.*; nothing was changed$/s);
        assert.equal(error.outcomeUnknown, false);
        await client.query('ROLLBACK');
        assert.equal((await store.get('locked'))?.state, 'scheduled');
        assert.equal((await store.cancel('locked', Date.now()))?.state, 'cancelled', 'works once the lock is gone');
      } finally {
        await client.end();
        await store.close();
      }
    });
  });

  it('stop({ timeout }) returns while the server does not answer, with a handler running', async () => {
    await withSchema(server.url, async (schema) => {
      proxy.mode = 'pass';
      const scheduler = new Scheduler({ store: new PostgresStore({ connectionString: url, schema, commandTimeoutMs: 2000 }) });
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
