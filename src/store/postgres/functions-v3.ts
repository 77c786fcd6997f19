/**
 * Migration 3 of PostgresStore: job control (issue 16) on PostgreSQL.
 *
 * WHAT IT ADDS
 * - `jobs.extra` (json): every JobRecord field the other columns do not
 *   hold — progress, logs, the trace context, the job's own removal
 *   policies (`retain`) — written by insert, settle and `progress`, so a
 *   record comes back whole (codec.ts).
 * - `jobs.rm_at`, `jobs.rm_count`: JobRecord.removal of a completed or dead
 *   job. A settle removes its job when `rm_at` is reached, and every
 *   finishing settle removes the jobs whose `rm_at` its finish time passed
 *   (index `jobs_rm_at`, empty unless someone uses `{ ageMs }`); a settle
 *   with `rm_count` keeps the newest `rm_count` finished jobs of its name and
 *   state that have one (index `jobs_rm_count`).
 * - `S.pause` (one row): the store-wide pause and its version.
 *   `set_pause` changes it under an exclusive advisory lock and NOTIFYs
 *   `P<version>,<0|1>,<store id>` on the wake channel; every claim takes
 *   that lock shared before it reads the row, so a claim either committed
 *   before the pause did or sees it and claims nothing.
 * - `S.windows`: dedupe windows, (name, key) → the job that holds it (id and
 *   seq: a replaced job closes it) and its end. `insert` decides a window
 *   under a transaction-scoped advisory lock of (name, key), so two
 *   processes racing over one window are serialized and make one job.
 * - `S.events` and `publish`: remote events go out on `<schema>.events` as
 *   `E<message>`; a message too long for NOTIFY (8000 bytes) is stored in
 *   `S.events` and announced as `R<row id>` (rows live a minute).
 *
 * Functions with a new parameter list are new overloads; the old ones stay,
 * so a process of the previous version that is still running keeps working
 * (it refuses to open a newer schema, but one already open is not stopped).
 * `claim`, `job_json` and `revive` are replaced in place (same parameters).
 */
import { ident } from './schema.js';

/** NOTIFY payloads must be shorter than 8000 bytes; longer event messages go through `S.events`. */
export const NOTIFY_MAX_BYTES = 7900;

