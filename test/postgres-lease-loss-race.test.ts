/**
 * PostgresStore, schema version 5 (functions-v5.ts): a lease loss recorded
 * by a renewal or a late settle does not overwrite a settle, cancel or
 * replace that committed meanwhile. Each test holds the other statement's
 * transaction open on one connection, starts the lease-loss statement on
 * another, waits until PostgreSQL shows it waiting for that row's lock,
 * commits the first, and reads the row: the interleaving is forced, no
 * timing is involved. Before migration 5 each of them left the job
 * `scheduled` (lost: 'lease') — a completed job ran again, a cancelled one
 * came back (simulation, PostgreSQL seed 249000045).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { claimNow, createSchemaAt, job, liveContext, waitFor, withSchema, withStore } from './fixtures/postgres-helpers.js';
import { latestVersion } from '../src/store/postgres/schema.js';
import { PostgresStore } from '../src/postgres.js';

interface Attempt {
  id: string;
  token: string;
  seq: number;
}

/**
 * migration 4's settle_rows (and 5's: same parameters) recording `completed`
 * for `a`, on time `t` (a settle takes its time when it starts), `again`: a
 * retry of a settle whose reply was lost.
 */
function settleRows(client: pg.Client, S: string, a: Attempt, t: number, again = false): Promise<pg.QueryResult<{ r: string[] }>> {
  return client.query(
    `SELECT ${S}.settle_rows($1::text[], $2::text[], $3::bigint[], $4::boolean[], $5::text[], $6::float8[], $7::integer[],
      $8::json[], $9::json[], $10::float8[], $11::json[], $12::json[], $13::float8[], $14::json[], $15::text[], $16::text[], $17::boolean[],
      $18::json[], $19::float8[], $20::integer[], $21) AS r`,
    [[a.id], [a.token], [a.seq], [again], ['completed'], [0], [1], [null], [null], [null], [null], ['"done"'], [t], [null], [null], [null], [null], [null], [null], [null], t],
  );
}

