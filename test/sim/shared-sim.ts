/**
 * Shared stores under the simulation: the same seeded workload, handlers and
 * model as the local simulation, run against a real server (RedisStore on a
 * redis-server, PostgresStore on a PostgreSQL server, each started on a free
 * loopback port) by several schedulers at once, each with its own store and
 * connections, in real time (the server keeps its own clock, so there is no
 * VirtualClock here and the due-time and slot-grid checks are off; every
 * other invariant holds). What differs between servers is a SharedBackend
 * (redis-sim.ts, postgres-sim.ts): how a worker's store and connections are
 * made, killed and dropped, and how writes are held up.
 *
 * Faults: a worker killed at a random point (its connections dropped by the
 * server, its timers and handlers dead, a new worker started in its place),
 * every connection dropped at once, writes held up longer than a lease,
 * graceful restarts, and (where the backend can) the server itself crashed
 * and restarted.
 *
 * Replay is by seed, but only the workload and fault choices replay exactly:
 * real time and the server's scheduling decide the interleavings.
 */
import { SystemClock } from '../../src/clock.js';
import { Scheduler } from '../../src/scheduler.js';
import type { JobRecord, Store } from '../../src/store/store.js';
import { execOp, handle, type ActionContext, type Actor } from './actions.js';
import { seedRandomness } from './determinism.js';
import { SimViolation } from './invariants.js';
import { MAIN, type Expectations } from './known.js';
import { Model, iso } from './model.js';
import { NAMES, ONE_OFF_IDS, SCHEDULE_IDS, WINDOW_JOB, dedupeName, jobOpts, retrySpec, withDedupe, type HandlerSpec, type JobOpts, type Op, type RetrySpec } from './plan.js';
import { Prng } from './prng.js';
import { formatCoverage } from './report.js';
import type { RunResult } from './run.js';
import { ProcessClock, type Jobs } from './world.js';

const DEFAULT_RETRY: RetrySpec = { maxRetries: 3, backoff: { type: 'exponential', delay: 1000 } };

type RStep =
  | { k: 'op'; op: Op }
  | { k: 'burst'; ops: Op[] }
  | { k: 'sleep'; ms: number }
  | { k: 'kill'; worker: number }
  | { k: 'restart'; worker: number }
  | { k: 'clientKill' }
  | { k: 'pause'; ms: number }
  | { k: 'serverRestart' };

/** A worker's store and its connections, as a SharedBackend made them. */
export interface WorkerStore {
  store: Store;
  /** The process died: its connections must never come back (no reconnect). */
  kill(): void;
  /** Drops its connections (after a kill or a graceful stop). */
  disconnect(): void;
}

/** What the shared simulation needs from a server. */
export interface SharedBackend {
  /** `redis`, `postgres`: in replay hints (`npm run sim -- --store <label>`). */
  readonly label: string;
  /** Where the scenario keeps its jobs (a Redis prefix, a PostgreSQL schema), new per scenario. */
  begin(seed: number): Promise<void>;
  /** A store for worker `name`, its connections named after it. */
  open(name: string, options: { leaseMs: number }): WorkerStore;
  /** The server drops every connection of worker `name`. */
  killConnections(name: string): Promise<void>;
  /** The server drops every connection but the harness's own. */
  dropAll(): Promise<void>;
  /** Holds writes up for `ms` (leases lapse meanwhile); resolves when they flow again, with whether they were held. */
  holdWrites(ms: number): Promise<boolean>;
  /** Lets writes flow again now. */
  release(): Promise<void>;
  /** A hold of writes longer than the store's deadline for a call (undefined: none): calls waiting on it time out. */
  readonly longHoldMs?: number;
  /** Crashes the server and starts it again (undefined: this backend cannot). */
  restartServer?: () => Promise<void>;
  /** Removes the scenario's data and the harness's connections. */
  end(): Promise<void>;
}

export interface SharedScenario {
  seed: number;
  workers: number;
  leaseMs: number;
  concurrency: number;
  retry?: RetrySpec;
  handlers: HandlerSpec[];
  steps: RStep[];
}

