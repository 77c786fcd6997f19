/**
 * Migration 4 of PostgresStore: job groups and start-rate limits (issue 18),
 * shared by every process on the database.
 *
 * WHAT IT ADDS
 * - `jobs.grp`, `jobs.grp_max`: JobRecord.group / groupConcurrency. The
 *   record keeps them in `extra` (codec.ts, unchanged); a row trigger that
 *   runs only for rows with `extra` copies them into the columns the claim
 *   reads and indexes, so inserts and their parameters stay as they were.
 * - Indexes: the ready index now holds only jobs without a group
 *   (`jobs_ready`, same columns); due jobs of a group wait, ready, in
 *   `jobs_group_ready` (grp, priority DESC, run_at, seq); `jobs_group_live`
 *   counts a group's running jobs and tells an idle group; `jobs_group_due`
 *   tells a claim whether any grouped job is due.
 * - `S.lanes`: round robin between groups (groups.ts): each lane's last turn
 *   (`''` = the jobs without a group), from `S.turn_seq`. A group that has no
 *   scheduled, ready or running job left loses its row (the count trigger).
 * - `S.starts`: the start times in rate windows (`n:<name>`, `*` = every
 *   name), on the claims' `now` (the database's clock; see Store.now), and
 *   `S.pushback`: per name, the instant before which none starts
 *   (`job.rateLimit(ms)`).
 *
 * HOW A CLAIM STAYS WITHIN A GROUP'S LIMIT ACROSS PROCESSES
 * A claim takes a group only under `pg_try_advisory_xact_lock` of that group
 * (a group another claim holds is skipped, never waited on: no deadlock),
 * and counts the group's running jobs in a statement that starts after the
 * lock is held, so it sees every claim of that group that committed before
 * (a transaction's locks are released after its commit is visible). Settle,
 * cancel, lease recovery and give-backs need no lock: they only lower the
 * count, which every claim reads afresh. Rate windows are counted the same
 * way, under blocking advisory locks of the limited names (and of the
 * store-wide window) taken in one sorted statement.
 *
 * SPEED. `claim_lanes` checks first (index probes on empty partial indexes)
 * whether any grouped job is ready or due, any push-back is in force, or the
 * caller sent a rate limit; when none is, it runs migration 2's claim
 * unchanged (`claim_plain`, plus `grp IS NULL`).
 *
 * Also (settle-gone.ts): `S.gone`, so a retried settle of a job its own
 * settle removed is answered "landed".
 *
 * `claim_rows` (called by migration 3's `claim` and `settle_claim`, which a
 * process of the previous version still calls) keeps its parameters and
 * becomes group-aware; the rate-limited claim is the new `claim` overload.
 */
import { claimRowsSql } from './functions-v2.js';
import { countChangesSql, ident } from './schema.js';
import { settleGoneSql } from './settle-gone.js';

const live = `('scheduled', 'ready', 'running')`;

/** The key of a group's advisory lock (claims hold it while they count and take the group's jobs). */
export function groupLockSql(schema: string, g: string): string {
  return `hashtextextended('godelayq group ${schema}' || chr(1) || ${g}, 0)`;
}

/** What migration 4 added to count_changes (declared: `gr text[]; gl text[];`), after the counting. */
export function countExtraV4(S: string): string {
  // After counting: a grouped job that stopped running frees a slot of its group (NOTIFY a due time of now, so every
  // process claims); a group with no live job left is idle and leaves the rotation.
  return `
  IF TG_OP = 'UPDATE' THEN
    IF EXISTS (SELECT 1 FROM old_rows WHERE grp IS NOT NULL) THEN
      SELECT array_agg(DISTINCT o.grp) FILTER (WHERE o.state = 'running' AND n.state <> 'running'),
        array_agg(DISTINCT o.grp) FILTER (WHERE o.state IN ${live} AND n.state NOT IN ${live})
      INTO gr, gl FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.grp IS NOT NULL;
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(DISTINCT grp) FILTER (WHERE state = 'running'), array_agg(DISTINCT grp) FILTER (WHERE state IN ${live})
    INTO gr, gl FROM old_rows WHERE grp IS NOT NULL;
  END IF;
  IF gr IS NOT NULL AND EXISTS (SELECT 1 FROM ${S}.jobs WHERE state = 'ready' AND grp = ANY(gr)) THEN
    PERFORM ${S}.notify('D' || ${S}.now_ms()::text);
  END IF;
  IF gl IS NOT NULL THEN
    DELETE FROM ${S}.lanes l WHERE l.lane = ANY(gl)
      AND NOT EXISTS (SELECT 1 FROM ${S}.jobs j WHERE j.grp = l.lane AND j.state IN ${live});
  END IF;
`;
}

