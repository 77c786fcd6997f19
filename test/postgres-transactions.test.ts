/**
 * Transactional scheduling (issue 18): `schedule*`, `cancel` and
 * `reschedule` with `{ db: client }` change jobs inside the caller's open
 * transaction. A committed schedule always runs, and the commit's NOTIFY
 * wakes the other processes at once; a rolled-back one never runs and
 * leaves nothing behind; the caller's own rows and the job commit together.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { DuplicateJobError, ValidationError } from '../src/errors.js';
import { MemoryStore } from '../src/store/memory.js';
import { PostgresStore } from '../src/postgres.js';
import { Scheduler } from '../src/scheduler.js';
import { postgresSkip, usePostgresServer } from './postgres-server.js';
import { waitFor, withSchema } from './fixtures/postgres-helpers.js';

describe('PostgresStore: scheduling inside the caller\'s transaction', { skip: postgresSkip }, () => {
  const server = usePostgresServer();
  let app: pg.Pool;
  before(() => {
    app = new pg.Pool({ connectionString: server.url, max: 4 });
    app.on('error', () => undefined);
  });
  after(async () => {
    await app.end();
  });

  /** A producer and a worker (pollMs of a minute: only NOTIFY can wake the worker within the test). */
  async function pair(schema: string, ran: Map<string, number>): Promise<{ producer: Scheduler; worker: Scheduler; stop(): Promise<void> }> {
    const producer = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema, pollMs: 60_000 }) });
    const worker = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema, pollMs: 60_000 }) });
    worker.register('work', (job) => {
      ran.set(job.id, (ran.get(job.id) ?? 0) + 1);
    });
    await producer.start();
    await worker.start();
    return {
      producer,
      worker,
      stop: async () => {
        await producer.stop();
        await worker.stop();
      },
    };
  }

  it('a job scheduled in a transaction is invisible until COMMIT, then runs at once in another process, woken by the commit', async () => {
    await withSchema(server.url, async (schema) => {
      const ran = new Map<string, number>();
      const { producer, worker, stop } = await pair(schema, ran);
      const client = await app.connect();
      try {
        await client.query('CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY)');
        await client.query('BEGIN');
        await client.query("INSERT INTO orders VALUES ('A1')");
        const info = await producer.scheduleIn('work', 0, { order: 'A1' }, { id: 'cancel:A1', db: client });
        assert.equal(info.state, 'scheduled');
        assert.equal(await worker.get('cancel:A1'), undefined, 'not visible outside the transaction');
        // Give a wrongly visible job every chance to run before the commit.
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(ran.size, 0);
        await client.query('COMMIT');
        await waitFor(() => ran.get('cancel:A1') === 1, 10_000, 'the committed job to run');
        assert.deepEqual((await client.query("SELECT id FROM orders WHERE id = 'A1'")).rows, [{ id: 'A1' }]);
      } finally {
        client.release();
        await stop();
      }
    });
  });

  it('a rolled-back schedule never runs and leaves nothing; a committed one always does (50 transactions, half rolled back)', async () => {
    await withSchema(server.url, async (schema) => {
      const ran = new Map<string, number>();
      const { producer, worker, stop } = await pair(schema, ran);
      try {
        const committed: string[] = [];
        const rolledBack: string[] = [];
        await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const client = await app.connect();
            try {
              await client.query('BEGIN');
              const id = `job-${i}`;
              await producer.scheduleIn('work', 0, { i }, { id, db: client });
              if (i % 2 === 0) {
                await client.query('COMMIT');
                committed.push(id);
              } else {
                await client.query('ROLLBACK');
                rolledBack.push(id);
              }
            } finally {
              client.release();
            }
          }),
        );
        // A job committed after every rollback: once it ran, any rolled-back job would have had its chance too.
        await producer.scheduleIn('work', 0, {}, { id: 'last' });
        await waitFor(() => committed.every((id) => ran.get(id) === 1) && ran.has('last'), 20_000, 'every committed job to run');
        await waitFor(async () => (await worker.list({ state: 'completed' })).length === committed.length + 1, 10_000, 'completions recorded');
        for (const id of rolledBack) {
          assert.equal(ran.has(id), false, `${id} was rolled back but ran`);
          assert.equal(await worker.get(id), undefined, `${id} was rolled back but is stored`);
        }
        assert.ok([...ran.values()].every((n) => n === 1), 'each committed job ran once');
        assert.equal(worker.stats().scheduled, 0);
      } finally {
        await stop();
      }
    });
  });

  it('the caller\'s rows and the job commit or vanish together when the connection dies mid-transaction', async () => {
    await withSchema(server.url, async (schema) => {
      const ran = new Map<string, number>();
      const { producer, worker, stop } = await pair(schema, ran);
      const client = new pg.Client({ connectionString: server.url });
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query('CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY)');
        await client.query('BEGIN');
        await client.query("INSERT INTO orders VALUES ('B2')");
        await producer.scheduleIn('work', 0, {}, { id: 'cancel:B2', db: client });
        // The application process dies before COMMIT: its connection is gone, the transaction with it.
        (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        await producer.scheduleIn('work', 0, {}, { id: 'after' });
        await waitFor(() => ran.has('after'), 10_000, 'a later job to run');
        const check = await app.query("SELECT count(*)::int AS n FROM orders WHERE id = 'B2'");
        assert.equal(check.rows[0].n, 0);
        assert.equal(await worker.get('cancel:B2'), undefined);
        assert.equal(ran.has('cancel:B2'), false);
      } finally {
        await client.end().catch(() => undefined);
        await stop();
      }
    });
  });

  it('cancel and reschedule in a transaction take effect at COMMIT; a rollback keeps the job as it was, running attempt included', async () => {
    await withSchema(server.url, async (schema) => {
      const producer = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema }) });
      const worker = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema }) });
      const aborted: string[] = [];
      const lost: string[] = [];
      worker.on('lost', ({ job, reason }) => lost.push(`${job.id}:${reason}`));
      let release: (() => void) | undefined;
      worker.register('work', (job) => {
        if (job.id !== 'long') return undefined;
        return new Promise<void>((resolve, reject) => {
          release = resolve;
          job.signal.addEventListener('abort', () => {
            aborted.push(job.id);
            reject(job.signal.reason as Error);
          });
        });
      });
      await producer.start();
      await worker.start();
      const client = await app.connect();
      try {
        const later = Date.now() + 3_600_000;
        await producer.scheduleAt('work', later, {}, { id: 'move' });
        await client.query('BEGIN');
        await producer.reschedule('move', later + 60_000, { db: client });
        assert.equal((await producer.get('move'))?.runAt.getTime(), later, 'unchanged outside the transaction');
        await client.query('ROLLBACK');
        assert.equal((await producer.get('move'))?.runAt.getTime(), later);
        await client.query('BEGIN');
        await producer.reschedule('move', later + 60_000, { db: client });
        await client.query('COMMIT');
        assert.equal((await producer.get('move'))?.runAt.getTime(), later + 60_000);

        await producer.scheduleIn('work', 0, {}, { id: 'long' });
        await waitFor(() => release !== undefined, 10_000, 'the long job to start');
        await client.query('BEGIN');
        assert.equal(await producer.cancel('long', { db: client }), true);
        await client.query('ROLLBACK');
        // The attempt survived the rolled-back cancel: it finishes and completes.
        assert.deepEqual(aborted, []);
        release?.();
        await waitFor(async () => (await producer.get('long'))?.state === 'completed', 10_000, 'the long job to complete');

        release = undefined;
        await producer.scheduleIn('work', 0, {}, { id: 'long', onDuplicate: 'replace' });
        await waitFor(() => release !== undefined, 10_000, 'the long job to start again');
        await client.query('BEGIN');
        assert.equal(await producer.cancel('long', { db: client }), true);
        assert.deepEqual(aborted, [], 'not aborted before the commit');
        await client.query('COMMIT');
        await waitFor(() => aborted.length === 1, 10_000, 'the attempt to be aborted by the commit');
        assert.deepEqual(lost, ['long:cancelled']);
        assert.equal((await producer.get('long'))?.state, 'cancelled');
      } finally {
        client.release();
        await producer.stop();
        await worker.stop({ timeout: 1000 });
      }
    });
  });

  it('a refused call in a transaction changes nothing and leaves the transaction usable; scheduleMany joins it too', async () => {
    await withSchema(server.url, async (schema) => {
      const scheduler = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema }) });
      await scheduler.start();
      const client = await app.connect();
      try {
        await scheduler.scheduleIn('work', 60_000, {}, { id: 'taken' });
        await client.query('BEGIN');
        await scheduler.scheduleMany(
          [
            { name: 'work', payload: { n: 1 }, delay: 60_000, options: { id: 'm1' } },
            { name: 'work', payload: { n: 2 }, delay: 60_000, options: { id: 'm2' } },
          ],
          { db: client },
        );
        await assert.rejects(
          scheduler.scheduleMany(
            [
              { name: 'work', payload: {}, delay: 60_000, options: { id: 'm3' } },
              { name: 'work', payload: {}, delay: 60_000, options: { id: 'taken' } },
            ],
            { db: client },
          ),
          DuplicateJobError,
        );
        await client.query('SELECT 1'); // still usable
        await client.query('COMMIT');
        assert.deepEqual((await scheduler.list({})).map((j) => j.id).sort(), ['m1', 'm2', 'taken']);
        await assert.rejects(scheduler.scheduleIn('work', 0, {}, { db: {} as never }), ValidationError);
        await assert.rejects(
          scheduler.scheduleMany([{ name: 'work', payload: {}, delay: 0, options: { db: client } }]),
          /pass `db` once/,
        );
      } finally {
        client.release();
        await scheduler.stop();
      }
    });
  });

  it('an id inserted by a concurrent open transaction: the call waits for it, then answers as onDuplicate says, the transaction still usable', async () => {
    await withSchema(server.url, async (schema) => {
      const scheduler = new Scheduler({ store: new PostgresStore({ connectionString: server.url, schema }) });
      await scheduler.start();
      const a = await app.connect();
      const b = await app.connect();
      try {
        await a.query('BEGIN');
        await b.query('BEGIN');
        await scheduler.scheduleIn('work', 60_000, { by: 'a' }, { id: 'same', db: a });
        let settled = false;
        const rejected = assert.rejects(scheduler.scheduleIn('work', 60_000, { by: 'b' }, { id: 'same', db: b }), DuplicateJobError).finally(() => (settled = true));
        const kept = scheduler.scheduleIn('work', 60_000, { by: 'b2' }, { id: 'same', onDuplicate: 'keep', db: b });
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(settled, false, 'waits for the other transaction');
        await a.query('COMMIT');
        await rejected;
        assert.deepEqual((await kept).payload, { by: 'a' }, 'keep returns the committed job');
        await b.query('SELECT 1');
        await b.query('COMMIT');
        assert.deepEqual((await scheduler.get('same'))?.payload, { by: 'a' });
      } finally {
        await a.query('ROLLBACK').catch(() => undefined);
        await b.query('ROLLBACK').catch(() => undefined);
        a.release();
        b.release();
        await scheduler.stop();
      }
    });
  });

  it('a store that cannot join a transaction refuses `db`', async () => {
    const scheduler = new Scheduler({ store: new MemoryStore() });
    await scheduler.start();
    try {
      const db = { query: () => Promise.resolve() };
      await assert.rejects(scheduler.scheduleIn('work', 0, {}, { db }), /only with a store that joins transactions \(PostgresStore\), got it with MemoryStore/);
      await assert.rejects(scheduler.cancel('x', { db }), ValidationError);
      await assert.rejects(scheduler.reschedule('x', Date.now(), { db }), ValidationError);
      await assert.rejects(scheduler.scheduleCron('work', '* * * * *', {}, { db }), ValidationError);
      assert.equal((await scheduler.list({})).length, 0);
    } finally {
      await scheduler.stop();
    }
  });
});
