/**
 * PostgresStore claiming ahead (ClaimRequest.ahead, ahead.ts): a batch of
 * outcomes and the claim for the slots they free in one statement, the
 * jobs handed to the next claim with no round trip. Nothing about a job
 * changes for it: no job is charged an attempt it never started (jobs not
 * taken go back after the TTL, at close, after a lost reply), a local
 * change to a held job lands as if it had never been held, a job cancelled
 * elsewhere is never handed out, and the order stays priority, due time,
 * insertion. Also the migration from a version 1 schema.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresStore } from '../src/postgres.js';
import { Scheduler } from '../src/scheduler.js';
import { StorePersistError } from '../src/errors.js';
import { migrations } from '../src/store/postgres/schema.js';
import type { JobRecord } from '../src/store/store.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { RedisProxy } from './fixtures/redis-proxy.js';
import { allVersions, claimNow, job, liveContext, track, untilOk, waitFor, withSchema, withStore } from './fixtures/postgres-helpers.js';

/** Counts the SQL functions a store calls (white box: the point of claiming ahead is a call saved). */
function countCalls(store: PostgresStore): Map<string, number> {
  const calls = new Map<string, number>();
  const s = store as unknown as { call: (fn: string, ...rest: unknown[]) => Promise<unknown> };
  const call = s.call.bind(store);
  s.call = (fn, ...rest) => {
    calls.set(fn, (calls.get(fn) ?? 0) + 1);
    return call(fn, ...rest);
  };
  return calls;
}

const heldAhead = (store: PostgresStore): number => (store as unknown as { ahead: { size: number } }).ahead.size;
/** Held jobs stay held for a minute: a loaded machine must not give them back between two assertions. */
const holdLong = (store: PostgresStore): void => {
  (store as unknown as { ahead: { ttlMs: number } }).ahead.ttlMs = 60_000;
};
const done = (j: JobRecord): JobRecord => ({ ...j, state: 'completed', finishedAt: Date.now(), result: 'ok' });
/** Four due jobs, a..d in that claim order. */
const fourDue = (): { record: ReturnType<typeof job>; onDuplicate: 'reject' }[] =>
  ['a', 'b', 'c', 'd'].map((id, i) => ({ record: job(id, { runAt: Date.now() - 1000 + i }), onDuplicate: 'reject' as const }));

async function rowOf(url: string, schema: string, id: string): Promise<{ state: string; attempt: number; token: string | null; lost: string | null }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query(`SELECT state::text, attempt, token, lost FROM "${schema}".jobs WHERE id = $1`, [id]);
    return r.rows[0];
  } finally {
    await client.end();
  }
}

