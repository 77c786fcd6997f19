/**
 * Migration 5 of PostgresStore: a lease loss recorded by a renewal or a late
 * settle no longer overwrites what another statement committed meanwhile.
 *
 * THE FAULT. `renew` and `settle_rows` first try their change (a longer
 * lease; an outcome) on the rows whose attempt still holds an unexpired
 * lease. For the items that failed they read the row again and, when the
 * attempt still held it (running, same token), its lease had ended: they
 * marked the job lost and scheduled it again with `UPDATE … WHERE id = …`.
 * That read does not lock. A settle of the same attempt that started just
 * before the lease ended (its time is taken when it starts) and had not
 * committed yet was invisible to the read; the UPDATE then waited for it,
 * and once it committed, overwrote its `completed` with `scheduled`. The
 * scheduler had reported the job completed; it ran again (found by the
 * simulation, PostgreSQL seed 249000045). A cancel or a replace committed
 * in that gap was overwritten the same way.
 *
 * THE FIX. That UPDATE also requires `state = 'running' AND token = <the
 * attempt's>`. READ COMMITTED re-checks those conditions on the row version
 * it waited for, so a committed settle, cancel or replace stands; the item
 * is then answered from the row as it is now (a settle retried after a lost
 * reply that finds its own outcome gets "landed", as before).
 *
 * The functions are replaced in place, same parameters: `renew` (migration
 * 1), migration 2's `settle_rows` (called by the settle and settle_claim a
 * process of an older version may still call) and migration 4's. Their
 * text is the released one with those statements changed (sql-text.ts).
 */
import { functionsSql } from './functions.js';
import { functionsV2Sql } from './functions-v2.js';
import { ident } from './schema.js';
import { settleRowsV4Sql } from './settle-gone.js';
import { functionText, replaceOnce } from './sql-text.js';

const WHERE = 'migration 5';

/** The released function that starts with `head` (`CREATE FUNCTION …(`), as `CREATE OR REPLACE`. */
function released(sql: string, head: string): string {
  return replaceOnce(functionText(sql, head, WHERE), head, head.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'), WHERE);
}

/**
 * The lease-loss branch of a loop over the items that did not land, made
 * conditional: the UPDATE also requires the attempt to hold the row; when it
 * finds the row changed, `reread` (fields of the row INTO the loop record)
 * is read again, and the IF that follows answers from the row as it is now.
 * `answer` is the branch's statement recording the loss, `next` the word
 * that follows the branch (ELSIF or ELSE); `indent` the branch's.
 */
function guardLeaseLoss(S: string, text: string, indent: string, answer: string, next: string, reread: string): string {
  const lose = `UPDATE ${S}.jobs SET state = 'scheduled', token = NULL, lease_until = NULL, lost = 'lease'`;
  const inner = `${indent}  `;
  const held = `${indent}IF r.state = 'running' AND r.held = r.token THEN`;
  return replaceOnce(
    text,
    `${held}
${inner}${lose} WHERE id = r.id;
${inner}${answer}
${indent}${next}`,
    `${held}
${inner}-- Only while the attempt still holds the row: a settle, cancel or replace that committed since the read above stands.
${inner}${lose} WHERE id = r.id AND state = 'running' AND token = r.token;
${inner}IF NOT FOUND THEN
${inner}  SELECT ${reread} FROM ${S}.jobs j WHERE j.id = r.id;
${inner}END IF;
${indent}END IF;
${held}
${inner}${answer}
${indent}${next}`,
    WHERE,
  );
}

/** settle_rows (migrations 2 and 4): a retried settle that finds its outcome landed answers "OK" from the re-read `last_token`. */
function guardSettle(S: string, text: string): string {
  return guardLeaseLoss(S, text, '      ', "out[r.i] := 'lease';", 'ELSIF', 'j.state, j.token, j.last_token INTO r.state, r.held, r.last_token');
}

function guardRenew(S: string, text: string): string {
  return guardLeaseLoss(S, text, '    ', "gone := gone || json_build_array(r.id, 'lease');", 'ELSE', 'j.state, j.token INTO r.state, r.held');
}

/** Migration 5's settle_rows of migration 3's parameters (the one settle and settle_claim call), as it installs it. */
export function settleRowsV5Sql(schema: string): string {
  return guardSettle(ident(schema), settleRowsV4Sql(schema));
}

export function functionsV5Sql(schema: string): string {
  const S = ident(schema);
  const renew = released(functionsSql(schema), `CREATE FUNCTION ${S}.renew(`);
  const settleV2 = released(functionsV2Sql(schema), `CREATE FUNCTION ${S}.settle_rows(`);
  return `
-- A lease loss no longer overwrites a settle, cancel or replace committed meanwhile (functions-v5.ts).
${guardRenew(S, renew)}

${guardSettle(S, settleV2)}

${settleRowsV5Sql(schema)}
`;
}
