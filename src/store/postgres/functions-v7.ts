/**
 * Migration 7 of PostgresStore: a claim reads the best free groups from a
 * table of group heads, not every group with a ready job.
 *
 * THE FAULT. Migration 4's `claim_lanes` listed every group with a ready job
 * (a skip scan of `jobs_group_ready`), read each one's head and sorted them,
 * on every claim, to start the best few. With a group per user or customer,
 * running n jobs in n groups was quadratic: one claim of 10 with 4,000
 * groups waiting made 8,123 index scans of `jobs` (without groups: 20), and
 * the claims that drained 8,000 such jobs took 16.1 s against 0.7 s
 * without groups (`.tmp/pg-groups.ts`, untracked, 5 December 2026; now
 * 2.2 s). MemoryStore (stop 45) and RedisStore (stop 46) had the same
 * fault and were fixed first.
 *
 * THE TABLE. `S.heads` holds one row per free group: a group with a ready
 * job whose head (its best ready job: priority, then run_at, then seq) may
 * start under the head's limit (`grp_max`) given the group's running jobs.
 * The row keeps the head's name, priority, run_at and seq and the group's
 * turn (`S.lanes`), indexed per name in the claim's order, so a claim reads
 * the best free groups of each name it has capacity for, 64 a name at a
 * time, until it has k + 16 groups it can start (groups other claims hold
 * are passed over: with several processes a second page may be needed).
 *
 * HOW IT STAYS RIGHT WITHOUT NEW WAITS. Every statement that may change a
 * group's head or free slots (a grouped job entering or leaving `ready` or
 * `running`, a ready job's priority, run_at or name changed, a delete)
 * appends the group to `S.heads_dirty` (the count trigger, in the same
 * transaction). A claim first rewrites the heads of the dirty groups it
 * can: under the group's advisory lock (the claims' own, taken with
 * `pg_try_advisory_xact_lock`, never waited on), it deletes the group's
 * dirty rows it sees, then recomputes the head in a later statement (READ
 * COMMITTED: a newer snapshot). A change committed before that delete is in
 * the recomputed head; one committed after it left its own dirty row, which
 * the next claim reads. Two rewrites of one group never overlap (the lock is
 * held to commit), so a later one always sees what an earlier one saw. A
 * group another claim holds is left dirty and reported `busy` (the client
 * looks again in 50 ms, as for any group held). The trigger itself takes no
 * lock, so no statement that did not wait before waits now.
 *
 * ALSO. A job behind a group's head now starts in the same claim only under
 * its own limit (groups.ts: the head's limit counts). Migration 4 held the
 * whole lane to the first head's limit, so with limits that differ within a
 * group a job whose limit was reached started (found by comparing claims
 * with a MemoryStore, test/postgres-group-heads.test.ts).
 *
 * The migration locks `jobs` against writes while it builds the heads of the
 * groups already waiting, so no change slips between that read and the new
 * trigger. `claim_lanes` keeps its parameters (it is migration 4's text with
 * its group listing replaced: sql-text.ts), so a process of the previous
 * version that still runs calls the new one.
 */
import { countChangesSql, ident } from './schema.js';
import { countExtraV4, functionsV4Sql, groupLockSql } from './functions-v4.js';
import { functionText, replaceOnce } from './sql-text.js';

const WHERE = 'migration 7';
/** Most dirty rows a claim reads before it picks (the rest: the next claim, 50 ms later). */
const REFRESH_MAX = 1000;
/** Groups of each name a claim reads from S.heads at a time. */
const PAGE = 64;
const headState = `('ready', 'running')`;

/** Added to count_changes after migration 4's part (declared: `gd text[];`): mark the groups whose heads may have changed. */
function dirtyExtra(S: string): string {
  return `  -- Groups whose head or free slots may have changed: the next claim rewrites their heads row (heads_refresh).
  IF TG_OP = 'UPDATE' THEN
    IF EXISTS (SELECT 1 FROM old_rows WHERE grp IS NOT NULL) OR EXISTS (SELECT 1 FROM new_rows WHERE grp IS NOT NULL) THEN
      SELECT array_agg(DISTINCT x.grp) INTO gd FROM old_rows o JOIN new_rows n ON n.id = o.id
      CROSS JOIN LATERAL (VALUES (o.grp), (n.grp)) AS x(grp)
      WHERE x.grp IS NOT NULL AND (o.state IN ${headState} OR n.state IN ${headState})
        AND (o.state, o.grp, o.name, o.priority, o.run_at, o.seq, o.grp_max) IS DISTINCT FROM (n.state, n.grp, n.name, n.priority, n.run_at, n.seq, n.grp_max);
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT array_agg(DISTINCT grp) INTO gd FROM old_rows WHERE grp IS NOT NULL AND state IN ${headState};
  ELSE
    SELECT array_agg(DISTINCT grp) INTO gd FROM new_rows WHERE grp IS NOT NULL AND state IN ${headState};
  END IF;
  IF gd IS NOT NULL THEN
    INSERT INTO ${S}.heads_dirty (grp) SELECT unnest(gd);
  END IF;
`;
}

