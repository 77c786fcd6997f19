/**
 * Migration 2 of PostgresStore's functions: claims cheaper per round trip,
 * and claiming ahead along with a batch of outcomes.
 *
 * WHY. A scheduler with a backlog runs a lock-step cycle: claim up to its
 * free concurrency, run, record the outcomes (one batched settle), claim
 * again for the slots those outcomes freed. Measured (bench/postgres.ts,
 * pg_stat_statements), the claim statement cost about three times the
 * essential UPDATE … FOR UPDATE SKIP LOCKED: it read the due index and the
 * lease index on every call, and ranked rows with window functions even
 * when only ready jobs could be taken. And every cycle paid two commits
 * (two WAL flushes with fsync on) and two round trips.
 *
 * HOW.
 * - `claim_rows` is the claim itself. It promotes due jobs to ready only
 *   when some are due (an index probe), else it takes ready jobs straight
 *   from the ready index, per name up to its capacity, best first.
 * - `claim` recovers expired leases only when the earliest lease has ended.
 * - `settle_rows` is the outcome recording `settle` did; `settle` keeps its
 *   signature and reply.
 * - `settle_claim`: the outcomes, then a claim of due jobs for the slots
 *   they free (the caller's tokens, names and capacities), in one statement
 *   and one commit, on the database's clock. The store hands the jobs to the
 *   scheduler's next claim (ClaimRequest.ahead; see ahead.ts).
 * - `give_back`: running attempts, by token, back to scheduled as if never
 *   claimed (a settle_claim whose reply was lost: its claimed jobs were
 *   never started, and must not be charged a lost attempt).
 */
import { ident } from './schema.js';

/**
 * Migration 2's claim (`claim_rows`). With `plain` (migration 4's
 * `claim_plain`) it reads only jobs without a group (`grp IS NULL`); without,
 * it is migration 2's text, byte for byte.
 */
export function claimRowsSql(schema: string, name = 'claim_rows', plain = false): string {
  const S = ident(schema);
  const filter = plain ? ' AND grp IS NULL' : '';
  return `CREATE FUNCTION ${S}.${name}(p_now float8, p_tokens text[], p_names text[], p_caps integer[], p_lease float8,
  p_promote integer, p_t float8, OUT jobs json, OUT due integer)
LANGUAGE plpgsql SET enable_bitmapscan = off AS $f$
DECLARE
  k integer := coalesce(cardinality(p_tokens), 0);
BEGIN
  jobs := '[]'::json;
  due := 0;
  IF k = 0 THEN RETURN; END IF;
  IF EXISTS (SELECT 1 FROM ${S}.jobs WHERE state = 'scheduled' AND run_at <= p_now) THEN
    WITH d AS (
      SELECT id, name, priority, run_at, seq FROM ${S}.jobs
      WHERE state = 'scheduled' AND run_at <= p_now${filter}
      ORDER BY run_at, seq LIMIT p_promote
      FOR UPDATE SKIP LOCKED
    ), caps AS (
      SELECT u.name, u.cap FROM unnest(p_names, p_caps) AS u(name, cap)
    ), ready AS (
      SELECT r.id, r.name, r.priority, r.run_at, r.seq FROM caps c CROSS JOIN LATERAL (
        SELECT j.id, j.name, j.priority, j.run_at, j.seq FROM ${S}.jobs j
        WHERE j.state = 'ready'${filter ? ` AND j.grp IS NULL` : ''} AND j.name = c.name
        ORDER BY j.priority DESC, j.run_at, j.seq LIMIT least(c.cap, k)
        FOR UPDATE SKIP LOCKED
      ) r
      WHERE c.cap > 0
    ), ranked AS (
      SELECT p.id, p.priority, p.run_at, p.seq, c.cap,
        row_number() OVER (PARTITION BY p.name ORDER BY p.priority DESC, p.run_at, p.seq) AS rn
      FROM (SELECT * FROM d UNION ALL SELECT * FROM ready) p JOIN caps c ON c.name = p.name
    ), picked AS (
      SELECT id, row_number() OVER (ORDER BY priority DESC, run_at, seq) AS i
      FROM ranked WHERE rn <= cap ORDER BY priority DESC, run_at, seq LIMIT k
    ), taken AS (
      UPDATE ${S}.jobs j SET state = 'running', token = p_tokens[x.i::integer], attempt = j.attempt + 1, lease_until = p_t + p_lease
      FROM picked x WHERE j.id = x.id
      RETURNING x.i, ${S}.job_json(j) AS job
    ), promoted AS (
      UPDATE ${S}.jobs j SET state = 'ready' FROM d
      WHERE j.id = d.id AND NOT EXISTS (SELECT 1 FROM picked x WHERE x.id = d.id)
      RETURNING 1
    )
    SELECT coalesce((SELECT json_agg(taken.job ORDER BY taken.i) FROM taken), '[]'::json), (SELECT count(*) FROM d)
    INTO jobs, due;
  ELSE
    -- Nothing due to promote: the ready index alone, each name's best up to its capacity, then the best overall.
    WITH ready AS (
      SELECT r.id, r.priority, r.run_at, r.seq FROM unnest(p_names, p_caps) AS c(name, cap) CROSS JOIN LATERAL (
        SELECT j.id, j.priority, j.run_at, j.seq FROM ${S}.jobs j
        WHERE j.state = 'ready'${filter ? ` AND j.grp IS NULL` : ''} AND j.name = c.name
        ORDER BY j.priority DESC, j.run_at, j.seq LIMIT least(c.cap, k)
        FOR UPDATE SKIP LOCKED
      ) r
      WHERE c.cap > 0
    ), picked AS (
      SELECT id, row_number() OVER (ORDER BY priority DESC, run_at, seq) AS i
      FROM ready ORDER BY priority DESC, run_at, seq LIMIT k
    ), taken AS (
      UPDATE ${S}.jobs j SET state = 'running', token = p_tokens[x.i::integer], attempt = j.attempt + 1, lease_until = p_t + p_lease
      FROM picked x WHERE j.id = x.id
      RETURNING x.i, ${S}.job_json(j) AS job
    )
    SELECT coalesce(json_agg(taken.job ORDER BY taken.i), '[]'::json) INTO jobs FROM taken;
  END IF;
END $f$;
`;
}

