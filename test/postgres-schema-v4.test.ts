/**
 * PostgresStore schema version 4 (groups and rate limits) against a real
 * PostgreSQL server: a version 3 schema, with jobs scheduled and claimed
 * through its own functions (as a process of the previous version left
 * them), is migrated at open() — once, however many processes open at the
 * same time — and its jobs survive and run; groups work on the migrated
 * table, also through the claim function a still-running version 3 process
 * calls (same parameters, now group-aware).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { Scheduler } from '../src/scheduler.js';
import { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { allVersions, createSchemaAt, job, liveContext, waitFor, withSchema } from './fixtures/postgres-helpers.js';

type Jobs = { work: { n: number } };

/** Schedules jobs through version 3's insert function (its 23 parameters), as that version's store sent them. */
async function insertV3(client: pg.Client, schema: string, jobs: { id: string; n: number; runAt: number; extra?: object }[]): Promise<void> {
  const col = <T>(f: (j: (typeof jobs)[number]) => T): T[] => jobs.map(f);
  const none = col(() => null);
  const params = [
    col(() => 0), col(() => 'reject'), col((j) => j.id), col(() => 'work'), col(() => 'scheduled'), col((j) => j.runAt), col(() => 0), col(() => 0),
    col((j) => JSON.stringify({ n: j.n })), col(() => Date.now()), none, none, none, none, none, none, none, none, none,
    col((j) => (j.extra ? JSON.stringify(j.extra) : null)), null, null, null,
  ];
  const placeholders = params.map((_, i) => `$${i + 1}`).join(', ');
  const reply = await client.query<{ r: { f?: unknown } }>(`SELECT "${schema}".insert(${placeholders}) AS r`, params);
  assert.ok(reply.rows[0]?.r.f, 'inserted on the fast path');
}

/** A claim through version 3's function (6 parameters), as a process of that version calls it. */
async function claimV3(client: pg.Client, schema: string, token: string, leaseMs = 60_000): Promise<string[]> {
  const reply = await client.query<{ r: { jobs: { id: string }[] } }>(`SELECT "${schema}".claim($1, $2, $3, $4, $5, $6) AS r`, [Date.now() + 1, [token, `${token}b`], ['work'], [2], leaseMs, 1000]);
  return (reply.rows[0]?.r.jobs ?? []).map((j) => j.id);
}

describe('PostgresStore schema version 4', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  it('migrates a version 3 schema at open (once, with several processes opening); its jobs survive and run; groups work, also through version 3’s claim', async () => {
    await withSchema(server.url, async (schema) => {
      const S = `"${schema}"`;
      const client = await server.client();
      try {
        await createSchemaAt(client, schema, 3);
        await insertV3(client, schema, [
          { id: 'due1', n: 1, runAt: 0 },
          { id: 'due2', n: 2, runAt: 0 },
          { id: 'claimed', n: 3, runAt: 0, extra: { progress: 5 } },
          { id: 'later', n: 4, runAt: Date.now() + 3_600_000 },
        ]);
        // A version 3 process claimed one job and died: its lease (200 ms) runs out.
        const claim = await client.query<{ r: { jobs: { id: string }[] } }>(`SELECT ${S}.claim($1, $2, $3, $4, $5, $6) AS r`, [Date.now() + 1, ['v3-token'], ['work'], [1], 200, 1000]);
        assert.deepEqual(claim.rows[0]?.r.jobs.map((j) => j.id), ['due1']);
      } finally {
        await client.end();
      }

      // Three processes open the version 3 schema at the same time: one migrates (to the latest), the others wait and find it.
      const stores = Array.from({ length: 3 }, () => new PostgresStore({ connectionString: server.url, schema }));
      await Promise.all(stores.map((s) => s.open(liveContext())));
      await Promise.all(stores.map((s) => s.close()));

      const ran: number[] = [];
      const scheduler = new Scheduler<Jobs>({ store: new PostgresStore({ connectionString: server.url, schema }) });
      scheduler.register('work', (job) => {
        ran.push(job.payload.n);
        return job.payload.n * 10;
      });
      await scheduler.start();
      try {
        await waitFor(async () => (await scheduler.list({ state: 'completed' })).length === 3, 60_000, 'the three due jobs completed');
        assert.deepEqual([...ran].sort(), [1, 2, 3], 'each due job ran (the claimed one after its lease ran out)');
        assert.equal((await scheduler.get('due1'))?.attempt, 2, 'the lost attempt of the version 3 process counts');
        const later = await scheduler.get('later');
        assert.deepEqual([later?.state, later?.payload], ['scheduled', { n: 4 }]);
        // Groups on the migrated table: one job of the group at a time, in order.
        const infos = await scheduler.scheduleMany([5, 6, 7].map((n) => ({ name: 'work' as const, payload: { n }, delay: 0, options: { group: 'g' } })));
        await waitFor(() => [5, 6, 7].every((n) => ran.includes(n)), 60_000, 'the grouped jobs ran');
        assert.deepEqual(ran.slice(-3), [5, 6, 7]);
        assert.deepEqual((await scheduler.get(infos[0]?.id as string))?.group, { id: 'g', concurrency: 1 });
      } finally {
        await scheduler.stop();
      }
      const check = await server.client();
      try {
        assert.deepEqual((await check.query(`SELECT version FROM ${S}.migrations ORDER BY version`)).rows, allVersions());
        // A version 3 process still running calls its own claim (6 parameters): it now keeps a group's limit too.
        const ctx = liveContext();
        const store = new PostgresStore({ connectionString: server.url, schema });
        await store.open(ctx);
        try {
          await store.insert(['h1', 'h2', 'h3'].map((id, i) => ({ record: job(id, { group: 'h', runAt: Date.now() - 1000 + i }), onDuplicate: 'reject' as const })));
          assert.deepEqual(await claimV3(check, schema, 'old1'), ['h1']);
          assert.deepEqual(await claimV3(check, schema, 'old2'), [], 'the group is busy');
          // It finished h1 through version 3's settle: the group frees, h2 goes next.
          const row = await check.query<{ token: string; seq: string }>(`SELECT token, seq FROM ${S}.jobs WHERE id = 'h1'`);
          const { token, seq } = row.rows[0] as { token: string; seq: string };
          const n = [null];
          const settled = await check.query<{ r: { r: string[] } }>(
            `SELECT ${S}.settle($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22) AS r`,
            [['h1'], [token], [seq], [false], ['completed'], [0], [1], n, n, n, n, n, [Date.now()], n, n, n, n, n, n, n, 1000, 1000],
          );
          assert.deepEqual(settled.rows[0]?.r.r, ['OK']);
          assert.deepEqual(await claimV3(check, schema, 'old3'), ['h2']);
        } finally {
          await store.close();
        }
      } finally {
        await check.end();
      }
    });
  });
});
