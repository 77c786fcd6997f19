/**
 * `list` for PostgresStore: jobs in runAt order (then insertion order), in
 * one statement that reads whole records only for the requested window.
 *
 * The order keys (id, run_at, seq) come from the partial index of each
 * wanted state: scheduled jobs from the due index, already in (run_at, seq)
 * order, so only the first offset + limit entries are read; ready, running
 * and the retained finished and dead jobs are bounded sets, sorted here.
 * Then the records of the window are joined in. One statement is one
 * snapshot: a job moving between states while the list runs is seen once.
 */
import type { JobState } from '../../types.js';
import type { StoreListFilter } from '../store.js';
import { ident } from './schema.js';

const ALL_STATES: readonly JobState[] = ['scheduled', 'running', 'completed', 'dead', 'cancelled'];

/** The SQL and parameters of a list call (its rows: one `job` json column each). */
export function listQuery(schema: string, filter: StoreListFilter): { sql: string; params: unknown[] } | undefined {
  const S = ident(schema);
  const offset = filter.offset ?? 0;
  const limit = filter.limit;
  const states = new Set(filter.states ?? ALL_STATES);
  if (limit === 0 || states.size === 0) return undefined;
  const params: unknown[] = [];
  let name = '';
  if (filter.name !== undefined) {
    params.push(filter.name);
    name = ` AND name = $${params.length}`;
  }
  const need = limit === undefined ? '' : ` LIMIT ${offset + limit}`;
  const parts: string[] = [];
  const part = (where: string, ordered = ''): string => `(SELECT id, run_at, seq FROM ${S}.jobs WHERE ${where}${name}${ordered})`;
  if (states.has('scheduled')) {
    parts.push(part(`state = 'scheduled'`, ` ORDER BY run_at, seq${need}`));
    // Two parts, each matching its partial index (schema 4: jobs without a group, and those waiting for their group).
    parts.push(part(`state = 'ready' AND grp IS NULL`));
    parts.push(part(`state = 'ready' AND grp IS NOT NULL`));
  }
  if (states.has('running')) parts.push(part(`state = 'running'`));
  const done = (['completed', 'cancelled'] as const).filter((s) => states.has(s));
  if (done.length === 2) parts.push(part(`state IN ('completed', 'cancelled')`));
  else if (done.length === 1) parts.push(part(`state IN ('completed', 'cancelled') AND state = '${done[0] as string}'`));
  if (states.has('dead')) parts.push(part(`state = 'dead'`));
  const window = `SELECT id, run_at, seq FROM (${parts.join(' UNION ALL ')}) k ORDER BY run_at, seq${limit === undefined ? '' : ` LIMIT ${limit}`}${offset > 0 ? ` OFFSET ${offset}` : ''}`;
  return {
    sql: `WITH w AS (${window}) SELECT ${S}.job_json(j) AS job FROM w JOIN ${S}.jobs j ON j.id = w.id ORDER BY w.run_at, w.seq`,
    params,
  };
}
