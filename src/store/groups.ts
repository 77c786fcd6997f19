/**
 * Job groups for the local stores (MemoryStore, JsonFileStore): the claim
 * rules of `options.group`, kept beside LocalState so a store whose jobs have
 * no group never touches them.
 *
 * HOW
 * - A due job with a group waits in its group's ready queue (not its name's):
 *   best first by priority, then runAt, then insertion, like a name's queue.
 * - A group runs at most `groupConcurrency` (default 1) of its jobs at once;
 *   the head's limit counts. Only the head of a group may start: when it
 *   cannot (its name has no free slot), the jobs behind it wait too, so a
 *   group's jobs start in order whatever their names.
 * - Lanes: every group is a lane, and the jobs without a group form one more
 *   lane (`''`). Each claim gives its lane a fresh turn number; among heads of
 *   equal priority the lane served longest ago goes first, then runAt, then
 *   insertion. That is round robin between groups, and a store without
 *   grouped jobs keeps plain priority, runAt, insertion order.
 *
 * A group leaves the rotation when it is idle (no scheduled or running job),
 * and comes back level with the lanes never served.
 *
 * WHY turns are not persisted: they only order lanes that wait at the same
 * time; after a restart every lane starts level, which is still fair.
 */
import { ReadyQueue, type ReadyLane } from './ready-queue.js';
import { type Placed, PlacedHeap } from './placed-heap.js';
import { IndexSlot } from './record.js';
import type { RateGate } from './rate-limits.js';
import type { ClaimRequest, ClaimResult, JobRecord } from './store.js';

/** Records that `job` waits in a group's ready queue under `handle` (the encoding LocalState uses for its name queues). */
function setQueueSlot(job: JobRecord, handle: number): void {
  IndexSlot.set(job, -handle - 1);
}

/** The lane of jobs without a group. */
export const NO_GROUP = '';

/** Most jobs of `job`'s group that may run at once. */
export function groupLimit(job: JobRecord): number {
  return job.groupConcurrency ?? 1;
}

/** Ready grouped jobs, running counts per group, and the lanes' turns. */
export class GroupLanes {
  /** Per group, its ready jobs: a ReadyQueue (key minus the priority), each job's handle in its index slot (as LocalState's name queues). */
  readonly ready = new Map<string, ReadyQueue>();
  /** Per group, the latest (runAt, seq) pushed into its queue: an earlier one waits beside it (ReadyQueue.pushEarly). */
  private readonly last = new Map<string, JobRecord>();
  private readonly running = new Map<string, number>();
  private readonly turns = new Map<string, number>();
  /** Scheduled + running jobs per group: a group with none is idle. */
  private readonly members = new Map<string, number>();
  /** Groups that had a turn when they became idle: their turns go at the next claim. */
  private readonly idle = new Set<string>();
  private tick = 0;
  /**
   * Per name, the groups whose head job is of that name and may start now
   * (a free slot in its group), best first. Kept up to date as jobs come,
   * go, start and finish, so a claim reads the best head of each name
   * instead of walking every group (see pickLanes).
   */
  readonly heads = new Map<string, HeadHeap>();
  /** The name whose `heads` holds a group. */
  private readonly headOf = new Map<string, string>();
  /** Jobs a claim in progress took from a group, not yet running (see take, endClaim). */
  private readonly claimed = new Map<string, number>();
  /** Grouped jobs in ready queues. */
  size = 0;

  clear(): void {
    this.ready.clear();
    this.last.clear();
    this.running.clear();
    this.turns.clear();
    this.members.clear();
    this.idle.clear();
    this.heads.clear();
    this.headOf.clear();
    this.claimed.clear();
    this.size = 0;
  }

  /**
   * Puts `group` where it belongs in `heads`: under its head's name while
   * that head may start (its group runs fewer than the head's limit,
   * counting jobs a claim in progress took), nowhere otherwise.
   */
  private refresh(group: string): void {
    const head = this.ready.get(group)?.peek();
    const held = this.headOf.get(group);
    if (head === undefined || this.runningOf(group) + (this.claimed.get(group) ?? 0) >= groupLimit(head)) {
      if (held !== undefined) {
        (this.heads.get(held) as HeadHeap).delete(group);
        this.headOf.delete(group);
      }
      return;
    }
    if (held !== undefined && held !== head.name) (this.heads.get(held) as HeadHeap).delete(group);
    let heap = this.heads.get(head.name);
    if (heap === undefined) {
      heap = new HeadHeap();
      this.heads.set(head.name, heap);
    }
    heap.set({ group, head, turn: this.turnOf(group), at: 0 });
    this.headOf.set(group, head.name);
  }

