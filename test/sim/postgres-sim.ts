/**
 * PostgresStore under the shared simulation (shared-sim.ts), on a real
 * PostgreSQL server (test/postgres-server.ts): each worker's store on its own
 * `pg` Pool whose connections carry the worker's name (`application_name`,
 * the store's LISTEN connection too), one schema per scenario. Faults:
 * a worker's backends terminated (`pg_terminate_backend`) when it is killed,
 * and its pool ended so it never connects again; every backend but the
 * harness's terminated at once; writes held up by a transaction that holds
 * `LOCK TABLE <schema>.jobs IN EXCLUSIVE MODE` (reads go on, leases lapse),
 * sometimes past every call's deadline (the calls waiting on it time out);
 * the server crashed (`pg_ctl stop -m immediate`: no checkpoint, WAL replay
 * at the next start) and started again.
 */
import pg from 'pg';
import { PostgresStore } from '../../src/postgres.js';
import { startPostgres, type PostgresServer } from '../postgres-server.js';
import { MAIN, type Expectations } from './known.js';
import type { RunResult } from './run.js';
import { runSharedScenario, sharedMain, type SharedBackend, type SharedMainOptions, type WorkerStore } from './shared-sim.js';

const ADMIN = 'sim-admin';
/** Each worker's deadline for a call to PostgreSQL (the pool's statement and lock timeouts are 80% of it). */
const COMMAND_TIMEOUT_MS = 3000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class PostgresBackend implements SharedBackend {
  readonly label = 'postgres';
  private schema = '';
  /** Longer than a call's deadline: the statements waiting on the lock time out (lock_timeout), and the calls settle as failed or unknown. */
  readonly longHoldMs = COMMAND_TIMEOUT_MS + 1000;

  constructor(readonly server: PostgresServer) {}

  /** Runs `sql` on a short-lived connection of the harness (so a server restart never leaves it broken). */
  private async admin<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<T>> {
    const client = new pg.Client({ connectionString: this.server.url, application_name: ADMIN });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.query<T>(sql, params);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async begin(seed: number): Promise<void> {
    this.schema = `sim${seed}n${Date.now() % 1e9}`;
  }

  open(name: string, options: { leaseMs: number }): WorkerStore {
    const pool = new pg.Pool({ connectionString: this.server.url, application_name: name, max: 4 });
    // The harness owns this pool, as a user owns the pool they give the store: the store hears its
    // 'error' only while open, and a backend terminated after close() (an idle client of a killed or
    // stopped worker) emitted it with nobody listening, which ended the simulation process (a
    // 15-minute run from seed 289000000).
    pool.on('error', () => undefined);
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      void pool.end().catch(() => undefined);
    };
    return {
      store: new PostgresStore({ pool, schema: this.schema, leaseMs: options.leaseMs, pollMs: 200, settleRetryMs: 1000, commandTimeoutMs: COMMAND_TIMEOUT_MS }),
      kill: end,
      disconnect: end,
    };
  }

  async killConnections(name: string): Promise<void> {
    await this.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [name]).catch(() => undefined);
  }

  async dropAll(): Promise<void> {
    await this.admin(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name <> $1 AND pid <> pg_backend_pid()",
      [ADMIN],
    ).catch(() => undefined);
  }

  async holdWrites(ms: number): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.server.url, application_name: ADMIN });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('BEGIN');
      // Waits for writes in flight; once held, every write (and FOR UPDATE) waits until COMMIT.
      await client.query(`SET LOCAL lock_timeout = '2s'`);
      await client.query(`LOCK TABLE "${this.schema}".jobs IN EXCLUSIVE MODE`);
      await sleep(ms);
      await client.query('COMMIT');
      return true;
    } catch {
      // The schema is not there yet, or the lock was not granted in time: no hold this time.
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    // holdWrites commits before it returns: nothing is held between steps.
  }

  restartServer = async (): Promise<void> => {
    await this.server.crash();
    await this.server.start();
  };

  async end(): Promise<void> {
    await this.admin(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`).catch(() => undefined);
  }
}

/** One PostgresStore scenario on `server` (sim.test.ts runs a few in CI). */
export function runPostgresScenario(server: PostgresServer, seed: number, expect: Expectations = MAIN): Promise<RunResult> {
  return runSharedScenario(new PostgresBackend(server), seed, expect);
}

/** `npm run sim -- --store postgres`. */
export async function postgresMain(options: SharedMainOptions): Promise<void> {
  const server = await startPostgres();
  try {
    await sharedMain(new PostgresBackend(server), `PostgresStore (PostgreSQL on port ${server.port})`, options);
  } finally {
    await server.destroy();
  }
}
