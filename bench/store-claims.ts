/**
 * Claims over work that grows with the store (run by bench/store.ts):
 *
 * - a burst: n jobs due at once, a few seconds after a JsonFileStore opened
 *   (so they are cold), then one claim: its time and the longest event-loop
 *   block (the claim readies them over many turns; until 5 December 2026 it
 *   was one block of ~0.75-0.88 s at 2e5);
 * - groups: n due jobs, each in a group of its own (a group per user), claimed
 *   10 at a time and completed until none is left, against the same jobs
 *   without groups: CPU time, and the ratio (every claim walked every group
 *   until 5 December 2026: 4e4 jobs took 17-19 s, 1.2-1.3 s after).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { JsonFileStore } from '../src/store/json-file.js';
import { MemoryStore } from '../src/store/memory.js';
import type { ClaimRequest, JobRecord, Store } from '../src/store/store.js';
import { probeEventLoop, round, storeContext } from './lib.js';

/** No finished job kept: the drain measures claims, not retention. */
const context = (): ReturnType<typeof storeContext> => storeContext(0);

let tokens = 0;
function claimRequest(now: number, limit: number): ClaimRequest {
  return { now, limit, capacity: () => 1000, token: () => `t${tokens++}` };
}

function job(i: number, runAt: number, group?: string): Omit<JobRecord, 'seq'> {
  const r: Omit<JobRecord, 'seq'> = { id: `job-${i}`, name: 'bench.job', payload: { orderId: `A${1_000_000 + i}`, amount: i % 1000 }, state: 'scheduled', runAt, createdAt: runAt, attempt: 0, priority: 0 };
  if (group !== undefined) r.group = group;
  return r;
}

async function insertAll(store: Store, n: number, make: (i: number) => Omit<JobRecord, 'seq'>): Promise<void> {
  for (let i = 0; i < n; i += 10_000) {
    const requests = [];
    for (let k = i; k < Math.min(n, i + 10_000); k++) requests.push({ record: make(k), onDuplicate: 'reject' as const });
    await store.insert(requests);
  }
}

/** n jobs due 3 s after a JsonFileStore reopened (cold), then one claim of 10. */
export async function burstClaimBench(base: string, n: number): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(path.join(base, 'burst-'));
  const options = { fsync: false, snapshotEvery: { changes: 10 * n, bytes: 2 ** 40 } };
  let store = new JsonFileStore(dir, options);
  await store.open(context());
  const due = Date.now() + 3000;
  await insertAll(store, n, (i) => job(i, due + (i % 100)));
  await store.snapshot();
  await store.close();
  store = new JsonFileStore(dir, options);
  await store.open(context());
  while (Date.now() < due + 200) await new Promise((resolve) => setTimeout(resolve, 20));
  const probe = probeEventLoop();
  const t0 = performance.now();
  const claimed = await store.claim(claimRequest(Date.now(), 10));
  const ms = performance.now() - t0;
  const block = probe.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  console.log(`claim after a burst of ${n} cold jobs came due: answered after ${round(ms, 0)} ms (took ${claimed.jobs.length}), max event-loop block ${block.maxGapMs} ms (ticker) / ${block.histogramMaxMs} ms (monitorEventLoopDelay)`);
  return { jobs: n, ms: round(ms, 0), ...block };
}

/** CPU ms to claim (10 at a time) and complete n due jobs on a MemoryStore, each in its own group or none. */
async function drain(n: number, grouped: boolean): Promise<number> {
  const store = new MemoryStore();
  await store.open(context());
  const now = Date.now() - 1000;
  await insertAll(store, n, (i) => job(i, now, grouped ? `user-${i}` : undefined));
  const cpu = process.cpuUsage();
  for (;;) {
    const { jobs } = await store.claim(claimRequest(now, 10));
    if (jobs.length === 0) break;
    for (const j of jobs) {
      const { token, ...rest } = j;
      await store.settle(j.id, token as string, { ...rest, state: 'completed', finishedAt: now });
    }
  }
  const used = process.cpuUsage(cpu);
  await store.close();
  return (used.user + used.system) / 1000;
}

/** n jobs in n groups against n jobs without a group: CPU ms each and the ratio. */
export async function groupsClaimBench(n: number): Promise<Record<string, unknown>> {
  const plain = await drain(n, false);
  const grouped = await drain(n, true);
  const ratio = round(grouped / plain, 2);
  console.log(`claims of ${n} due jobs, 10 a claim, MemoryStore: each in its own group ${round(grouped, 0)} CPU ms, no group ${round(plain, 0)} CPU ms (${ratio}x)`);
  return { jobs: n, groupedCpuMs: round(grouped, 0), plainCpuMs: round(plain, 0), ratio };
}
