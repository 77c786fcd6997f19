/**
 * PostgresStore's tables, indexes and counters (migration 1), and the
 * migration runner (migration 2, functions-v2.ts, makes claims cheaper and
 * adds claiming ahead; migration 3, functions-v3.ts, adds the columns and
 * tables of job control: extra fields, per-job removal, the store-wide
 * pause, dedupe windows, remote events; migration 4, functions-v4.ts, groups
 * and rate limits; migration 5, functions-v5.ts, a lease loss that never
 * overwrites what committed meanwhile; migration 6, functions-v6.ts, a
 * finish removes a bounded number of jobs past a retention limit; migration
 * 7, functions-v7.ts, claims read the free groups' heads from a table):
 * versioned migrations recorded in `<schema>.migrations`,
 * applied by whichever process opens first while the others wait on an
 * advisory lock, each in its own transaction. The functions every call runs
 * are in functions.ts (also part of the migrations).
 *
 * TABLES (S = the schema; times are epoch ms as float8, so every JS number
 * round-trips exactly and a person can read them with `to_timestamp(x / 1000)`):
 * - `S.jobs`: one row per job. `state` is the job's state, plus `ready`: a
 *   scheduled job that is due and waits for a process with capacity for its
 *   name (shown as `scheduled`). `run_at` is the due time (a schedule's
 *   current slot), `seq` the insertion order, `lease_until` the end of a
 *   running attempt's lease on the database clock, `finish_seq` the order in
 *   which jobs finished (retention). JSON the scheduler wrote (payload,
 *   retry, last_error, result, recur) is kept as `json`, byte for byte.
 * - `S.counts`: jobs per state, one row per database session that changed
 *   jobs (statement triggers keep them; summed when read; folded together
 *   by the poll), so counting never serializes writers.
 * - `S.migrations`: the versions applied.
 * - Migration 3 adds `jobs.extra`, `jobs.rm_at`, `jobs.rm_count`, and the
 *   tables `S.pause`, `S.windows` and `S.events` (see functions-v3.ts).
 *
 * INDEXES (all partial, so a job sits in the one its state needs):
 * due (run_at, seq) for scheduled jobs; ready (name, priority DESC, run_at,
 * seq) for due jobs waiting for capacity: claims take the best of both, so
 * priorities and FIFO come from the indexes; leases (lease_until) for
 * running jobs; done and dead (finish_seq) for retention.
 */
import type { PoolClient } from 'pg';
import { StorePersistError } from '../../errors.js';
import { functionsSql } from './functions.js';
import { functionsV2Sql } from './functions-v2.js';
import { functionsV3Sql } from './functions-v3.js';
import { functionsV4Sql } from './functions-v4.js';
import { functionsV5Sql } from './functions-v5.js';
import { functionsV6Sql } from './functions-v6.js';
import { functionsV7Sql } from './functions-v7.js';

/** `"schema"`: the validated schema name as an SQL identifier. */
export function ident(schema: string): string {
  return `"${schema}"`;
}

/**
 * The statement trigger that keeps `S.counts` (migration 1); later migrations
 * replace it with more work after the counting (`extra`, with `declare`d
 * variables). With no arguments it is migration 1's text, byte for byte.
 */
export function countChangesSql(schema: string, declare = '', extra = '', create = 'CREATE FUNCTION'): string {
  const S = ident(schema);
  return `${create} ${S}.count_changes() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE d record;${declare}
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT count(*) FILTER (WHERE state IN ('scheduled', 'ready')) AS s, count(*) FILTER (WHERE state = 'running') AS r,
      count(*) FILTER (WHERE state = 'completed') AS c, count(*) FILTER (WHERE state = 'dead') AS d,
      count(*) FILTER (WHERE state = 'cancelled') AS x, count(*) FILTER (WHERE state IN ('scheduled', 'ready') AND recur IS NOT NULL) AS rc
    INTO d FROM new_rows;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT -count(*) FILTER (WHERE state IN ('scheduled', 'ready')) AS s, -count(*) FILTER (WHERE state = 'running') AS r,
      -count(*) FILTER (WHERE state = 'completed') AS c, -count(*) FILTER (WHERE state = 'dead') AS d,
      -count(*) FILTER (WHERE state = 'cancelled') AS x, -count(*) FILTER (WHERE state IN ('scheduled', 'ready') AND recur IS NOT NULL) AS rc
    INTO d FROM old_rows;
  ELSE
    SELECT coalesce(sum(n) FILTER (WHERE state IN ('scheduled', 'ready')), 0) AS s, coalesce(sum(n) FILTER (WHERE state = 'running'), 0) AS r,
      coalesce(sum(n) FILTER (WHERE state = 'completed'), 0) AS c, coalesce(sum(n) FILTER (WHERE state = 'dead'), 0) AS d,
      coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0) AS x, coalesce(sum(n) FILTER (WHERE state IN ('scheduled', 'ready') AND rc), 0) AS rc
    INTO d FROM (
      SELECT state, recur IS NOT NULL AS rc, 1 AS n FROM new_rows
      UNION ALL SELECT state, recur IS NOT NULL, -1 FROM old_rows
    ) t;
  END IF;
  IF d.s <> 0 OR d.r <> 0 OR d.c <> 0 OR d.d <> 0 OR d.x <> 0 OR d.rc <> 0 THEN
    INSERT INTO ${S}.counts AS k (slot, scheduled, running, completed, dead, cancelled, recurring)
    VALUES (pg_backend_pid(), d.s, d.r, d.c, d.d, d.x, d.rc)
    ON CONFLICT (slot) DO UPDATE SET scheduled = k.scheduled + EXCLUDED.scheduled, running = k.running + EXCLUDED.running,
      completed = k.completed + EXCLUDED.completed, dead = k.dead + EXCLUDED.dead, cancelled = k.cancelled + EXCLUDED.cancelled,
      recurring = k.recurring + EXCLUDED.recurring;
  END IF;
${extra}  RETURN NULL;
END $f$;
`;
}

