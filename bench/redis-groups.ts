/**
 * Claims of jobs that each have a group of their own, on RedisStore (run by
 * bench/redis.ts, `--only=groups`): n due jobs of one name, each in its own
 * group (a group per user), claimed 10 at a time and completed until a claim
 * returns nothing, against the same n jobs without a group. Wall time of each
 * drain, the slowest single claim, and the ratio grouped / plain. Until
 * 5 December 2026 a claim read the head of every group with a free slot (a
 * Lua walk), so the drain was quadratic: 8,000 jobs took 47 s (~26x the
 * jobs without groups); with the heads index (P:h=<name>) ~1.5 s against
 * ~1.05 s. The MemoryStore row of the same shape is bench/store-claims.ts.
 */
import { performance } from 'node:perf_hooks';
import { RedisStore } from '../src/redis.js';
import type { ClaimRequest, JobRecord, Store } from '../src/store/store.js';
import { deletePrefix } from '../test/redis-server.js';
import { round, storeContext } from './lib.js';

/** What one drain measured. */
export interface DrainFigures {
  jobs: number;
  claims: number;
  ms: number;
  slowestClaimMs: number;
}

let tokens = 0;
function claimRequest(now: number): ClaimRequest {
  return { now, limit: 10, capacity: () => 1000, token: () => `t${tokens++}` };
}

function job(i: number, runAt: number, grouped: boolean): Omit<JobRecord, 'seq'> {
  const r: Omit<JobRecord, 'seq'> = { id: `job-${i}`, name: 'bench.job', payload: { orderId: `A${1_000_000 + i}`, amount: i % 1000 }, state: 'scheduled', runAt, createdAt: runAt, attempt: 0, priority: 0 };
  if (grouped) r.group = `user-${i}`;
  return r;
}

async function insertAll(store: Store, n: number, now: number, grouped: boolean): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const requests = [];
    for (let k = i; k < Math.min(n, i + 1000); k++) requests.push({ record: job(k, now, grouped), onDuplicate: 'reject' as const });
    await store.insert(requests);
  }
}

/**
 * Inserts n due jobs under a fresh prefix (each in its own group, or none),
 * then claims 10 at a time and settles each claimed job `completed` until a
 * claim returns nothing; deletes the prefix afterwards. Only the drain is timed.
 */
async function drain(url: string, n: number, grouped: boolean): Promise<DrainFigures> {
  const prefix = `bench-gq-groups-${grouped ? 'grouped' : 'plain'}-${process.pid}-${Date.now()}`;
  const store = new RedisStore({ url, prefix });
  // No finished job kept: the drain measures claims, not retention.
  await store.open(storeContext(0));
  try {
    const now = Date.now() - 1000;
    await insertAll(store, n, now, grouped);
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
    if (done !== n) throw new Error(`redis groups bench: ${done} of ${n} jobs claimed (${grouped ? 'grouped' : 'plain'})`);
    return { jobs: n, claims, ms: round(ms, 0), slowestClaimMs: round(slowest, 1) };
  } finally {
    await store.close();
    await deletePrefix(url, prefix);
  }
}

/** n jobs in n groups, then the same n jobs without a group, on the redis-server at `url`. */
export async function redisGroupsClaimBench(url: string, n: number): Promise<{ grouped: DrainFigures; plain: DrainFigures; ratio: number }> {
  const grouped = await drain(url, n, true);
  const plain = await drain(url, n, false);
  return { grouped, plain, ratio: round(grouped.ms / plain.ms, 2) };
}
