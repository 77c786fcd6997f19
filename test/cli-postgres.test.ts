/**
 * `godelayq` on a PostgresStore (`postgres://` URL + `--schema`), against a
 * real PostgreSQL server: reads go through a PostgresStore opened
 * `readOnly` (no migration, no LISTEN, no timers, no lease recovery, every
 * transaction read-only; checked by a digest of every row with its xmin
 * before and after, and in-process), changes go through live, and a schema
 * that holds no store is never created.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Scheduler, StorePersistError, VirtualClock } from '../src/index.js';
import { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { claimNow, job, liveContext, withSchema } from './fixtures/postgres-helpers.js';
import { cli, cliJson } from './cli-helpers.js';

async function query<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Every row of the store's tables with its xmin: equal digests mean not a row was written. */
async function digest(url: string, schema: string): Promise<string> {
  const S = `"${schema}"`;
  const [row] = await query<{ d: string }>(
    url,
    `SELECT md5(string_agg(x, '|' ORDER BY x)) AS d FROM (
       SELECT 'j' || j.xmin::text || j::text AS x FROM ${S}.jobs j
       UNION ALL SELECT 'c' || c.xmin::text || c::text FROM ${S}.counts c
       UNION ALL SELECT 'm' || m.xmin::text || m::text FROM ${S}.migrations m) t`,
  );
  return row?.d ?? '';
}

