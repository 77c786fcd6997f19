/**
 * A `pool` of the user's own given to PostgresStore: pg-pool emits `error` on
 * the pool when an idle client's connection drops (the server terminated the
 * backend, or restarted), and an `error` nobody listens to ends the process.
 * While the store is open it listens; after `close()` the pool is the user's
 * alone again, and so is its `error` (README, "Your own `pool`").
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresStore } from '../src/postgres.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { job, liveContext, untilOk, waitFor, withSchema } from './fixtures/postgres-helpers.js';

const APP = 'own-pool-errors';

/** Terminates every backend of this test's pool (by its application_name), from a connection of its own. */
async function terminateBackends(url: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  admin.on('error', () => undefined);
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: string }>('SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE application_name = $1', [APP]);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await admin.end();
  }
}

describe('PostgresStore on a pool of your own: idle connections dropped', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  it("while the store is open, the pool's error is heard (the process lives) and the store works again", async () => {
    await withSchema(server.url, async (schema) => {
      const pool = new pg.Pool({ connectionString: server.url, application_name: APP, max: 3 });
      const store = new PostgresStore({ pool, schema, pollMs: 60_000 });
      await store.open(liveContext());
      try {
        await store.insert([{ record: job('a', { runAt: Date.now() + 60_000 }), onDuplicate: 'reject' }]);
        await waitFor(() => pool.idleCount > 0, 10_000, 'an idle client in the pool');
        assert.ok(pool.listenerCount('error') > 0, "the open store listens for the pool's errors");
        let removed = 0;
        pool.on('remove', () => removed++);
        assert.ok((await terminateBackends(server.url)) > 0, 'backends of the pool were terminated');
        // The idle clients' errors came and went without ending the process; the pool dropped them.
        await waitFor(() => removed > 0, 10_000, 'the pool to drop a dead idle client');
        assert.equal((await untilOk(() => store.get('a'), 10_000, 'the store to reconnect'))?.state, 'scheduled');
      } finally {
        await store.close();
      }
      // Closed: the store no longer listens on a pool that is not its own (it never ends it either).
      assert.equal(pool.listenerCount('error'), 0);
      pool.on('error', () => undefined);
      await pool.end();
    });
  });
});