function sharedOp(prng: Prng): Op {
  const name = prng.pick(NAMES);
  const kind = prng.weighted({ in: 10, at: 2, cron: 2, every: 2, many: 2, cancel: 4, reschedule: 2, retry: 2, get: 1, invalid: 0.5 });
  const opts = (ids: readonly string[]): { opts?: JobOpts } => {
    const o = jobOpts(prng, ids, 0.7);
    if (o?.timeout !== undefined) o.timeout = prng.pick([300, 1000]);
    if (o?.retry) o.retry = { ...o.retry, backoff: { type: 'fixed', delay: prng.pick([0, 50, 200]) } };
    return o ? { opts: o } : {};
  };
  // Some one-offs open or meet a dedupe window instead (plan.ts withDedupe): processes race on a
  // key. More of them than in the local workload: a scenario here has a few dozen calls, not hundreds.
  const oneOff = (): { name: string; opts?: JobOpts } => {
    const o = withDedupe(prng, opts(ONE_OFF_IDS).opts, 0.35);
    return { name: dedupeName(o, name), ...(o ? { opts: o } : {}) };
  };
  switch (kind) {
    case 'in':
      return { op: 'in', delay: prng.int(0, 1500), ...oneOff() };
    case 'at':
      return { op: 'at', offset: prng.int(-500, 1500), ...oneOff() };
    case 'cron':
      return { op: 'cron', name, expr: prng.pick(['* * * * * *', '*/2 * * * * *']), ...(prng.chance(0.5) ? { misfire: prng.pick(['once', 'skip', 'all'] as const) } : {}), ...opts(SCHEDULE_IDS) };
    case 'every':
      return { op: 'every', name, interval: prng.pick([300, 700, 1500]), ...(prng.chance(0.3) ? { limit: prng.int(1, 4) } : {}), ...opts(SCHEDULE_IDS) };
    case 'many': {
      // Two items of one window in one call are refused (ValidationError): one window item at most.
      let windowed = false;
      const items = Array.from({ length: prng.int(1, 3) }, () => {
        const item = { name: prng.pick(NAMES), delay: prng.int(0, 1000), ...opts(ONE_OFF_IDS) };
        if (windowed) return item;
        const o = withDedupe(prng, item.opts, 0.35);
        if (o?.dedupe === undefined) return item;
        windowed = true;
        return { ...item, name: dedupeName(o, item.name), opts: o };
      });
      return { op: 'many', items };
    }
    case 'cancel':
      return { op: 'cancel', id: prng.chance(0.15) ? WINDOW_JOB : prng.pick(prng.chance(0.8) ? ONE_OFF_IDS : SCHEDULE_IDS) };
    case 'reschedule':
      return { op: 'reschedule', id: prng.chance(0.15) ? WINDOW_JOB : prng.pick(ONE_OFF_IDS), offset: prng.int(0, 1500) };
    case 'retry':
      return { op: 'retry', id: prng.chance(0.15) ? WINDOW_JOB : prng.pick(ONE_OFF_IDS) };
    case 'get':
      return { op: 'get', id: prng.pick(ONE_OFF_IDS) };
    default:
      return { op: 'invalid', what: prng.pick(['delay', 'cron', 'payload'] as const) };
  }
}

export function generateShared(seed: number, expect: Expectations, options: { serverRestarts?: boolean; longHoldMs?: number | undefined } = {}): SharedScenario {
  // The stream names predate PostgresStore's runs: kept, so a Redis seed still makes the same scenario.
  const prng = Prng.derive(seed, 'redis-plan');
  const workers = prng.int(2, 3);
  const steps: RStep[] = [];
  const n = prng.int(6, 16);
  for (let i = 0; i < n; i++) {
    const kind = prng.weighted({
      op: 6,
      burst: 3,
      sleep: 5,
      kill: 1.2,
      restart: 0.6,
      clientKill: expect.crashRule ? 0.8 : 0,
      pause: expect.crashRule ? 0.5 : 0,
      serverRestart: options.serverRestarts === true && expect.crashRule ? 0.4 : 0,
    });
    switch (kind) {
      case 'op':
        steps.push({ k: 'op', op: sharedOp(prng) });
        break;
      case 'burst':
        steps.push({ k: 'burst', ops: Array.from({ length: prng.int(2, 5) }, () => sharedOp(prng)) });
        break;
      case 'sleep':
        steps.push({ k: 'sleep', ms: prng.pick([10, 100, 300, 800]) });
        break;
      case 'kill':
      case 'restart':
        steps.push({ k: kind, worker: prng.int(0, workers - 1) });
        break;
      case 'clientKill':
      case 'serverRestart':
        steps.push({ k: kind });
        break;
      default:
        steps.push({ k: 'pause', ms: prng.pick(options.longHoldMs === undefined ? [200, 900] : [200, 900, options.longHoldMs]) });
    }
  }
  return {
    seed,
    workers,
    leaseMs: 600,
    concurrency: prng.pick([2, 5, 10]),
    ...(prng.chance(0.5) ? { retry: { ...retrySpec(prng), backoff: { type: 'fixed' as const, delay: 100 } } } : {}),
    handlers: NAMES.map((name) => ({ name, ...(prng.chance(0.3) ? { concurrency: prng.int(1, 3) } : {}), ...(prng.chance(0.4) ? { timeout: 500 } : {}), ...(prng.chance(0.25) ? { rateLimit: { max: prng.int(2, 5), durationMs: prng.pick([100, 300]) } } : {}) })),
    steps,
  };
}

