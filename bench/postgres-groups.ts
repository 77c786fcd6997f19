/**
 * Claims of jobs that each have a group of their own, on PostgresStore (run
 * by bench/postgres.ts, `--only=groups`): the drain of bench/groups-drain.ts
 * (n due jobs of one name, each in its own group, claimed 10 at a time and
 * completed, against the same jobs without a group; wall ms, slowest claim,
 * ratio), and the work of one claim, which needs no clock: with n jobs
 * ready (promoted first by claims with zero capacity), the index scans of
 * `jobs` and `heads` one claim of 10 makes, read from
 * pg_stat_xact_user_tables in that claim's own transaction (rolled back).
 * Until schema version 7 (5 December 2026) a claim listed every group with
 * a ready job and read each one's head: about two scans of `jobs` per group
 * waiting (8,123 with 4,000 groups), so the drain was quadratic; version 7
 * reads the best free groups from `S.heads` (functions-v7.ts).
 */
import pg from 'pg';
import { PostgresStore } from '../src/postgres.js';
import { dropSchema } from '../test/postgres-server.js';
import { groupsClaimBench, insertDrainJobs, type DrainStore, type GroupsFigures } from './groups-drain.js';
import { storeContext } from './lib.js';

/** Index scans one claim of 10 made in its transaction, with `ready` jobs of one name ready (each in its own group, or none). */
export interface ClaimScans {
  ready: number;
  claimed: number;
  jobsScans: number;
  /** null when the schema has no `heads` table (before version 7). */
  headsScans: number | null;
  /** Claims with zero capacity it took to promote every due job and bring the heads up to date. */
  promoteClaims: number;
}

const schemaName = (what: string, grouped: boolean): string => `bench_gq_${what}_${grouped ? 'grouped' : 'plain'}_${process.pid}`;

/** A PostgresStore in a fresh schema, dropped when it closes. */
async function open(url: string, schema: string): Promise<DrainStore> {
  const store = new PostgresStore({ connectionString: url, schema });
  // No finished job kept: the drain measures claims, not retention.
  await store.open(storeContext(0));
  return {
    store,
    close: async () => {
      await store.close();
      await dropSchema(url, schema);
    },
  };
}

/** n jobs in n groups, then the same n jobs without a group, on the PostgreSQL server at `url`. */
export function postgresGroupsClaimBench(url: string, n: number): Promise<GroupsFigures> {
  return groupsClaimBench('postgres', n, (grouped) => open(url, schemaName('groups', grouped)));
}

let tokens = 0;

/**
 * Inserts n due jobs (each in its own group, or none), makes them all ready
 * with claims of zero capacity (a claim promotes up to 1,000 and rewrites
 * the heads of up to 1,000 changed groups), then calls `<schema>.claim` for
 * 10 jobs in a transaction of its own and reads that transaction's index
 * scans before rolling it back, as test/postgres-group-heads.test.ts does.
 */
async function claimScans(url: string, n: number, grouped: boolean): Promise<ClaimScans> {
  const schema = schemaName('scans', grouped);
  const S = `"${schema}"`;
  const { store, close } = await open(url, schema);
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const now = Date.now() - 1000;
    await insertDrainJobs(store, n, now, grouped);
    const hasHeads = (await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${S}.heads_dirty`])).rows[0]?.t != null;
    const left = async (): Promise<number> => {
      const r = await client.query<{ n: string }>(`SELECT (SELECT count(*) FROM ${S}.jobs WHERE state = 'scheduled')${hasHeads ? ` + (SELECT count(*) FROM ${S}.heads_dirty)` : ''} AS n`);
      return Number(r.rows[0]?.n);
    };
    let promoteClaims = 0;
    while ((await left()) > 0) {
      if (promoteClaims > Math.ceil(n / 1000) + 20) throw new Error(`postgres groups bench: ${await left()} due jobs or changed heads left after ${promoteClaims} claims of zero capacity`);
      const { jobs } = await store.claim({ now: Date.now(), limit: 10, capacity: () => 0, token: () => `p${tokens++}` });
      if (jobs.length > 0) throw new Error('postgres groups bench: a claim of zero capacity took jobs');
      promoteClaims++;
    }
    await client.query('BEGIN');
    try {
      const claimTokens = Array.from({ length: 10 }, (_, i) => `s${tokens++}-${i}`);
      const reply = await client.query<{ r: { jobs: unknown[] } }>(`SELECT ${S}.claim($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, NULL) AS r`, [Date.now(), claimTokens, ['bench.job'], [10], 60_000, 1000]);
      // Counted for this transaction alone (pg_stat_xact_*): nothing else's work is in it.
      const stats = await client.query<{ relname: string; idx_scan: string }>('SELECT relname, idx_scan FROM pg_stat_xact_user_tables WHERE schemaname = $1', [schema]);
      const scans = new Map(stats.rows.map((r) => [r.relname, Number(r.idx_scan)]));
      return { ready: n, claimed: reply.rows[0]?.r.jobs.length ?? 0, jobsScans: scans.get('jobs') ?? 0, headsScans: hasHeads ? (scans.get('heads') ?? 0) : null, promoteClaims };
    } finally {
      await client.query('ROLLBACK');
    }
  } finally {
    await client.end();
    await close();
  }
}

/** One claim of 10 with n jobs ready in n groups, then with the same n jobs without a group. */
export async function postgresClaimScans(url: string, n: number): Promise<{ grouped: ClaimScans; plain: ClaimScans }> {
  return { grouped: await claimScans(url, n, true), plain: await claimScans(url, n, false) };
}