/** The row of S.heads of group `g` (an SQL expression), if the group is free: its head may start under the head's limit. */
function headRow(S: string, g: string): string {
  return `SELECT ${g} AS grp, h.name, h.priority, coalesce((SELECT l.turn FROM ${S}.lanes l WHERE l.lane = ${g}), 0) AS turn, h.run_at, h.seq
    FROM (SELECT j.name, j.priority, j.run_at, j.seq, j.grp_max FROM ${S}.jobs j WHERE j.state = 'ready' AND j.grp = ${g}
      ORDER BY j.priority DESC, j.run_at, j.seq LIMIT 1) h
    WHERE (SELECT count(*) FROM ${S}.jobs r WHERE r.grp = ${g} AND r.state = 'running') < coalesce(h.grp_max, 1)`;
}

function claimLanesSql(S: string, schema: string): string {
  const head = `CREATE FUNCTION ${S}.claim_lanes(`;
  let sql = functionText(functionsV4Sql(schema), head, WHERE);
  sql = replaceOnce(sql, head, `CREATE OR REPLACE FUNCTION ${S}.claim_lanes(`, WHERE);
  sql = replaceOnce(
    sql,
    `  g record; r record; run bigint; free integer; ni integer; lastni integer := 0; head boolean;
`,
    `  g record; r record; run bigint; free integer; ni integer; lastni integer := 0; head boolean;
  -- Pages of S.heads read (offset per name), rows in this page, groups looked at.
  hoff integer := 0; hrows integer; hseen text[] := '{}';
`,
    WHERE,
  );
  // After promotion (whose groups are dirty now, in this transaction): bring the heads up to date.
  sql = replaceOnce(
    sql,
    `  GET DIAGNOSTICS due = ROW_COUNT;
`,
    `  GET DIAGNOSTICS due = ROW_COUNT;
  -- The heads of the groups changed since the last claim (some left for later: look again soon).
  IF ${S}.heads_refresh(${REFRESH_MAX}) THEN busy := true; END IF;
`,
    WHERE,
  );
  sql = replaceOnce(
    sql,
    `  FOR g IN
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
  LOOP`,
    `  LOOP
  hrows := 0;
  FOR g IN
    -- The best free groups of each name this process has capacity for (S.heads, functions-v7.ts), a page at a time:
    -- groups other claims hold are skipped, so with several processes the next page may be needed.
    SELECT h.grp, h.turn FROM unnest(p_names, p_caps) AS c0(name, cap) CROSS JOIN LATERAL (
      SELECT x.grp, x.turn, x.priority, x.run_at, x.seq FROM ${S}.heads x WHERE x.name = c0.name
      ORDER BY x.priority DESC, x.turn, x.run_at, x.seq OFFSET hoff LIMIT ${PAGE}
    ) h
    WHERE c0.cap > 0
    ORDER BY h.priority DESC, h.turn, h.run_at, h.seq
  LOOP
    hrows := hrows + 1;
    -- A group seen on an earlier page (the table changed between pages): its lane is made already.
    CONTINUE WHEN g.grp = ANY(hseen);
    hseen := hseen || g.grp;`,
    WHERE,
  );
  // A job behind the head starts only under its own limit, once the jobs before it in this lane run (groups.ts: the
  // head's limit counts). Migration 4 held them to the first head's: with limits that differ within a group, a claim
  // could start a job its limit said must wait.
  sql = replaceOnce(
    sql,
    `      IF head THEN
        -- The head's limit counts; a head that cannot start holds the jobs behind it.
        free := coalesce(r.grp_max, 1) - run::integer;
        EXIT WHEN free <= 0;
      END IF;
      EXIT WHEN NOT head AND nc - lst[nl] + 1 >= free;
`,
    `      -- Each job's own limit counts when it becomes the head: the jobs before it in this lane run by then. A job
      -- that could not start then holds the jobs behind it.
      EXIT WHEN run::integer + (CASE WHEN head THEN 0 ELSE nc - lst[nl] + 1 END) >= coalesce(r.grp_max, 1);
      free := k;
`,
    WHERE,
  );
  // The groups not listed above: their heads' names with no capacity here (waiting), or that the caller sent none for (unknown).
  return replaceOnce(
    sql,
    `    END LOOP;
  END LOOP;
  -- Lanes take turns only when some group competes.
`,
    `    END LOOP;
  END LOOP;
  EXIT WHEN ng >= k + 16 OR hrows = 0;
  hoff := hoff + ${PAGE};
  END LOOP;
  waiting := waiting || coalesce((SELECT array_agg(c0.name) FROM unnest(p_names, p_caps) AS c0(name, cap)
    WHERE c0.cap <= 0 AND EXISTS (SELECT 1 FROM ${S}.heads x WHERE x.name = c0.name)), '{}');
  unknown := unknown || coalesce((
    WITH RECURSIVE hn(name, n) AS (
      (SELECT name, 1 FROM ${S}.heads ORDER BY name LIMIT 1)
      UNION ALL
      SELECT (SELECT x.name FROM ${S}.heads x WHERE x.name > hn.name ORDER BY x.name LIMIT 1), hn.n + 1
      FROM hn WHERE hn.name IS NOT NULL AND hn.n < 200
    )
    SELECT array_agg(hn.name) FROM hn WHERE hn.name IS NOT NULL AND hn.name <> ALL(coalesce(p_names, '{}'))), '{}');
  -- Lanes take turns only when some group competes.
`,
    WHERE,
  );
}

