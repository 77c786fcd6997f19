/**
 * PostgresStore against a real PostgreSQL server (started here on a free
 * port): the shared Store conformance suite, then what only this store has.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresStore } from '../src/postgres.js';
import { Scheduler } from '../src/scheduler.js';
import { DuplicateJobError, StorePersistError, ValidationError } from '../src/errors.js';
import { VirtualClock } from '../src/clock.js';
import { storeConformance } from './store-conformance.js';
import { dropSchema, postgresSkip, usePostgresServer } from './postgres-server.js';
import { allVersions, claimNow, job, liveContext, newSchema, untilOk, waitFor, withSchema, withStore } from './fixtures/postgres-helpers.js';
import { latestVersion } from '../src/store/postgres/schema.js';

describe('PostgresStore', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  storeConformance('PostgresStore', () => {
    const schema = newSchema('conf');
    const make = (): PostgresStore => new PostgresStore({ connectionString: server.url, schema });
    return Promise.resolve({
      store: make(),
      reopen: () => Promise.resolve(make()),
      cleanup: () => dropSchema(server.url, schema),
    });
  });

  describe('options', () => {
    it('validates its options', () => {
      assert.throws(() => new PostgresStore({ connectionString: 'postgres://x', pool: new pg.Pool() }), /one of `options.pool` or `options.connectionString`/);
      assert.throws(() => new PostgresStore({ pool: {} as never }), /Expected `options.pool` to be a pg Pool/);
      assert.throws(() => new PostgresStore({ connectionString: 'mysql://x' }), /postgres:\/\/ or postgresql:\/\/ URL/);
      assert.throws(() => new PostgresStore({ schema: 'Jobs' }), /Expected `options.schema` to be a lower-case SQL name/);
      assert.throws(() => new PostgresStore({ schema: 'a; DROP TABLE x' }), ValidationError);
      assert.throws(() => new PostgresStore({ leaseMs: 50 }), /options.leaseMs` to be at least 100/);
      assert.throws(() => new PostgresStore({ commandTimeoutMs: 0 }), /options.commandTimeoutMs/);
      assert.throws(() => new PostgresStore({ nope: 1 } as never), /Unknown option `options.nope`/);
    });
  });

  describe('schema', () => {
    it('creates its tables once when many processes open at the same time, and records the version', async () => {
      await withSchema(server.url, async (schema) => {
        const stores = Array.from({ length: 6 }, () => new PostgresStore({ connectionString: server.url, schema }));
        await Promise.all(stores.map((s) => s.open(liveContext())));
        try {
          const client = await server.client();
          try {
            const versions = await client.query(`SELECT version FROM "${schema}".migrations ORDER BY version`);
            assert.deepEqual(versions.rows, allVersions());
            const tables = await client.query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [schema]);
            assert.deepEqual(tables.rows.map((r: { table_name: string }) => r.table_name), ['counts', 'events', 'gone', 'heads', 'heads_dirty', 'jobs', 'lanes', 'migrations', 'pause', 'pushback', 'starts', 'windows']);
          } finally {
            await client.end();
          }
          await (stores[0] as PostgresStore).insert([{ record: job('a'), onDuplicate: 'reject' }]);
          assert.equal((await (stores[5] as PostgresStore).get('a'))?.id, 'a');
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
      });
    });

    it('refuses a schema written by a newer version, changing nothing', async () => {
      await withSchema(server.url, async (schema) => {
        await withStore({ connectionString: server.url, schema }, async () => undefined);
        const client = await server.client();
        try {
          await client.query(`INSERT INTO "${schema}".migrations (version) VALUES (99)`);
          const store = new PostgresStore({ connectionString: server.url, schema });
          await assert.rejects(store.open(liveContext()), new RegExp(`at version ${latestVersion('any')} or older, got version 99 \\(written by a newer godelayq\\)`));
          const versions = await client.query(`SELECT version FROM "${schema}".migrations ORDER BY version`);
          assert.deepEqual(versions.rows, [...allVersions(), { version: 99 }]);
        } finally {
          await client.end();
        }
      });
    });

    it('names the address and the cause when the server cannot be reached', async () => {
      const store = new PostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', commandTimeoutMs: 2000 });
      await assert.rejects(store.open(liveContext()), (e: unknown) => e instanceof StorePersistError && /postgres:\/\/127\.0\.0\.1:1\/postgres/.test(e.message) && /ECONNREFUSED/.test(e.message));
    });
  });

  describe('records', () => {
    it('round-trips payloads exactly (key order, empty arrays and objects, long decimals, unicode, \\u0000) and every optional field', async () => {
      await withSchema(server.url, async (schema) => {
        await withStore({ connectionString: server.url, schema }, async (store) => {
          const payload = { z: 1, a: [], o: {}, d: 0.1 + 0.2, big: 1234567890123456, tiny: 5e-324, s: 'ü 😀 \n "q" \u0000', nested: [[], [{}], null, true] };
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
          assert.equal(JSON.stringify(got?.payload), JSON.stringify(payload), 'same JSON text, key order included');
          assert.equal(got?.runAt, 1_700_000_000_000.25);
        });
      });
    });

    it('refuses ids and names PostgreSQL text would change (NUL, lone surrogates) and payloads above maxPayloadBytes, sending nothing', async () => {
      await withSchema(server.url, async (schema) => {
        await withStore(
          { connectionString: server.url, schema },
          async (store) => {
            await assert.rejects(store.insert([{ record: job('a\u0000b'), onDuplicate: 'reject' }]), /no NUL character/);
            await assert.rejects(store.insert([{ record: job('ok', { name: 'w\ud800' }), onDuplicate: 'reject' }]), /well-formed Unicode/);
            await assert.rejects(store.insert([{ record: job('big', { payload: 'x'.repeat(2000) }), onDuplicate: 'reject' }]), /at most 1000 bytes of JSON, got 2002/);
            assert.deepEqual(await store.list({}), []);
            await store.insert([{ record: job('r'), onDuplicate: 'reject' }]);
            const [claimed] = (await store.claim(claimNow())).jobs;
            await assert.rejects(store.settle('r', claimed!.token!, { ...claimed!, state: 'completed', finishedAt: Date.now(), result: 'y'.repeat(2000) }), ValidationError);
            assert.equal((await store.get('r'))?.state, 'running');
          },
          liveContext({ maxPayloadBytes: 1000 }),
        );
      });
    });

    it('lists a big set in runAt order with offset and limit, and every state (ready ones too) in order', async () => {
      await withSchema(server.url, async (schema) => {
        await withStore({ connectionString: server.url, schema }, async (store) => {
          const base = Date.now() + 3_600_000;
          const records = Array.from({ length: 2500 }, (_, i) => job(`j${i}`, { runAt: base + ((i * 7919) % 1000), name: i % 2 ? 'odd' : 'even' }));
          await store.insert(records.map((record) => ({ record, onDuplicate: 'reject' })));
          const expected = [...records].map((r, seq) => ({ ...r, seq })).sort((a, b) => a.runAt - b.runAt || a.seq - b.seq);
          assert.deepEqual((await store.list({})).map((r) => r.id), expected.map((r) => r.id));
          assert.deepEqual((await store.list({ offset: 1995, limit: 10 })).map((r) => r.id), expected.slice(1995, 2005).map((r) => r.id));
          assert.deepEqual(
            (await store.list({ name: 'odd', states: ['scheduled'], offset: 700, limit: 3 })).map((r) => r.id),
            expected.filter((r) => r.name === 'odd').slice(700, 703).map((r) => r.id),
          );
          const t = Date.now() - 10_000;
          await store.insert(['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => ({ record: job(id, { runAt: t + i, name: id === 'e' ? 'other' : 'work' }), onDuplicate: 'reject' as const })));
          // 'other' has no capacity: 'e' becomes ready (due, waiting) and stays there.
          const { jobs, waiting } = await store.claim(claimNow({ capacity: (name) => (name === 'work' ? 100 : 0) }));
          assert.deepEqual(waiting, ['other']);
          const by = new Map(jobs.map((j) => [j.id, j]));
          await store.settle('a', by.get('a')!.token!, { ...by.get('a')!, state: 'completed', finishedAt: Date.now() });
          await store.settle('b', by.get('b')!.token!, { ...by.get('b')!, state: 'dead', finishedAt: Date.now() });
          await store.cancel('c', Date.now());
          const first = await store.list({ limit: 7 });
          assert.deepEqual(first.map((j) => [j.id, j.state]), [
            ['a', 'completed'],
            ['b', 'dead'],
            ['c', 'cancelled'],
            ['d', 'running'],
            ['e', 'scheduled'],
            ['f', 'running'],
            [expected[0]!.id, 'scheduled'],
          ]);
          assert.deepEqual((await store.list({ name: 'other' })).map((j) => j.id), ['e']);
          assert.deepEqual((await store.list({ states: ['running'], limit: 1 })).map((j) => j.id), ['d']);
        });
      });
    });
  });

  describe('several stores on one job set', () => {
    it('a job due earlier than anything known wakes another process at once (NOTIFY, no poll)', async () => {
      await withSchema(server.url, async (schema) => {
        const a = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema, pollMs: 60_000 }) });
        const b = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema, pollMs: 60_000 }) });
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

    it('a ready job this claim skipped because another transaction held it is claimed soon after, not left waiting for a signal', async () => {
      // Another process's claim in flight, or an application's transaction
      // that cancels or reschedules the job and then rolls back, holds the row:
      // this claim skips it and its summary names the job ready. It was not
      // taken for want of a lock, not of capacity: this process must look
      // again soon, or the job waits for an event that may never come.
      await withSchema(server.url, async (schema) => {
        await withStore({ connectionString: server.url, schema, pollMs: 60_000 }, async (store) => {
          await store.insert([{ record: job('x', { runAt: Date.now() - 10 }), onDuplicate: 'reject' }]);
          const other = await server.client();
          try {
            // Moved to the ready set, as a claim of a process without capacity for its name does.
            await other.query(`UPDATE "${schema}".jobs SET state = 'ready' WHERE id = 'x'`);
            await other.query('BEGIN');
            await other.query(`SELECT id FROM "${schema}".jobs WHERE id = 'x' FOR UPDATE`);
            const first = await store.claim(claimNow());
            assert.deepEqual(first.jobs, [], 'the held job was skipped');
            await other.query('ROLLBACK');
            const at = store.nextDueAt();
            assert.ok(at !== undefined && at <= Date.now() + 1000, `a claim is due again soon (nextDueAt ${at}, now ${Date.now()})`);
            const second = await store.claim(claimNow());
            assert.deepEqual(second.jobs.map((j) => j.id), ['x']);
          } finally {
            await other.end();
          }
        });
      });
    });

    it('a claim whose second round trip fails still returns the jobs its first one took (they run under leases this process renews)', async () => {
      // Before: the claim rejected, and the jobs of its first round stayed
      // `running` under leases this process kept renewing, never started.
      await withSchema(server.url, async (schema) => {
        await withStore({ connectionString: server.url, schema }, async (store) => {
          await store.insert(Array.from({ length: 300 }, (_, i) => ({ record: job(`j${i}`, { runAt: Date.now() - 1000 }), onDuplicate: 'reject' as const })));
          const s = store as unknown as { call: (fn: string, ...rest: unknown[]) => Promise<unknown> };
          const call = s.call.bind(store);
          let claims = 0;
          s.call = (fn, ...rest) => (fn === 'claim' && ++claims === 2 ? Promise.reject(new StorePersistError('connection terminated (test)')) : call(fn, ...rest));
          const first = await store.claim(claimNow({ limit: 300, capacity: () => 300 }));
          s.call = call;
          assert.equal(claims, 2, 'a second round was tried');
          assert.ok(first.jobs.length > 0 && first.jobs.length < 300, `the first round's jobs are handed out (${first.jobs.length})`);
          const at = store.nextDueAt();
          assert.ok(at !== undefined && at <= Date.now() + 5000, 'a claim for the rest is due again soon');
          for (const j of first.jobs) assert.equal(await store.settle(j.id, j.token!, { ...j, state: 'completed', finishedAt: Date.now() }), true);
          const rest = await store.claim(claimNow({ limit: 300, capacity: () => 300 }));
          assert.equal(first.jobs.length + rest.jobs.length, 300);
        });
      });
    });

    it('the same schedule declared by several processes at once is one job', async () => {
      await withSchema(server.url, async (schema) => {
        const schedulers = [0, 1, 2, 3].map(() => new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema }) }));
        await Promise.all(schedulers.map((s) => s.start()));
        try {
          const infos = await Promise.all(schedulers.map((s) => s.scheduleEvery('work', 60_000, { x: 1 }, { id: 'every-minute' })));
          assert.equal(new Set(infos.map((i) => i.runAt.getTime())).size, 1, 'every process got the one stored schedule');
          assert.equal((await (schedulers[0] as Scheduler).list({})).length, 1);
          await assert.rejects((schedulers[1] as Scheduler).scheduleEvery('work', 30_000, { x: 1 }, { id: 'every-minute' }), DuplicateJobError);
        } finally {
          await Promise.all(schedulers.map((s) => s.stop()));
        }
      });
    });

    it('a cancel or replace elsewhere tells the process running the attempt at once, with the reason', async () => {
      await withSchema(server.url, async (schema) => {
        const ctxA = liveContext();
        const a = new PostgresStore({ connectionString: server.url, schema, pollMs: 60_000 });
        const b = new PostgresStore({ connectionString: server.url, schema, pollMs: 60_000 });
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
        } finally {
          await a.close();
          await b.close();
        }
      });
    });

    it('recovers the lease of a process that stopped renewing: the job runs again, attempt kept, marked lost; the old outcome is refused and reported', async () => {
      await withSchema(server.url, async (schema) => {
        const ctxA = liveContext();
        const ctxB = liveContext();
        const a = new PostgresStore({ connectionString: server.url, schema, leaseMs: 300 });
        const b = new PostgresStore({ connectionString: server.url, schema, leaseMs: 300 });
        await a.open(ctxA);
        await b.open(ctxB);
        try {
          await a.insert([{ record: job('x'), onDuplicate: 'reject' }]);
          const t0 = Date.now();
          const [claimed] = (await a.claim(claimNow())).jobs;
          assert.ok(claimed?.token);
          // a's renewals stop (as if it froze); b's lease watch recovers the job when the lease ends.
          (a as unknown as { leases: { stop(): void } }).leases.stop();
          await waitFor(async () => (await b.get('x'))?.state === 'scheduled', 10_000, 'recovered');
          assert.ok(Date.now() - t0 >= 250, 'not before its 300 ms lease ended');
          assert.equal((await b.get('x'))?.lost, 'lease');
          assert.ok(ctxB.wakes > 0, 'the recovering process woke its scheduler');
          const [again] = (await b.claim(claimNow())).jobs;
          assert.equal(again?.attempt, 2);
          assert.equal(again?.lost, 'lease');
          assert.equal(await a.settle('x', claimed.token, { ...claimed, state: 'completed', finishedAt: Date.now() }), false);
          await waitFor(() => ctxA.lostAttempts.length > 0, 10_000, 'a told');
          assert.deepEqual(ctxA.lostAttempts, [{ id: 'x', token: claimed.token, reason: 'lease' }], 'the refused outcome is reported, once');
          assert.equal((await b.get('x'))?.state, 'running');
        } finally {
          await a.close();
          await b.close();
        }
      });
    });

    it("its poll runs on the scheduler's Clock: under a VirtualClock a lapsed lease is recovered when the clock is advanced", async () => {
      await withSchema(server.url, async (schema) => {
        const clock = new VirtualClock(Date.now());
        const a = new PostgresStore({ connectionString: server.url, schema, leaseMs: 300 });
        const b = new PostgresStore({ connectionString: server.url, schema, leaseMs: 300, pollMs: 1000 });
        // a's timers wait for a clock nobody advances: it neither renews nor polls, as if it froze.
        await a.open(liveContext({ clock: new VirtualClock(Date.now()) }));
        await b.open(liveContext({ clock }));
        try {
          await a.insert([{ record: job('x'), onDuplicate: 'reject' }]);
          await a.claim(claimNow());
          (a as unknown as { leases: { stop(): void } }).leases.stop();
          const client = await server.client();
          try {
            await waitFor(async () => (await client.query(`SELECT lease_until < "${schema}".now_ms() AS ended FROM "${schema}".jobs WHERE id = 'x'`)).rows[0].ended === true, 10_000, 'the lease to end');
          } finally {
            await client.end();
          }
          assert.equal((await b.get('x'))?.state, 'running', 'nothing in b recovers it on real time');
          await clock.advance(1000);
          await waitFor(async () => (await b.get('x'))?.state === 'scheduled', 10_000, 'recovered by the poll');
        } finally {
          await a.close();
          await b.close();
        }
      });
    });
  });

  describe('a database restart', () => {
    const own = usePostgresServer();

    it('rejects with StorePersistError while the server is down, resumes when it is back (LISTEN too), and keeps what it acknowledged', async () => {
      await withSchema(own.url, async (schema) => {
        const ctx = liveContext();
        const store = new PostgresStore({ connectionString: own.url, schema, pollMs: 200, commandTimeoutMs: 2000 });
        const other = new PostgresStore({ connectionString: own.url, schema, pollMs: 60_000 });
        await store.open(ctx);
        await other.open(liveContext());
        try {
          await store.insert([{ record: job('before', { runAt: Date.now() + 60_000 }), onDuplicate: 'reject' }]);
          await own.crash();
          await assert.rejects(store.insert([{ record: job('during'), onDuplicate: 'reject' }]), StorePersistError);
          await assert.rejects(store.get('before'), StorePersistError);
          await assert.rejects(store.claim(claimNow()), StorePersistError);
          await own.start();
          // 'keep', as a caller retries: an attempt that timed out after it was sent may have landed (outcomeUnknown).
          await untilOk(() => store.insert([{ record: job('after', { runAt: Date.now() + 30_000 }), onDuplicate: 'keep' }]), 20_000, 'reconnected');
          assert.equal((await store.get('before'))?.state, 'scheduled', 'acknowledged before the crash: kept');
          assert.equal(await store.get('during'), undefined);
          // The LISTEN connection came back: a push from another process arrives.
          const wakes = ctx.wakes;
          await waitFor(async () => {
            await untilOk(() => other.insert([{ record: job(`push${Date.now()}`, { runAt: Date.now() - 1000 }), onDuplicate: 'reject' }]), 5000, 'other reconnected');
            return ctx.wakes > wakes;
          }, 20_000, 'a NOTIFY after the restart');
        } finally {
          await store.close();
          await other.close();
        }
      });
    });
  });
});