export function functionsV2Sql(schema: string): string {
  const S = ident(schema);
  return `
-- The claim: takes the best due and ready jobs for p_tokens (see claim in migration 1), leases on the database clock
-- p_t. Returns the jobs (json array, in claim order) and how many due rows were read.
-- enable_bitmapscan off: due jobs are read in index order (see migration 1).
${claimRowsSql(schema)}
-- Same signature and reply as migration 1's claim.
CREATE OR REPLACE FUNCTION ${S}.claim(p_now float8, p_tokens text[], p_names text[], p_caps integer[], p_lease float8, p_promote integer)
RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  t float8 := ${S}.now_ms();
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  c record;
BEGIN
  IF bl IS NOT NULL AND bl <= t THEN PERFORM ${S}.recover_expired(t); END IF;
  SELECT * INTO c FROM ${S}.claim_rows(p_now, p_tokens, p_names, p_caps, p_lease, p_promote, t);
  RETURN json_build_object('jobs', c.jobs, 'due', c.due, 's', ${S}.finish(bd, bl));
END $f$;

-- Records outcomes (see settle in migration 1): "OK" | "cancelled" | "replaced" | "lease" per item.
CREATE FUNCTION ${S}.settle_rows(
  p_id text[], p_token text[], p_seq bigint[], p_again boolean[], p_state text[], p_run_at float8[], p_attempt integer[],
  p_payload json[], p_retry json[], p_timeout float8[], p_last_error json[], p_result json[], p_finished float8[],
  p_recur json[], p_signature text[], p_lost text[], p_relative boolean[], p_t float8
) RETURNS text[] LANGUAGE plpgsql AS $f$
DECLARE
  n integer := coalesce(cardinality(p_id), 0);
  done bigint[];
  out text[] := array_fill('OK'::text, ARRAY[n]);
  r record;
BEGIN
  WITH upd AS (
    UPDATE ${S}.jobs j SET state = u.state::${S}.job_state, run_at = u.run_at, attempt = u.attempt,
      payload = coalesce(u.payload, j.payload), retry = u.retry, timeout = u.timeout, last_error = u.last_error,
      result = u.result, finished_at = u.finished, recur = u.recur, signature = u.signature, lost = u.lost,
      relative = u.relative, token = NULL, lease_until = NULL, last_token = u.token,
      finish_seq = CASE WHEN u.state IN ('completed', 'dead', 'cancelled') THEN nextval('${S}.finish_seq') END
    FROM unnest(p_id, p_token, p_state, p_run_at, p_attempt, p_payload, p_retry, p_timeout, p_last_error, p_result, p_finished,
      p_recur, p_signature, p_lost, p_relative) WITH ORDINALITY
      AS u(id, token, state, run_at, attempt, payload, retry, timeout, last_error, result, finished, recur, signature, lost, relative, i)
    WHERE j.id = u.id AND j.state = 'running' AND j.token = u.token AND j.lease_until > p_t
    RETURNING u.i
  )
  SELECT array_agg(i) INTO done FROM upd;
  IF coalesce(cardinality(done), 0) < n THEN
    FOR r IN
      SELECT u.i, u.id, u.token, u.seq, u.again, j.state, j.token AS held, j.last_token
      FROM unnest(p_id, p_token, p_seq, p_again) WITH ORDINALITY AS u(id, token, seq, again, i)
      LEFT JOIN ${S}.jobs j ON j.id = u.id
      WHERE NOT (u.i = ANY(coalesce(done, '{}')))
    LOOP
      IF r.state = 'running' AND r.held = r.token THEN
        UPDATE ${S}.jobs SET state = 'scheduled', token = NULL, lease_until = NULL, lost = 'lease' WHERE id = r.id;
        out[r.i] := 'lease';
      ELSIF r.again AND r.last_token = r.token THEN
        out[r.i] := 'OK';
      ELSE
        out[r.i] := ${S}.reason(r.id, r.seq);
      END IF;
    END LOOP;
  END IF;
  RETURN out;
END $f$;

-- Same signature and reply as migration 1's settle.
CREATE OR REPLACE FUNCTION ${S}.settle(
  p_id text[], p_token text[], p_seq bigint[], p_again boolean[], p_state text[], p_run_at float8[], p_attempt integer[],
  p_payload json[], p_retry json[], p_timeout float8[], p_last_error json[], p_result json[], p_finished float8[],
  p_recur json[], p_signature text[], p_lost text[], p_relative boolean[], p_keep_done integer, p_keep_dead integer
) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  t float8 := ${S}.now_ms();
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  out text[];
BEGIN
  out := ${S}.settle_rows(p_id, p_token, p_seq, p_again, p_state, p_run_at, p_attempt, p_payload, p_retry, p_timeout,
    p_last_error, p_result, p_finished, p_recur, p_signature, p_lost, p_relative, t);
  PERFORM ${S}.trim(p_keep_done, p_keep_dead);
  RETURN json_build_object('r', out, 's', ${S}.finish(bd, bl));
END $f$;

-- Outcomes, then a claim for the slots they free (p_tokens: one per slot; p_names/p_caps: capacity per name), due by
-- the database's clock, all in one statement. Reply: {"r": [per outcome], "jobs": [job...], "s": summary}.
CREATE FUNCTION ${S}.settle_claim(
  p_id text[], p_token text[], p_seq bigint[], p_again boolean[], p_state text[], p_run_at float8[], p_attempt integer[],
  p_payload json[], p_retry json[], p_timeout float8[], p_last_error json[], p_result json[], p_finished float8[],
  p_recur json[], p_signature text[], p_lost text[], p_relative boolean[], p_keep_done integer, p_keep_dead integer,
  p_tokens text[], p_names text[], p_caps integer[], p_lease float8, p_promote integer
) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  t float8 := ${S}.now_ms();
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  out text[];
  c record;
BEGIN
  out := ${S}.settle_rows(p_id, p_token, p_seq, p_again, p_state, p_run_at, p_attempt, p_payload, p_retry, p_timeout,
    p_last_error, p_result, p_finished, p_recur, p_signature, p_lost, p_relative, t);
  PERFORM ${S}.trim(p_keep_done, p_keep_dead);
  IF bl IS NOT NULL AND bl <= t THEN PERFORM ${S}.recover_expired(t); END IF;
  SELECT * INTO c FROM ${S}.claim_rows(t, p_tokens, p_names, p_caps, p_lease, p_promote, t);
  RETURN json_build_object('r', out, 'jobs', c.jobs, 's', ${S}.finish(bd, bl));
END $f$;

-- Running attempts holding these tokens go back to scheduled as if never claimed (attempt given back, lost kept).
CREATE FUNCTION ${S}.give_back(p_tokens text[]) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
BEGIN
  UPDATE ${S}.jobs j SET state = 'scheduled', token = NULL, lease_until = NULL, attempt = greatest(j.attempt - 1, 0)
  WHERE j.state = 'running' AND j.token = ANY(p_tokens);
  RETURN json_build_object('s', ${S}.finish(bd, bl));
END $f$;
`;
}
