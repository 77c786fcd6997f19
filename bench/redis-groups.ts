/**
 * Claims of jobs that each have a group of their own, on RedisStore (run by
 * bench/redis.ts, `--only=groups`): n due jobs of one name, each in its own
 * group (a group per user), claimed 10 at a time and completed until a claim
 * returns nothing, against the same n jobs without a group. Wall time of each
 * drain, the slowest single claim, and the ratio grouped / plain (the drain
 * itself: bench/groups-drain.ts, shared with bench/postgres-groups.ts). Until
 * 5 December 2026 a claim read the head of every group with a free slot (a
 * Lua walk), so the drain was quadratic: 8,000 jobs took 47 s (~26x the
 * jobs without groups); with the heads index (P:h=<name>) ~1.5 s against
 * ~1.05 s. The MemoryStore row of the same shape is bench/store-claims.ts.
 */
import { RedisStore } from '../src/redis.js';
import { deletePrefix } from '../test/redis-server.js';
import { groupsClaimBench, type DrainStore, type GroupsFigures } from './groups-drain.js';
import { storeContext } from './lib.js';

/** A RedisStore under a fresh prefix, deleted when it closes. */
async function open(url: string, grouped: boolean): Promise<DrainStore> {
  const prefix = `bench-gq-groups-${grouped ? 'grouped' : 'plain'}-${process.pid}-${Date.now()}`;
  const store = new RedisStore({ url, prefix });
  // No finished job kept: the drain measures claims, not retention.
  await store.open(storeContext(0));
  return {
    store,
    close: async () => {
      await store.close();
      await deletePrefix(url, prefix);
    },
  };
}

/** n jobs in n groups, then the same n jobs without a group, on the redis-server at `url`. */
export function redisGroupsClaimBench(url: string, n: number): Promise<GroupsFigures> {
  return groupsClaimBench('redis', n, (grouped) => open(url, grouped));
}