interface Worker extends Actor {
  alive: boolean;
  scheduler: Scheduler<Jobs>;
  store: Store;
  conn: WorkerStore;
  clock: ProcessClock;
  readonly pending: Set<Promise<unknown>>;
  name: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `promise` up to `ms` of real time. */
async function within<T>(promise: Promise<T>, ms: number): Promise<{ done: true; value?: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ done: true as const, value }), () => ({ done: true as const })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

class SharedRunner implements ActionContext {
  readonly model: Model;
  readonly seed: number;
  final = false;
  /** Handler delays and callback times shrink to fit real time. */
  readonly timeScale = 0.02;

  mayPushBack(name: string): boolean {
    return this.sc.handlers.some((h) => h.name === name && h.rateLimit !== undefined);
  }
  private readonly workers: (Worker | undefined)[] = [];
  /** Worker pids (and connection names) unique across the scenarios of one process. */
  private static nextPid = 5_000_001;

  constructor(
    readonly backend: SharedBackend,
    readonly sc: SharedScenario,
    readonly expect: Expectations,
  ) {
    this.seed = sc.seed;
    const handler = (name: string): HandlerSpec | undefined => sc.handlers.find((h) => h.name === name);
    this.model = new Model({
      concurrency: sc.concurrency,
      handlerConcurrency: (name) => handler(name)?.concurrency ?? Infinity,
      policy: (ins) => ins.retry ?? handler(ins.name)?.retry ?? sc.retry ?? DEFAULT_RETRY,
      timeout: (ins) => ins.timeout ?? handler(ins.name)?.timeout,
      keepSmall: false,
      expect,
      timeChecks: false,
      callOrder: false,
    });
  }

  now(): number {
    return Date.now();
  }

  bump(): void {}

  readonly trace: string[] = [];
  log = (line: string): void => {
    this.trace.push(`${new Date().toISOString()} ${line}`);
  };

  private async startWorker(slot: number): Promise<void> {
    const pid = SharedRunner.nextPid++;
    const name = `w${pid}`;
    const conn = this.backend.open(name, { leaseMs: this.sc.leaseMs });
    const store = conn.store;
    const clock = new ProcessClock(new SystemClock());
    const scheduler = new Scheduler<Jobs>({ store, clock, concurrency: this.sc.concurrency, ...(this.sc.retry ? { retry: this.sc.retry } : {}) });
    const pending = new Set<Promise<unknown>>();
    const worker: Worker = {
      pid,
      name,
      alive: true,
      scheduler,
      store,
      conn,
      clock,
      pending,
      track: <T>(promise: Promise<T>): Promise<T> => {
        pending.add(promise);
        const done = (): void => void pending.delete(promise);
        promise.then(done, done);
        return promise;
      },
      sleep: (ms: number): Promise<void> => (ms <= 0 ? Promise.resolve() : new Promise((resolve) => clock.setTimer(Date.now() + ms, resolve))),
    };
    for (const h of this.sc.handlers) {
      scheduler.register(h.name, (ctx) => handle(this, worker, ctx), { ...(h.concurrency ? { concurrency: h.concurrency } : {}), ...(h.timeout ? { timeout: h.timeout } : {}), ...(h.rateLimit ? { rateLimit: h.rateLimit } : {}) });
    }
    for (const type of ['completed', 'dead', 'failed', 'misfired', 'rateLimited'] as const) {
      scheduler.on(type, (payload) => {
        if (worker.alive) this.model.onEvent(pid, type, payload as never);
      });
    }
    scheduler.on('error', (e) => {
      this.model.coverage.hit('event.error');
      this.log(`${name} error event: ${e.error.message}`);
    });
    const started = await within(scheduler.start(), 10_000);
    if (!started.done) throw new SimViolation('settled', `worker ${name}: start() did not settle in 10 s`);
    this.workers[slot] = worker;
    this.model.coverage.hit('process.started');
  }

  /** Kills a worker at once: the server drops its connections, its timers and handlers die. */
  private async kill(slot: number): Promise<void> {
    const w = this.workers[slot];
    if (!w?.alive) return;
    w.alive = false;
    w.conn.kill();
    w.clock.kill();
    this.model.crash(w.pid);
    await this.backend.killConnections(w.name);
    w.conn.disconnect();
    void within(w.store.close(), 2000); // clears its own intervals; its release fails (connection gone)
    this.model.coverage.hit('crash.worker');
    await this.startWorker(slot);
  }

