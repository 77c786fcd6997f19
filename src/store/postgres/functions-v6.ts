/**
 * Migration 6 of PostgresStore: a finish removes at most TRIM_MAX jobs past
 * a retention limit, the oldest first.
 *
 * THE FAULT. `trim` (keepCompleted / keepDead) and settle_rows' count lists
 * (`removeOnComplete` / `removeOnFail` `{ count }`) delete every job past
 * the limit in the settle's own statement. After a limit was lowered below
 * what the store held, that statement deleted the whole excess. With 4e5
 * completed jobs and a `statement_timeout` of 0.8 s (commandTimeoutMs
 * 1000; with the default 4 s, about five times as many by that rate, not
 * measured) the server cancelled it every time, and the settle, retried,
 * was cancelled again, forever: no finish in the store could be recorded,
 * and every job ran again once its lease lapsed (`.tmp/pg-trim.ts`,
 * untracked, 5 December 2026). RedisStore had the same unbounded drop in
 * one script (lua.ts, TRIM_MAX).
 *
 * The same for removal times (`{ ageMs }`): a finish deleted every job
 * whose time had passed, a backlog of all of them after a downtime.
 *
 * THE FIX. Each finish removes at most TRIM_MAX of the excess, the oldest
 * first, and of the jobs whose removal time passed, the TRIM_MAX due first
 * (and its own, at once); the finishes after it remove the rest. The
 * functions are replaced in place, same parameters: `trim` (migration 1)
 * and migration 5's settle_rows of migration 3's parameters (sql-text.ts).
 */
import { functionsSql } from './functions.js';
import { settleRowsV5Sql } from './functions-v5.js';
import { ident } from './schema.js';
import { functionText, replaceOnce } from './sql-text.js';

const WHERE = 'migration 6';
/** Most jobs one finish removes past a retention limit (RedisStore's TRIM_MAX in lua.ts). */
const TRIM_MAX = 1000;

function trimSql(S: string, schema: string): string {
  const head = `CREATE FUNCTION ${S}.trim(`;
  let sql = functionText(functionsSql(schema), head, WHERE);
  sql = replaceOnce(sql, head, `CREATE OR REPLACE FUNCTION ${S}.trim(`, WHERE);
  sql = replaceOnce(sql, 'LIMIT nd - p_keep_done FOR UPDATE', `LIMIT least(nd - p_keep_done, ${TRIM_MAX}) FOR UPDATE`, WHERE);
  return replaceOnce(sql, 'LIMIT nx - p_keep_dead FOR UPDATE', `LIMIT least(nx - p_keep_dead, ${TRIM_MAX}) FOR UPDATE`, WHERE);
}

function settleRowsSql(S: string, schema: string): string {
  const list = `rm_count IS NOT NULL AND name = r.name AND state = r.state::${S}.job_state`;
  // Removal times: this call's own jobs at once (removeOnComplete: true), and of the others whose
  // time passed (a backlog after a downtime) the TRIM_MAX due first. \`rm_at <= fin\` is checked
  // again on the row the DELETE locks: a job revived meanwhile stays.
  const expired = replaceOnce(
    settleRowsV5Sql(schema),
    `WITH deleted AS (DELETE FROM ${S}.jobs WHERE rm_at <= fin RETURNING last_token)`,
    `WITH due AS (
      SELECT id FROM ${S}.jobs WHERE id = ANY(p_id) AND rm_at <= fin
      UNION
      (SELECT id FROM ${S}.jobs WHERE rm_at <= fin ORDER BY rm_at LIMIT ${TRIM_MAX})
    ), deleted AS (DELETE FROM ${S}.jobs j USING due WHERE j.id = due.id AND j.rm_at <= fin RETURNING j.last_token)`,
    WHERE,
  );
  // The excess is every job of the list as old as its (keep + 1)-th newest, or older.
  return replaceOnce(
    expired,
    `        SELECT id FROM ${S}.jobs WHERE ${list}
        ORDER BY finish_seq DESC OFFSET r.keep FOR UPDATE) RETURNING last_token)`,
    `        SELECT id FROM ${S}.jobs WHERE ${list}
          AND finish_seq <= (SELECT finish_seq FROM ${S}.jobs WHERE ${list} ORDER BY finish_seq DESC OFFSET r.keep LIMIT 1)
        ORDER BY finish_seq LIMIT ${TRIM_MAX} FOR UPDATE) RETURNING last_token)`,
    WHERE,
  );
}

export function functionsV6Sql(schema: string): string {
  const S = ident(schema);
  return `
-- A finish removes at most ${TRIM_MAX} jobs past a retention limit (functions-v6.ts).
${trimSql(S, schema)}

${settleRowsSql(S, schema)}
`;
}
