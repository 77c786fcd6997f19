/**
 * The SQL functions PostgresStore calls: each store operation is one
 * function call, so it is one round trip and one atomic statement (or, with
 * the caller's client, part of the caller's transaction). Leases start and
 * end on the database's clock (`clock_timestamp()`); what is due is decided
 * by the caller's `now` (a scheduler passes the database's time, see
 * Store.now). Every function's reply ends with a summary (database time,
 * earliest due time, earliest lease end, names with ready jobs, counts) from
 * which the client refreshes its synchronous caches.
 *
 * NOTIFY on `<schema>.wake` (delivered when the transaction commits, so a
 * rolled-back change wakes nobody): `D<runAt>` when a change makes some job
 * due earlier than every job before it, `L<leaseEnd>` when a claim creates
 * the earliest lease, `X<reason>\n<token>` when a running attempt is
 * cancelled, replaced or loses its lease (for the process that runs it).
 */
import { ident } from './schema.js';

/** The body of every function, in migration 1. */
export function functionsSql(schema: string): string {
  const S = ident(schema);
  const channel = `${schema}.wake`;
  return `
CREATE FUNCTION ${S}.now_ms() RETURNS float8 LANGUAGE sql VOLATILE AS $f$
  SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8
$f$;

-- Helpers that read are plpgsql, not sql: plpgsql keeps their plans for the session, a sql function re-plans at every call.
CREATE FUNCTION ${S}.due_min() RETURNS float8 LANGUAGE plpgsql STABLE AS $f$
BEGIN
  RETURN (SELECT run_at FROM ${S}.jobs WHERE state = 'scheduled' ORDER BY run_at, seq LIMIT 1);
END $f$;

CREATE FUNCTION ${S}.lease_min() RETURNS float8 LANGUAGE plpgsql STABLE AS $f$
BEGIN
  RETURN (SELECT lease_until FROM ${S}.jobs WHERE state = 'running' ORDER BY lease_until LIMIT 1);
END $f$;

-- A job as the client decodes it (result: SQL NULL = none, JSON null = the value null).
CREATE FUNCTION ${S}.job_json(j ${S}.jobs) RETURNS json LANGUAGE sql STABLE AS $f$
  SELECT json_build_object('id', j.id, 'name', j.name, 'state', j.state, 'run_at', j.run_at, 'priority', j.priority,
    'seq', j.seq, 'created_at', j.created_at, 'attempt', j.attempt, 'payload', j.payload, 'finished_at', j.finished_at,
    'token', j.token, 'lost', j.lost, 'relative', j.relative, 'timeout', j.timeout, 'retry', j.retry,
    'last_error', j.last_error, 'result', j.result, 'has_result', j.result IS NOT NULL, 'recur', j.recur)
$f$;

CREATE FUNCTION ${S}.notify(p_message text) RETURNS void LANGUAGE sql AS $f$
  SELECT pg_notify('${channel}', p_message)
$f$;

-- Distinct names with ready jobs (a skip scan of the ready index), at most 200.
CREATE FUNCTION ${S}.ready_names() RETURNS text[] LANGUAGE plpgsql STABLE AS $f$
BEGIN
  RETURN (
    WITH RECURSIVE r(name, n) AS (
      (SELECT name, 1 FROM ${S}.jobs WHERE state = 'ready' ORDER BY name LIMIT 1)
      UNION ALL
      SELECT (SELECT j.name FROM ${S}.jobs j WHERE j.state = 'ready' AND j.name > r.name ORDER BY j.name LIMIT 1), r.n + 1
      FROM r WHERE r.name IS NOT NULL AND r.n < 200
    )
    SELECT coalesce(array_agg(name), '{}') FROM r WHERE name IS NOT NULL);
END $f$;

-- The summary every reply ends with; NOTIFYs when the earliest due time or lease moved earlier than p_due / p_lease (read at the start).
CREATE FUNCTION ${S}.finish(p_due float8, p_lease float8) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  d float8 := ${S}.due_min();
  l float8 := ${S}.lease_min();
  c record;
BEGIN
  IF d IS NOT NULL AND (p_due IS NULL OR d < p_due) THEN PERFORM ${S}.notify('D' || d::text); END IF;
  IF l IS NOT NULL AND (p_lease IS NULL OR l < p_lease) THEN PERFORM ${S}.notify('L' || l::text); END IF;
  SELECT coalesce(sum(scheduled), 0) AS s, coalesce(sum(running), 0) AS r, coalesce(sum(completed), 0) AS c,
    coalesce(sum(dead), 0) AS d, coalesce(sum(cancelled), 0) AS x, coalesce(sum(recurring), 0) AS rc
  INTO c FROM ${S}.counts;
  RETURN json_build_array(${S}.now_ms(), d, l, ${S}.ready_names(), c.s, c.r, c.c, c.d, c.x, c.rc);
END $f$;

-- Why the attempt holding (token, claimed seq) no longer owns job p_id.
CREATE FUNCTION ${S}.reason(p_id text, p_seq bigint) RETURNS text LANGUAGE plpgsql STABLE AS $f$
BEGIN
  RETURN (SELECT CASE WHEN j.id IS NULL OR j.seq <> p_seq THEN 'replaced' WHEN j.state = 'cancelled' THEN 'cancelled' ELSE 'lease' END
    FROM (SELECT 1) one LEFT JOIN ${S}.jobs j ON j.id = p_id);
END $f$;

-- Running jobs whose lease ended (database clock): scheduled again, attempt kept, marked lost; their processes are told.
CREATE FUNCTION ${S}.recover_expired(p_now float8) RETURNS integer LANGUAGE plpgsql AS $f$
DECLARE n integer := 0; r record;
BEGIN
  FOR r IN
    WITH x AS (
      SELECT id, token FROM ${S}.jobs WHERE state = 'running' AND lease_until <= p_now
      ORDER BY lease_until LIMIT 1000 FOR UPDATE SKIP LOCKED
    )
    UPDATE ${S}.jobs j SET state = 'scheduled', token = NULL, lease_until = NULL, lost = 'lease'
    FROM x WHERE j.id = x.id RETURNING x.token
  LOOP
    n := n + 1;
    PERFORM ${S}.notify('Xlease' || chr(10) || r.token);
  END LOOP;
  RETURN n;
END $f$;

-- Drops the oldest finished jobs past retention (completed + cancelled share p_keep_done).
CREATE FUNCTION ${S}.trim(p_keep_done integer, p_keep_dead integer) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE nd bigint; nx bigint;
BEGIN
  SELECT coalesce(sum(completed) + sum(cancelled), 0), coalesce(sum(dead), 0) INTO nd, nx FROM ${S}.counts;
  IF nd > p_keep_done THEN
    DELETE FROM ${S}.jobs WHERE id IN (
      SELECT id FROM ${S}.jobs WHERE state IN ('completed', 'cancelled') ORDER BY finish_seq LIMIT nd - p_keep_done FOR UPDATE);
  END IF;
  IF nx > p_keep_dead THEN
    DELETE FROM ${S}.jobs WHERE id IN (
      SELECT id FROM ${S}.jobs WHERE state = 'dead' ORDER BY finish_seq LIMIT nx - p_keep_dead FOR UPDATE);
  END IF;
END $f$;

-- Inserts calls' jobs; each call (group) is all or none on its own. Fast path: one INSERT when no id exists yet.
-- Reply: {"g": [per group: {"o": [["inserted"|"replaced", seq, previous] | ["kept", job]]} | {"dup": id}], "s": summary}.
CREATE FUNCTION ${S}.insert(
  p_group integer[], p_mode text[], p_id text[], p_name text[], p_state text[], p_run_at float8[], p_priority float8[],
  p_attempt integer[], p_payload json[], p_created float8[], p_retry json[], p_timeout float8[], p_last_error json[],
  p_result json[], p_finished float8[], p_recur json[], p_signature text[], p_lost text[], p_relative boolean[]
) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  n integer := coalesce(cardinality(p_id), 0);
  ids text[];
  seqs bigint[];
  groups json[] := '{}';
  g integer; lo integer; hi integer; i integer; e integer;
  verdict text; cur text; existed boolean[]; seen_id text[]; seen_sig text[];
  old ${S}.jobs%ROWTYPE; outs json[]; prev json; s bigint;
BEGIN
  WITH ins AS (
    INSERT INTO ${S}.jobs (id, name, state, run_at, priority, attempt, payload, created_at, retry, timeout, last_error, result,
      finished_at, recur, signature, lost, relative)
    SELECT u.id, u.name, u.state::${S}.job_state, u.run_at, u.priority, u.attempt, u.payload, u.created, u.retry, u.timeout,
      u.last_error, u.result, u.finished, u.recur, u.signature, u.lost, u.relative
    FROM unnest(p_id, p_name, p_state, p_run_at, p_priority, p_attempt, p_payload, p_created, p_retry, p_timeout, p_last_error,
      p_result, p_finished, p_recur, p_signature, p_lost, p_relative)
      AS u(id, name, state, run_at, priority, attempt, payload, created, retry, timeout, last_error, result, finished, recur, signature, lost, relative)
    ON CONFLICT (id) DO NOTHING
    RETURNING id, seq
  )
  SELECT array_agg(id), array_agg(seq) INTO ids, seqs FROM ins;
  IF coalesce(cardinality(ids), 0) = n THEN
    RETURN json_build_object('f', json_build_array(ids, seqs), 's', ${S}.finish(bd, bl));
  END IF;
  -- Some id exists (or repeats): undo, then decide call by call (reads first, so a refused call writes nothing).
  IF ids IS NOT NULL THEN DELETE FROM ${S}.jobs WHERE id = ANY(ids); END IF;
  lo := 1;
  WHILE lo <= n LOOP
    g := p_group[lo];
    hi := lo;
    WHILE hi < n AND p_group[hi + 1] = g LOOP hi := hi + 1; END LOOP;
    verdict := NULL;
    existed := '{}';
    seen_id := '{}';
    seen_sig := '{}';
    FOR i IN lo..hi LOOP
      e := array_position(seen_id, p_id[i]);
      IF e IS NOT NULL THEN
        cur := seen_sig[e];
      ELSE
        SELECT coalesce(signature, '') INTO cur FROM ${S}.jobs WHERE id = p_id[i] FOR UPDATE;
        IF NOT FOUND THEN cur := NULL; END IF;
      END IF;
      existed[i - lo + 1] := cur IS NOT NULL;
      IF cur IS NOT NULL THEN
        IF p_mode[i] = 'reject' OR (p_mode[i] = 'keepIfSame' AND (cur = '' OR coalesce(p_signature[i], '') = '' OR cur <> p_signature[i])) THEN
          verdict := p_id[i];
          EXIT;
        END IF;
        IF p_mode[i] = 'replace' THEN
          IF e IS NOT NULL THEN seen_sig[e] := coalesce(p_signature[i], '');
          ELSE seen_id := seen_id || p_id[i]; seen_sig := seen_sig || coalesce(p_signature[i], ''); END IF;
        ELSIF e IS NULL THEN
          seen_id := seen_id || p_id[i]; seen_sig := seen_sig || cur;
        END IF;
      ELSE
        seen_id := seen_id || p_id[i]; seen_sig := seen_sig || coalesce(p_signature[i], '');
      END IF;
    END LOOP;
    IF verdict IS NOT NULL THEN
      groups := groups || json_build_object('dup', verdict);
    ELSE
      outs := '{}';
      FOR i IN lo..hi LOOP
        IF existed[i - lo + 1] AND p_mode[i] IN ('keep', 'keepIfSame') THEN
          outs := outs || json_build_array('kept', (SELECT ${S}.job_json(j) FROM ${S}.jobs j WHERE j.id = p_id[i]));
        ELSE
          prev := NULL;
          IF existed[i - lo + 1] THEN
            DELETE FROM ${S}.jobs j WHERE j.id = p_id[i] RETURNING j.* INTO old;
            prev := ${S}.job_json(old);
            IF old.state = 'running' AND old.token IS NOT NULL THEN PERFORM ${S}.notify('Xreplaced' || chr(10) || old.token); END IF;
          END IF;
          INSERT INTO ${S}.jobs (id, name, state, run_at, priority, attempt, payload, created_at, retry, timeout, last_error, result,
            finished_at, recur, signature, lost, relative)
          VALUES (p_id[i], p_name[i], p_state[i]::${S}.job_state, p_run_at[i], p_priority[i], p_attempt[i], p_payload[i], p_created[i],
            p_retry[i], p_timeout[i], p_last_error[i], p_result[i], p_finished[i], p_recur[i], p_signature[i], p_lost[i], p_relative[i])
          RETURNING seq INTO s;
          outs := outs || json_build_array(CASE WHEN existed[i - lo + 1] THEN 'replaced' ELSE 'inserted' END, s, prev);
        END IF;
      END LOOP;
      groups := groups || json_build_object('o', outs);
    END IF;
    lo := hi + 1;
  END LOOP;
  RETURN json_build_object('g', groups, 's', ${S}.finish(bd, bl));
END $f$;

-- Claims due jobs: recovers expired leases, then takes the best (priority, run_at, seq) of the due jobs (the first
-- p_promote by run_at) and of each named ready set, at most p_caps[i] of name p_names[i] and one per token. Due jobs
-- not taken become ready (they wait for capacity, ordered by priority). Rows locked by others are skipped.
-- Reply: {"jobs": [job...], "due": due rows read, "s": summary}.
-- enable_bitmapscan off: the due jobs are read in index order (a bitmap scan would sort them, and could not mark the
-- index entries of jobs claimed a moment ago as dead, so a burst of claims would re-read them again and again).
CREATE FUNCTION ${S}.claim(p_now float8, p_tokens text[], p_names text[], p_caps integer[], p_lease float8, p_promote integer)
RETURNS json LANGUAGE plpgsql SET enable_bitmapscan = off AS $f$
DECLARE
  t float8 := ${S}.now_ms();
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  k integer := coalesce(cardinality(p_tokens), 0);
  jobs json;
  nd integer;
BEGIN
  PERFORM ${S}.recover_expired(t);
  WITH due AS (
    SELECT id, name, priority, run_at, seq FROM ${S}.jobs
    WHERE state = 'scheduled' AND run_at <= p_now
    ORDER BY run_at, seq LIMIT p_promote
    FOR UPDATE SKIP LOCKED
  ), caps AS (
    SELECT u.name, u.cap FROM unnest(p_names, p_caps) AS u(name, cap)
  ), ready AS (
    SELECT r.id, r.name, r.priority, r.run_at, r.seq FROM caps c CROSS JOIN LATERAL (
      SELECT j.id, j.name, j.priority, j.run_at, j.seq FROM ${S}.jobs j
      WHERE j.state = 'ready' AND j.name = c.name
      ORDER BY j.priority DESC, j.run_at, j.seq LIMIT least(c.cap, k)
      FOR UPDATE SKIP LOCKED
    ) r
    WHERE c.cap > 0
  ), ranked AS (
    SELECT p.id, p.priority, p.run_at, p.seq, c.cap,
      row_number() OVER (PARTITION BY p.name ORDER BY p.priority DESC, p.run_at, p.seq) AS rn
    FROM (SELECT * FROM due UNION ALL SELECT * FROM ready) p JOIN caps c ON c.name = p.name
  ), picked AS (
    SELECT id, row_number() OVER (ORDER BY priority DESC, run_at, seq) AS i
    FROM ranked WHERE rn <= cap ORDER BY priority DESC, run_at, seq LIMIT k
  ), taken AS (
    UPDATE ${S}.jobs j SET state = 'running', token = p_tokens[x.i::integer], attempt = j.attempt + 1, lease_until = t + p_lease
    FROM picked x WHERE j.id = x.id
    RETURNING x.i, ${S}.job_json(j) AS job
  ), promoted AS (
    UPDATE ${S}.jobs j SET state = 'ready' FROM due d
    WHERE j.id = d.id AND NOT EXISTS (SELECT 1 FROM picked x WHERE x.id = d.id)
    RETURNING 1
  )
  SELECT coalesce((SELECT json_agg(taken.job ORDER BY taken.i) FROM taken), '[]'::json),
    (SELECT count(*) FROM due)
  INTO jobs, nd;
  RETURN json_build_object('jobs', jobs, 'due', nd, 's', ${S}.finish(bd, bl));
END $f$;

-- Records attempts' outcomes. Each applies only while the attempt holds an unexpired lease (same token); an
-- expired one is recovered on the spot. A retry (p_again) of an outcome that was applied (last_token) is OK.
-- p_payload[i] NULL keeps the payload. Reply: {"r": ["OK" | "cancelled" | "replaced" | "lease"], "s": summary}.
CREATE FUNCTION ${S}.settle(
  p_id text[], p_token text[], p_seq bigint[], p_again boolean[], p_state text[], p_run_at float8[], p_attempt integer[],
  p_payload json[], p_retry json[], p_timeout float8[], p_last_error json[], p_result json[], p_finished float8[],
  p_recur json[], p_signature text[], p_lost text[], p_relative boolean[], p_keep_done integer, p_keep_dead integer
) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  t float8 := ${S}.now_ms();
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
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
    WHERE j.id = u.id AND j.state = 'running' AND j.token = u.token AND j.lease_until > t
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
  PERFORM ${S}.trim(p_keep_done, p_keep_dead);
  RETURN json_build_object('r', out, 's', ${S}.finish(bd, bl));
END $f$;

-- Scheduled, ready or running -> cancelled. Reply: {"job": job | null, "s": summary}.
CREATE FUNCTION ${S}.cancel(p_id text, p_at float8, p_keep_done integer, p_keep_dead integer) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  was record;
  j json := NULL;
BEGIN
  SELECT state, token INTO was FROM ${S}.jobs WHERE id = p_id FOR UPDATE;
  IF FOUND AND was.state IN ('scheduled', 'ready', 'running') THEN
    UPDATE ${S}.jobs x SET state = 'cancelled', finished_at = p_at, token = NULL, lease_until = NULL,
      finish_seq = nextval('${S}.finish_seq')
    WHERE x.id = p_id RETURNING ${S}.job_json(x) INTO j;
    IF was.state = 'running' AND was.token IS NOT NULL THEN PERFORM ${S}.notify('Xcancelled' || chr(10) || was.token); END IF;
    PERFORM ${S}.trim(p_keep_done, p_keep_dead);
  END IF;
  RETURN json_build_object('job', j, 's', ${S}.finish(bd, bl));
END $f$;

-- A scheduled job to p_at (a schedule's slot moves with it). Reply: {"job": job} | {"state": state} | {"missing": true}, plus "s".
CREATE FUNCTION ${S}.reschedule(p_id text, p_at float8) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  st text;
  j json;
BEGIN
  SELECT state::text INTO st FROM ${S}.jobs WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN RETURN json_build_object('missing', true, 's', ${S}.finish(bd, bl)); END IF;
  IF st NOT IN ('scheduled', 'ready') THEN RETURN json_build_object('state', st, 's', ${S}.finish(bd, bl)); END IF;
  UPDATE ${S}.jobs x SET run_at = p_at, state = 'scheduled',
    recur = CASE WHEN x.recur IS NULL THEN NULL ELSE jsonb_set(x.recur::jsonb, '{slot}', to_jsonb(p_at))::json END
  WHERE x.id = p_id RETURNING ${S}.job_json(x) INTO j;
  RETURN json_build_object('job', j, 's', ${S}.finish(bd, bl));
END $f$;

-- Dead or cancelled -> scheduled at p_at, attempts reset. Reply as reschedule's.
CREATE FUNCTION ${S}.revive(p_id text, p_at float8) RETURNS json LANGUAGE plpgsql AS $f$
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
    result = NULL, token = NULL, lost = NULL
  WHERE x.id = p_id RETURNING ${S}.job_json(x) INTO j;
  RETURN json_build_object('job', j, 's', ${S}.finish(bd, bl));
END $f$;

-- Extends the leases of attempts this process runs; an expired one is recovered.
-- Reply: {"gone": [[id, reason]...], "s": summary} for attempts no longer owned.
CREATE FUNCTION ${S}.renew(p_id text[], p_token text[], p_seq bigint[], p_lease float8) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  t float8 := ${S}.now_ms();
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  kept text[];
  gone json[] := '{}';
  r record;
BEGIN
  WITH upd AS (
    UPDATE ${S}.jobs j SET lease_until = t + p_lease FROM unnest(p_id, p_token) AS u(id, token)
    WHERE j.id = u.id AND j.state = 'running' AND j.token = u.token AND j.lease_until > t
    RETURNING j.id
  )
  SELECT array_agg(id) INTO kept FROM upd;
  FOR r IN
    SELECT u.id, u.token, u.seq, j.state, j.token AS held FROM unnest(p_id, p_token, p_seq) AS u(id, token, seq)
    LEFT JOIN ${S}.jobs j ON j.id = u.id
    WHERE NOT (u.id = ANY(coalesce(kept, '{}')))
  LOOP
    IF r.state = 'running' AND r.held = r.token THEN
      UPDATE ${S}.jobs SET state = 'scheduled', token = NULL, lease_until = NULL, lost = 'lease' WHERE id = r.id;
      gone := gone || json_build_array(r.id, 'lease');
    ELSE
      gone := gone || json_build_array(r.id, ${S}.reason(r.id, r.seq));
    END IF;
  END LOOP;
  RETURN json_build_object('gone', gone, 's', ${S}.finish(bd, bl));
END $f$;

-- Gives back running attempts: p_mode 'crash' (a closing store: scheduled again, attempt kept, lost = 'crash')
-- or 'unstarted' (a claim whose reply came too late: as if never claimed).
CREATE FUNCTION ${S}.release(p_mode text, p_id text[], p_token text[]) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
BEGIN
  UPDATE ${S}.jobs j SET state = 'scheduled', token = NULL, lease_until = NULL,
    lost = CASE WHEN p_mode = 'crash' THEN 'crash' ELSE j.lost END,
    attempt = CASE WHEN p_mode = 'crash' THEN j.attempt ELSE greatest(j.attempt - 1, 0) END
  FROM unnest(p_id, p_token) AS u(id, token)
  WHERE j.id = u.id AND j.state = 'running' AND j.token = u.token;
  RETURN json_build_object('s', ${S}.finish(bd, bl));
END $f$;

-- The poll: recovers expired leases and folds the counters of other sessions together.
-- Reply: {"recovered": n, "s": summary}.
CREATE FUNCTION ${S}.tick() RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
  n integer := ${S}.recover_expired(${S}.now_ms());
BEGIN
  IF (SELECT count(*) FROM ${S}.counts) > 64 AND pg_try_advisory_xact_lock(hashtext('${channel}.counts')) THEN
    WITH gone AS (
      DELETE FROM ${S}.counts c WHERE c.slot IN (
        SELECT slot FROM ${S}.counts WHERE slot <> 0 AND slot <> pg_backend_pid() FOR UPDATE SKIP LOCKED)
      RETURNING c.*
    )
    INSERT INTO ${S}.counts AS k (slot, scheduled, running, completed, dead, cancelled, recurring)
    SELECT 0, coalesce(sum(scheduled), 0), coalesce(sum(running), 0), coalesce(sum(completed), 0), coalesce(sum(dead), 0),
      coalesce(sum(cancelled), 0), coalesce(sum(recurring), 0) FROM gone
    ON CONFLICT (slot) DO UPDATE SET scheduled = k.scheduled + EXCLUDED.scheduled, running = k.running + EXCLUDED.running,
      completed = k.completed + EXCLUDED.completed, dead = k.dead + EXCLUDED.dead, cancelled = k.cancelled + EXCLUDED.cancelled,
      recurring = k.recurring + EXCLUDED.recurring;
  END IF;
  RETURN json_build_object('recovered', n, 's', ${S}.finish(bd, bl));
END $f$;
`;
}