  private live(): Worker[] {
    return this.workers.filter((w): w is Worker => w?.alive === true);
  }

  private async stopWorker(w: Worker): Promise<void> {
    const stopped = await within(w.scheduler.stop({ timeout: 3000 }), 10_000);
    this.model.coverage.check('settled');
    if (!stopped.done) throw new SimViolation('settled', `worker ${w.name}: stop({ timeout: 3000 }) did not return in 10 s`);
    await sleep(5);
    if (w.pending.size > 0) throw new SimViolation('settled', `worker ${w.name}: ${w.pending.size} call(s) still pending after stop() resolved`);
    w.alive = false;
    w.conn.kill();
    w.clock.kill();
    this.model.crash(w.pid);
    w.conn.disconnect();
  }

  private async check(phase: 'live' | 'final'): Promise<void> {
    const w = this.live()[0];
    if (!w) return;
    const asOf = this.model.now;
    const read = await within(w.store.list({}), 5000);
    if (!read.done || !read.value) return; // a dropped connection: checked again later
    const records = read.value;
    if (!this.expect.redisListAtomic) {
      // list() is not a snapshot (known.ts redisListAtomic): a job moving between indexes while it
      // reads (a schedule firing, even while the final check drains) can be left out. Each job it
      // left out is read again alone, with get(), which is atomic: missing there, it is missing.
      const listed = new Set(records.map((r) => r.id));
      for (const id of this.model.acknowledgedIds()) {
        if (listed.has(id)) continue;
        const one = await within(w.store.get(id).then((record) => ({ record })), 5000);
        if (!one.done || !one.value) return; // no answer (a dropped connection): checked again later
        if (one.value.record) records.push(one.value.record);
      }
    }
    this.model.checkRecords(records, phase, asOf);
    if (this.model.violation) throw this.model.violation;
  }

  private async call(w: Worker, ops: Op[]): Promise<void> {
    const calls = Promise.allSettled(ops.map((op) => execOp(this, w, op)));
    const done = await within(calls, 8000);
    this.model.coverage.check('settled');
    if (!done.done) {
      if (this.expect.crashRule) throw new SimViolation('settled', `a scheduler call on worker ${w.name} still pending after 8 s (${JSON.stringify(ops).slice(0, 200)})`);
      this.model.coverage.hit('tolerated.hungCall');
    }
  }

  async run(): Promise<void> {
    await this.backend.begin(this.sc.seed);
    try {
      for (let i = 0; i < this.sc.workers; i++) await this.startWorker(i);
      const prng = Prng.derive(this.sc.seed, 'redis-run');
      for (const step of this.sc.steps) {
        this.model.coverage.hit(`step.${step.k}`);
        this.log(`step ${JSON.stringify(step)}`);
        const live = this.live();
        const w = prng.pick(live.length > 0 ? live : [undefined]);
        switch (step.k) {
          case 'op':
          case 'burst':
            if (w) await this.call(w, step.k === 'op' ? [step.op] : step.ops);
            break;
          case 'sleep':
            await sleep(step.ms);
            break;
          case 'kill':
            await this.kill(step.worker % this.sc.workers);
            break;
          case 'restart': {
            const target = this.workers[step.worker % this.sc.workers];
            if (target?.alive) {
              await this.stopWorker(target);
              await this.startWorker(step.worker % this.sc.workers);
            }
            break;
          }
          case 'clientKill':
            await this.backend.dropAll();
            this.model.coverage.hit('fault.clientKill');
            break;
          case 'pause':
            if (await this.backend.holdWrites(step.ms)) {
              this.model.coverage.hit('fault.clientPause');
              if (step.ms === this.backend.longHoldMs) this.model.coverage.hit('fault.longHold');
            }
            break;
          case 'serverRestart':
            if (this.backend.restartServer) {
              await this.backend.restartServer();
              this.model.coverage.hit('fault.serverRestart');
            }
            break;
        }
        await this.check('live');
      }
      await this.finish();
    } finally {
      for (const w of this.workers) {
        if (!w) continue;
        w.alive = false;
        w.conn.kill();
        w.clock.kill();
        w.conn.disconnect();
      }
      await this.backend.end();
    }
  }

