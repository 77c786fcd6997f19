/**
 * The harness of the model-based Store tests (issue 19), used by
 * store-model.test.ts (Memory, JsonFile), redis-model.test.ts and
 * postgres-model.test.ts: fast-check runs random
 * sequences of inserts (reject/keep/replace, batches), claims, settles (with
 * live and stale tokens), cancels, reschedules, revives and — for the durable
 * store — reopens, against a plain in-memory model of what was acknowledged.
 * After every command the store's list() and counts() must equal the model.
 * The model shares no code with the stores.
 *
 * Times sit in two bands so one model fits every store, the server-backed ones included
 * (their claims use the server's clock, not the request's): due ones before `base`,
 * far-future ones an hour after it.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DuplicateJobError, JobNotFoundError } from '../src/errors.js';
import type { DuplicateMode, JobRecord, NewJobRecord, Store } from '../src/store/store.js';
import { storeContext } from './store-conformance.js';

const HOUR = 3_600_000;
const IDS = ['a', 'b', 'c', 'd', 'e'];
const NAMES = ['x', 'y'];

type State = JobRecord['state'];
interface ModelJob {
  id: string;
  name: string;
  state: State;
  runAt: number;
  priority: number;
  attempt: number;
  payload: number;
  seq: number;
  token?: string;
}
interface Model {
  base: number;
  jobs: Map<string, ModelJob>;
  seq: number;
  /** Tokens of attempts that no longer own their job (replaced, cancelled, settled). */
  stale: { id: string; token: string }[];
}
export interface Real {
  store: Store;
  /** The records the store handed out at claim, by token (settle needs the whole record). */
  claimed: Map<string, JobRecord>;
  /** A new instance over the same storage (durable stores). */
  reopen?: () => Promise<Store>;
}

/** Offsets in the due band (≤ 0) or the future band (≥ 1 h), as the arbitraries give them. */
const when = fc.oneof(fc.integer({ min: -50, max: 0 }), fc.integer({ min: HOUR, max: HOUR + 50 }));
const at = (m: Model, offset: number): number => m.base - 1000 + offset;

let tokenCounter = 0;
const newToken = (): string => `m${process.pid}-${++tokenCounter}`;

function view(job: { id: string; name: string; state: State; runAt: number; priority: number; attempt: number; payload: unknown }): string {
  return JSON.stringify([job.id, job.name, job.state, job.runAt, job.priority, job.attempt, job.payload]);
}

async function checkAgainst(m: Model, r: Real): Promise<void> {
  const listed = await r.store.list({});
  const expected = [...m.jobs.values()].map(view).sort();
  assert.deepEqual(listed.map(view).sort(), expected, 'list() = the acknowledged jobs');
  for (let i = 1; i < listed.length; i++) assert.ok(listed[i - 1]!.runAt <= listed[i]!.runAt, 'list() is ordered by runAt');
  const counts = r.store.counts();
  const count = (state: State): number => [...m.jobs.values()].filter((j) => j.state === state).length;
  assert.deepEqual(
    { scheduled: counts.scheduled, running: counts.running, completed: counts.completed, dead: counts.dead, cancelled: counts.cancelled },
    { scheduled: count('scheduled'), running: count('running'), completed: count('completed'), dead: count('dead'), cancelled: count('cancelled') },
    'counts() = the model',
  );
  // Each scheduled job sits in exactly one index (the due heap, a name's ready queue, a group's queue).
  assert.equal(counts.indexed, count('scheduled'), 'counts().indexed = the scheduled jobs');
}

type Cmd = fc.AsyncCommand<Model, Real>;

class Insert implements Cmd {
  constructor(
    readonly items: { id: string; name: string; offset: number; priority: number; payload: number }[],
    readonly mode: Exclude<DuplicateMode, 'keepIfSame'>,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const requests = this.items.map((it) => ({
      record: {
        id: it.id,
        name: it.name,
        payload: it.payload,
        state: 'scheduled',
        runAt: at(m, it.offset),
        createdAt: m.base,
        attempt: 0,
        priority: it.priority,
      } satisfies NewJobRecord,
      onDuplicate: this.mode,
    }));
    // What the model says: all or none.
    const pending = new Map(m.jobs);
    const outcomes: string[] = [];
    let duplicate: string | undefined;
    let seq = m.seq;
    for (const it of this.items) {
      const existing = pending.get(it.id);
      if (existing && this.mode === 'reject') {
        duplicate = it.id;
        break;
      }
      if (existing && this.mode === 'keep') {
        outcomes.push('kept');
        continue;
      }
      pending.set(it.id, { id: it.id, name: it.name, state: 'scheduled', runAt: at(m, it.offset), priority: it.priority, attempt: 0, payload: it.payload, seq: seq++ });
      outcomes.push(existing ? 'replaced' : 'inserted');
    }
    if (duplicate !== undefined) {
      await assert.rejects(r.store.insert(requests), (e: unknown) => e instanceof DuplicateJobError && e.id === duplicate);
      return;
    }
    const results = await r.store.insert(requests);
    assert.deepEqual(results.map((x) => x.outcome), outcomes);
    for (const [i, result] of results.entries()) {
      const expected = pending.get(this.items[i]!.id)!;
      // A batch that names an id twice answers each item as it stood then; the last one wins.
      if (this.items.findLastIndex((x) => x.id === expected.id) === i) assert.equal(view(result.record), view(expected));
    }
    for (const job of m.jobs.values()) {
      const now = pending.get(job.id);
      if (job.token && now !== job) m.stale.push({ id: job.id, token: job.token });
    }
    m.jobs = pending;
    m.seq = seq;
  }
  toString = (): string => `insert(${this.mode}, ${JSON.stringify(this.items)})`;
}