export function functionsV4Sql(schema: string): string {
  const S = ident(schema);
  const countExtra = countExtraV4(S);
  const groupLock = (g: string): string => groupLockSql(schema, g);
  const rateLock = (n: string): string => `hashtextextended('godelayq rate ${schema}' || chr(1) || ${n}, 0)`;
  return `
ALTER TABLE ${S}.jobs ADD COLUMN grp text, ADD COLUMN grp_max integer;
CREATE FUNCTION ${S}.job_group() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  NEW.grp := NEW.extra->>'group';
  NEW.grp_max := CASE WHEN NEW.grp IS NULL THEN NULL ELSE least(coalesce((NEW.extra->>'groupConcurrency')::numeric, 1), 2147483647)::integer END;
  RETURN NEW;
END $f$;
CREATE TRIGGER jobs_group BEFORE INSERT ON ${S}.jobs FOR EACH ROW WHEN (NEW.extra IS NOT NULL) EXECUTE FUNCTION ${S}.job_group();
DROP INDEX ${S}.jobs_ready;
CREATE INDEX jobs_ready ON ${S}.jobs (name, priority DESC, run_at, seq) WHERE state = 'ready' AND grp IS NULL;
CREATE INDEX jobs_group_ready ON ${S}.jobs (grp, priority DESC, run_at, seq) WHERE state = 'ready' AND grp IS NOT NULL;
CREATE INDEX jobs_group_live ON ${S}.jobs (grp, state) WHERE grp IS NOT NULL AND state IN ${live};
CREATE INDEX jobs_group_due ON ${S}.jobs (run_at) WHERE state = 'scheduled' AND grp IS NOT NULL;
CREATE SEQUENCE ${S}.turn_seq AS bigint;
CREATE TABLE ${S}.lanes (
  lane text PRIMARY KEY,
  turn bigint NOT NULL
);
CREATE TABLE ${S}.starts (
  scope text NOT NULL,
  at    float8 NOT NULL
);
CREATE INDEX starts_scope ON ${S}.starts (scope, at);
CREATE TABLE ${S}.pushback (
  name  text PRIMARY KEY,
  until float8 NOT NULL
);

${countChangesSql(schema, ' gr text[]; gl text[];', countExtra, 'CREATE OR REPLACE FUNCTION')}
-- Names with ready jobs without a group (grouped ones wait for their group; a freed group NOTIFYs).
CREATE OR REPLACE FUNCTION ${S}.ready_names() RETURNS text[] LANGUAGE plpgsql STABLE AS $f$
BEGIN
  RETURN (
    WITH RECURSIVE r(name, n) AS (
      (SELECT name, 1 FROM ${S}.jobs WHERE state = 'ready' AND grp IS NULL ORDER BY name LIMIT 1)
      UNION ALL
      SELECT (SELECT j.name FROM ${S}.jobs j WHERE j.state = 'ready' AND j.grp IS NULL AND j.name > r.name ORDER BY j.name LIMIT 1), r.n + 1
      FROM r WHERE r.name IS NOT NULL AND r.n < 200
    )
    SELECT coalesce(array_agg(name), '{}') FROM r WHERE name IS NOT NULL);
END $f$;
-- Migration 2's claim_rows, restricted to jobs without a group.
${claimRowsSql(schema, 'claim_plain', true)}
-- A pause between a claim's counts (a group's running jobs, a rate window's starts) and its taking, set only by the
-- multi-process tests (\`-c godelayq.test_claim_pause=<seconds>\` on their connections): it widens the window in which
-- claims without the locks above would both take a slot, so those tests fail if the locks go.
CREATE FUNCTION ${S}.test_pause() RETURNS void LANGUAGE plpgsql AS $f$
DECLARE p text := nullif(current_setting('godelayq.test_claim_pause', true), '');
BEGIN
  IF p IS NOT NULL THEN PERFORM pg_sleep(p::float8); END IF;
END $f$;

-- When the rate window \`scope\` (max, dur) has room for one more start at p_now: its (n - max + 1)-th oldest start leaves.
CREATE FUNCTION ${S}.window_free(p_scope text, p_max integer, p_dur float8, p_now float8) RETURNS float8 LANGUAGE plpgsql AS $f$
DECLARE n bigint;
BEGIN
  SELECT count(*) INTO n FROM ${S}.starts WHERE scope = p_scope AND at > p_now - p_dur;
  RETURN (SELECT at FROM ${S}.starts WHERE scope = p_scope AND at > p_now - p_dur ORDER BY at OFFSET greatest(0, n - p_max) LIMIT 1) + p_dur;
END $f$;

-- The claim with groups and rate limits (store/groups.ts, store/rate-limits.ts, on every process's jobs): promotes what is
-- due, then picks one job at a time among the heads of the names' ready jobs (lane '') and of the groups with a free slot,
-- by priority, then the lane served longest ago, then run_at and seq; a head whose name has no capacity left or is over
-- its rate waits (a group's jobs wait behind its head). p_rl_*: per-name limits (NULL: none), p_g_*: every name's.
-- OUT waiting: names a group head could not start for want of capacity; unknown: names of group heads the caller sent no
-- capacity for; limited: names over a rate; retry: when the first rate-held job may start; busy: a group was skipped
-- because another claim held it.
CREATE FUNCTION ${S}.claim_lanes(p_now float8, p_tokens text[], p_names text[], p_caps integer[], p_lease float8,
  p_promote integer, p_t float8, p_rl_names text[], p_rl_max integer[], p_rl_dur float8[], p_g_max integer, p_g_dur float8,
  OUT jobs json, OUT due integer, OUT waiting text[], OUT unknown text[], OUT limited text[], OUT retry float8, OUT busy boolean)
LANGUAGE plpgsql SET enable_bitmapscan = off AS $f$
DECLARE
  k integer := coalesce(cardinality(p_tokens), 0);
  nn integer := coalesce(cardinality(p_names), 0);
  -- Per name (index in p_names): taken here, starts left in its window (NULL: no limit), its limit, its push-back.
  ntaken integer[]; nleft integer[]; nmax integer[]; ndur float8[]; nuntil float8[];
  gleft integer;
  -- Candidates (in lane order), and lanes: [start, end] in the candidates, next one, group (NULL: a name's plain jobs), free slots, turn.
  cid text[] := '{}'; cni integer[] := '{}'; cpr float8[] := '{}'; cra float8[] := '{}'; csq bigint[] := '{}';
  lst integer[] := '{}'; len integer[] := '{}'; lpos integer[] := '{}'; lgrp text[] := '{}'; lfree integer[] := '{}';
  lturn bigint[] := '{}'; lon boolean[] := '{}';
  nl integer := 0; ng integer := 0; nc integer := 0;
  pturn bigint := 0; pserved boolean := false; turns boolean;
  picks text[] := '{}';
  g record; r record; run bigint; free integer; ni integer; lastni integer := 0; head boolean;
  best integer; bc integer; bt bigint; c integer; t bigint; tick bigint; li integer;
BEGIN
  jobs := '[]'::json; due := 0; waiting := '{}'; unknown := '{}'; limited := '{}'; busy := false;
  IF k = 0 THEN RETURN; END IF;
  IF p_rl_names IS NULL AND p_g_max IS NULL
    AND NOT EXISTS (SELECT 1 FROM ${S}.pushback WHERE until > p_now)
    AND NOT EXISTS (SELECT 1 FROM ${S}.jobs WHERE state = 'ready' AND grp IS NOT NULL)
    AND NOT EXISTS (SELECT 1 FROM ${S}.jobs WHERE state = 'scheduled' AND grp IS NOT NULL AND run_at <= p_now) THEN
    SELECT c0.jobs, c0.due INTO jobs, due FROM ${S}.claim_plain(p_now, p_tokens, p_names, p_caps, p_lease, p_promote, p_t) c0;
    RETURN;
  END IF;
  -- Everything due becomes ready (in its name's or its group's index); the picking below reads only ready jobs.
  WITH d AS (
    SELECT id FROM ${S}.jobs WHERE state = 'scheduled' AND run_at <= p_now ORDER BY run_at, seq LIMIT p_promote FOR UPDATE SKIP LOCKED
  )
  UPDATE ${S}.jobs j SET state = 'ready' FROM d WHERE j.id = d.id;
  GET DIAGNOSTICS due = ROW_COUNT;
  -- Rate windows: the limited names' (and the store-wide) locks in one sorted statement, then counts in later ones.
  IF p_rl_names IS NOT NULL OR p_g_max IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(x.key) FROM (
      SELECT ${rateLock('n')} AS key FROM unnest(p_rl_names) AS n
      UNION SELECT hashtextextended('godelayq rate, every name, ${schema}', 0) WHERE p_g_max IS NOT NULL
      ORDER BY 1) x;
    DELETE FROM ${S}.starts s USING unnest(p_rl_names, p_rl_dur) AS l(name, dur) WHERE s.scope = 'n:' || l.name AND s.at <= p_now - l.dur;
    IF p_g_max IS NOT NULL THEN
      DELETE FROM ${S}.starts WHERE scope = '*' AND at <= p_now - p_g_dur;
      gleft := p_g_max - (SELECT count(*) FROM ${S}.starts WHERE scope = '*' AND at > p_now - p_g_dur);
    END IF;
  END IF;
  SELECT array_agg(0 ORDER BY u.i), array_agg(l.mx ORDER BY u.i), array_agg(l.dur ORDER BY u.i), array_agg(b.until ORDER BY u.i),
    array_agg(CASE WHEN b.until IS NOT NULL THEN 0 WHEN l.mx IS NULL THEN NULL
      ELSE l.mx - (SELECT count(*) FROM ${S}.starts s WHERE s.scope = 'n:' || u.name AND s.at > p_now - l.dur) END ORDER BY u.i)
  INTO ntaken, nmax, ndur, nuntil, nleft
  FROM unnest(p_names) WITH ORDINALITY AS u(name, i)
  LEFT JOIN unnest(p_rl_names, p_rl_max, p_rl_dur) AS l(name, mx, dur) ON l.name = u.name
  LEFT JOIN ${S}.pushback b ON b.name = u.name AND b.until > p_now;
  IF p_rl_names IS NOT NULL OR p_g_max IS NOT NULL THEN PERFORM ${S}.test_pause(); END IF;
  -- Lanes of the names' plain ready jobs: each name's best, up to its capacity.
  FOR r IN
    SELECT c0.i::integer AS ni, x.id, x.priority, x.run_at, x.seq FROM unnest(p_names, p_caps) WITH ORDINALITY AS c0(name, cap, i)
    CROSS JOIN LATERAL (
      SELECT j.id, j.priority, j.run_at, j.seq FROM ${S}.jobs j
      WHERE j.state = 'ready' AND j.grp IS NULL AND j.name = c0.name
      ORDER BY j.priority DESC, j.run_at, j.seq LIMIT least(c0.cap, k)
      FOR UPDATE SKIP LOCKED
    ) x
    WHERE c0.cap > 0
    ORDER BY c0.i, x.priority DESC, x.run_at, x.seq
  LOOP
    nc := nc + 1;
    cid[nc] := r.id; cni[nc] := r.ni; cpr[nc] := r.priority; cra[nc] := r.run_at; csq[nc] := r.seq;
    IF r.ni <> lastni THEN
      nl := nl + 1; lst[nl] := nc; lpos[nl] := nc; lgrp[nl] := NULL; lfree[nl] := k; lturn[nl] := 0; lon[nl] := true;
      lastni := r.ni;
    END IF;
    len[nl] := nc;
  END LOOP;
  -- Lanes of the groups, best head first: each under its lock (skipped when another claim holds it), with the slots it has free.
  FOR g IN
    WITH RECURSIVE gs(grp) AS (
      (SELECT grp FROM ${S}.jobs WHERE state = 'ready' AND grp IS NOT NULL ORDER BY grp LIMIT 1)
      UNION ALL
      SELECT (SELECT j.grp FROM ${S}.jobs j WHERE j.state = 'ready' AND j.grp IS NOT NULL AND j.grp > gs.grp ORDER BY j.grp LIMIT 1)
      FROM gs WHERE gs.grp IS NOT NULL
    )
    SELECT gs.grp, coalesce(l.turn, 0) AS turn FROM gs CROSS JOIN LATERAL (
      SELECT j.priority, j.run_at, j.seq FROM ${S}.jobs j WHERE j.state = 'ready' AND j.grp = gs.grp
      ORDER BY j.priority DESC, j.run_at, j.seq LIMIT 1
    ) h LEFT JOIN ${S}.lanes l ON l.lane = gs.grp
    WHERE gs.grp IS NOT NULL
    ORDER BY h.priority DESC, coalesce(l.turn, 0), h.run_at, h.seq
  LOOP
    -- Enough groups to fill every token even if a few cannot start.
    EXIT WHEN ng >= k + 16;
    IF NOT pg_try_advisory_xact_lock(${groupLock('g.grp')}) THEN
      busy := true;
      CONTINUE;
    END IF;
    -- A due job of the group left unpromoted (another transaction holds it, or past p_promote) may come first: wait for it.
    IF EXISTS (SELECT 1 FROM ${S}.jobs WHERE state = 'scheduled' AND grp IS NOT NULL AND run_at <= p_now AND grp = g.grp) THEN
      busy := true;
      CONTINUE;
    END IF;
    -- Read after the lock: every claim of this group that committed before is counted.
    SELECT count(*) INTO run FROM ${S}.jobs WHERE grp = g.grp AND state = 'running';
    PERFORM ${S}.test_pause();
    head := true;
    free := 0;
    FOR r IN
      SELECT j.id, j.name, j.priority, j.run_at, j.seq, j.grp_max FROM ${S}.jobs j
      WHERE j.state = 'ready' AND j.grp = g.grp ORDER BY j.priority DESC, j.run_at, j.seq LIMIT k
    LOOP
      IF head THEN
        -- The head's limit counts; a head that cannot start holds the jobs behind it.
        free := coalesce(r.grp_max, 1) - run::integer;
        EXIT WHEN free <= 0;
      END IF;
      EXIT WHEN NOT head AND nc - lst[nl] + 1 >= free;
      ni := array_position(p_names, r.name);
      IF ni IS NULL THEN
        IF head THEN unknown := unknown || r.name; END IF;
        EXIT;
      END IF;
      IF p_caps[ni] <= 0 THEN
        IF head THEN waiting := waiting || r.name; END IF;
        EXIT;
      END IF;
      -- A job another transaction holds ends the lane here: the group's order is kept (its head held: look again soon).
      PERFORM 1 FROM ${S}.jobs WHERE id = r.id AND state = 'ready' FOR UPDATE SKIP LOCKED;
      IF NOT FOUND THEN
        IF head THEN busy := true; END IF;
        EXIT;
      END IF;
      nc := nc + 1;
      cid[nc] := r.id; cni[nc] := ni; cpr[nc] := r.priority; cra[nc] := r.run_at; csq[nc] := r.seq;
      IF head THEN
        nl := nl + 1; ng := ng + 1; lst[nl] := nc; lpos[nl] := nc; lgrp[nl] := g.grp; lfree[nl] := free; lturn[nl] := g.turn; lon[nl] := true;
        head := false;
      END IF;
      len[nl] := nc;
    END LOOP;
  END LOOP;
  -- Lanes take turns only when some group competes.
  turns := ng > 0;
  IF turns THEN pturn := coalesce((SELECT turn FROM ${S}.lanes WHERE lane = ''), 0); END IF;
  WHILE cardinality(picks) < k LOOP
    best := 0;
    FOR li IN 1..nl LOOP
      CONTINUE WHEN NOT lon[li];
      c := lpos[li];
      IF c > len[li] OR c - lst[li] >= lfree[li] THEN
        lon[li] := false;
        CONTINUE;
      END IF;
      ni := cni[c];
      IF ntaken[ni] >= p_caps[ni] THEN
        waiting := waiting || p_names[ni];
        lon[li] := false;
        CONTINUE;
      END IF;
      IF gleft IS NOT NULL AND gleft <= 0 THEN
        retry := least(retry, ${S}.window_free('*', p_g_max, p_g_dur, p_now));
        lon[li] := false;
        CONTINUE;
      END IF;
      IF nleft[ni] IS NOT NULL AND nleft[ni] <= 0 THEN
        retry := least(retry, coalesce(nuntil[ni], ${S}.window_free('n:' || p_names[ni], nmax[ni], ndur[ni], p_now)));
        limited := limited || p_names[ni];
        lon[li] := false;
        CONTINUE;
      END IF;
      t := CASE WHEN lgrp[li] IS NULL THEN pturn ELSE lturn[li] END;
      IF best = 0 OR cpr[c] > cpr[bc] OR (cpr[c] = cpr[bc] AND (t < bt OR (t = bt AND (cra[c] < cra[bc] OR (cra[c] = cra[bc] AND csq[c] < csq[bc]))))) THEN
        best := li; bc := c; bt := t;
      END IF;
    END LOOP;
    EXIT WHEN best = 0;
    picks := picks || cid[bc];
    lpos[best] := bc + 1;
    ni := cni[bc];
    ntaken[ni] := ntaken[ni] + 1;
    IF nleft[ni] IS NOT NULL THEN
      nleft[ni] := nleft[ni] - 1;
      INSERT INTO ${S}.starts (scope, at) VALUES ('n:' || p_names[ni], p_now);
    END IF;
    IF gleft IS NOT NULL THEN
      gleft := gleft - 1;
      INSERT INTO ${S}.starts (scope, at) VALUES ('*', p_now);
    END IF;
    IF turns THEN
      tick := nextval('${S}.turn_seq');
      IF lgrp[best] IS NULL THEN pturn := tick; pserved := true; ELSE lturn[best] := tick; END IF;
    END IF;
  END LOOP;
  IF turns THEN
    INSERT INTO ${S}.lanes AS x (lane, turn)
    SELECT u.lane, u.turn FROM (
      SELECT '' AS lane, pturn AS turn WHERE pserved
      UNION ALL SELECT v.grp, v.turn FROM unnest(lgrp, lturn, lpos, lst) AS v(grp, turn, pos, st) WHERE v.grp IS NOT NULL AND v.pos > v.st
    ) u ORDER BY u.lane
    ON CONFLICT (lane) DO UPDATE SET turn = EXCLUDED.turn;
  END IF;
  IF cardinality(picks) > 0 THEN
    WITH picked AS (
      SELECT u.id, u.i FROM unnest(picks) WITH ORDINALITY AS u(id, i)
    ), taken AS (
      UPDATE ${S}.jobs j SET state = 'running', token = p_tokens[x.i::integer], attempt = j.attempt + 1, lease_until = p_t + p_lease
      FROM picked x WHERE j.id = x.id
      RETURNING x.i, ${S}.job_json(j) AS job
    )
    SELECT coalesce(json_agg(taken.job ORDER BY taken.i), '[]'::json) INTO jobs FROM taken;
  END IF;
END $f$;

-- Same parameters as migration 2's (migration 3's claim and settle_claim call it): now with groups and push-backs.
CREATE OR REPLACE FUNCTION ${S}.claim_rows(p_now float8, p_tokens text[], p_names text[], p_caps integer[], p_lease float8,
  p_promote integer, p_t float8, OUT jobs json, OUT due integer)
LANGUAGE plpgsql AS $f$
BEGIN
  SELECT c.jobs, c.due INTO jobs, due FROM ${S}.claim_lanes(p_now, p_tokens, p_names, p_caps, p_lease, p_promote, p_t, NULL, NULL, NULL, NULL, NULL) c;
END $f$;

-- The claim with rate limits. Reply: migration 3's, plus "w", "u", "l" (waiting, unknown, rate-held names), "retry", "busy".
CREATE FUNCTION ${S}.claim(p_now float8, p_tokens text[], p_names text[], p_caps integer[], p_lease float8, p_promote integer,
  p_rl_names text[], p_rl_max integer[], p_rl_dur float8[], p_g_max integer, p_g_dur float8)
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
  SELECT * INTO c FROM ${S}.claim_lanes(p_now, p_tokens, p_names, p_caps, p_lease, p_promote, t, p_rl_names, p_rl_max, p_rl_dur, p_g_max, p_g_dur);
  RETURN json_build_object('jobs', c.jobs, 'due', c.due, 'pause', pz, 'w', c.waiting, 'u', c.unknown, 'l', c.limited,
    'retry', c.retry, 'busy', c.busy, 's', ${S}.finish(bd, bl));
END $f$;

-- No job of p_name starts before p_until (an earlier instant never shortens a later one). Reply: {"s": summary}.
CREATE FUNCTION ${S}.push_back(p_name text, p_until float8) RETURNS json LANGUAGE plpgsql AS $f$
DECLARE
  bd float8 := ${S}.due_min();
  bl float8 := ${S}.lease_min();
BEGIN
  INSERT INTO ${S}.pushback AS b (name, until) VALUES (p_name, p_until)
  ON CONFLICT (name) DO UPDATE SET until = greatest(b.until, EXCLUDED.until);
  RETURN json_build_object('s', ${S}.finish(bd, bl));
END $f$;
${settleGoneSql(schema)}`;
}
