/**
 * PostgresStore schema version 3 (job control) against a real PostgreSQL
 * server: a version 2 schema, with jobs scheduled and claimed through its
 * own functions (as a process of the previous version left them), is
 * migrated at open() — once, however many processes open at the same time —
 * and its jobs survive and run; the new columns work on the migrated table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { Scheduler } from '../src/scheduler.js';
import { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { allVersions, createSchemaAt, liveContext, waitFor, withSchema } from './fixtures/postgres-helpers.js';

type Jobs = { work: { n: number } };

/** Schedules jobs through version 2's insert function (its 19 parameters), as that version's store sent them. */
async function insertV2(client: pg.Client, schema: string, jobs: { id: string; n: number; runAt: number }[]): Promise<void> {
  const col = <T>(f: (j: (typeof jobs)[number]) => T): T[] => jobs.map(f);
  const none = col(() => null);
  const params = [
    col(() => 0), col(() => 'reject'), col((j) => j.id), col(() => 'work'), col(() => 'scheduled'), col((j) => j.runAt), col(() => 0), col(() => 0),
    col((j) => JSON.stringify({ n: j.n })), col(() => Date.now()), none, none, none, none, none, none, none, none, none,
  ];
  const placeholders = params.map((_, i) => `$${i + 1}`).join(', ');
  const reply = await client.query<{ r: { f?: unknown } }>(`SELECT "${schema}".insert(${placeholders}) AS r`, params);
  assert.ok(reply.rows[0]?.r.f, 'inserted on the fast path');
}

describe('PostgresStore schema version 3', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  it('migrates a version 2 schema at open (once, with several processes opening) and its jobs survive and run', async () => {
    await withSchema(server.url, async (schema) => {
      const S = `"${schema}"`;
      const client = await server.client();
      try {
        await createSchemaAt(client, schema, 2);
        await insertV2(client, schema, [
          { id: 'due1', n: 1, runAt: 0 },
          { id: 'due2', n: 2, runAt: 0 },
          { id: 'claimed', n: 3, runAt: 0 },
          { id: 'later', n: 4, runAt: Date.now() + 3_600_000 },
        ]);
        // A version 2 process claimed one job and died: its lease (200 ms) runs out.
        const claim = await client.query<{ r: { jobs: { id: string }[] } }>(`SELECT ${S}.claim($1, $2, $3, $4, $5, $6) AS r`, [Date.now() + 1, ['v2-token'], ['work'], [1], 200, 1000]);
        assert.deepEqual(claim.rows[0]?.r.jobs.map((j) => j.id), ['due1']);
      } finally {
        await client.end();
      }

      // Three processes open the version 2 schema at the same time: one migrates (to the latest), the others wait and find it.
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
        const due1 = await scheduler.get('due1');
        assert.equal(due1?.result, 10);
        assert.equal(due1?.attempt, 2, 'the lost attempt of the version 2 process counts');
        const later = await scheduler.get('later');
        assert.deepEqual([later?.state, later?.payload], ['scheduled', { n: 4 }]);
        // The new columns work on the migrated table.
        const gone = await scheduler.scheduleIn('work', 0, { n: 5 }, { removeOnComplete: true });
        await waitFor(() => ran.includes(5), 60_000, 'the new job ran');
        await waitFor(async () => (await scheduler.get(gone.id)) === undefined, 60_000, 'the new job removed at its settle');
      } finally {
        await scheduler.stop();
      }
      const check = await server.client();
      try {
        assert.deepEqual((await check.query(`SELECT version FROM ${S}.migrations ORDER BY version`)).rows, allVersions());
        const columns = await check.query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'jobs' AND column_name IN ('extra', 'rm_at', 'rm_count') ORDER BY 1",
          [schema],
        );
        assert.deepEqual(columns.rows.map((r) => r.column_name), ['extra', 'rm_at', 'rm_count']);
      } finally {
        await check.end();
      }
    });
  });
});