/** Waits until the backend `pid` waits for a lock (the row another transaction holds). */
async function waitingForLock(observer: pg.Client, pid: number): Promise<void> {
  await waitFor(
    async () => (await observer.query<{ w: string | null }>('SELECT wait_event_type AS w FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]?.w === 'Lock',
    30_000,
    `backend ${pid} waiting for the row lock`,
  );
}

async function backendPid(client: pg.Client): Promise<number> {
  return (await client.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]?.p ?? -1;
}

describe('PostgresStore: a lease loss does not overwrite what committed meanwhile (schema version 5)', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  /**
   * A claimed job (lease 60 s) whose lease is then made to have ended (the
   * row's `lease_until` an hour ago), and three connections: `holder` (the
   * statement that commits meanwhile), `loser` (the lease-loss statement),
   * `observer`.
   */
  async function race(
    fn: (c: { S: string; a: Attempt; leaseEnd: number; holder: pg.Client; loser: pg.Client; observer: pg.Client; row: () => Promise<Record<string, unknown>> }) => Promise<void>,
  ): Promise<void> {
    await withSchema(server.url, async (schema) => {
      await withStore({ connectionString: server.url, schema }, async (store) => {
        await store.insert([{ record: job('j'), onDuplicate: 'reject' }]);
        const [claimed] = (await store.claim(claimNow())).jobs;
        assert.ok(claimed?.token !== undefined, 'claimed');
        const a: Attempt = { id: claimed.id, token: claimed.token, seq: claimed.seq };
        const S = `"${schema}"`;
        const [holder, loser, observer] = await Promise.all([server.client(), server.client(), server.client()]);
        try {
          const leaseEnd = Date.now() - 3_600_000;
          await observer.query(`UPDATE ${S}.jobs SET lease_until = $2 WHERE id = $1`, [a.id, leaseEnd]);
          const row = async (): Promise<Record<string, unknown>> =>
            (await observer.query<Record<string, unknown>>(`SELECT state::text, lost, token, last_token FROM ${S}.jobs WHERE id = $1`, [a.id])).rows[0] ?? {};
          await fn({ S, a, leaseEnd, holder, loser, observer, row });
        } finally {
          await Promise.all([holder, loser, observer].map((c) => c.end()));
        }
      });
    });
  }

  it('a renewal that finds the lease ended leaves a settle that started before the lease ended and committed while it waited', async () => {
    await race(async ({ S, a, leaseEnd, holder, loser, observer, row }) => {
      await holder.query('BEGIN');
      assert.deepEqual((await settleRows(holder, S, a, leaseEnd - 1)).rows[0]?.r, ['OK'], 'the settle lands (its time is before the lease end)');
      const pid = await backendPid(loser);
      const renewal = loser.query<{ r: { gone: [string, string][] } }>(`SELECT ${S}.renew($1, $2, $3, 60000) AS r`, [[a.id], [a.token], [a.seq]]);
      await waitingForLock(observer, pid);
      await holder.query('COMMIT');
      const reply = await renewal;
      assert.deepEqual(reply.rows[0]?.r.gone, [[a.id, 'lease']], 'the renewal reports the attempt gone (it no longer holds the job)');
      assert.deepEqual(await row(), { state: 'completed', lost: null, token: null, last_token: a.token }, 'the completion stands');
    });
  });

  it('a late settle leaves a cancel that committed while it waited, and answers "cancelled"', async () => {
    await race(async ({ S, a, holder, loser, observer, row }) => {
      await holder.query('BEGIN');
      const cancel = await holder.query<{ r: { job: { state: string } | null } }>(`SELECT ${S}.cancel($1, $2, 1000, 1000) AS r`, [a.id, Date.now()]);
      assert.equal(cancel.rows[0]?.r.job?.state, 'cancelled');
      const pid = await backendPid(loser);
      const settle = settleRows(loser, S, a, Date.now());
      await waitingForLock(observer, pid);
      await holder.query('COMMIT');
      assert.deepEqual((await settle).rows[0]?.r, ['cancelled']);
      assert.deepEqual(await row(), { state: 'cancelled', lost: null, token: null, last_token: null }, 'the job stays cancelled');
    });
  });

  it('a retried settle that finds the lease ended, while the first one commits, answers "landed" and leaves the completion', async () => {
    await race(async ({ S, a, leaseEnd, holder, loser, observer, row }) => {
      await holder.query('BEGIN');
      assert.deepEqual((await settleRows(holder, S, a, leaseEnd - 1)).rows[0]?.r, ['OK']);
      const pid = await backendPid(loser);
      const retry = settleRows(loser, S, a, Date.now(), true);
      await waitingForLock(observer, pid);
      await holder.query('COMMIT');
      assert.deepEqual((await retry).rows[0]?.r, ['OK'], 'the retry learns that its outcome landed');
      assert.deepEqual(await row(), { state: 'completed', lost: null, token: null, last_token: a.token });
    });
  });

  it('an expired lease with nothing committed meanwhile is still recovered: the renewal reports it lost and the job is scheduled again', async () => {
    await race(async ({ S, a, loser, row }) => {
      const reply = await loser.query<{ r: { gone: [string, string][] } }>(`SELECT ${S}.renew($1, $2, $3, 60000) AS r`, [[a.id], [a.token], [a.seq]]);
      assert.deepEqual(reply.rows[0]?.r.gone, [[a.id, 'lease']]);
      assert.deepEqual(await row(), { state: 'scheduled', lost: 'lease', token: null, last_token: null });
    });
  });

  it('the settle of an older version (migration 2’s settle_rows) is guarded too: a late one leaves a cancel committed meanwhile', async () => {
    await race(async ({ S, a, holder, loser, observer, row }) => {
      await holder.query('BEGIN');
      await holder.query(`SELECT ${S}.cancel($1, $2, 1000, 1000)`, [a.id, Date.now()]);
      const pid = await backendPid(loser);
      // Migration 1's settle signature (17 arrays and the two retention counts), as a version 1 or 2 process calls it.
      const settle = loser.query<{ r: { r: string[] } }>(
        `SELECT ${S}.settle($1::text[], $2::text[], $3::bigint[], $4::boolean[], $5::text[], $6::float8[], $7::integer[], $8::json[], $9::json[],
          $10::float8[], $11::json[], $12::json[], $13::float8[], $14::json[], $15::text[], $16::text[], $17::boolean[], 1000, 1000) AS r`,
        [[a.id], [a.token], [a.seq], [false], ['completed'], [0], [1], [null], [null], [null], [null], ['"done"'], [Date.now()], [null], [null], [null], [null]],
      );
      await waitingForLock(observer, pid);
      await holder.query('COMMIT');
      assert.deepEqual((await settle).rows[0]?.r.r, ['cancelled']);
      assert.equal((await row()).state, 'cancelled');
    });
  });

  it('a version 4 schema is migrated at open (to the latest version), with migration 5\'s guard in place', async () => {
    await withSchema(server.url, async (schema) => {
      const client = await server.client();
      try {
        await createSchemaAt(client, schema, 4);
        const store = new PostgresStore({ connectionString: server.url, schema });
        await store.open(liveContext());
        await store.close();
        const v = await client.query<{ v: number }>(`SELECT max(version) AS v FROM "${schema}".migrations`);
        assert.equal(v.rows[0]?.v, latestVersion(schema));
        assert.ok(latestVersion(schema) >= 5);
        const defs = await client.query<{ d: string }>(
          `SELECT pg_get_functiondef(p.oid) AS d FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = $1 AND p.proname IN ('renew', 'settle_rows')`,
          [schema],
        );
        assert.equal(defs.rows.length, 3, 'renew and both settle_rows overloads');
        for (const { d } of defs.rows) assert.match(d, /WHERE id = r\.id AND state = 'running' AND token = r\.token/);
      } finally {
        await client.end();
      }
    });
  });
});