function tablesSql(schema: string): string {
  const S = ident(schema);
  return `
CREATE TYPE ${S}.job_state AS ENUM ('scheduled', 'ready', 'running', 'completed', 'dead', 'cancelled');
CREATE SEQUENCE ${S}.job_seq AS bigint;
CREATE SEQUENCE ${S}.finish_seq AS bigint;
CREATE TABLE ${S}.jobs (
  run_at      float8 NOT NULL,
  priority    float8 NOT NULL DEFAULT 0,
  seq         bigint NOT NULL DEFAULT nextval('${S}.job_seq'),
  created_at  float8 NOT NULL,
  lease_until float8,
  finished_at float8,
  finish_seq  bigint,
  timeout     float8,
  attempt     integer NOT NULL DEFAULT 0,
  state       ${S}.job_state NOT NULL DEFAULT 'scheduled',
  relative    boolean,
  id          text NOT NULL,
  name        text NOT NULL,
  token       text,
  last_token  text,
  lost        text,
  signature   text,
  payload     json NOT NULL,
  retry       json,
  last_error  json,
  result      json,
  recur       json,
  CONSTRAINT jobs_pkey PRIMARY KEY (id)
);
CREATE INDEX jobs_due ON ${S}.jobs (run_at, seq) WHERE state = 'scheduled';
CREATE INDEX jobs_ready ON ${S}.jobs (name, priority DESC, run_at, seq) WHERE state = 'ready';
CREATE INDEX jobs_leases ON ${S}.jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_done ON ${S}.jobs (finish_seq) WHERE state IN ('completed', 'cancelled');
CREATE INDEX jobs_dead ON ${S}.jobs (finish_seq) WHERE state = 'dead';
CREATE TABLE ${S}.counts (
  slot      integer PRIMARY KEY,
  scheduled bigint NOT NULL DEFAULT 0,
  running   bigint NOT NULL DEFAULT 0,
  completed bigint NOT NULL DEFAULT 0,
  dead      bigint NOT NULL DEFAULT 0,
  cancelled bigint NOT NULL DEFAULT 0,
  recurring bigint NOT NULL DEFAULT 0
);
${countChangesSql(schema)}CREATE TRIGGER jobs_count_insert AFTER INSERT ON ${S}.jobs REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${S}.count_changes();
CREATE TRIGGER jobs_count_update AFTER UPDATE ON ${S}.jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${S}.count_changes();
CREATE TRIGGER jobs_count_delete AFTER DELETE ON ${S}.jobs REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${S}.count_changes();
`;
}

/** Migration n (1-based) is MIGRATIONS[n - 1]: SQL run in one transaction. Never edit a released one; add the next. */
export function migrations(schema: string): readonly string[] {
  return [tablesSql(schema) + functionsSql(schema), functionsV2Sql(schema), functionsV3Sql(schema), functionsV4Sql(schema), functionsV5Sql(schema), functionsV6Sql(schema), functionsV7Sql(schema)];
}

/** The schema version this code speaks. */
export function latestVersion(schema: string): number {
  return migrations(schema).length;
}

/** An advisory lock key of the schema (64-bit, from its name): migrations of one schema run one at a time. */
function lockKey(schema: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`godelayq migrate ${schema}`)) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return BigInt.asIntN(64, h).toString();
}

/** The schema version recorded in `<schema>.migrations` (0: none). */
export async function appliedVersion(client: Pick<PoolClient, 'query'>, schema: string): Promise<number> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${ident(schema)}.migrations`]);
  if (exists.rows[0]?.t == null) return 0;
  const r = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${ident(schema)}.migrations`);
  return r.rows[0]?.v ?? 0;
}

/**
 * Brings the schema to the latest version. Cheap when it is there already
 * (one read); otherwise takes the schema's advisory lock (waits while
 * another process migrates), re-reads, and applies what is missing, each
 * migration in its own transaction with its version row.
 */
export async function migrate(client: PoolClient, schema: string): Promise<void> {
  const latest = latestVersion(schema);
  const tooNew = (v: number): StorePersistError =>
    new StorePersistError(`Expected schema "${schema}" at version ${latest} or older, got version ${v} (written by a newer godelayq): upgrade godelayq, or use another schema`);
  let version = await appliedVersion(client, schema);
  if (version === latest) return;
  if (version > latest) throw tooNew(version);
  const key = lockKey(schema);
  await client.query('SELECT pg_advisory_lock($1)', [key]);
  try {
    version = await appliedVersion(client, schema);
    if (version > latest) throw tooNew(version);
    const all = migrations(schema);
    for (let v = version + 1; v <= latest; v++) {
      await client.query('BEGIN');
      try {
        if (v === 1) {
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
          await client.query(`CREATE TABLE ${ident(schema)}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
        }
        await client.query(all[v - 1] as string);
        await client.query(`INSERT INTO ${ident(schema)}.migrations (version) VALUES ($1)`, [v]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
  }
}
