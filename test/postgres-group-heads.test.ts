/**
 * PostgresStore's claim over groups reads each name's best free groups from
 * `S.heads` (schema version 7, functions-v7.ts), not every group with a
 * ready job. Found 5 December 2026: the claim skip-scanned every such group
 * and read each one's head, on every claim, so running n jobs in n groups
 * was quadratic (one claim of 10 with 4,000 groups waiting: 8,123 index
 * scans of `jobs`; without groups 20).
 *
 * Checked three ways: the index scans one claim makes must not grow with
 * the groups it does not pick (PostgreSQL counts them per transaction);
 * claims must answer what a MemoryStore answers over random operations; and
 * a schema of version 6 with groups waiting and running is migrated with
 * its heads built, so nothing waits or runs out of order.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PostgresStore } from '../src/postgres.js';
import type { JobRecord, Store } from '../src/store/store.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { createSchemaAt, liveContext, track, waitFor, withSchema } from './fixtures/postgres-helpers.js';
import { claimAll, CT0, newRecord } from './store-conformance.js';
import { complete, compareGroupClaims, groupClaimOps, ids, insertAll as insert } from './fixtures/group-claims-model.js';

/** Claims one at a time at `now` and completes each job, until a claim takes nothing: the ids in claim order. */
async function runAll(store: Store, now: number): Promise<string[]> {
  const order: string[] = [];
  for (;;) {
    const { jobs } = await store.claim(claimAll(now, { limit: 1 }));
    if (jobs.length === 0) return order;
    order.push(...ids(jobs));
    for (const j of jobs) await complete(store, j);
  }
}