class Claim implements Cmd {
  constructor(readonly limit: number) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const due = [...m.jobs.values()]
      .filter((j) => j.state === 'scheduled' && j.runAt <= m.base)
      .sort((a, b) => b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq);
    const picked = due.slice(0, this.limit);
    const { jobs } = await r.store.claim({ now: m.base, limit: this.limit, capacity: () => 1000, token: newToken });
    assert.deepEqual(
      jobs.map((j) => j.id),
      picked.map((j) => j.id),
      'claims the due jobs by priority, then runAt, then insertion order',
    );
    for (const job of jobs) {
      const mj = m.jobs.get(job.id)!;
      assert.equal(job.state, 'running');
      assert.equal(job.attempt, mj.attempt + 1);
      assert.ok(job.token);
      m.jobs.set(job.id, { ...mj, state: 'running', attempt: mj.attempt + 1, token: job.token });
      r.claimed.set(job.token, job);
    }
  }
  toString = (): string => `claim(${this.limit})`;
}

class Settle implements Cmd {
  constructor(
    readonly pick: number,
    readonly outcome: 'completed' | 'dead' | 'scheduled',
    readonly offset: number,
  ) {}
  check = (m: Model): boolean => [...m.jobs.values()].some((j) => j.state === 'running');
  async run(m: Model, r: Real): Promise<void> {
    const running = [...m.jobs.values()].filter((j) => j.state === 'running').sort((a, b) => (a.id < b.id ? -1 : 1));
    const mj = running[this.pick % running.length]!;
    const record = r.claimed.get(mj.token!)!;
    const runAt = this.outcome === 'scheduled' ? at(m, this.offset) : record.runAt;
    const next: JobRecord = { ...record, state: this.outcome, runAt, ...(this.outcome === 'scheduled' ? {} : { finishedAt: m.base }) };
    assert.equal(await r.store.settle(mj.id, mj.token!, next), true);
    m.stale.push({ id: mj.id, token: mj.token! });
    const { token: _t, ...rest } = mj;
    m.jobs.set(mj.id, { ...rest, state: this.outcome, runAt });
  }
  toString = (): string => `settle(${this.pick}, ${this.outcome}, ${this.offset})`;
}

class SettleStale implements Cmd {
  constructor(readonly pick: number) {}
  check = (m: Model): boolean => m.stale.length > 0;
  async run(m: Model, r: Real): Promise<void> {
    const { id, token } = m.stale[this.pick % m.stale.length]!;
    const record = r.claimed.get(token)!;
    assert.equal(await r.store.settle(id, token, { ...record, state: 'completed', finishedAt: m.base }), false, 'a stale token settles nothing');
  }
  toString = (): string => `settleStale(${this.pick})`;
}

class Cancel implements Cmd {
  constructor(readonly id: string) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const mj = m.jobs.get(this.id);
    const got = await r.store.cancel(this.id, m.base);
    if (!mj || (mj.state !== 'scheduled' && mj.state !== 'running')) {
      assert.equal(got, undefined);
      return;
    }
    assert.equal(got?.state, 'cancelled');
    if (mj.token) m.stale.push({ id: mj.id, token: mj.token });
    const { token: _t, ...rest } = mj;
    m.jobs.set(mj.id, { ...rest, state: 'cancelled' });
  }
  toString = (): string => `cancel(${this.id})`;
}

class Reschedule implements Cmd {
  constructor(
    readonly id: string,
    readonly offset: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const mj = m.jobs.get(this.id);
    const runAt = at(m, this.offset);
    if (mj?.state !== 'scheduled') {
      await assert.rejects(r.store.reschedule(this.id, runAt), JobNotFoundError);
      return;
    }
    assert.equal((await r.store.reschedule(this.id, runAt)).runAt, runAt);
    m.jobs.set(mj.id, { ...mj, runAt });
  }
  toString = (): string => `reschedule(${this.id}, ${this.offset})`;
}

class Revive implements Cmd {
  constructor(
    readonly id: string,
    readonly offset: number,
  ) {}
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    const mj = m.jobs.get(this.id);
    const runAt = at(m, this.offset);
    if (mj?.state !== 'dead' && mj?.state !== 'cancelled') {
      await assert.rejects(r.store.revive(this.id, runAt), JobNotFoundError);
      return;
    }
    const got = await r.store.revive(this.id, runAt);
    assert.equal(got.state, 'scheduled');
    m.jobs.set(mj.id, { ...mj, state: 'scheduled', runAt, attempt: 0 });
  }
  toString = (): string => `revive(${this.id}, ${this.offset})`;
}