  /** A due job of group `job.group` becomes ready. */
  push(job: JobRecord): void {
    const group = job.group as string;
    let queue = this.ready.get(group);
    if (!queue) {
      queue = new ReadyQueue(setQueueSlot);
      this.ready.set(group, queue);
    }
    const last = this.last.get(group);
    if (queue.size > 0 && last !== undefined && (job.runAt < last.runAt || (job.runAt === last.runAt && job.seq < last.seq))) {
      setQueueSlot(job, queue.pushEarly(job));
    } else {
      setQueueSlot(job, queue.push(job, -job.priority));
      this.last.set(group, job);
    }
    this.size++;
    this.refresh(group);
  }

  /** Takes a ready job out (cancelled, replaced, rescheduled). False when it was not ready. */
  remove(job: JobRecord): boolean {
    const group = job.group as string;
    const queue = this.ready.get(group);
    const slot = IndexSlot.get(job);
    // A negative slot is a ready queue's handle; checked against the queue's item (it may be spent, or the due heap's).
    if (queue === undefined || slot === undefined || slot >= 0 || queue.itemOf(-slot - 1) !== job) return false;
    queue.removeHandle(-slot - 1);
    this.size--;
    if (queue.size === 0) this.emptied(group);
    this.refresh(group);
    return true;
  }

  /** One more (or fewer) running job of `group`. */
  started(group: string, delta: number): void {
    const n = (this.running.get(group) ?? 0) + delta;
    if (n > 0) this.running.set(group, n);
    else this.running.delete(group);
    this.refresh(group);
  }

  runningOf(group: string): number {
    return this.running.get(group) ?? 0;
  }

  /** The clock went back: ready grouped jobs no longer due go back through `later`. */
  demote(now: number, later: (job: JobRecord) => void): void {
    for (const [group, queue] of this.ready) {
      const back: JobRecord[] = [];
      for (const job of queue) if (job.runAt > now) back.push(job);
      for (const job of back) {
        queue.removeHandle(-(IndexSlot.get(job) as number) - 1);
        this.size--;
        later(job);
      }
      if (queue.size === 0) this.emptied(group);
      if (back.length > 0) this.refresh(group);
    }
  }

  private emptied(group: string): void {
    this.ready.delete(group);
    this.last.delete(group);
  }

  /**
   * One more (or fewer) scheduled or running job of `group`. A group with
   * none is idle and leaves the rotation once the change that made it so is
   * applied (`changed`): a state change passes through zero (unindexed,
   * then indexed again).
   */
  live(group: string, delta: number): void {
    const n = (this.members.get(group) ?? 0) + delta;
    if (n > 0) this.members.set(group, n);
    else {
      this.members.delete(group);
      if (this.turns.has(group)) this.idle.add(group);
    }
  }

  /** A change was applied: groups it left idle leave the rotation. */
  changed(): void {
    if (this.idle.size > 0) this.sweep();
  }

  private sweep(): void {
    for (const group of this.idle) if (!this.members.has(group)) this.turns.delete(group);
    this.idle.clear();
  }

  turnOf(lane: string): number {
    return this.turns.get(lane) ?? 0;
  }

  /** `lane` was just served: it goes to the back of the rotation. */
  served(lane: string): void {
    this.turns.set(lane, ++this.tick);
  }

  /**
   * Pops the head of `group`'s queue, picked by a claim: the group counts it
   * as running until the claim ends (the caller then puts it as running,
   * which counts it for good), and goes to the back of the rotation, keeping
   * its place there while its job runs, even with nothing else waiting.
   */
  take(group: string): void {
    const queue = this.ready.get(group) as ReadyQueue;
    queue.pop();
    this.size--;
    if (queue.size === 0) this.emptied(group);
    this.claimed.set(group, (this.claimed.get(group) ?? 0) + 1);
    this.served(group);
    this.refresh(group);
  }

  /**
   * The claim is over. Its groups stay where take left them in `heads`: the
   * caller puts each job it took as running right away (started), which
   * counts what `claimed` counted.
   */
  endClaim(): void {
    this.claimed.clear();
  }
}

/**
 * The groups of one name whose head may start, best first (`better`), each
 * found by its group, so a head that changes moves in O(log groups).
 */