describe('PostgresStore: group claims read a table of group heads', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  it('a claim of 10 with 4,000 groups waiting makes a number of index scans that does not grow with the groups', async () => {
    await withSchema(server.url, async (schema) => {
      const store = new PostgresStore({ connectionString: server.url, schema });
      await store.open(liveContext());
      const client = await server.client();
      try {
        await insert(store, Array.from({ length: 4000 }, (_, k) => newRecord(`j${k}`, { name: 'mail', group: `user-${k}`, runAt: CT0 })));
        // A claim makes up to 1,000 due jobs ready; these take nothing.
        for (let i = 0; i < 5; i++) assert.equal((await store.claim(claimAll(CT0 + 1, { limit: 1, capacity: () => 0 }))).jobs.length, 0);
        await client.query('BEGIN');
        const tokens = Array.from({ length: 10 }, (_, i) => `t${i}`);
        const reply = await client.query<{ r: { jobs: { id: string }[] } }>(`SELECT "${schema}".claim($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, NULL) AS r`, [CT0 + 1, tokens, ['mail'], [10], 60_000, 1000]);
        // Counted for this transaction alone (pg_stat_xact_*), so no other test's work is in it.
        const stats = await client.query<{ relname: string; idx_scan: string }>(`SELECT relname, idx_scan FROM pg_stat_xact_user_tables WHERE schemaname = $1`, [schema]);
        await client.query('ROLLBACK');
        assert.equal(reply.rows[0]?.r.jobs.length, 10);
        const scans = Object.fromEntries(stats.rows.map((r) => [r.relname, Number(r.idx_scan)]));
        // Before schema version 7: 8,123 scans of jobs (two per group waiting, and the picks).
        assert.ok((scans.jobs ?? 0) < 400, `index scans of jobs in one claim: ${scans.jobs}`);
        assert.ok((scans.heads ?? 0) < 100, `index scans of heads in one claim: ${scans.heads}`);
      } finally {
        await client.end();
        await store.close();
      }
    });
  });

  it('a version 6 schema with groups waiting and running is migrated at open: heads are built, jobs run once, in order', async () => {
    await withSchema(server.url, async (schema) => {
      const S = `"${schema}"`;
      const client = await server.client();
      try {
        await createSchemaAt(client, schema, 6);
        // Rows as version 6's insert left them (the group columns come from `extra`, by its trigger).
        const row = async (id: string, group: string | null, priority: number, at: number, limit = 1): Promise<void> => {
          const extra = group === null ? null : JSON.stringify({ group, groupConcurrency: limit });
          await client.query(`INSERT INTO ${S}.jobs (run_at, priority, created_at, id, name, payload, extra) VALUES ($1, $2, $3, $4, 'work', $5, $6)`, [CT0 + at, priority, CT0, id, JSON.stringify({ id }), extra]);
        };
        const claimV6 = async (caps: number, tokens: string[]): Promise<string[]> => {
          const r = await client.query<{ r: { jobs: { id: string }[] } }>(`SELECT ${S}.claim($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, NULL) AS r`, [CT0 + 100, tokens, ['work'], [caps], 3_600_000, 1000]);
          return (r.rows[0]?.r.jobs ?? []).map((j) => j.id);
        };
        await row('j5', 'g3', 0, 0);
        assert.deepEqual(await claimV6(1, ['v6-token']), ['j5']);
        await row('j1', 'g1', 0, 0);
        await row('j2', 'g1', 5, 1);
        await row('j3', 'g2', 1, 2, 2);
        await row('j4', 'g2', 1, 3, 2);
        await row('j6', 'g3', 0, 4);
        await row('j7', null, -10, 5);
        assert.deepEqual(await claimV6(0, ['x']), [], 'version 6 made the due jobs ready');
      } finally {
        await client.end();
      }
      const store = new PostgresStore({ connectionString: server.url, schema });
      await store.open(liveContext());
      const check = await server.client();
      try {
        const heads = await check.query<{ grp: string; name: string; priority: number }>(`SELECT grp, name, priority FROM ${S}.heads ORDER BY grp`);
        // g3 runs j5 at its limit of 1: not free, so no head.
        assert.deepEqual(heads.rows, [{ grp: 'g1', name: 'work', priority: 5 }, { grp: 'g2', name: 'work', priority: 1 }]);
        assert.deepEqual(await runAll(store, CT0 + 100), ['j2', 'j3', 'j4', 'j1', 'j7'], 'g3 waits for j5');
        const j5 = await store.get('j5');
        assert.equal(j5?.state, 'running');
        await complete(store, j5 as JobRecord);
        assert.deepEqual(await runAll(store, CT0 + 100), ['j6']);
        // The last claims found no grouped job ready and took the plain path: the heads of the groups changed since
        // (j6 taken and completed) are rewritten by the next grouped claim, here by hand.
        await check.query(`SELECT ${S}.heads_refresh(1000)`);
        const left = await check.query<{ heads: string; dirty: string }>(`SELECT (SELECT count(*) FROM ${S}.heads) AS heads, (SELECT count(*) FROM ${S}.heads_dirty) AS dirty`);
        assert.deepEqual(left.rows[0], { heads: '0', dirty: '0' });
      } finally {
        await check.end();
        await store.close();
      }
    });
  });

  it('a version 6 process making a grouped job ready while the migration runs: the migration waits for its commit, so the group gets its head', async () => {
    await withSchema(server.url, async (schema) => {
      const S = `"${schema}"`;
      const old = await server.client();
      let store: PostgresStore | undefined;
      try {
        await createSchemaAt(old, schema, 6);
        await old.query(`INSERT INTO ${S}.jobs (run_at, priority, created_at, id, name, payload, extra) VALUES ($1, 0, $1, 'late', 'work', '{}', $2)`, [CT0, JSON.stringify({ group: 'g1' })]);
        // A version 6 claim (no capacity) makes the job ready, in a transaction still open when the migration starts.
        await old.query('BEGIN');
        await old.query(`SELECT ${S}.claim($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, NULL)`, [CT0 + 100, ['x'], ['work'], [0], 60_000, 1000]);
        store = new PostgresStore({ connectionString: server.url, schema });
        const opening = track(store.open(liveContext()));
        await new Promise((resolve) => setTimeout(resolve, 300));
        // Without the migration's lock on jobs, it read the groups before this commit, and the old trigger marked nothing:
        // the group had no head and its job never ran.
        assert.equal(opening.state, 'pending', 'the migration waits for the writer');
        await old.query('COMMIT');
        await waitFor(() => opening.state !== 'pending', 10_000, 'open');
        assert.equal(opening.state, 'resolved', String(opening.error));
        assert.deepEqual(await runAll(store, CT0 + 100), ['late']);
      } finally {
        await old.query('ROLLBACK').catch(() => undefined);
        await old.end();
        await store?.close();
      }
    });
  });

  it('groups other claims hold are passed over: a claim reads further pages of heads until it finds groups it can start', async () => {
    await withSchema(server.url, async (schema) => {
      const store = new PostgresStore({ connectionString: server.url, schema });
      await store.open(liveContext());
      const other = await server.client();
      try {
        const group = (k: number): string => `g${String(k).padStart(2, '0')}`;
        await insert(store, Array.from({ length: 80 }, (_, k) => newRecord(`j${k}`, { group: group(k), runAt: CT0 + k })));
        assert.equal((await store.claim(claimAll(CT0 + 100, { limit: 1, capacity: () => 0 }))).jobs.length, 0);
        // Another process's claim holds the 70 best groups (a page is 64 groups a name).
        await other.query('BEGIN');
        await other.query(`SELECT pg_advisory_xact_lock(hashtextextended('godelayq group ${schema}' || chr(1) || g, 0)) FROM unnest($1::text[]) AS g`, [Array.from({ length: 70 }, (_, k) => group(k))]);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 100, { limit: 2 }))).jobs), ['j70', 'j71']);
        await other.query('COMMIT');
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 100, { limit: 2 }))).jobs), ['j0', 'j1']);
      } finally {
        await other.query('ROLLBACK').catch(() => undefined);
        await other.end();
        await store.close();
      }
    });
  });

  it('a job behind a group’s head starts in the same claim only under its own limit (limits that differ within a group)', async () => {
    await withSchema(server.url, async (schema) => {
      const store = new PostgresStore({ connectionString: server.url, schema });
      await store.open(liveContext());
      try {
        await insert(store, [
          newRecord('narrow-head', { group: 'g1', groupConcurrency: 2, runAt: CT0 }),
          newRecord('narrow-next', { group: 'g1', groupConcurrency: 1, runAt: CT0 + 1 }),
          newRecord('wide-head', { group: 'g2', groupConcurrency: 1, runAt: CT0 + 2 }),
          newRecord('wide-next', { group: 'g2', groupConcurrency: 3, runAt: CT0 + 3 }),
        ]);
        // g1: once its head runs, its next job's limit of 1 is reached, so it waits (before schema version 7 it
        // started, under the head's limit of 2). g2: its next job's limit of 3 leaves room beside its head.
        const first = await store.claim(claimAll(CT0 + 10, { limit: 10 }));
        assert.deepEqual(ids(first.jobs).sort(), ['narrow-head', 'wide-head', 'wide-next']);
        await complete(store, first.jobs.find((j) => j.id === 'narrow-head') as JobRecord);
        assert.deepEqual(ids((await store.claim(claimAll(CT0 + 10, { limit: 10 }))).jobs), ['narrow-next']);
      } finally {
        await store.close();
      }
    });
  });

  it('claims answer what a MemoryStore answers, over random inserts, claims, completions, cancels and reschedules in groups', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(groupClaimOps, async (ops) => {
        await withSchema(server.url, async (schema) => {
          const postgres = new PostgresStore({ connectionString: server.url, schema });
          await postgres.open(liveContext());
          try {
            await compareGroupClaims(postgres, ops, 'PostgresStore');
          } finally {
            await postgres.close();
          }
        });
        runs++;
      }),
      { numRuns: 60 },
    );
    assert.equal(runs, 60);
  });
});
