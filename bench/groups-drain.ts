/**
 * Claims of jobs that each have a group of their own, on any shared Store
 * (used by bench/redis-groups.ts and bench/postgres-groups.ts): n due jobs
 * of one name, each in its own group (a group per user), claimed 10 at a
 * time and completed until a claim returns nothing, against the same n jobs
 * without a group. Wall time of each drain, the slowest single claim, and
 * the ratio grouped / plain, with the table rows and the verdict (grouped
 * <= 3x plain) both stores' benches print. A claim that reads every group
 * with a free slot makes the drain quadratic; one that reads an index of
 * group heads keeps it near the jobs without groups.
 */
import { performance } from 'node:perf_hooks';
import type { ClaimRequest, JobRecord, Store } from '../src/store/store.js';
import { round } from './lib.js';

/** What one drain measured. */
export interface DrainFigures {
  jobs: number;
  claims: number;
  ms: number;
  slowestClaimMs: number;
}

/** Both drains of one run. */
export interface GroupsFigures {
  grouped: DrainFigures;
  plain: DrainFigures;
  /** grouped.ms / plain.ms */
  ratio: number;
}

/** A store opened for one drain (fresh prefix or schema), and how to close it and remove what it wrote. */
export interface DrainStore {
  store: Store;
  close(): Promise<void>;
}

/** The verdict's bound: grouped drain time at most this many times the plain one. */
export const GROUPS_TARGET_RATIO = 3;

let tokens = 0;
function claimRequest(now: number): ClaimRequest {
  return { now, limit: 10, capacity: () => 1000, token: () => `t${tokens++}` };
}

/** Due job `i` of the drain (name `bench.job`), in group `user-<i>` when `grouped`. */
export function drainJob(i: number, runAt: number, grouped: boolean): Omit<JobRecord, 'seq'> {
  const r: Omit<JobRecord, 'seq'> = { id: `job-${i}`, name: 'bench.job', payload: { orderId: `A${1_000_000 + i}`, amount: i % 1000 }, state: 'scheduled', runAt, createdAt: runAt, attempt: 0, priority: 0 };
  if (grouped) r.group = `user-${i}`;
  return r;
}

/** Inserts n due jobs, 1,000 a call. */
export async function insertDrainJobs(store: Store, n: number, now: number, grouped: boolean): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const requests = [];
    for (let k = i; k < Math.min(n, i + 1000); k++) requests.push({ record: drainJob(k, now, grouped), onDuplicate: 'reject' as const });
    await store.insert(requests);
  }
}

/**
 * Inserts n due jobs in the store `open` gives (each in its own group, or
 * none), then claims 10 at a time and settles each claimed job `completed`
 * until a claim returns nothing; closes it afterwards. Only the drain is timed.
 */
async function drain(label: string, open: (grouped: boolean) => Promise<DrainStore>, n: number, grouped: boolean): Promise<DrainFigures> {
  const { store, close } = await open(grouped);
  try {
    const now = Date.now() - 1000;
    await insertDrainJobs(store, n, now, grouped);
    let claims = 0;
    let done = 0;
    let slowest = 0;
    const t0 = performance.now();
    for (;;) {
      const c0 = performance.now();
      const { jobs } = await store.claim(claimRequest(Date.now()));
      slowest = Math.max(slowest, performance.now() - c0);
      claims++;
      if (jobs.length === 0) break;
      await Promise.all(
        jobs.map((j) => {
          const { token, ...rest } = j;
          return store.settle(j.id, token as string, { ...rest, state: 'completed', finishedAt: Date.now() });
        }),
      );
      done += jobs.length;
    }
    const ms = performance.now() - t0;
    if (done !== n) throw new Error(`${label} groups bench: ${done} of ${n} jobs claimed (${grouped ? 'grouped' : 'plain'})`);
    return { jobs: n, claims, ms: round(ms, 0), slowestClaimMs: round(slowest, 1) };
  } finally {
    await close();
  }
}

/**
 * n jobs in n groups, then the same n jobs without a group, each in a store
 * `open(grouped)` opens for that drain (it should keep no finished job: the
 * drain measures claims, not retention). `label` names the store in errors.
 */
export async function groupsClaimBench(label: string, n: number, open: (grouped: boolean) => Promise<DrainStore>): Promise<GroupsFigures> {
  const grouped = await drain(label, open, n, true);
  const plain = await drain(label, open, n, false);
  return { grouped, plain, ratio: round(grouped.ms / plain.ms, 2) };
}

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The printed table (title and rows) and the verdict of one run; `contender` names the store, e.g. 'godelayq RedisStore'. */
export function groupsReport(contender: string, g: GroupsFigures): { title: string; rows: Record<string, string | number>[]; verdict: { target: string; measured: string; met: boolean } } {
  const n = g.grouped.jobs;
  const vsPlain = (ms: number): string => `${fmt(ms / g.plain.ms, 2)}x`;
  return {
    title: `claim 10 at a time + complete, until none is left: ${fmt(n)} due jobs of one name (wall ms)`,
    rows: [
      { contender: `${contender}, each job in its own group`, jobs: n, claims: g.grouped.claims, ms: g.grouped.ms, 'vs no group': vsPlain(g.grouped.ms), 'slowest claim ms': g.grouped.slowestClaimMs },
      { contender: `${contender}, no group`, jobs: n, claims: g.plain.claims, ms: g.plain.ms, 'vs no group': vsPlain(g.plain.ms), 'slowest claim ms': g.plain.slowestClaimMs },
    ],
    verdict: {
      target: `claims of ${fmt(n)} jobs each in its own group <= ${GROUPS_TARGET_RATIO}x the same jobs without groups`,
      measured: `${fmt(g.grouped.ms)} ms vs ${fmt(g.plain.ms)} ms (${fmt(g.ratio, 2)}x)`,
      met: g.ratio <= GROUPS_TARGET_RATIO,
    },
  };
}