  private async finish(): Promise<void> {
    this.final = true;
    await this.backend.release();
    // Attempts still hanging: graceful restarts abort them; then everything due runs.
    for (let i = 0; i < this.sc.workers; i++) {
      const w = this.workers[i];
      if (w?.alive && this.model.liveAttempts(w.pid).length > 0) {
        await this.stopWorker(w);
        await this.startWorker(i);
      }
    }
    const deadline = Date.now() + 20_000;
    let records = await this.list();
    while (Date.now() < deadline) {
      const pending = records.filter((r) => !r.recur && (r.state === 'scheduled' || r.state === 'running'));
      this.log(`drain: ${pending.map((r) => `${r.id} ${r.state} ${iso(r.runAt)} a${r.attempt}`).join(', ')}; live ${this.live().map((w) => `${w.name}:${this.model.liveAttempts(w.pid).map((a) => a.id).join('/')}`).join(' ')}`);
      if (pending.length === 0 && this.live().every((w) => this.model.liveAttempts(w.pid).length === 0)) break;
      await sleep(100);
      records = await this.list();
    }
    await this.check('final');
    const pending = records.filter((r) => !r.recur && (r.state === 'scheduled' || r.state === 'running'));
    this.model.coverage.check('atLeastOnce');
    if (pending.length > 0) {
      throw new SimViolation('atLeastOnce', `after 20 s of draining, ${pending.map((r) => `${r.id} (${r.state}, due ${iso(r.runAt)})`).join(', ')} never finished`);
    }
    for (const w of this.live()) await this.stopWorker(w);
  }

  private async list(): Promise<JobRecord[]> {
    const w = this.live()[0];
    if (!w) return [];
    const read = await within(w.store.list({}), 5000);
    return read.done && read.value ? read.value : [];
  }
}

export async function runSharedScenario(backend: SharedBackend, seed: number, expect: Expectations = MAIN): Promise<RunResult> {
  seedRandomness(seed);
  const sc = generateShared(seed, expect, { serverRestarts: backend.restartServer !== undefined, longHoldMs: backend.longHoldMs });
  const runner = new SharedRunner(backend, sc, expect);
  try {
    await runner.run();
    if (runner.model.violation) throw runner.model.violation;
    return { seed, ok: true, steps: sc.steps.length, coverage: runner.model.coverage.counts, trace: runner.trace };
  } catch (error) {
    const v = error instanceof SimViolation ? error : undefined;
    return {
      seed,
      ok: false,
      invariant: v?.invariant ?? 'crash',
      message: v ? v.message : `the simulation itself threw: ${(error as Error)?.stack ?? String(error)}`,
      steps: sc.steps.length,
      coverage: runner.model.coverage.counts,
      trace: runner.trace,
    };
  }
}

export interface SharedMainOptions {
  seed?: string | undefined;
  from?: string | undefined;
  count?: string | undefined;
  minutes?: string | undefined;
  strict?: boolean;
}

/** `npm run sim -- --store <backend>`: `title` names the server in the first line. */
export async function sharedMain(backend: SharedBackend, title: string, options: SharedMainOptions): Promise<void> {
  const expect = options.strict ? { ...MAIN, crashRule: true } : MAIN;
  const from = options.seed !== undefined ? Number(options.seed) : options.from !== undefined ? Number(options.from) : Date.now() % 1_000_000;
  // --minutes without --count runs until the time is up, as the local simulation does
  // (it stopped after the default 20 scenarios, a few minutes' worth).
  const count = options.seed !== undefined ? 1 : options.count !== undefined ? Number(options.count) : options.minutes ? Number.MAX_SAFE_INTEGER - from : 20;
  const deadline = options.minutes ? Date.now() + Number(options.minutes) * 60_000 : Infinity;
  console.log(`${title} simulation from seed ${from}, ${options.minutes ? `${options.minutes} min` : `${count} scenarios`}`);
  const coverage: Record<string, number> = {};
  let failures = 0;
  let n = 0;
  const started = performance.now();
  for (let seed = from; seed < from + count && Date.now() < deadline; seed++) {
    const r = await runSharedScenario(backend, seed, expect);
    n++;
    for (const [k, v] of Object.entries(r.coverage)) coverage[k] = (coverage[k] ?? 0) + v;
    if (!r.ok) {
      failures++;
      console.log(r.trace.slice(options.seed !== undefined ? 0 : -25).join('\n'));
      console.log(`FAIL seed ${seed}: [${r.invariant}] ${r.message}\n  replay: npm run sim -- --store ${backend.label} --seed ${seed}${options.strict ? ' --strict' : ''}`);
    }
  }
  const s = (performance.now() - started) / 1000;
  console.log(`${n} scenarios in ${s.toFixed(1)} s: ${(n / s).toFixed(2)} scenarios/s, ${failures} failed`);
  console.log(formatCoverage(coverage));
  if (failures > 0) process.exitCode = 1;
}