export class HeadHeap {
  private readonly heap = new PlacedHeap<Candidate>((a, b) => better(a, b));
  private readonly byGroup = new Map<string, Candidate>();

  get size(): number {
    return this.heap.size;
  }

  peek(): Candidate | undefined {
    return this.heap.peek();
  }

  /** Adds `c`, or puts it in place of its group's entry. */
  set(c: Candidate): void {
    const old = this.byGroup.get(c.group);
    if (old === undefined) this.heap.push(c);
    else this.heap.replace(old, c);
    this.byGroup.set(c.group, c);
  }

  delete(group: string): void {
    const old = this.byGroup.get(group);
    if (old === undefined) return;
    this.heap.remove(old);
    this.byGroup.delete(group);
  }
}

/** True when candidate `a` (in lane turn `ta`) goes before `b` (turn `tb`). */
function before(a: JobRecord, ta: number, b: JobRecord, tb: number): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (ta !== tb) return ta < tb;
  return a.runAt < b.runAt || (a.runAt === b.runAt && a.seq < b.seq);
}

/** A group's head competing in claims, with its lane's turn (and its place in its HeadHeap). */
interface Candidate extends Placed {
  group: string;
  head: JobRecord;
  turn: number;
}

const better = (a: Candidate, b: Candidate): boolean => before(a.head, a.turn, b.head, b.turn);

/**
 * LocalState.pick when grouped jobs are ready or a rate limit applies: the
 * heads of the names' queues (lane NO_GROUP) and of the groups that have a
 * free slot compete, by priority, then lane turn, then runAt, then
 * insertion; a head whose name is over its rate limit (`gate`) waits where
 * it is. Removes the picked jobs from their queues. The groups' heads are
 * read from `lanes.heads`, best first per name: O(names + log groups) a
 * picked job. (It built a heap of every group's head per claim until
 * 5 December 2026: 4e4 jobs in groups of their own took 39 s to run, 4e3
 * claims each walking every group.)
 */
export function pickLanes(
  names: ReadonlyMap<string, ReadyLane>,
  lanes: GroupLanes,
  request: ClaimRequest,
  gate?: RateGate,
): ClaimResult {
  const jobs: JobRecord[] = [];
  const taken = new Map<string, number>();
  const waiting = new Set<string>();
  const room = (name: string): boolean => request.capacity(name) - (taken.get(name) ?? 0) > 0;
  for (const [name, heads] of lanes.heads) if (heads.size > 0 && request.capacity(name) <= 0) waiting.add(name);
  try {
    while (jobs.length < request.limit) {
      let best: JobRecord | undefined;
      let bestTurn = 0;
      let bestQueue: ReadyLane | undefined;
      const plainTurn = lanes.turnOf(NO_GROUP);
      for (const [name, queue] of names) {
        if (queue.size === 0) continue;
        if (!room(name)) {
          waiting.add(name);
          continue;
        }
        if (gate && !gate.allow(name)) continue;
        const head = queue.peek() as JobRecord;
        if (!best || before(head, plainTurn, best, bestTurn)) {
          best = head;
          bestTurn = plainTurn;
          bestQueue = queue;
        }
      }
      // The best group that may start now: the best head of the names with a free slot and within their rate.
      let top: Candidate | undefined;
      for (const [name, heads] of lanes.heads) {
        const c = heads.peek();
        if (c === undefined || !room(name) || (gate && !gate.allow(name))) continue;
        if (!top || better(c, top)) top = c;
      }
      // A name that is full holds back its groups that would have come before that one.
      for (const [name, heads] of lanes.heads) {
        const c = heads.peek();
        if (c !== undefined && !room(name) && (!top || better(c, top))) waiting.add(name);
      }
      if (top && (!best || before(top.head, top.turn, best, bestTurn))) {
        best = top.head;
        bestQueue = undefined;
      }
      if (!best) break;
      if (bestQueue) {
        bestQueue.pop();
        lanes.served(NO_GROUP);
      } else lanes.take(best.group as string);
      jobs.push(best);
      taken.set(best.name, (taken.get(best.name) ?? 0) + 1);
      gate?.took(best.name);
    }
  } finally {
    lanes.endClaim();
  }
  const result: ClaimResult = { jobs, waiting: [...waiting] };
  if (gate?.retryAt !== undefined) result.retryAt = gate.retryAt;
  return result;
}