describe('PostgresStore: claiming ahead', { skip: postgresSkip, timeout: 600_000 }, () => {
  const server = usePostgresServer();
  let proxy: RedisProxy;
  before(async () => {
    proxy = await new RedisProxy(server.port).listen();
  });
  after(async () => {
    await proxy?.close();
  });

  it('a batch of outcomes claims for the slots it frees in the same statement; the next claim takes those jobs with no call', async () => {
    await withSchema(server.url, async (schema) => {
      await withStore({ connectionString: server.url, schema }, async (store) => {
        holdLong(store);
        const calls = countCalls(store);
        await store.insert(fourDue());
        const first = await store.claim(claimNow({ limit: 2, capacity: () => 2, ahead: true }));
        assert.deepEqual(first.jobs.map((j) => j.id), ['a', 'b']);
        const [a, b] = first.jobs as [JobRecord, JobRecord];
        // Settled in the same tick: one batch.
        assert.deepEqual(await Promise.all([store.settle('a', a.token!, done(a)), store.settle('b', b.token!, done(b))]), [true, true]);
        assert.equal(calls.get('settleClaim'), 1);
        assert.equal(calls.get('settle'), undefined);
        assert.equal((await rowOf(server.url, schema, 'c')).state, 'running', 'claimed with the outcomes');
        const claimsBefore = calls.get('claim');
        const next = await store.claim(claimNow({ limit: 2, capacity: () => 2, ahead: true }));
        assert.deepEqual(next.jobs.map((j) => [j.id, j.attempt, j.state]), [['c', 1, 'running'], ['d', 1, 'running']]);
        assert.equal(calls.get('claim'), claimsBefore, 'handed out without a round trip');
        for (const j of next.jobs) assert.equal(await store.settle(j.id, j.token!, done(j)), true);
        assert.deepEqual(store.counts().completed, 4);
      });
    });
  });

  it('a claim that hands out held jobs and then fails its round trip for more still returns the held jobs (they are running under leases this process renews)', async () => {
    // Seen after a server restart: the held jobs were taken from the buffer, the
    // call for more failed, and the jobs stayed `running` under renewed leases,
    // never started, until the process stopped.
    await withSchema(server.url, async (schema) => {
      await withStore({ connectionString: server.url, schema }, async (store) => {
        holdLong(store);
        await store.insert(fourDue());
        const first = await store.claim(claimNow({ limit: 2, capacity: () => 2, ahead: true }));
        const [a, b] = first.jobs as [JobRecord, JobRecord];
        assert.deepEqual(await Promise.all([store.settle('a', a.token!, done(a)), store.settle('b', b.token!, done(b))]), [true, true]);
        assert.equal(heldAhead(store), 2);
        // Another process schedules a due job: this claim wants a round trip for it.
        await withStore({ connectionString: server.url, schema }, async (other) => {
          await other.insert([{ record: job('e', { runAt: Date.now() - 500 }), onDuplicate: 'reject' }]);
        });
        await waitFor(() => (store.nextDueAt() ?? Infinity) <= Date.now(), 10_000, 'the NOTIFY of e');
        const s = store as unknown as { call: (fn: string, ...rest: unknown[]) => Promise<unknown> };
        const call = s.call.bind(store);
        s.call = (fn, ...rest) => (fn === 'claim' ? Promise.reject(new StorePersistError('connection terminated (test)')) : call(fn, ...rest));
        const next = await store.claim(claimNow({ limit: 3, capacity: () => 3, ahead: true }));
        s.call = call;
        assert.deepEqual(next.jobs.map((j) => j.id), ['c', 'd'], 'the held jobs are handed out');
        const at = store.nextDueAt();
        assert.ok(at !== undefined && at <= Date.now() + 5000, 'a claim for e is due again soon');
        for (const j of next.jobs) assert.equal(await store.settle(j.id, j.token!, done(j)), true);
      });
    });
  });

  it('claims ahead only within capacity: per name, and as many as the batch frees', async () => {
    await withSchema(server.url, async (schema) => {
      await withStore({ connectionString: server.url, schema }, async (store) => {
        holdLong(store);
        await store.insert([
          ...['a1', 'a2', 'a3'].map((id, i) => ({ record: job(id, { name: 'A', runAt: Date.now() - 1000 + i }), onDuplicate: 'reject' as const })),
          ...['b1', 'b2'].map((id, i) => ({ record: job(id, { name: 'B', runAt: Date.now() - 500 + i }), onDuplicate: 'reject' as const })),
        ]);
        // Name B has no handler here (capacity 0); A at most one at a time.
        const running = new Map<string, number>();
        const capacity = (name: string): number => (name === 'A' ? 1 - (running.get('A') ?? 0) : 0);
        const [a1] = (await store.claim(claimNow({ limit: 5, capacity, ahead: true }))).jobs as [JobRecord];
        assert.equal(a1.id, 'a1');
        running.set('A', 1);
        assert.equal(await store.settle('a1', a1.token!, done(a1)), true);
        running.set('A', 0);
        assert.deepEqual(heldAhead(store), 1);
        assert.equal((await rowOf(server.url, schema, 'a3')).state, 'ready', 'only one slot was freed');
        assert.equal((await rowOf(server.url, schema, 'b1')).state, 'ready', 'no capacity for B');
        const next = await store.claim(claimNow({ limit: 5, capacity, ahead: true }));
        assert.deepEqual(next.jobs.map((j) => j.id), ['a2']);
        assert.deepEqual(next.waiting.sort(), ['A', 'B']);
      });
    });
  });

  it('jobs nobody takes go back unstarted, uncharged: after a quarter second, and at close', async () => {
    await withSchema(server.url, async (schema) => {
      const ctx = liveContext();
      await withStore(
        { connectionString: server.url, schema },
        async (store) => {
          await store.insert(fourDue());
          const [a, b] = (await store.claim(claimNow({ limit: 2, capacity: () => 2, ahead: true }))).jobs as [JobRecord, JobRecord];
          await Promise.all([store.settle('a', a.token!, done(a)), store.settle('b', b.token!, done(b))]);
          assert.equal(heldAhead(store), 2);
          await waitFor(async () => (await rowOf(server.url, schema, 'c')).state === 'scheduled', 10_000, 'c to go back');
          assert.deepEqual(await rowOf(server.url, schema, 'd'), { state: 'scheduled', attempt: 0, token: null, lost: null });
          assert.equal(heldAhead(store), 0);
          // Held again, then the store closes.
          const [c] = (await store.claim(claimNow({ limit: 1, capacity: () => 1, ahead: true }))).jobs as [JobRecord];
          assert.equal(c.id, 'c');
          assert.equal(await store.settle('c', c.token!, done(c)), true);
          assert.equal(heldAhead(store), 1);
        },
        ctx,
      );
      assert.deepEqual(await rowOf(server.url, schema, 'd'), { state: 'scheduled', attempt: 0, token: null, lost: null });
      assert.deepEqual(ctx.lostAttempts, []);
    });
  });

  it('a change this process makes lands as if nothing were held: reschedule and cancel of held jobs, and an insert that outranks them', async () => {
    await withSchema(server.url, async (schema) => {
      await withStore({ connectionString: server.url, schema }, async (store) => {
        holdLong(store);
        const settleTwo = async (): Promise<void> => {
          const [x, y] = (await store.claim(claimNow({ limit: 2, capacity: () => 2, ahead: true }))).jobs as [JobRecord, JobRecord];
          await Promise.all([store.settle(x.id, x.token!, done(x)), store.settle(y.id, y.token!, done(y))]);
        };
        await store.insert(fourDue());
        await settleTwo();
        assert.equal(heldAhead(store), 2);
        const later = Date.now() + 3_600_000;
        const moved = await store.reschedule('c', later);
        assert.deepEqual([moved.state, moved.runAt, moved.attempt], ['scheduled', later, 0]);
        const cancelled = await store.cancel('d', Date.now());
        assert.equal(cancelled?.state, 'cancelled');
        const none = await store.claim(claimNow({ limit: 2, capacity: () => 2, ahead: true }));
        assert.deepEqual(none.jobs, []);

        // An insert while jobs are held: the next claim gives them back and takes the best job.
        await store.insert(['e', 'f', 'g'].map((id, i) => ({ record: job(id, { runAt: Date.now() - 100 + i }), onDuplicate: 'reject' as const })));
        const [e] = (await store.claim(claimNow({ limit: 1, capacity: () => 1, ahead: true }))).jobs as [JobRecord];
        assert.equal(await store.settle('e', e.token!, done(e)), true);
        assert.equal(heldAhead(store), 1, 'f held');
        await store.insert([{ record: job('urgent', { priority: 10 }), onDuplicate: 'reject' }]);
        const best = await store.claim(claimNow({ limit: 1, capacity: () => 1, ahead: true }));
        assert.deepEqual(best.jobs.map((j) => [j.id, j.attempt]), [['urgent', 1]]);
        assert.deepEqual(await rowOf(server.url, schema, 'f'), { state: 'ready', attempt: 0, token: null, lost: null });
      });
    });
  });

  it('a held job cancelled by another process is dropped, never handed out, and nobody is told', async () => {
    await withSchema(server.url, async (schema) => {
      const ctx = liveContext();
      await withStore(
        { connectionString: server.url, schema },
        async (store) => {
          await withStore({ connectionString: server.url, schema }, async (other) => {
            holdLong(store);
            await store.insert(fourDue());
            const [a, b] = (await store.claim(claimNow({ limit: 2, capacity: () => 2, ahead: true }))).jobs as [JobRecord, JobRecord];
            await Promise.all([store.settle('a', a.token!, done(a)), store.settle('b', b.token!, done(b))]);
            assert.equal(heldAhead(store), 2);
            assert.equal((await other.cancel('c', Date.now()))?.state, 'cancelled');
            await waitFor(() => heldAhead(store) === 1, 10_000, 'the cancel to reach the holder');
            const next = await store.claim(claimNow({ limit: 2, capacity: () => 2, ahead: true }));
            assert.deepEqual(next.jobs.map((j) => j.id), ['d']);
          });
        },
        ctx,
      );
      assert.deepEqual(ctx.lostAttempts, []);
    });
  });

  it('the connection drops in the middle of a batched settle: every outcome rejects (unknown), each retry is answered true, the jobs it claimed go back uncharged', async () => {
    await withSchema(server.url, async (schema) => {
      proxy.mode = 'pass';
      const ctx = liveContext();
      const store = new PostgresStore({ connectionString: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`, schema, commandTimeoutMs: 1000 });
      await store.open(ctx);
      try {
        await store.insert(fourDue());
        const [a, b] = (await store.claim(claimNow({ limit: 2, capacity: () => 2, ahead: true }))).jobs as [JobRecord, JobRecord];
        proxy.mode = 'dropReplies';
        const before = proxy.dropped;
        const settles = [track(store.settle('a', a.token!, done(a))), track(store.settle('b', b.token!, done(b)))];
        await proxy.droppedAtLeast(before + 1);
        proxy.mode = 'pass';
        proxy.cut();
        await waitFor(() => settles.every((s) => s.state !== 'pending'), 20_000, 'both settles to settle');
        for (const s of settles) {
          assert.equal(s.state, 'rejected');
          assert.match(String((s.error as Error).message), /outcome is unknown/);
        }
        // The statement committed: a and b are completed, c and d were claimed by tokens this process never learned.
        await waitFor(async () => (await rowOf(server.url, schema, 'c')).state === 'scheduled' && (await rowOf(server.url, schema, 'd')).state === 'scheduled', 20_000, 'c and d to go back');
        assert.deepEqual(await rowOf(server.url, schema, 'c'), { state: 'scheduled', attempt: 0, token: null, lost: null });
        assert.equal(await untilOk(() => store.settle('a', a.token!, done(a)), 20_000, 'the retry of a'), true);
        assert.equal(await untilOk(() => store.settle('b', b.token!, done(b)), 20_000, 'the retry of b'), true);
        assert.equal((await store.get('a'))?.state, 'completed');
        const next = await store.claim(claimNow({ limit: 5, capacity: () => 5 }));
        assert.deepEqual(next.jobs.map((j) => [j.id, j.attempt, j.lost]), [['c', 1, undefined], ['d', 1, undefined]]);
        assert.deepEqual(ctx.lostAttempts, []);
      } finally {
        proxy.mode = 'pass';
        await store.close();
      }
    });
  });

  it('a scheduler with a backlog runs every job once, in priority order, uncharged, claiming along with its settles', async () => {
    await withSchema(server.url, async (schema) => {
      const store = new PostgresStore({ connectionString: server.url, schema });
      const calls = countCalls(store);
      const scheduler = new Scheduler({ store, concurrency: 1 });
      const ran: string[] = [];
      const attempts: number[] = [];
      scheduler.register('work', (j) => {
        ran.push(j.id);
        attempts.push(j.attempt);
      });
      const feeder = new PostgresStore({ connectionString: server.url, schema });
      await feeder.open(liveContext());
      const ids: string[] = [];
      try {
        const at = Date.now() - 60_000;
        // Priorities 0..4, due times and insertion order mixed.
        await feeder.insert(
          Array.from({ length: 40 }, (_, i) => {
            const id = `j${String(i).padStart(2, '0')}`;
            ids.push(id);
            return { record: job(id, { priority: (i * 7) % 5, runAt: at + ((i * 13) % 11) }), onDuplicate: 'reject' as const };
          }),
        );
        const expected = (await feeder.list({ limit: 100 })).sort((x, y) => y.priority - x.priority || x.runAt - y.runAt || x.seq - y.seq).map((j) => j.id);
        await scheduler.start();
        await waitFor(() => ran.length >= 40, 60_000, 'every job to run');
        await waitFor(async () => (await scheduler.stats()).completed === 40, 20_000, 'every outcome recorded');
        assert.deepEqual(ran, expected);
        assert.deepEqual(new Set(attempts), new Set([1]));
        assert.ok((calls.get('settleClaim') ?? 0) > 0, 'claimed along with the outcomes');
      } finally {
        await scheduler.stop();
        await feeder.close();
      }
    });
  });

  it('migrates a version 1 schema to version 2 (and on to the latest) and runs its jobs', async () => {
    await withSchema(server.url, async (schema) => {
      const client = await server.client();
      try {
        await client.query(`CREATE SCHEMA "${schema}"`);
        await client.query(`CREATE TABLE "${schema}".migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
        await client.query(migrations(schema)[0] as string);
        await client.query(`INSERT INTO "${schema}".migrations (version) VALUES (1)`);
        await client.query(`INSERT INTO "${schema}".jobs (id, name, run_at, created_at, payload) VALUES ('old', 'work', 0, 0, '{"v":1}')`);
      } finally {
        await client.end();
      }
      await withStore({ connectionString: server.url, schema }, async (store) => {
        const [old] = (await store.claim(claimNow())).jobs as [JobRecord];
        assert.deepEqual([old.id, old.payload], ['old', { v: 1 }]);
        assert.equal(await store.settle('old', old.token!, done(old)), true);
      });
      const check = await server.client();
      try {
        assert.deepEqual((await check.query(`SELECT version FROM "${schema}".migrations ORDER BY version`)).rows, allVersions());
      } finally {
        await check.end();
      }
    });
  });
});
