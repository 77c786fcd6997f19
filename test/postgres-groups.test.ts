/**
 * Groups and rate limits on PostgresStore beyond the shared conformance
 * cases (which run in postgres-store.test.ts): what only a shared SQL store
 * has. A group another transaction holds is skipped, not waited on, and
 * looked at again shortly; a grouped job that stops running (settle,
 * cancel, lease lost) wakes the other processes; a claim with no group,
 * push-back or limit in play runs the plain claim statement.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { patchRecord } from '../src/store/record.js';
import type { JobRecord, NewJobRecord } from '../src/store/store.js';
import type { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { claimNow, job, liveContext, waitFor, withSchema, withStore } from './fixtures/postgres-helpers.js';

const ids = (jobs: readonly JobRecord[]): string[] => jobs.map((j) => j.id);

async function insert(store: PostgresStore, ...records: NewJobRecord[]): Promise<void> {
  await store.insert(records.map((record) => ({ record, onDuplicate: 'reject' as const })));
}

/** Grouped jobs g1, g2, … of group `group`, due a moment ago in that order. */
const grouped = (group: string, n: number): NewJobRecord[] =>
  Array.from({ length: n }, (_, i) => job(`${group}${i + 1}`, { group, runAt: Date.now() - 1000 + i }));

describe('PostgresStore: groups and rate limits across processes', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  it('skips a group another transaction holds (no wait) and looks again 50 ms later', async () => {
    await withSchema(server.url, async (schema) => {
      await withStore({ connectionString: server.url, schema }, async (store) => {
        await insert(store, ...grouped('g', 2), job('free', { runAt: Date.now() - 1000 }));
        const client = await server.client();
        try {
          await client.query('BEGIN');
          // The lock a claim of group g takes (functions-v4.ts), held by this open transaction.
          await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('godelayq group ${schema}' || chr(1) || 'g', 0))`);
          const request = claimNow();
          const started = Date.now();
          const first = await store.claim(request);
          assert.ok(Date.now() - started < 4000, 'the claim did not wait for the lock');
          assert.deepEqual(ids(first.jobs), ['free']);
          assert.equal(store.nextDueAt(), request.now + 50, 'the skipped group is looked at again shortly');
          await client.query('COMMIT');
          assert.deepEqual(ids((await store.claim(claimNow())).jobs), ['g1']);
        } finally {
          await client.end();
        }
      });
    });
  });

  it('a group whose next job another transaction holds starts nothing behind it, and is looked at again 50 ms later', async () => {
    await withSchema(server.url, async (schema) => {
      await withStore({ connectionString: server.url, schema }, async (store) => {
        await insert(store, ...grouped('g', 2));
        const client = await server.client();
        try {
          await client.query('BEGIN');
          // An application's transaction on the group's first job (say, a cancel about to commit or roll back).
          await client.query(`SELECT 1 FROM "${schema}".jobs WHERE id = 'g1' FOR UPDATE`);
          const request = claimNow();
          assert.deepEqual(ids((await store.claim(request)).jobs), [], 'g2 does not start before g1');
          assert.equal(store.nextDueAt(), request.now + 50);
          await client.query('ROLLBACK');
          assert.deepEqual(ids((await store.claim(claimNow())).jobs), ['g1']);
        } finally {
          await client.end();
        }
      });
    });
  });

  for (const how of ['settle', 'cancel', 'lease'] as const) {
    it(`a grouped job that stops running (${how}) frees its slot and wakes another process`, async () => {
      await withSchema(server.url, async (schema) => {
        const leaseMs = how === 'lease' ? 300 : 30_000;
        await withStore({ connectionString: server.url, schema, pollMs: 60_000 }, async (a) => {
          const bCtx = liveContext();
          await withStore(
            { connectionString: server.url, schema, pollMs: 60_000 },
            async (b) => {
              await insert(a, ...grouped('g', 2));
              let running: JobRecord | undefined;
              if (how === 'lease') {
                // A process that claims and dies: its lease is never renewed (a raw claim through the store's own function).
                const client = await server.client();
                try {
                  const r = await client.query<{ r: { jobs: { id: string }[] } }>(`SELECT "${schema}".claim($1, $2, $3, $4, $5, $6) AS r`, [Date.now() + 1, ['dead-tok'], ['work'], [1], leaseMs, 1000]);
                  assert.deepEqual(r.rows[0]?.r.jobs.map((j) => j.id), ['g1']);
                } finally {
                  await client.end();
                }
              } else {
                [running] = (await a.claim(claimNow())).jobs;
                assert.equal(running?.id, 'g1');
              }
              assert.deepEqual(ids((await b.claim(claimNow())).jobs), [], 'the group is busy');
              const wakes = bCtx.wakes;
              if (how === 'settle') {
                const done = running as JobRecord;
                assert.equal(await a.settle(done.id, done.token as string, patchRecord(done, { state: 'completed', finishedAt: Date.now(), token: undefined })), true);
              } else if (how === 'cancel') {
                assert.ok(await a.cancel('g1', Date.now()));
              } else {
                // The lease ends; a's lease watch recovers it (a claim elsewhere would too).
                await waitFor(async () => (await a.get('g1'))?.state === 'scheduled', 10_000, 'the lease recovered');
              }
              await waitFor(() => bCtx.wakes > wakes && (b.nextDueAt() ?? Infinity) <= b.now(), 10_000, 'b woken with a job due');
              // A lost lease gives the group's first job back: it runs again before g2.
              assert.deepEqual(ids((await b.claim(claimNow())).jobs), [how === 'lease' ? 'g1' : 'g2']);
            },
            bCtx,
          );
        });
      });
    });
  }

  it('a claim with no group, push-back or limit in play runs the plain claim statement; one with any of them does not', async () => {
    await withSchema(server.url, async (schema) => {
      // track_functions counts calls of the plpgsql functions in pg_stat_user_functions.
      const options = { connectionString: server.url, schema, poolConfig: { options: '-c track_functions=pl' } };
      await withStore(options, async (store) => {
        const client = await server.client();
        const calls = async (): Promise<number> => {
          const r = await client.query<{ n: string | null }>(`SELECT sum(calls) AS n FROM pg_stat_user_functions WHERE schemaname = $1 AND funcname = 'claim_plain'`, [schema]);
          return Number(r.rows[0]?.n ?? 0);
        };
        // A backend reports its counts when idle, at most once a second: wait for the first, then give later ones time.
        const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 2500));
        try {
          await insert(store, job('p1', { runAt: Date.now() - 10 }));
          assert.deepEqual(ids((await store.claim(claimNow())).jobs), ['p1']);
          await waitFor(async () => (await calls()) >= 1, 10_000, 'claim_plain counted');
          await settle();
          assert.equal(await calls(), 1, 'the plain claim ran, once');
          await insert(store, job('p2', { runAt: Date.now() - 10 }));
          assert.deepEqual(ids((await store.claim(claimNow({ rateLimit: () => ({ max: 10, durationMs: 1000 }) }))).jobs), ['p2']);
          await insert(store, ...grouped('g', 1), job('p3', { runAt: Date.now() - 10 }));
          assert.deepEqual(ids((await store.claim(claimNow())).jobs).sort(), ['g1', 'p3']);
          await settle();
          assert.equal(await calls(), 1, 'a limit or a grouped job takes the other path');
        } finally {
          await client.end();
        }
      });
    });
  });
});
