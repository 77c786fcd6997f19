/**
 * Lowering retention on a PostgresStore that holds many finished jobs
 * (schema version 6, functions-v6.ts). Found 5 December 2026: the next
 * finish deleted the whole excess in the settle's own statement; with 4e5
 * completed jobs and commandTimeoutMs 1000 (statement_timeout 0.8 s) the
 * server cancelled that statement on every retry, so no finish could ever
 * be recorded (.tmp/pg-trim.ts, untracked). Now a finish removes at most
 * 1000, the oldest first, and the finishes after it remove the rest.
 *
 * No timing: the test reads how many finished jobs are left after each
 * completion. Before the fix the first completion left exactly the new limit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { Scheduler } from '../src/scheduler.js';
import { PostgresStore } from '../src/postgres.js';
import type { RemovePolicy } from '../src/types.js';
import { withSchema } from './fixtures/postgres-helpers.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';

type Jobs = { work: { n: number } };
const TRIM_MAX = 1000;
const HELD = 2500;

describe('lowered retention on PostgresStore', { skip: postgresSkip }, () => {
  const server = usePostgresServer();

  /**
   * Runs `count` jobs through a scheduler with these settings: all at once,
   * or (with `after`) one at a time, `after(n)` called once job n is done.
   * `removal(n)`: job n's removeOnComplete.
   */
  async function runJobs(
    schema: string,
    count: number,
    keepCompleted: number,
    removal: (n: number) => RemovePolicy | undefined = () => undefined,
    after?: (n: number) => Promise<void>,
  ): Promise<void> {
    const scheduler = new Scheduler<Jobs>({ store: new PostgresStore({ connectionString: server.url, schema, pollMs: 50 }), keepCompleted, concurrency: 50 });
    scheduler.register('work', () => undefined);
    await scheduler.start();
    const options = (n: number): { removeOnComplete: RemovePolicy } | undefined => {
      const removeOnComplete = removal(n);
      return removeOnComplete === undefined ? undefined : { removeOnComplete };
    };
    try {
      if (after === undefined) {
        const jobs = await scheduler.scheduleMany(
          Array.from({ length: count }, (_, n) => {
            const o = options(n);
            return { name: 'work' as const, delay: 0, payload: { n }, ...(o ? { options: o } : {}) };
          }),
        );
        await Promise.all(jobs.map((job) => scheduler.waitFor(job.id, { timeout: 60_000 })));
      } else {
        for (let n = 0; n < count; n++) {
          const job = await scheduler.scheduleIn('work', 0, { n }, options(n));
          await scheduler.waitFor(job.id, { timeout: 60_000 });
          await after(n);
        }
      }
    } finally {
      await scheduler.stop();
    }
  }

  async function withClient(fn: (client: pg.Client) => Promise<void>): Promise<void> {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      await fn(client);
    } finally {
      await client.end();
    }
  }

  it('keepCompleted lowered below what the store holds: a completion removes at most 1000 older jobs, and the completions after it remove the rest', async () => {
    await withSchema(server.url, (schema) =>
      withClient(async (client) => {
        const done = async (): Promise<number> => Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".jobs WHERE state = 'completed'`)).rows[0]?.n);
        const byFinish = async (): Promise<string[]> => (await client.query<{ id: string }>(`SELECT id FROM "${schema}".jobs WHERE state = 'completed' ORDER BY finish_seq`)).rows.map((r) => r.id);
        await runJobs(schema, HELD, 1_000_000);
        assert.equal(await done(), HELD);
        const held = await byFinish();
        const left: number[] = [];
        await runJobs(schema, 4, 10, undefined, async () => {
          left.push(await done());
        });
        assert.deepEqual(left, [HELD + 1 - TRIM_MAX, HELD + 2 - 2 * TRIM_MAX, 10, 10]);
        // The oldest went first: the ten left are the six newest of those held, and the four new ones.
        assert.deepEqual((await byFinish()).slice(0, 6), held.slice(-6));
      }),
    );
  });

  it('removal times passed for many jobs at once (a downtime): a completion removes at most 1000 of them, the due first, and its own job at once', async () => {
    await withSchema(server.url, (schema) =>
      withClient(async (client) => {
        const expiring = async (): Promise<string[]> => (await client.query<{ id: string }>(`SELECT id FROM "${schema}".jobs WHERE rm_at IS NOT NULL ORDER BY rm_at`)).rows.map((r) => r.id);
        await runJobs(schema, HELD, 1_000_000, () => ({ ageMs: 86_400_000 }));
        // As after a day with no finish: every removal time has passed, in the order the jobs finished.
        await client.query(`UPDATE "${schema}".jobs SET rm_at = finish_seq WHERE rm_at IS NOT NULL`);
        const due = await expiring();
        assert.equal(due.length, HELD);
        const left: number[] = [];
        const kept: string[] = [];
        // The first of four removes itself at once (removeOnComplete: true); the others have no removal time.
        await runJobs(schema, 4, 1_000_000, (n) => (n === 0 ? true : undefined), async (n) => {
          const now = await expiring();
          left.push(now.length);
          if (n === 0) assert.deepEqual(now, due.slice(TRIM_MAX), 'the 1000 due first went first');
          kept.push(...(await client.query<{ id: string }>(`SELECT id FROM "${schema}".jobs WHERE rm_at IS NULL AND state = 'completed' AND (payload->>'n')::int = $1`, [n])).rows.map((r) => r.id));
        });
        assert.deepEqual(left, [HELD - TRIM_MAX, HELD - 2 * TRIM_MAX, 0, 0]);
        assert.equal(kept.length, 3, 'the job with removeOnComplete: true went at its own finish; the three without stay');
      }),
    );
  });

  it('a removeOnComplete count lowered for a name: the same bound, the oldest first', async () => {
    await withSchema(server.url, (schema) =>
      withClient(async (client) => {
        const listed = async (): Promise<number> => Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".jobs WHERE rm_count IS NOT NULL`)).rows[0]?.n);
        const byFinish = async (): Promise<string[]> => (await client.query<{ id: string }>(`SELECT id FROM "${schema}".jobs WHERE rm_count IS NOT NULL ORDER BY finish_seq`)).rows.map((r) => r.id);
        await runJobs(schema, HELD, 1_000_000, () => ({ count: 1_000_000 }));
        assert.equal(await listed(), HELD);
        const held = await byFinish();
        const left: number[] = [];
        await runJobs(schema, 4, 1_000_000, () => ({ count: 10 }), async () => {
          left.push(await listed());
        });
        assert.deepEqual(left, [HELD + 1 - TRIM_MAX, HELD + 2 - 2 * TRIM_MAX, 10, 10]);
        assert.deepEqual((await byFinish()).slice(0, 6), held.slice(-6));
      }),
    );
  });
});
