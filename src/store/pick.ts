/**
 * How a local store picks among its names' ready queues (LocalState.pick,
 * when no group or rate limit is in play): highest priority, then earliest
 * runAt, then first inserted, respecting each name's capacity.
 */
import type { ReadyQueue } from './ready-queue.js';
import type { ClaimRequest, ClaimResult, JobRecord } from './store.js';

/**
 * Picks up to `request.limit` ready jobs from `ready` and reports the names
 * whose capacity holds jobs back. Removes the jobs from their queues.
 */
export function pickReady(ready: ReadonlyMap<string, ReadyQueue>, request: ClaimRequest): ClaimResult {
  let only: string | undefined;
  let onlyQueue: ReadyQueue | undefined;
  for (const [name, queue] of ready) {
    if (queue.size === 0) continue;
    if (onlyQueue !== undefined) {
      onlyQueue = undefined;
      break;
    }
    only = name;
    onlyQueue = queue;
  }
  if (onlyQueue !== undefined) return pickOne(only as string, onlyQueue, request);
  const jobs: JobRecord[] = [];
  const taken = new Map<string, number>();
  const waiting = new Set<string>();
  const skip = new Set<string>();
  while (jobs.length < request.limit) {
    let best: JobRecord | undefined;
    let bestQueue: ReadyQueue | undefined;
    for (const [name, queue] of ready) {
      if (queue.size === 0 || skip.has(name)) continue;
      if (request.capacity(name) - (taken.get(name) ?? 0) <= 0) {
        waiting.add(name);
        skip.add(name);
        continue;
      }
      const head = queue.peek() as JobRecord;
      if (
        !best ||
        head.priority > best.priority ||
        (head.priority === best.priority && (head.runAt < best.runAt || (head.runAt === best.runAt && head.seq < best.seq)))
      ) {
        best = head;
        bestQueue = queue;
      }
    }
    if (!best || !bestQueue) break;
    bestQueue.pop();
    jobs.push(best);
    taken.set(best.name, (taken.get(best.name) ?? 0) + 1);
  }
  // Picked jobs stay popped: the caller turns them into `running` puts
  // (unindexing a popped job is a no-op), and a reverted claim puts the
  // scheduled record back into the time index, already due.
  for (const [name, queue] of ready) {
    if (queue.size > 0 && !taken.has(name) && request.capacity(name) <= 0) waiting.add(name);
  }
  return { jobs, waiting: [...waiting] };
}

/**
 * `pick` when one name has ready jobs (the common burst): what the general
 * loop picks and reports waiting, without its per-call maps and sets.
 */
function pickOne(name: string, queue: ReadyQueue, request: ClaimRequest): ClaimResult {
  const capacity = request.capacity(name);
  const jobs: JobRecord[] = [];
  const n = Math.min(request.limit, capacity);
  while (jobs.length < n && queue.size > 0) jobs.push(queue.pop() as JobRecord);
  // Waiting: jobs left that its capacity (not the claim's limit) holds back.
  const held = queue.size > 0 && (jobs.length === 0 ? capacity <= 0 : jobs.length < request.limit && capacity - jobs.length <= 0);
  return { jobs, waiting: held ? [name] : [] };
}
