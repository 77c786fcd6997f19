/**
 * Part of migration 4 of PostgresStore: a settle retried after its reply was
 * lost learns that it landed even when that settle removed its own job.
 *
 * settle_rows answers a retry (`again`) "landed" when the job's `last_token`
 * is the retry's token. A removal policy that removes the job at once
 * (`removeOnComplete: true`, `{ count: 0 }`) deletes that row in the same
 * statement, so the retry found nothing and reported the completed attempt
 * lost. Such a settle now leaves its token in `S.gone`: 65,536 slots by hash
 * of the token, each overwritten by a later one (bounded, no pruning), so a
 * retry within about that many such removals is answered "landed" — as
 * RedisStore does with `<prefix>:gone`. Jobs trimmed by `keepCompleted` /
 * `keepDead` (S.trim, after settle_rows) are not covered.
 *
 * The function is migration 3's settle_rows text with three statements
 * changed (not re-typed: a drift between the two would go unseen), replaced
 * in place: same parameters, so migration 3's settle and settle_claim, which
 * a process of the previous version still calls, use it too.
 */
import { functionsV3Sql } from './functions-v3.js';
import { ident } from './schema.js';
import { functionText, replaceOnce as replace } from './sql-text.js';

const SLOTS_MASK = 65535;

/** Migration 4's settle_rows (`CREATE OR REPLACE`, migration 3's parameters). */
export function settleRowsV4Sql(schema: string): string {
  const S = ident(schema);
  const v3 = functionsV3Sql(schema);
  const head = `CREATE FUNCTION ${S}.settle_rows(`;
  const where = "settle-gone (migration 3's settle_rows)";
  const replaceOnce = (text: string, from: string, to: string): string => replace(text, from, to, where);
  // Keeps the tokens (of this call's settles) of the rows that `deleted` returned.
  const keep = `INSERT INTO ${S}.gone (slot, token)
      SELECT DISTINCT ON (hashtext(last_token) & ${SLOTS_MASK}) hashtext(last_token) & ${SLOTS_MASK}, last_token
      FROM deleted WHERE last_token = ANY(p_token)
      ON CONFLICT (slot) DO UPDATE SET token = EXCLUDED.token`;
  let sql = functionText(v3, head, where);
  sql = replaceOnce(sql, head, `CREATE OR REPLACE FUNCTION ${S}.settle_rows(`);
  sql = replaceOnce(
    sql,
    'ELSIF r.again AND r.last_token = r.token THEN',
    `ELSIF r.again AND (r.last_token = r.token OR EXISTS (SELECT 1 FROM ${S}.gone g WHERE g.slot = hashtext(r.token) & ${SLOTS_MASK} AND g.token = r.token)) THEN`,
  );
  sql = replaceOnce(sql, `DELETE FROM ${S}.jobs WHERE rm_at <= fin;`, `WITH deleted AS (DELETE FROM ${S}.jobs WHERE rm_at <= fin RETURNING last_token)\n    ${keep};`);
  sql = replaceOnce(
    sql,
    `      DELETE FROM ${S}.jobs WHERE id IN (
        SELECT id FROM ${S}.jobs WHERE rm_count IS NOT NULL AND name = r.name AND state = r.state::${S}.job_state
        ORDER BY finish_seq DESC OFFSET r.keep FOR UPDATE);`,
    `      WITH deleted AS (DELETE FROM ${S}.jobs WHERE id IN (
        SELECT id FROM ${S}.jobs WHERE rm_count IS NOT NULL AND name = r.name AND state = r.state::${S}.job_state
        ORDER BY finish_seq DESC OFFSET r.keep FOR UPDATE) RETURNING last_token)
      ${keep};`,
  );
  return sql;
}

export function settleGoneSql(schema: string): string {
  return `
-- Tokens of settles that removed their own job (settle-gone.ts).
CREATE TABLE ${ident(schema)}.gone (slot integer PRIMARY KEY, token text NOT NULL);
${settleRowsV4Sql(schema)}
`;
}