const schemaExists = async (url: string, schema: string): Promise<boolean> => (await query(url, 'SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).length > 0;

async function fill(url: string, schema: string): Promise<void> {
  const scheduler = new Scheduler({ store: new PostgresStore({ connectionString: url, schema }), retry: { maxRetries: 0, backoff: { type: 'fixed', delay: 1 } } });
  scheduler.register('pay', () => {
    throw new Error('card declined');
  });
  await scheduler.start();
  try {
    await scheduler.scheduleIn('order.cancel', 3_600_000, { orderId: 'A1' }, { id: 'order-1' });
    await scheduler.scheduleIn('pay', 0, { orderId: 'A2' }, { id: 'pay-1' });
    await scheduler.scheduleCron('report.daily', '0 9 * * *', null, { id: 'report', tz: 'Europe/Paris' });
    for (let i = 0; i < 1000 && (await scheduler.get('pay-1'))?.state !== 'dead'; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await scheduler.get('pay-1'))?.state, 'dead');
  } finally {
    await scheduler.stop();
  }
}

describe('godelayq on a PostgresStore', { skip: postgresSkip, timeout: 600_000 }, () => {
  const server = usePostgresServer();

  it('jobs, show and stats read without writing a row; retry and cancel change jobs live', async () => {
    await withSchema(
      server.url,
      async (schema) => {
        await fill(server.url, schema);
        const before = await digest(server.url, schema);
        const jobs = await cliJson<{ jobs: { id: string; state: string }[]; source: { kind: string; store: string } }>(['jobs', server.url, '--schema', schema]);
        assert.deepEqual(jobs.jobs.map((j) => [j.id, j.state]).sort(), [['order-1', 'scheduled'], ['pay-1', 'dead'], ['report', 'scheduled']]);
        assert.equal(jobs.source.kind, 'postgres');
        assert.equal(jobs.source.store, `${server.url} schema ${schema}`);
        const dead = await cliJson<{ jobs: { id: string }[] }>(['jobs', server.url, '--schema', schema, '--state', 'dead']);
        assert.deepEqual(dead.jobs.map((j) => j.id), ['pay-1']);
        const shown = await cli(['show', server.url, 'pay-1', '--schema', schema]);
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(shown.stdout, /^last error +Error: card declined$/m);
        assert.equal((await cli(['show', server.url, 'nope', '--schema', schema])).code, 2);
        const stats = await cliJson<{ counts: Record<string, number>; nextDueAt: string | null }>(['stats', server.url, '--schema', schema]);
        assert.deepEqual(stats.counts, { scheduled: 2, running: 0, completed: 0, dead: 1, cancelled: 0, recurring: 1 });
        assert.ok(stats.nextDueAt !== null);
        assert.equal(await digest(server.url, schema), before, 'a read wrote to PostgreSQL');

        const retried = await cli(['retry', server.url, 'pay-1', '--schema', schema, '--in', '1h', '--json']);
        assert.equal(retried.code, 0, retried.stderr);
        assert.equal((JSON.parse(retried.stdout) as { job: { state: string } }).job.state, 'scheduled');
        const after = await cliJson<{ job: { state: string; attempt: number } }>(['show', server.url, 'pay-1', '--schema', schema]);
        assert.deepEqual([after.job.state, after.job.attempt], ['scheduled', 0]);
        assert.equal((await cli(['reschedule', server.url, 'order-1', '--schema', schema, '--in', '2h'])).code, 0);
        assert.equal((await cli(['cancel', server.url, 'order-1', '--schema', schema])).code, 0);
        assert.equal((await cli(['cancel', server.url, 'order-1', '--schema', schema])).code, 5);
        const [row] = await query<{ state: string }>(server.url, `SELECT state::text FROM "${schema}".jobs WHERE id = 'order-1'`);
        assert.equal(row?.state, 'cancelled');
      },
      'cli',
    );
  });

  it('a retry made with the command while an app runs is picked up: the job runs again', async () => {
    await withSchema(
      server.url,
      async (schema) => {
        await fill(server.url, schema);
        const app = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema }) });
        const ran: string[] = [];
        app.register('pay', (j) => {
          ran.push(j.id);
          return 'paid';
        });
        await app.start();
        try {
          const r = await cli(['retry', server.url, 'pay-1', '--schema', schema]);
          assert.equal(r.code, 0, r.stderr);
          for (let i = 0; i < 1000 && (await app.get('pay-1'))?.state !== 'completed'; i++) await new Promise((res) => setTimeout(res, 10));
          assert.deepEqual(ran, ['pay-1']);
          assert.equal((await app.get('pay-1'))?.result, 'paid');
        } finally {
          await app.stop();
        }
      },
      'live',
    );
  });

  it('a schema that holds no store: reads and changes exit 3 and create nothing', async () => {
    const schema = `nostore_${process.pid}`;
    for (const args of [['stats', server.url], ['jobs', server.url], ['retry', server.url, 'x'], ['cancel', server.url, 'x']]) {
      const r = await cli([...args, '--schema', schema]);
      assert.equal(r.code, 3, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`Expected a godelayq schema "${schema}" at postgres://127\\.0\\.0\\.1:\\d+/postgres, got none`));
    }
    assert.equal(await schemaExists(server.url, schema), false, 'a schema was created');
  });

  it('a read-only PostgresStore listens to nothing, arms no timer, recovers no lease, refuses every change, and its transactions are read-only', async () => {
    await withSchema(
      server.url,
      async (schema) => {
        // A job running under a lease that has ended: an open for writing would recover it.
        const writer = new PostgresStore({ connectionString: server.url, schema, leaseMs: 100 });
        await writer.open(liveContext());
        await writer.insert([{ record: job('leased', { runAt: Date.now() - 1 }), onDuplicate: 'reject' }]);
        assert.equal((await writer.claim(claimNow({ limit: 1 }))).jobs.length, 1);
        // Gone without giving the lease back (as a crash would).
        const leases = (writer as unknown as { leases: { stop(): void; held: Map<string, unknown> } }).leases;
        leases.stop();
        leases.held.clear();
        await writer.close();
        await new Promise((r) => setTimeout(r, 150));
        const before = await digest(server.url, schema);
        const listening = async (): Promise<number> => (await query(server.url, "SELECT 1 FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()")).length;
        const listenersBefore = await listening();

        const clock = new VirtualClock(Date.now());
        const store = new PostgresStore({ connectionString: server.url, schema, readOnly: true });
        await store.open(liveContext({ clock }));
        try {
          assert.equal(clock.pendingTimers, 0, 'a read-only store armed a timer (poll, lease watch)');
          assert.equal(await listening(), listenersBefore, 'a read-only store listens');
          assert.deepEqual(store.counts(), { scheduled: 0, running: 1, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 0 });
          assert.equal((await store.get('leased'))?.state, 'running', 'the ended lease was recovered by a read');
          assert.deepEqual((await store.list({})).map((j) => j.id), ['leased']);
          const readOnly = (e: unknown): boolean => e instanceof StorePersistError && /readOnly: true/.test((e as Error).message);
          await assert.rejects(store.insert([{ record: job('x'), onDuplicate: 'reject' }]), readOnly);
          await assert.rejects(store.cancel('leased', Date.now()), readOnly);
          await assert.rejects(store.reschedule('leased', Date.now()), readOnly);
          await assert.rejects(store.revive('leased', Date.now()), readOnly);
          await assert.rejects(store.claim(claimNow()), readOnly);
          await assert.rejects(store.settle('leased', 't', { ...job('leased'), seq: 1 }), readOnly);
          // The pool it opened runs every transaction read-only: even a bug could not write.
          const pool = (store as unknown as { db: { pool: pg.Pool } }).db.pool;
          await assert.rejects(pool.query(`DELETE FROM "${schema}".jobs`), /read-only transaction/);
          assert.equal(await digest(server.url, schema), before, 'a read-only store wrote to PostgreSQL');
        } finally {
          await store.close();
        }
      },
      'ro',
    );
  });

  it('options: --schema only with postgres://, --prefix not with it; an unreachable server exits 3', async () => {
    const folder = await cli(['stats', '.', '--schema', 'x']);
    assert.equal(folder.code, 1);
    assert.match(folder.stderr, /Expected `--schema` only with a postgres:\/\/ store, got it with a folder/);
    const prefix = await cli(['stats', server.url, '--prefix', 'x']);
    assert.equal(prefix.code, 1);
    assert.match(prefix.stderr, /Expected `--prefix` only with a redis:\/\/ store, got it with a postgres:\/\/ URL/);
    const bad = await cli(['stats', server.url, '--schema', 'Bad-Name']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Expected `options.schema` to be a lower-case SQL name/);
    const down = await cli(['stats', 'postgres://postgres:secret@127.0.0.1:1/postgres']);
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, /Expected PostgreSQL at postgres:\/\/127\.0\.0\.1:1\/postgres to accept a connection/);
    assert.doesNotMatch(down.stderr + down.stdout, /secret/, 'the password is never shown');
  });
});