/** Close and open a new instance over the same files: running attempts come back scheduled (their process died). */
class Reopen implements Cmd {
  check = (): boolean => true;
  async run(m: Model, r: Real): Promise<void> {
    await r.store.close();
    r.store = await r.reopen!();
    await r.store.open(storeContext({ now: () => m.base }));
    for (const mj of m.jobs.values()) {
      if (mj.state !== 'running') continue;
      m.stale.push({ id: mj.id, token: mj.token! });
      const { token: _t, ...rest } = mj;
      m.jobs.set(mj.id, { ...rest, state: 'scheduled' });
    }
  }
  toString = (): string => 'reopen';
}

/** How often each command ran (a property that never runs a command proves nothing about it). */
const ran = new Map<string, number>();
/** Batches of runs runModel makes at most to see every kind of command run its share (see runModel). */
const MAX_BATCHES = 4;

/** Every command checks the store against the model afterwards. */
function checked(command: Cmd): Cmd {
  return {
    check: (m) => command.check(m),
    run: async (m, r) => {
      await command.run(m, r);
      await checkAgainst(m, r);
      const kind = command.toString().replace(/\(.*/, '');
      ran.set(kind, (ran.get(kind) ?? 0) + 1);
    },
    toString: () => command.toString(),
  };
}

function commands(durable: boolean): fc.Arbitrary<Cmd>[] {
  const id = fc.constantFrom(...IDS);
  const item = fc.record({ id, name: fc.constantFrom(...NAMES), offset: when, priority: fc.integer({ min: 0, max: 2 }), payload: fc.integer({ min: 0, max: 99 }) });
  const list: fc.Arbitrary<Cmd>[] = [
    fc.tuple(fc.array(item, { minLength: 1, maxLength: 3 }), fc.constantFrom('reject', 'keep', 'replace') as fc.Arbitrary<'reject' | 'keep' | 'replace'>).map(([items, mode]) => new Insert(items, mode)),
    fc.integer({ min: 1, max: 4 }).map((limit) => new Claim(limit)),
    fc.tuple(fc.nat(), fc.constantFrom('completed', 'dead', 'scheduled') as fc.Arbitrary<'completed' | 'dead' | 'scheduled'>, when).map(([p, o, w]) => new Settle(p, o, w)),
    fc.nat().map((p) => new SettleStale(p)),
    id.map((i) => new Cancel(i)),
    fc.tuple(id, when).map(([i, w]) => new Reschedule(i, w)),
    fc.tuple(id, when).map(([i, w]) => new Revive(i, w)),
  ];
  if (durable) list.push(fc.constant(new Reopen()));
  return list.map((arb) => arb.map(checked));
}

/**
 * Runs `numRuns` random command sequences against fresh stores from `make`,
 * then checks that every kind of command ran at least `numRuns / 15` times
 * (a model run in which settles never ran would check nothing about them).
 * The sequences are random on every run, and some commands run only when the
 * model allows (a settle needs a claimed job), so a batch can fall short of
 * that bar by chance: up to MAX_BATCHES batches of `numRuns` run until every
 * kind reaches it. A kind that still falls short fails the test.
 */
export async function runModel(make: () => Promise<Real & { cleanup(): Promise<void> }>, durable: boolean, numRuns: number, base: () => number): Promise<void> {
  ran.clear();
  const kinds = ['insert', 'claim', 'settle', 'settleStale', 'cancel', 'reschedule', 'revive', ...(durable ? ['reopen'] : [])];
  const least = Math.max(1, Math.floor(numRuns / 15));
  const short = (): string[] => kinds.filter((kind) => (ran.get(kind) ?? 0) < least);
  for (let batch = 0; batch === 0 || (batch < MAX_BATCHES && short().length > 0); batch++) {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands(durable), { maxCommands: 40, size: 'max' }), async (cmds) => {
        const real = await make();
        const model: Model = { base: base(), jobs: new Map(), seq: 0, stale: [] };
        let closed = false;
        try {
          await real.store.open(storeContext({ now: () => model.base }));
          await fc.asyncModelRun(() => ({ model, real }), cmds);
          await real.store.close();
          closed = true;
        } finally {
          // A failed run must close its store too: an open client keeps the test file from exiting.
          if (!closed) await real.store.close().catch(() => undefined);
          await real.cleanup();
        }
      }),
      { numRuns },
    );
  }
  // Settles need a claim with running jobs first: they are the rarest command.
  for (const kind of short()) assert.fail(`${kind} ran ${ran.get(kind) ?? 0} times in ${MAX_BATCHES} batches of ${numRuns} runs (at least ${least} wanted): ${JSON.stringify([...ran])}`);
}