export function functionsV7Sql(schema: string): string {
  const S = ident(schema);
  return `
-- Claims read the best free groups from S.heads (functions-v7.ts). No write to jobs while the heads are built.
LOCK TABLE ${S}.jobs IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE ${S}.heads (
  grp      text PRIMARY KEY,
  name     text NOT NULL,
  priority float8 NOT NULL,
  turn     bigint NOT NULL,
  run_at   float8 NOT NULL,
  seq      bigint NOT NULL
);
CREATE INDEX heads_order ON ${S}.heads (name, priority DESC, turn, run_at, seq);
CREATE TABLE ${S}.heads_dirty (grp text NOT NULL);
CREATE INDEX heads_dirty_grp ON ${S}.heads_dirty (grp);
INSERT INTO ${S}.heads (grp, name, priority, turn, run_at, seq)
SELECT f.* FROM (SELECT DISTINCT grp FROM ${S}.jobs WHERE state = 'ready' AND grp IS NOT NULL) g
CROSS JOIN LATERAL (${headRow(S, 'g.grp')}) f;

${countChangesSql(schema, ' gr text[]; gl text[]; gd text[];', countExtraV4(S) + dirtyExtra(S), 'CREATE OR REPLACE FUNCTION')}
-- Rewrites the heads of the dirty groups (at most p_max dirty rows), each under its group's lock, which a claim holds
-- while it takes the group's jobs. True when some are left: a group another claim holds, or more than p_max rows.
CREATE FUNCTION ${S}.heads_refresh(p_max integer) RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE gs text[]; n integer; held text[];
BEGIN
  SELECT array_agg(DISTINCT d.grp), count(*) INTO gs, n FROM (SELECT grp FROM ${S}.heads_dirty ORDER BY grp LIMIT p_max) d;
  IF gs IS NULL THEN RETURN false; END IF;
  SELECT array_agg(g) INTO held FROM unnest(gs) AS g WHERE pg_try_advisory_xact_lock(${groupLockSql(schema, 'g')});
  IF held IS NOT NULL THEN
    -- The dirty rows this statement sees; the heads are read by a later statement, which sees at least what they mark.
    DELETE FROM ${S}.heads_dirty WHERE grp = ANY(held);
    DELETE FROM ${S}.heads WHERE grp = ANY(held);
    INSERT INTO ${S}.heads (grp, name, priority, turn, run_at, seq)
    SELECT f.* FROM unnest(held) AS g(grp) CROSS JOIN LATERAL (${headRow(S, 'g.grp')}) f;
  END IF;
  RETURN coalesce(cardinality(held), 0) < cardinality(gs) OR n >= p_max;
END $f$;

${claimLanesSql(S, schema)}
`;
}