export function functionsV3Sql(schema: string): string {
  const S = ident(schema);
  const events = `${schema}.events`;
  const pauseLock = `hashtextextended('godelayq pause ${schema}', 0)`;
  // The settle_rows parameters, shared by settle and settle_claim.
  const settleParams = `p_id text[], p_token text[], p_seq bigint[], p_again boolean[], p_state text[], p_run_at float8[], p_attempt integer[],
  p_payload json[], p_retry json[], p_timeout float8[], p_last_error json[], p_result json[], p_finished float8[],
  p_recur json[], p_signature text[], p_lost text[], p_relative boolean[], p_extra json[], p_rm_at float8[], p_rm_count integer[]`;
  const settleArgs = `p_id, p_token, p_seq, p_again, p_state, p_run_at, p_attempt, p_payload, p_retry, p_timeout,
    p_last_error, p_result, p_finished, p_recur, p_signature, p_lost, p_relative, p_extra, p_rm_at, p_rm_count`;
  const insertColumns = `id, name, state, run_at, priority, attempt, payload, created_at, retry, timeout, last_error, result,
      finished_at, recur, signature, lost, relative, extra`;
  return `
ALTER TABLE ${S}.jobs ADD COLUMN extra json, ADD COLUMN rm_at float8, ADD COLUMN rm_count integer;
CREATE INDEX jobs_rm_at ON ${S}.jobs (rm_at) WHERE rm_at IS NOT NULL;
CREATE INDEX jobs_rm_count ON ${S}.jobs (name, state, finish_seq) WHERE rm_count IS NOT NULL;
CREATE TABLE ${S}.pause (
  one     boolean PRIMARY KEY DEFAULT true CHECK (one),
  paused  boolean NOT NULL DEFAULT false,
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO ${S}.pause DEFAULT VALUES;
CREATE TABLE ${S}.windows (
  name  text NOT NULL,
  key   text NOT NULL,
  id    text NOT NULL,
  seq   bigint NOT NULL,
  until float8 NOT NULL,
  PRIMARY KEY (name, key)
);
CREATE TABLE ${S}.events (
  id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at   float8 NOT NULL,
  body text NOT NULL
);

CREATE OR REPLACE FUNCTION ${S}.job_json(j ${S}.jobs) RETURNS json LANGUAGE sql STABLE AS $f$
  SELECT json_build_object('id', j.id, 'name', j.name, 'state', j.state, 'run_at', j.run_at, 'priority', j.priority,
    'seq', j.seq, 'created_at', j.created_at, 'attempt', j.attempt, 'payload', j.payload, 'finished_at', j.finished_at,
    'token', j.token, 'lost', j.lost, 'relative', j.relative, 'timeout', j.timeout, 'retry', j.retry,
    'last_error', j.last_error, 'result', j.result, 'has_result', j.result IS NOT NULL, 'recur', j.recur,
    'extra', j.extra, 'rm_at', j.rm_at, 'rm_count', j.rm_count)
$f$;

-- The pause as a claim sees it: after every set_pause that committed before (shared lock; set_pause takes it exclusive).
CREATE FUNCTION ${S}.pause_state() RETURNS json LANGUAGE plpgsql AS $f$
DECLARE p record;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(${pauseLock});
  SELECT paused, version INTO p FROM ${S}.pause;
  RETURN json_build_array(coalesce(p.paused, false), coalesce(p.version, 0));
END $f$;

-- Pauses or resumes claiming everywhere. Reply: {"pause": [paused, version], "s": summary}.
CREATE FUNCTION ${S}.set_pause(p_paused boolean, p_from text) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  v bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(${pauseLock});
  UPDATE ${S}.pause SET paused = p_paused, version = version + 1 RETURNING version INTO v;
  PERFORM ${S}.notify('P' || v || ',' || CASE WHEN p_paused THEN '1' ELSE '0' END || ',' || p_from);
  RETURN json_build_object('pause', json_build_array(p_paused, v), 's', ${S}.finish(bd, bl));
END $f$;

-- Same signature as before; claims nothing while paused. Reply adds "pause": [paused, version].
CREATE OR REPLACE FUNCTION ${S}.claim(p_now float8, p_tokens text[], p_names text[], p_caps integer[], p_lease float8, p_promote integer)
RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  t float8 := ${S}.now_ms();
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  pz json := ${S}.pause_state();
  c record;
BEGIN
  IF (pz->>0)::boolean THEN
    RETURN json_build_object('jobs', '[]'::json, 'due', 0, 'pause', pz, 's', ${S}.finish(bd, bl));
  END IF;
  IF bl IS NOT NULL AND bl <= t THEN PERFORM ${S}.recover_expired(t); END IF;
  SELECT * INTO c FROM ${S}.claim_rows(p_now, p_tokens, p_names, p_caps, p_lease, p_promote, t);
  RETURN json_build_object('jobs', c.jobs, 'due', c.due, 'pause', pz, 's', ${S}.finish(bd, bl));
END $f$;

-- The poll: tick (migration 1), the pause, and the caller's notice on the wake channel (p_notice: a hello of a store that
-- listens for events, or its question who listens; NULL: none). Reply: {"recovered": n, "pause": [paused, version], "s": summary}.
CREATE FUNCTION ${S}.poll(p_notice text) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE r json := ${S}.tick();
BEGIN
  IF p_notice IS NOT NULL THEN PERFORM ${S}.notify(p_notice); END IF;
  RETURN json_build_object('recovered', r->'recovered', 'pause', ${S}.pause_state(), 's', r->'s');
END $f$;

-- What a running attempt reported (progress, logs), while it owns the job. Reply: {"ok": bool, "s": summary}.
CREATE FUNCTION ${S}.progress(p_id text, p_token text, p_extra json) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  ok boolean;
BEGIN
  UPDATE ${S}.jobs SET extra = p_extra WHERE id = p_id AND state = 'running' AND token = p_token AND lease_until > ${S}.now_ms();
  ok := FOUND;
  RETURN json_build_object('ok', ok, 's', ${S}.finish(bd, bl));
END $f$;

-- Same signature as before; a revived job also drops its removal.
CREATE OR REPLACE FUNCTION ${S}.revive(p_id text, p_at float8) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  st text;
  j json;
BEGIN
  SELECT state::text INTO st FROM ${S}.jobs WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN RETURN json_build_object('missing', true, 's', ${S}.finish(bd, bl)); END IF;
  IF st NOT IN ('dead', 'cancelled') THEN RETURN json_build_object('state', st, 's', ${S}.finish(bd, bl)); END IF;
  UPDATE ${S}.jobs x SET state = 'scheduled', run_at = p_at, attempt = 0, finished_at = NULL, finish_seq = NULL,
    result = NULL, token = NULL, lost = NULL, rm_at = NULL, rm_count = NULL
  WHERE x.id = p_id RETURNING ${S}.job_json(x) INTO j;
  RETURN json_build_object('job', j, 's', ${S}.finish(bd, bl));
END $f$;

-- Sends one remote event (at most once): inline when NOTIFY can carry it, else through S.events.
CREATE FUNCTION ${S}.publish(p_body text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  t float8;
  i bigint;
BEGIN
  IF octet_length(p_body) < ${NOTIFY_MAX_BYTES} THEN
    PERFORM pg_notify('${events}', 'E' || p_body);
    RETURN;
  END IF;
  t := ${S}.now_ms();
  DELETE FROM ${S}.events WHERE at < t - 60000;
  INSERT INTO ${S}.events (at, body) VALUES (t, p_body) RETURNING id INTO i;
  PERFORM pg_notify('${events}', 'R' || i);
END $f$;

-- Inserts calls' jobs (see insert in migration 1), with extra, and dedupe windows: p_dkey NULL = no item has one.
-- An item with a window whose job is open (created before its end): 'throttle' answers ["throttled", job];
-- 'debounce' on a still scheduled job gives it the item's payload, run_at and relative and restarts the window:
-- ["debounced", job, previous]. Otherwise the item is inserted as usual and opens the window.
CREATE FUNCTION ${S}.insert(
  p_group integer[], p_mode text[], p_id text[], p_name text[], p_state text[], p_run_at float8[], p_priority float8[],
  p_attempt integer[], p_payload json[], p_created float8[], p_retry json[], p_timeout float8[], p_last_error json[],
  p_result json[], p_finished float8[], p_recur json[], p_signature text[], p_lost text[], p_relative boolean[],
  p_extra json[], p_dkey text[], p_dttl float8[], p_dmode text[]
) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  n integer := coalesce(cardinality(p_id), 0);
  ids text[];
  seqs bigint[];
  groups json[] := '{}';
  g integer; lo integer; hi integer; i integer;
  cur text; w ${S}.jobs%ROWTYPE; old ${S}.jobs%ROWTYPE; outs json[]; prev json; s bigint; nj json;
BEGIN
  IF p_dkey IS NULL THEN
    WITH ins AS (
      INSERT INTO ${S}.jobs (${insertColumns})
      SELECT u.id, u.name, u.state::${S}.job_state, u.run_at, u.priority, u.attempt, u.payload, u.created, u.retry, u.timeout,
        u.last_error, u.result, u.finished, u.recur, u.signature, u.lost, u.relative, u.extra
      FROM unnest(p_id, p_name, p_state, p_run_at, p_priority, p_attempt, p_payload, p_created, p_retry, p_timeout, p_last_error,
        p_result, p_finished, p_recur, p_signature, p_lost, p_relative, p_extra)
        AS u(id, name, state, run_at, priority, attempt, payload, created, retry, timeout, last_error, result, finished, recur,
          signature, lost, relative, extra)
      ON CONFLICT (id) DO NOTHING
      RETURNING id, seq
    )
    SELECT array_agg(id), array_agg(seq) INTO ids, seqs FROM ins;
    IF coalesce(cardinality(ids), 0) = n THEN
      RETURN json_build_object('f', json_build_array(ids, seqs), 's', ${S}.finish(bd, bl));
    END IF;
    -- Some id exists (or repeats): undo, then go call by call.
    IF ids IS NOT NULL THEN DELETE FROM ${S}.jobs WHERE id = ANY(ids); END IF;
  END IF;
  -- Call by call, item by item, each call in a subtransaction: a refused item undoes its call's earlier items.
  lo := 1;
  WHILE lo <= n LOOP
    g := p_group[lo];
    hi := lo;
    WHILE hi < n AND p_group[hi + 1] = g LOOP hi := hi + 1; END LOOP;
    outs := '{}';
    BEGIN
      FOR i IN lo..hi LOOP
        IF p_dkey[i] IS NOT NULL THEN
          PERFORM pg_advisory_xact_lock(hashtextextended('godelayq window ${schema}' || chr(1) || p_name[i] || chr(1) || p_dkey[i], 0));
          SELECT j.* INTO w FROM ${S}.windows x JOIN ${S}.jobs j ON j.id = x.id AND j.seq = x.seq
          WHERE x.name = p_name[i] AND x.key = p_dkey[i] AND p_created[i] < x.until
          FOR UPDATE OF j;
          IF FOUND THEN
            IF p_dmode[i] = 'throttle' THEN
              outs := outs || json_build_array('throttled', ${S}.job_json(w));
              CONTINUE;
            ELSIF w.state IN ('scheduled', 'ready') THEN
              UPDATE ${S}.jobs j SET payload = p_payload[i], run_at = p_run_at[i], relative = p_relative[i], state = 'scheduled'
              WHERE j.id = w.id RETURNING ${S}.job_json(j) INTO nj;
              UPDATE ${S}.windows SET until = p_created[i] + p_dttl[i] WHERE name = p_name[i] AND key = p_dkey[i];
              outs := outs || json_build_array('debounced', nj, ${S}.job_json(w));
              CONTINUE;
            END IF;
          END IF;
        END IF;
        prev := NULL;
        SELECT coalesce(signature, '') INTO cur FROM ${S}.jobs WHERE id = p_id[i] FOR UPDATE;
        IF FOUND THEN
          IF p_mode[i] = 'reject' OR (p_mode[i] = 'keepIfSame' AND (cur = '' OR coalesce(p_signature[i], '') = '' OR cur <> p_signature[i])) THEN
            RAISE SQLSTATE 'GQ001' USING MESSAGE = p_id[i];
          END IF;
          IF p_mode[i] IN ('keep', 'keepIfSame') THEN
            outs := outs || json_build_array('kept', (SELECT ${S}.job_json(j) FROM ${S}.jobs j WHERE j.id = p_id[i]));
            CONTINUE;
          END IF;
          DELETE FROM ${S}.jobs j WHERE j.id = p_id[i] RETURNING j.* INTO old;
          prev := ${S}.job_json(old);
          IF old.state = 'running' AND old.token IS NOT NULL THEN PERFORM ${S}.notify('Xreplaced' || chr(10) || old.token); END IF;
        END IF;
        INSERT INTO ${S}.jobs (${insertColumns})
        VALUES (p_id[i], p_name[i], p_state[i]::${S}.job_state, p_run_at[i], p_priority[i], p_attempt[i], p_payload[i], p_created[i],
          p_retry[i], p_timeout[i], p_last_error[i], p_result[i], p_finished[i], p_recur[i], p_signature[i], p_lost[i], p_relative[i],
          p_extra[i])
        RETURNING seq INTO s;
        IF p_dkey[i] IS NOT NULL THEN
          INSERT INTO ${S}.windows (name, key, id, seq, until) VALUES (p_name[i], p_dkey[i], p_id[i], s, p_created[i] + p_dttl[i])
          ON CONFLICT (name, key) DO UPDATE SET id = EXCLUDED.id, seq = EXCLUDED.seq, until = EXCLUDED.until;
        END IF;
        outs := outs || json_build_array(CASE WHEN prev IS NULL THEN 'inserted' ELSE 'replaced' END, s, prev);
      END LOOP;
      groups := groups || json_build_object('o', outs);
    EXCEPTION WHEN SQLSTATE 'GQ001' THEN
      groups := groups || json_build_object('dup', SQLERRM);
    END;
    lo := hi + 1;
  END LOOP;
  RETURN json_build_object('g', groups, 's', ${S}.finish(bd, bl));
END $f$;

-- Records outcomes (see settle_rows in migration 2), with extra and per-job retention (JobRecord.removal).
CREATE FUNCTION ${S}.settle_rows(${settleParams}, p_t float8) RETURNS text[] LANGUAGE plpgsql AS $f$
DECLARE
  n integer := coalesce(cardinality(p_id), 0);
  done bigint[];
  fin float8;
  cn text[];
  cs text[];
  cc integer[];
  out text[] := array_fill('OK'::text, ARRAY[n]);
  r record;
BEGIN
  WITH upd AS (
    UPDATE ${S}.jobs j SET state = u.state::${S}.job_state, run_at = u.run_at, attempt = u.attempt,
      payload = coalesce(u.payload, j.payload), retry = u.retry, timeout = u.timeout, last_error = u.last_error,
      result = u.result, finished_at = u.finished, recur = u.recur, signature = u.signature, lost = u.lost,
      relative = u.relative, extra = u.extra, rm_at = u.rm_at, rm_count = u.rm_count,
      token = NULL, lease_until = NULL, last_token = u.token,
      finish_seq = CASE WHEN u.state IN ('completed', 'dead', 'cancelled') THEN nextval('${S}.finish_seq') END
    FROM unnest(p_id, p_token, p_state, p_run_at, p_attempt, p_payload, p_retry, p_timeout, p_last_error, p_result, p_finished,
      p_recur, p_signature, p_lost, p_relative, p_extra, p_rm_at, p_rm_count) WITH ORDINALITY
      AS u(id, token, state, run_at, attempt, payload, retry, timeout, last_error, result, finished, recur, signature, lost, relative,
        extra, rm_at, rm_count, i)
    WHERE j.id = u.id AND j.state = 'running' AND j.token = u.token AND j.lease_until > p_t
    RETURNING u.i, j.name, j.state, j.finished_at, j.rm_count
  )
  SELECT array_agg(i), max(finished_at) FILTER (WHERE state IN ('completed', 'dead')),
    array_agg(name) FILTER (WHERE rm_count IS NOT NULL), array_agg(state::text) FILTER (WHERE rm_count IS NOT NULL),
    array_agg(rm_count) FILTER (WHERE rm_count IS NOT NULL)
  INTO done, fin, cn, cs, cc FROM upd;
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
  -- A finish removes the jobs whose removal time it reached (its own included), then trims the count lists it joined.
  IF fin IS NOT NULL THEN
    DELETE FROM ${S}.jobs WHERE rm_at <= fin;
    FOR r IN SELECT * FROM unnest(cn, cs, cc) AS c(name, state, keep) LOOP
      DELETE FROM ${S}.jobs WHERE id IN (
        SELECT id FROM ${S}.jobs WHERE rm_count IS NOT NULL AND name = r.name AND state = r.state::${S}.job_state
        ORDER BY finish_seq DESC OFFSET r.keep FOR UPDATE);
    END LOOP;
  END IF;
  RETURN out;
END $f$;

-- Same reply as migration 1's settle.
CREATE FUNCTION ${S}.settle(${settleParams}, p_keep_done integer, p_keep_dead integer) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  t float8 := ${S}.now_ms();
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  out text[];
BEGIN
  out := ${S}.settle_rows(${settleArgs}, t);
  PERFORM ${S}.trim(p_keep_done, p_keep_dead);
  RETURN json_build_object('r', out, 's', ${S}.finish(bd, bl));
END $f$;

-- As migration 2's settle_claim, with extra and removal; claims nothing while paused. Reply adds "pause".
CREATE FUNCTION ${S}.settle_claim(${settleParams}, p_keep_done integer, p_keep_dead integer,
  p_tokens text[], p_names text[], p_caps integer[], p_lease float8, p_promote integer
) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  t float8 := ${S}.now_ms();
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  out text[];
  pz json;
  c record;
BEGIN
  out := ${S}.settle_rows(${settleArgs}, t);
  PERFORM ${S}.trim(p_keep_done, p_keep_dead);
  pz := ${S}.pause_state();
  IF (pz->>0)::boolean THEN
    RETURN json_build_object('r', out, 'jobs', '[]'::json, 'pause', pz, 's', ${S}.finish(bd, bl));
  END IF;
  IF bl IS NOT NULL AND bl <= t THEN PERFORM ${S}.recover_expired(t); END IF;
  SELECT * INTO c FROM ${S}.claim_rows(t, p_tokens, p_names, p_caps, p_lease, p_promote, t);
  RETURN json_build_object('r', out, 'jobs', c.jobs, 'pause', pz, 's', ${S}.finish(bd, bl));
END $f$;
`;
}
