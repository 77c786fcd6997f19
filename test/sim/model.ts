/**
 * The oracle: a plain model of what the user was told, built only from the
 * outside (calls and their outcomes, handler invocations, events), never
 * from the store. Checks compare the store and the handlers' observations
 * against it.
 *
 * Every insert carries a unique payload `{ v }`, so any record, event or
 * handler call names the exact insert it came from. Facts are what the
 * system acknowledged about an insert (its record was scheduled, cancelled,
 * completed, died, a slot finished); a fact binds only while no call on the
 * same id is still undecided (pending, or in flight when a process died).
 */
import type { JobRecord } from '../../src/store/store.js';
import { slotProblem } from './cron-oracle.js';
import { Coverage, SimViolation, type InvariantName } from './invariants.js';
import type { Expectations } from './known.js';
import type { Dup, RetrySpec } from './plan.js';

export type OpStatus = 'pending' | 'acked' | 'rejected' | 'unknown';

export interface OpRec {
  seq: number;
  kind: string;
  id: string | undefined;
  pid: number;
  status: OpStatus;
  /** reschedule / retry: the requested time. */
  when?: number;
  /** Name of the error it was rejected with. */
  error?: string;
  /** Model sequence number at which it was decided. */
  settledAt?: number;
  /** inserts: the v of each item. */
  vs?: number[];
  /** reschedule: the due bound it set while pending (its ack replaces only that one). */
  pendingDue?: Due;
}

export interface InsertRec {
  v: number;
  op: OpRec;
  id: string | undefined;
  name: string;
  kind: 'in' | 'at' | 'cron' | 'every';
  mode: Dup | undefined;
  /** One-off: earliest start (wall), and whether it is elapsed time (moves with clock steps). */
  due?: Due;
  expr?: string;
  tz?: string;
  interval?: number;
  /** every: slot grid origin (wall; moves with clock steps while a process runs). */
  anchor?: number;
  misfire?: 'once' | 'skip' | 'all';
  /** every: other possible origins (a step whose re-basing was lost or skipped a running occurrence). */
  anchorAlts?: number[];
  /** every: after several such steps the grid is no longer known (its checks are skipped). */
  gridUnknown?: boolean;
  /** Wall time of the call (cron: the first slot comes after it). */
  created?: number;
  retry?: RetrySpec;
  timeout?: number;
  /** Its group and the group's concurrency. */
  group?: { id: string; limit: number };
  /** A dedupe call: its window's key, mode and length, and what dedupeCall noted when it was made. */
  dedupe?: { key: string; mode: 'throttle' | 'debounce'; ttlMs: number; at?: number; epoch?: number; callsBefore?: number; alone?: boolean };
  /** Acknowledged `throttled`: it created nothing, and its v must never be stored or run. */
  throttled?: boolean;
}

export interface Due {
  wall: number;
  elapsed: boolean;
  /**
   * Wall time, but standing for "this or a later elapsed-time due": a backward
   * step moves it back with that due (an undecided reschedule beside a delay).
   */
  backOnly?: boolean;
  /**
   * A later due an undecided call (a reschedule or retry to a wall time) may
   * have set instead; it keeps its own frame, so a forward step can carry an
   * elapsed-time `wall` past it (seeds 198001008, 198002568). The bound is
   * the earlier of the two.
   */
  alt?: Due;
  /** Set by a push-back (job.rateLimit): the name's window is in the process's memory on a local store, and a restart forgets it. */
  pushedBack?: true;
  /** The retry of a lost attempt charged at claim, from its `failed` event (elapsed time, moved by clock steps since). */
  charge?: true;
  why: string;
}

/** The earliest start a due allows: its own time, or an undecided call's alternative. */
function earliest(due: Due): { wall: number; why: string } {
  return due.alt !== undefined && due.alt.wall < due.wall ? due.alt : due;
}

/** `due` with `alt` as an alternative, when a step can carry `due` past it (the earlier alternative kept). */
function withAlt(due: Due, alt: Due): Due {
  if (!due.elapsed && due.backOnly !== true) return due;
  const kept = due.alt !== undefined && due.alt.wall <= alt.wall ? due.alt : alt;
  return { ...due, alt: kept };
}

type FactKind = 'scheduled' | 'cancelled' | 'completed' | 'dead' | 'revived' | 'slotDone';

interface Fact {
  seq: number;
  kind: FactKind;
  runAt?: Due;
  slot?: number;
  /** Another call on the id overlapped the one that taught this: the order they applied in is unknown. */
  weak?: boolean;
  /**
   * When the call that taught this was issued: a start of the same version after it may have
   * moved the record, even one seen before the call's acknowledgement was (a delay-0 job on
   * MemoryStore can start in the tick its insert applied, before the caller's await resumes;
   * seed 201008843).
   */
  from?: number;
  /** A cancel: a start after it was taken for the claim that preceded it (see onStart). */
  claimRace?: boolean;
}

export interface AttemptRec {
  pid: number;
  id: string;
  v: number;
  name: string;
  attempt: number;
  slot: number;
  startWall: number;
  recurring: boolean;
  ended?: 'ok' | 'fail' | 'unrecoverable' | 'aborted' | 'lost' | 'rateLimited';
  endWall?: number;
  /** Why the signal aborted: timeout, stop, other (cancel/replace). */
  abort?: 'timeout' | 'stop' | 'other';
  /** Matched with a completed/dead event. */
  confirmed?: boolean;
}

interface VState {
  ins: InsertRec;
  facts: Fact[];
  superseded?: number;
  /** A start of this superseded version was taken for a claim that preceded the replace (shared stores, once). */
  supersededRace?: boolean;
  startsInRun: number;
  stopAborted: number;
  /** Attempts of the current run (or slot) lost to a crash. */
  lost: number;
  /**
   * The job lived through a crash, then was rescheduled or debounced: a
   * claim written just before the crash (an attempt the model never saw
   * start) may have left a charge the store takes when the job comes due.
   */
  chargeUnseen?: boolean;
  curSlot?: number;
  slotStarts: number;
  doneSlots: Set<number>;
  maxDoneSlot: number;
  allowedSlots: Set<number>;
  rescheduled: boolean;
  /** Slots before this were declared missed by a `misfired` event: they never run. */
  missedBefore: number;
  nextDue?: Due | undefined;
  /** Seq of the latest call (reschedule, retry) that moved nextDue while pending. */
  boundSeq?: number;
  /** Seq of the latest retry() (pending or acknowledged) that started a new run (reset startsInRun, stopAborted, lost). */
  resetSeq?: number;
  /** An acknowledged insert stored this v (not kept an existing job). */
  stored: boolean;
  okEnds: number;
  /** `slot:attempt` -> how many times that attempt was pushed back by job.rateLimit (it keeps its number). */
  pushes: Map<string, number>;
  lastStartSeq: number;
}

/** What the model knows of the scenario's configuration. */
export interface ModelConfig {
  concurrency: number;
  handlerConcurrency: (name: string) => number;
  /** maxRetries and backoff for a job: its own, its handler's, the scheduler's, the default. */
  policy: (ins: InsertRec) => RetrySpec;
  timeout: (ins: InsertRec) => number | undefined;
  keepSmall: boolean;
  expect: Expectations;
  /**
   * False for a shared store on real time (RedisStore): due-time and slot-grid
   * checks are skipped (the store's clock is the server's), and lost leases,
   * which the model cannot see, are not charged unless the crash rule holds.
   */
  timeChecks?: boolean;
  /**
   * False for a store that makes no call-order promise (RedisStore: README,
   * Managing jobs): a cancel in flight together with another call on its id
   * may have reached the store before it, so what it cancelled is unknown.
   */
  callOrder?: boolean;
}

export function backoffMs(spec: RetrySpec, retry: number): number {
  const b = spec.backoff;
  let ms = b.type === 'fixed' ? b.delay : b.delay * Math.pow(b.factor ?? 2, retry - 1);
  if (b.type === 'exponential' && b.maxDelay !== undefined) ms = Math.min(b.maxDelay, ms);
  return Math.ceil(ms);
}

const TERMINAL = new Set(['completed', 'dead', 'cancelled']);
/** The errors a store's lost-attempt charge records (SPEC §5 crash rule). */
const CHARGE_ERRORS = new Set(['ProcessCrashError', 'LeaseLostError']);

export class Model {
  readonly coverage = new Coverage();
  private seq = 0;
  private nextV = 1;
  readonly ops: OpRec[] = [];
  readonly inserts = new Map<number, InsertRec>();
  private readonly vs = new Map<number, VState>();
  private readonly idOps = new Map<string, OpRec[]>();
  readonly attempts: AttemptRec[] = [];
  /** seq of the last crash (power cut or kill). */
  private lastCrashSeq = -1;
  violation: SimViolation | undefined;
  /**
   * While checking records read from a shared store: the model's sequence
   * number when the read was sent. Calls decided and facts learnt after it
   * may postdate what the read saw, so they count as undecided.
   */
  private asOf = Infinity;
  /** Highest wall time seen so far (before any backward step). */
  private peakWall = -Infinity;

  constructor(private readonly config: ModelConfig) {}

  fail(invariant: InvariantName, detail: string): void {
    this.violation ??= new SimViolation(invariant, detail);
  }

  private check(invariant: InvariantName, ok: boolean, detail: () => string): void {
    this.coverage.check(invariant);
    if (!ok) this.fail(invariant, detail());
  }

  newV(): number {
    return this.nextV++;
  }

  // ---------------------------------------------------------------- calls

  beginOp(kind: string, id: string | undefined, pid: number, extra: Partial<OpRec> = {}): OpRec {
    const op: OpRec = { seq: ++this.seq, kind, id, pid, status: 'pending', ...extra };
    this.ops.push(op);
    if (id !== undefined) this.opsOf(id).push(op);
    return op;
  }

  private opsOf(id: string): OpRec[] {
    let list = this.idOps.get(id);
    if (!list) {
      list = [];
      this.idOps.set(id, list);
    }
    return list;
  }

  /** True when another call on `id` was in flight at some moment while `op` was (called before and not yet decided, or called since). */
  private overlapped(id: string, op: OpRec): boolean {
    for (const other of this.idOps.get(id) ?? []) {
      if (other === op) continue;
      if (other.seq > op.seq) return true;
      if (other.status === 'pending' || other.status === 'unknown' || (other.settledAt ?? 0) > op.seq) return true;
    }
    return false;
  }

  /** Files a call under `id` too (scheduleMany items, generated ids). */
  linkOp(id: string, op: OpRec): void {
    const list = this.opsOf(id);
    if (!list.includes(op)) {
      list.push(op);
      list.sort((a, b) => a.seq - b.seq);
    }
  }

  /**
   * The v a call on `id` made at `seq` acted on: the last earlier insert of
   * the id that was not rejected and did not keep an existing job.
   */
  lastStoredV(id: string, seq: number): number | undefined {
    return this.possibleVs(id, seq)[0];
  }

  /**
   * Every version id `id` may hold for a call made at `seq`: the last stored
   * one and those of earlier inserts still undecided (a duplicate insert in
   * flight may be refused, leaving the older version in place).
   */
  possibleVs(id: string, seq: number): number[] {
    const out: number[] = [];
    const list = this.idOps.get(id) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const op = list[i] as OpRec;
      if (op.seq >= seq || !op.vs || op.status === 'rejected') continue;
      for (const v of [...op.vs].reverse()) {
        const state = this.vs.get(v);
        if (!state || state.ins.id !== id) continue;
        if (op.status === 'acked' && !state.stored) continue;
        out.push(v);
        if (op.status === 'acked') return out;
      }
    }
    return out;
  }

  addInsert(ins: InsertRec): void {
    this.inserts.set(ins.v, ins);
    this.vs.set(ins.v, {
      ins,
      facts: [],
      startsInRun: 0,
      stopAborted: 0,
      lost: 0,
      slotStarts: 0,
      doneSlots: new Set(),
      maxDoneSlot: -Infinity,
      allowedSlots: new Set(),
      rescheduled: false,
      missedBefore: -Infinity,
      ...(ins.due ? { nextDue: { ...ins.due } } : {}),
      okEnds: 0,
      pushes: new Map(),
      stored: false,
      lastStartSeq: -1,
    });
    // A reschedule or retry of the id still undecided may land after this insert, on the job it
    // makes (calls in flight together have no order; seed 196014587).
    if (ins.id !== undefined) this.moveByOpsInFlight(ins.v, this.idOps.get(ins.id) ?? []);
    else if (ins.dedupe?.mode === 'debounce') {
      // A debounce lands on its window's job, whose id it does not name: any job of its name (local seed 286014375).
      const window = `${ins.name} ${ins.dedupe.key}`;
      for (const [id, ops] of this.idOps) {
        const known = this.windowOf.get(id);
        if (this.nameOf(id) === ins.name && (known === undefined || known === window)) this.moveByOpsInFlight(ins.v, ops);
      }
    }
  }

  /** Applies to version v, as pending, the undecided reschedules and retries among `ops` (calls of one id). */
  private moveByOpsInFlight(v: number, ops: readonly OpRec[]): void {
    for (const op of ops) {
      const status = this.statusOf(op);
      if (op.when === undefined || (status !== 'pending' && status !== 'unknown')) continue;
      if (op.kind === 'reschedule') this.reschedulePending(v, op.when, op);
      else if (op.kind === 'retry') this.revivePending(v, op.when, op);
    }
  }

  /** The name of job `id`, from its inserts so far (undefined before any). */
  private nameOf(id: string): string | undefined {
    for (const op of this.idOps.get(id) ?? []) {
      for (const v of op.vs ?? []) {
        const ins = this.vs.get(v)?.ins;
        if (ins?.id === id) return ins.name;
      }
    }
    return undefined;
  }

  /**
   * Versions of undecided debounce calls made before `seq` that may be on job
   * `id`: a debounce lands on its window's job, whose id it does not name, so
   * a reschedule or retry of that job made while it is in flight may move its
   * version (local simulation seed 286014375: a debounce and a reschedule of
   * the window's job in one burst, both cut off by a power loss, both on
   * disk; the job then ran at the reschedule's time, which the model took for
   * 11 minutes early).
   */
  debouncesOn(id: string, seq: number): number[] {
    const name = this.nameOf(id);
    if (name === undefined) return [];
    const out: number[] = [];
    const known = this.windowOf.get(id);
    for (const [v, state] of this.vs) {
      const d = state.ins.dedupe;
      // A job the model knows holds another window is not this debounce's.
      if (d === undefined || (known !== undefined && known !== `${name} ${d.key}`)) continue;
      if (state.ins.op.seq < seq && state.ins.id === undefined && this.debounceMayHold(v, name)) out.push(v);
    }
    return out;
  }

  /** Windows by job id: `name key` of the dedupe call that created or last debounced it (acknowledged). */
  private readonly windowOf = new Map<string, string>();
  /**
   * Crashes, restarts and clock steps (a process up or down) so far: a
   * window's timing is checked only when none came between the call that
   * opened it and the call checked against it.
   */
  private epoch = 0;
  /** Per window (`name key`): the last acknowledged call that opened or restarted it, when it was alone on the window. */
  private readonly windows = new Map<string, { id: string; at: number; ttlMs: number; epoch: number }>();
  /** Per window: calls made so far, and calls in flight. */
  private readonly windowCalls = new Map<string, { made: number; inFlight: number }>();

  /** The job the last created or debounced dedupe call returned (an op's WINDOW_JOB target). */
  private lastWindowJob: string | undefined;
  /** Window jobs a cancel or retry targeted: no longer `scheduled`, or again, whatever its attempts say. */
  private readonly movedWindowJobs = new Set<string>();

  /** The id an op planned with WINDOW_JOB targets (`j0` before any window has a job). */
  windowJob(kind: string): string {
    const id = this.lastWindowJob;
    if (id === undefined) return 'j0';
    this.coverage.hit(`op.${kind}.windowJob`);
    if (kind === 'cancel' || kind === 'retry') this.movedWindowJobs.add(id);
    return id;
  }

  /** The dedupe call of version `v` (if it is one) was refused or left undecided. */
  private dedupeOf(v: number, status: OpRec['status']): void {
    const ins = this.vs.get(v)?.ins;
    if (ins) this.dedupeRefused(ins, status !== 'rejected');
  }

  /** A crash, restart or clock step. */
  disrupted(): void {
    this.epoch++;
  }

  private windowCallsOf(window: string): { made: number; inFlight: number } {
    let c = this.windowCalls.get(window);
    if (!c) {
      c = { made: 0, inFlight: 0 };
      this.windowCalls.set(window, c);
    }
    return c;
  }

  /** A dedupe call is made at wall time `now` (a window lasts `ttlMs` from its call's time: the job's createdAt). */
  dedupeCall(ins: InsertRec, now: number): void {
    const d = ins.dedupe;
    if (!d) return;
    const c = this.windowCallsOf(`${ins.name} ${d.key}`);
    d.at = now;
    d.epoch = this.epoch;
    d.callsBefore = c.made;
    d.alone = c.inFlight === 0;
    c.made++;
    c.inFlight++;
  }

  /**
   * A dedupe call was refused (`changed`: false, it changed nothing, and the
   * window stays as it was) or may have landed (a refusal whose outcome is
   * unknown, a crash): then what it did to its window is not known.
   */
  private dedupeRefused(ins: InsertRec, changed: boolean): void {
    const d = ins.dedupe;
    if (!d) return;
    const window = `${ins.name} ${d.key}`;
    this.windowCallsOf(window).inFlight--;
    if (changed) this.windows.delete(window);
  }

  /**
   * A dedupe call resolved (before insertAcked): its outcome must match what
   * the returned job shows, a throttled call must return a job of its own
   * window when the model knows where that job came from, and — when the
   * call was the only one on its window while it ran, the window's opener
   * too, with no crash, restart or clock step since, on a local store that
   * keeps every job — the outcome must follow the window's time: a call
   * inside it is throttled (debounced while its job never started), a call
   * after it creates.
   */
  dedupeAcked(ins: InsertRec, id: string, name: string, stored: number, outcome: string | undefined): void {
    const d = ins.dedupe;
    if (!d) return;
    const window = `${ins.name} ${d.key}`;
    const calls = this.windowCallsOf(window);
    calls.inFlight--;
    const mine = stored === ins.v;
    this.coverage.hit(`op.dedupe.${String(outcome)}`);
    const allowed = d.mode === 'debounce' ? ['created', 'debounced'] : ['created', 'throttled'];
    this.check('dedupe', outcome !== undefined && allowed.includes(outcome), () => `a ${d.mode} call of '${ins.name}' (key ${d.key}, v${ins.v}) resolved with dedupe ${String(outcome)}`);
    this.check('dedupe', name === ins.name, () => `a dedupe call of '${ins.name}' (key ${d.key}) resolved with job ${id} of '${name}'`);
    this.check('dedupe', mine === (outcome !== 'throttled'), () => `a dedupe call of '${ins.name}' (key ${d.key}, v${ins.v}) said ${String(outcome)} and returned job ${id} holding v${stored}`);
    if (outcome === 'throttled') {
      ins.throttled = true;
      const known = this.windowOf.get(id);
      this.check('dedupe', known === undefined || known === window, () => `a throttled call of '${ins.name}' (key ${d.key}) returned job ${id}, the job of window '${String(known)}'`);
    } else {
      this.windowOf.set(id, window);
      this.lastWindowJob = id;
    }
    const alone = d.alone === true && calls.inFlight === 0 && calls.made === (d.callsBefore ?? -1) + 1 && d.epoch === this.epoch;
    const timed = alone && this.config.timeChecks !== false && !this.config.keepSmall && d.at !== undefined;
    const w = this.windows.get(window);
    if (timed && w !== undefined && w.epoch === this.epoch && d.at !== undefined) {
      const end = w.at + w.ttlMs;
      const inside = d.at < end;
      this.coverage.hit('op.dedupe.timed');
      const where = `window ${d.key} of '${ins.name}' (job ${w.id}, opened ${iso(w.at)} for ${w.ttlMs} ms, until ${iso(end)})`;
      if (outcome === 'created' && inside) {
        // A debounce creates once the window's job is no longer scheduled: it started, or a cancel may have ended it.
        const started = this.attempts.some((a) => a.id === w.id) || this.movedWindowJobs.has(w.id);
        this.check('dedupe', d.mode === 'debounce' && started, () => `a ${d.mode} call at ${iso(d.at ?? 0)} created job ${id} inside ${where}${d.mode === 'debounce' ? ', whose job never started and was never cancelled' : ''}`);
      }
      if (outcome !== 'created' && id === w.id) {
        this.check('dedupe', inside, () => `a ${d.mode} call at ${iso(d.at ?? 0)} was ${String(outcome)} by ${where}, which had ended`);
      }
    }
    if (outcome !== 'throttled') {
      if (timed) this.windows.set(window, { id, at: d.at as number, ttlMs: d.ttlMs, epoch: this.epoch });
      else this.windows.delete(window);
    }
  }

  /** An undecided debounce may have put its v on any job of its name (the window's, whose id it does not name). */
  private debounceMayHold(v: number, name: string): boolean {
    const ins = this.vs.get(v)?.ins;
    if (ins?.dedupe?.mode !== 'debounce' || ins.name !== name) return false;
    const status = this.statusOf(ins.op);
    return status === 'pending' || status === 'unknown';
  }

  /** An insert call resolved; `stored` is the v the id holds now per the returned info. */
  insertAcked(ins: InsertRec, id: string, stored: number): void {
    if (ins.id === undefined) {
      ins.id = id;
      this.linkOp(id, ins.op);
    }
    if (stored !== ins.v) {
      this.resolveDeferred(id);
      return; // 'keep': the existing job stays
    }
    const seq = ++this.seq;
    const state = this.vs.get(ins.v) as VState;
    state.stored = true;
    state.facts.push({ seq, from: ins.op.seq, kind: 'scheduled', ...(ins.due ? { runAt: { ...ins.due } } : {}), ...(this.overlapped(id, ins.op) ? { weak: true } : {}) });
    for (const other of this.vs.values()) {
      if (other !== state && other.ins.id === id && (other.ins.op.seq < ins.op.seq || (other.ins.op === ins.op && other.ins.v < ins.v)) && other.superseded === undefined) {
        other.superseded = seq;
        // A debounce changes only the payload and the due time: the job's run goes on (its attempts, and the
        // charge of an attempt lost before it, taken when the job comes due; seed 259012146).
        if (ins.dedupe !== undefined) {
          state.startsInRun += other.startsInRun;
          state.lost += other.lost;
          state.stopAborted += other.stopAborted;
          // Seed 268017974: the job was claimed (written `running`) and the process killed before its
          // start was seen; the debounce kept the recovered job's crash charge, taken when it came due.
          if (other.chargeUnseen === true || this.lastCrashSeq > (this.lastFact(other)?.seq ?? -1)) state.chargeUnseen = true;
        }
      }
    }
    this.resolveDeferred(id);
  }

  /** Cancels acknowledged while an earlier insert of the same id was undecided: attached once it is. */
  private readonly deferredCancels: OpRec[] = [];

  private resolveDeferred(id: string): void {
    for (let i = 0; i < this.deferredCancels.length; i++) {
      const op = this.deferredCancels[i] as OpRec;
      if (op.id !== id || this.earlierInsertPending(id, op.seq)) continue;
      this.deferredCancels.splice(i--, 1);
      // A later acknowledged insert or retry() of the id supersedes it.
      if ((this.idOps.get(id) ?? []).some((o) => o.seq > op.seq && o.status === 'acked' && (o.vs !== undefined || o.kind === 'retry'))) continue;
      const v = this.lastStoredV(id, op.seq);
      const state = v === undefined ? undefined : this.vs.get(v);
      const weak = this.config.callOrder === false && this.overlapped(id, op);
      if (state) state.facts.push({ seq: ++this.seq, kind: 'cancelled', ...(weak ? { weak: true } : {}) });
    }
  }

  private earlierInsertPending(id: string, seq: number): boolean {
    return (this.idOps.get(id) ?? []).some((op) => op.seq < seq && op.vs !== undefined && op.status === 'pending');
  }

  /**
   * `unknown`: rejected, but the store says the change may have reached its
   * files (StorePersistError.outcomeUnknown): nothing it set is undone.
   */
  settle(op: OpRec, status: 'acked' | 'rejected' | 'unknown', error?: string): void {
    if (op.status !== 'pending') return;
    op.status = status;
    op.settledAt = ++this.seq;
    if (status !== 'acked') for (const v of op.vs ?? []) this.dedupeOf(v, status);
    if (status === 'rejected') this.onReject.get(op)?.();
    this.onReject.delete(op);
    if (status !== 'acked' && op.id !== undefined) this.resolveDeferred(op.id);
    if (error !== undefined) op.error = error;
  }

  /**
   * Main today (known.ts failStop): after a power cut that undid a repair,
   * calls rejected for a persistence failure may have landed after all.
   */
  forgiveRejectedPersist(): number {
    let n = 0;
    for (const op of this.ops) {
      if (op.status === 'rejected' && op.error === 'StorePersistError') {
        op.status = 'unknown';
        n++;
      }
    }
    return n;
  }

  /** Facts from acknowledged operations on an existing job. */
  cancelAcked(op: OpRec): void {
    this.deferredCancels.push(op);
    if (op.id !== undefined) this.resolveDeferred(op.id);
  }

  rescheduleAcked(op: OpRec, v: number, runAt: number): void {
    const state = this.vs.get(v);
    if (!state) return;
    // Seed 298656286: the job was claimed (written `running`) and the process cut before its start was
    // seen; the recovered record's crash charge outlives the reschedule, taken when the job comes due
    // (README, crash rule), as it outlives a debounce (insertAcked).
    if (this.lastCrashSeq > (this.lastFact(state)?.seq ?? -1)) state.chargeUnseen = true;
    const due: Due = { wall: runAt, elapsed: false, why: `rescheduled to ${iso(runAt)}` };
    state.facts.push({ seq: ++this.seq, from: op.seq, kind: 'scheduled', runAt: due, ...(op.id !== undefined && this.overlapped(op.id, op) ? { weak: true } : {}) });
    if (state.ins.kind === 'cron' || state.ins.kind === 'every') {
      this.slotMoved(state, runAt);
    } else if (op.pendingDue === undefined || state.nextDue === op.pendingDue || (state.boundSeq ?? 0) <= op.seq) {
      state.nextDue = due;
    }
    // Else a call made after it set its own bound (a retry() that revived the job now), and applied
    // after it: its ack, arriving first, stands (seed 215044785). The ack of a call made before it
    // (the insert of the job, acknowledged after the reschedule was sent) does not (seed 218008697).
  }

  /** A reschedule moved a schedule's occurrence to `runAt`: what was known of its slots starts over. */
  private slotMoved(state: VState, runAt: number): void {
    state.allowedSlots.add(runAt);
    state.rescheduled = true;
    state.missedBefore = -Infinity;
    state.doneSlots.clear();
    state.maxDoneSlot = -Infinity;
  }

  /** Undo of what a pending call assumed, run if the call is rejected. */
  private readonly onReject = new Map<OpRec, () => void>();

  /** What a pending call is about to change (remember's `before`). */
  private snapshot(state: VState): Pick<VState, 'nextDue' | 'startsInRun' | 'stopAborted' | 'lost' | 'boundSeq'> {
    const { nextDue, startsInRun, stopAborted, lost, boundSeq } = state;
    return { nextDue: nextDue ? { ...nextDue } : undefined, startsInRun, stopAborted, lost, ...(boundSeq !== undefined ? { boundSeq } : {}) };
  }

  /** Registers the undo of a pending call's change to `state`, made since `before` was taken. */
  private remember(op: OpRec, state: VState, before: Pick<VState, 'nextDue' | 'startsInRun' | 'stopAborted' | 'lost' | 'boundSeq'>): void {
    const { nextDue: saved, startsInRun, stopAborted, lost, boundSeq } = before;
    // The bound this call set: restored only while it still stands. A later call (pending or
    // acknowledged) that set its own since keeps it: a pending reschedule's earlier time must
    // survive the rejection of a retry() made before it (seed 207010902).
    const mine = state.nextDue;
    // The run's counters: restored only by the undo of the retry() that reset them, and only
    // while no later retry() reset them again. A reschedule never resets them: its rejection
    // must not take back the reset of a retry() sent after it (seed 234027543).
    const resetByMe = state.resetSeq === op.seq;
    const earlier = this.onReject.get(op);
    this.onReject.set(op, () => {
      earlier?.();
      // A refused call set no bound: the ack of an earlier reschedule must not wait for it. While no
      // later call raised the bound, it goes back to what it was (seed 298253854: retry(+511 s),
      // reschedule(-29 s), retry() in one burst; the retry() was refused, yet the reschedule's ack
      // was held back by its bound, and the job's start at the rescheduled time looked early).
      if (state.boundSeq === op.seq) {
        if (boundSeq === undefined) delete state.boundSeq;
        else state.boundSeq = boundSeq;
      }
      if (state.nextDue === mine) {
        state.nextDue = saved;
        // Other calls on the id still in flight keep their bounds: a later reschedule whose time
        // was after this one's left no mark of its own while this earlier bound stood (seed
        // 247052024: reschedule to :34 refused, reschedule to :54 in flight at a crash, landed).
        const id = state.ins.id;
        for (const other of id === undefined ? [] : (this.idOps.get(id) ?? [])) {
          const status = this.statusOf(other);
          if (other === op || other.when === undefined || (other.kind !== 'reschedule' && other.kind !== 'retry') || (status !== 'pending' && status !== 'unknown')) continue;
          this.moveDuePending(state, other.when);
        }
      }
      if (!resetByMe || (state.resetSeq ?? 0) > op.seq) return;
      state.startsInRun = Math.max(state.startsInRun, startsInRun);
      // Allowances only grow back: with two revives in flight, the second saved the first's reset,
      // and restoring it after the first's rejection would take back an allowance (seed 196004820).
      state.stopAborted = Math.max(state.stopAborted, stopAborted);
      state.lost = Math.max(state.lost, lost);
    });
  }

  /** Called when a reschedule starts: until it is decided, the job may run at the new time. */
  reschedulePending(v: number | undefined, runAt: number, op?: OpRec): void {
    const state = v === undefined ? undefined : this.vs.get(v);
    if (!state) return;
    const before = this.snapshot(state);
    this.moveDuePending(state, runAt);
    if (op) {
      if (state.nextDue) op.pendingDue = state.nextDue;
      state.boundSeq = Math.max(state.boundSeq ?? 0, op.seq);
      this.remember(op, state, before);
    }
  }

  private moveDuePending(state: VState, runAt: number): void {
    if (state.ins.kind === 'cron' || state.ins.kind === 'every') {
      this.slotMoved(state, runAt);
    } else if (state.nextDue && runAt < state.nextDue.wall) {
      // Undecided, the job may also keep its old due; if that one is elapsed time, a backward step
      // can bring it before `runAt` (seed 196001452), so this bound moves back with steps too.
      const backOnly = state.nextDue.elapsed || state.nextDue.backOnly === true;
      const alt = state.nextDue.alt;
      state.nextDue = { wall: runAt, elapsed: false, ...(backOnly ? { backOnly } : {}), ...(alt ? { alt } : {}), why: `a reschedule to ${iso(runAt)} in flight` };
    } else if (state.nextDue) {
      state.nextDue = withAlt(state.nextDue, { wall: runAt, elapsed: false, why: `a reschedule to ${iso(runAt)} in flight` });
    }
  }

  revivePending(v: number | undefined, runAt: number, op?: OpRec): void {
    const state = v === undefined ? undefined : this.vs.get(v);
    if (!state) return;
    const before = this.snapshot(state);
    this.reviveDuePending(state, runAt);
    if (op) {
      state.boundSeq = Math.max(state.boundSeq ?? 0, op.seq);
      state.resetSeq = Math.max(state.resetSeq ?? 0, op.seq);
      this.remember(op, state, before);
    }
  }

  private reviveDuePending(state: VState, runAt: number): void {
    state.startsInRun = 0;
    state.stopAborted = 0;
    state.lost = 0;
    if (!state.nextDue) state.nextDue = { wall: runAt, elapsed: false, why: `retry() at ${iso(runAt)}` };
    else if (runAt < state.nextDue.wall) {
      // Undecided, the job may keep its own due; if that one is elapsed time, a backward step can
      // bring it before `runAt`, as for a reschedule in flight (seeds 196001452, 197014654: two
      // retries in flight, the second saved the first's bound and restored it on its rejection).
      const backOnly = state.nextDue.elapsed || state.nextDue.backOnly === true;
      const alt = state.nextDue.alt;
      state.nextDue = { wall: runAt, elapsed: false, ...(backOnly ? { backOnly } : {}), ...(alt ? { alt } : {}), why: `retry() at ${iso(runAt)}` };
    } else state.nextDue = withAlt(state.nextDue, { wall: runAt, elapsed: false, why: `retry() at ${iso(runAt)}` });
  }

  reviveAcked(v: number, runAt: number, op?: OpRec): void {
    const state = this.vs.get(v);
    if (!state) return;
    const due: Due = { wall: runAt, elapsed: false, why: `retry() at ${iso(runAt)}` };
    state.facts.push({ seq: ++this.seq, ...(op ? { from: op.seq } : {}), kind: 'revived', runAt: due, ...(op?.id !== undefined && this.overlapped(op.id, op) ? { weak: true } : {}) });
    state.nextDue = due;
    state.startsInRun = 0;
    state.stopAborted = 0;
    state.lost = 0;
    state.resetSeq = Math.max(state.resetSeq ?? 0, op?.seq ?? this.seq);
  }

  /** The process `pid` died: its undecided calls stay undecided forever, its attempts are lost. */
  crash(pid: number): void {
    this.lastCrashSeq = ++this.seq;
    this.epoch++;
    // A local store keeps rate-limit windows in memory (README, Rate limits): a job pushed back
    // keeps its place and may start as soon as a new process opens the store.
    for (const state of this.vs.values()) if (state.nextDue?.pushedBack) state.nextDue = undefined;
    for (const op of this.ops) {
      if (op.pid !== pid || op.status !== 'pending') continue;
      op.status = 'unknown';
      for (const v of op.vs ?? []) this.dedupeOf(v, 'unknown');
    }
    for (const a of this.attempts) {
      if (a.pid !== pid || a.confirmed) continue;
      // Running, or finished but its outcome not yet recorded: it runs again.
      a.confirmed = true;
      if (a.ended === undefined) a.ended = 'lost';
      const state = this.vs.get(a.v);
      if (state) {
        state.nextDue = undefined;
        if (!a.recurring || state.curSlot === a.slot) state.lost++;
      }
    }
  }

  /** The harness reports the wall clock at each step. */
  observeWall(now: number): void {
    if (now > this.peakWall) this.peakWall = now;
  }

  /**
   * Whether a start at `now` of something due at `due` counts as early.
   * Main today lets a job that was already due before a backward clock step
   * run from its ready queue (see known.ts readyRecheck).
   */
  private early(due: number, now: number): boolean {
    if (now >= due) return false;
    if (!this.config.expect.readyRecheck && due <= this.peakWall) {
      this.coverage.hit('tolerated.readyAcrossBackwardStep');
      return false;
    }
    return true;
  }

  /**
   * A process died while a step's re-basing (Store.shift) may not have
   * reached the disk: each elapsed-time due may be at its shifted or its
   * old time, so the earlier one counts and both `every` grids are valid.
   */
  shiftUndecided(delta: number): void {
    for (const state of this.vs.values()) {
      if (state.nextDue?.elapsed || state.nextDue?.backOnly) state.nextDue.wall = Math.min(state.nextDue.wall, state.nextDue.wall - delta);
      if (state.ins.anchor !== undefined) {
        if (state.ins.anchorAlts) state.ins.gridUnknown = true;
        (state.ins.anchorAlts ??= []).push(state.ins.anchor - delta);
      }
      for (const f of state.facts) if (f.runAt?.elapsed) f.weak = true;
      if (state.ins.kind === 'every') {
        const back = (x: number): number => Math.min(x, x - delta);
        for (const f of state.facts) if (f.slot !== undefined) f.slot = back(f.slot);
        for (const x of [...state.allowedSlots]) state.allowedSlots.add(x - delta);
        // A slot counts as finished only if it is on both grids: with an interval that divides the
        // step, a slot finished before the step, moved by it, lands on an old-grid slot that never
        // ran, which the store (its shift lost) still runs (seed 242074297).
        const shifted = state.doneSlots;
        state.doneSlots = new Set([...shifted].filter((x) => shifted.has(x + delta)));
        state.maxDoneSlot = back(state.maxDoneSlot);
        state.missedBefore = back(state.missedBefore);
        // Likewise the slot whose starts are being counted: its label on the moved grid is, on the
        // old grid, another slot that never started, which the store (its shift lost) may run: the
        // count starts again at the next start (seed 299215235: a slot dead after 3 starts, moved
        // by a +1 h step of 12 intervals, then started once more on the old grid).
        delete state.curSlot;
      }
    }
  }

  /** The wall clock was stepped by `delta` while a process was running: elapsed-time dues move with it. */
  clockStep(delta: number): void {
    if (!this.config.expect.rebase) return; // main today: every due time is wall time
    for (const state of this.vs.values()) {
      if (state.nextDue?.elapsed || (state.nextDue?.backOnly && delta < 0)) state.nextDue.wall += delta;
      for (const f of state.facts) if (f.runAt?.elapsed) f.runAt.wall += delta;
      // Running in the store: started and its outcome not yet recorded (a settle being retried included).
      const running = state.ins.kind === 'every' && !this.config.expect.shiftRunning && this.attempts.some((a) => a.v === state.ins.v && !a.confirmed && a.abort !== 'stop' && a.abort !== 'other');
      // An insert not acknowledged yet may not be in the store's memory (a store that stopped
      // writing dropped it) while its bytes wait to be made durable: the re-base cannot move a
      // record it does not hold, and a power cut can bring the record back on the grid it was
      // created on (seed 299701281).
      const status = this.statusOf(state.ins.op);
      const unheld = state.ins.kind === 'every' && (status === 'pending' || status === 'unknown');
      if (state.ins.anchorAlts) {
        const moved = state.ins.anchorAlts.map((a) => a + delta);
        state.ins.anchorAlts = running || unheld ? [...state.ins.anchorAlts, ...moved] : moved;
      }
      if (state.ins.anchor !== undefined) {
        // Main today (known.ts shiftRunning): a running occurrence keeps its old grid; once alternatives
        // pile up (several steps, crashes in between) the grid is unknown and its checks stop.
        if (running || unheld) {
          if (state.ins.anchorAlts) state.ins.gridUnknown = true;
          (state.ins.anchorAlts ??= []).push(state.ins.anchor);
        }
        state.ins.anchor += delta;
      }
      if (state.ins.kind === 'every') {
        // An every schedule's slots are elapsed time: what was learnt about them moves too
        // (to the earlier of both places while a running occurrence keeps the old grid).
        const move = (x: number): number => (running ? Math.min(x, x + delta) : x + delta);
        for (const f of state.facts) if (f.slot !== undefined) f.slot = move(f.slot);
        // An occurrence running across the step is re-based with its schedule: the slot it
        // finishes (or loses) is its slot on the moved grid, comparable with the slots after it.
        if (!running) for (const a of this.attempts) if (a.v === state.ins.v && !a.confirmed) a.slot += delta;
        const done = [...state.doneSlots];
        state.doneSlots = new Set([...done.map((x) => x + delta), ...(running ? done : [])]);
        state.allowedSlots = new Set([...state.allowedSlots].map((x) => x + delta));
        state.maxDoneSlot = move(state.maxDoneSlot);
        state.missedBefore = move(state.missedBefore);
        if (state.curSlot !== undefined && !running) state.curSlot += delta;
      }
    }
  }

  // ------------------------------------------------------------- handlers

  liveAttempts(pid: number): AttemptRec[] {
    return this.attempts.filter((a) => a.pid === pid && a.ended === undefined && a.abort === undefined);
  }

  /** A handler was called. Checks everything a start must respect. */
  onStart(pid: number, ctx: { id: string; name: string; attempt: number; runAt: Date; payload: unknown }, now: number): AttemptRec {
    const v = (ctx.payload as { v?: unknown } | null)?.v;
    const slot = ctx.runAt.getTime();
    const a: AttemptRec = { pid, id: ctx.id, v: typeof v === 'number' ? v : -1, name: ctx.name, attempt: ctx.attempt, slot, startWall: now, recurring: false };
    const state = this.vs.get(a.v);
    if (!state) {
      this.fail('rejected', `handler ran job ${ctx.id} with payload ${JSON.stringify(ctx.payload)}, which no call scheduled`);
      this.attempts.push(a);
      return a;
    }
    const ins = state.ins;
    a.recurring = ins.kind === 'cron' || ins.kind === 'every';
    this.check('rejected', ins.op.status !== 'rejected', () => `job ${ctx.id} (v${a.v}) runs, but the call that scheduled it was rejected`);
    this.check('dedupe', ins.throttled !== true, () => `job ${ctx.id} runs with v${a.v}, the payload of a call answered 'throttled'`);
    // On a shared store a claim (by another process) that took this version before the replace
    // landed can answer after the replace's acknowledgement: the version was running when it was
    // replaced, and its attempt is aborted (Redis seed 248500515), as for a cancel (below). Once.
    const replacedRace = state.superseded !== undefined && this.config.timeChecks === false && state.supersededRace !== true;
    if (replacedRace) state.supersededRace = true;
    else this.check('noRerun', state.superseded === undefined, () => `job ${ctx.id} v${a.v} runs after an acknowledged replace superseded it`);
    const undecided = (after: number): boolean => this.undecided(ctx.id, after);
    const last = state.facts[state.facts.length - 1];
    // A weak cancel (a store without call order, another call on the id in flight) may have applied
    // before the insert of this version, which then stands (seed 220000192).
    if (last && TERMINAL.has(last.kind) && last.weak !== true && (a.recurring ? last.kind === 'cancelled' : true)) {
      // On a shared store a claim that took the job before the cancel landed can reach its process
      // after the cancel's acknowledgement reached the caller: the job was running when it was
      // cancelled ("aborts it if running"), not run again (PostgreSQL seed 228000272: the claim
      // of slot :12.000 answered 330 ms late, after a kill of every connection). One such start
      // per cancel; the records check still holds the job cancelled, so a store that handed out
      // a cancelled job again would fail there.
      const claimedBefore = last.kind === 'cancelled' && this.config.timeChecks === false && last.claimRace !== true && !undecided(last.seq);
      if (claimedBefore) last.claimRace = true;
      else this.check('noRerun', undecided(last.seq), () => `job ${ctx.id} v${a.v} runs again after it was durably ${last.kind}`);
    }
    // Concurrency, and no overlap of one job with itself.
    const live = this.liveAttempts(pid);
    this.check('concurrency', live.length < this.config.concurrency, () => `${live.length + 1} attempts running at once, concurrency is ${this.config.concurrency}`);
    const sameName = live.filter((x) => x.name === ctx.name).length;
    const limit = this.config.handlerConcurrency(ctx.name);
    this.check('concurrency', sameName < limit, () => `${sameName + 1} attempts of '${ctx.name}' running at once, its concurrency is ${limit}`);
    const same = live.filter((x) => x.id === ctx.id);
    this.check('concurrency', same.length === 0, () => `job ${ctx.id} starts attempt ${ctx.attempt} while attempt ${same[0]?.attempt} (slot ${iso(same[0]?.slot ?? 0)}) still runs`);
    const group = ins.group;
    if (group !== undefined) {
      const inGroup = live.filter((x) => this.vs.get(x.v)?.ins.group?.id === group.id);
      this.coverage.hit(inGroup.length > 0 ? 'handler.groupStartBesideOther' : 'handler.groupStart');
      this.check('concurrency', inGroup.length < group.limit, () => `job ${ctx.id} of group ${group.id} starts while ${inGroup.map((x) => `${x.id} attempt ${x.attempt}`).join(', ')} of that group still run${inGroup.length === 1 ? 's' : ''}, its concurrency is ${group.limit}`);
    }
    // Due time.
    const policy = this.config.policy(ins);
    const timed = this.config.timeChecks !== false;
    if (a.recurring) {
      // A retry of a slot (attempt > 1) waits its backoff in elapsed time: after a backward step it may start before
      // the slot's wall-clock label, which its first attempt (checked here) did not.
      if (timed && ctx.attempt === 1) this.check('notEarly', !this.early(slot, now), () => `schedule ${ctx.id} slot ${iso(slot)} started at ${iso(now)}`);
      if (timed && !state.allowedSlots.has(slot)) {
        if (ins.kind === 'cron') {
          const problem = slotProblem(ins.expr as string, ins.tz, slot, this.config.expect.cronieDst ? 'cronie' : 'wall');
          this.check('slotOnce', problem === undefined, () => `schedule ${ctx.id} ran slot ${iso(slot)} which is not a slot: ${problem}`);
        } else if (!ins.gridUnknown) {
          // Before the first slot only once a reschedule moved the schedule (misfire planning may then pick k < 0).
          const onGrid = (a: number): boolean => {
            const k = (slot - a) / (ins.interval as number);
            return Number.isInteger(k) && (k >= 0 || state.rescheduled);
          };
          // Any grid the schedule may be on (an undecided re-base keeps both): with a step that is a whole number of
          // intervals both grids hold the slot, at k and k - 1, so the first grid that holds it is not enough (seed 297936580).
          const anchor = [ins.anchor as number, ...(ins.anchorAlts ?? [])].find(onGrid) ?? (ins.anchor as number);
          const k = (slot - anchor) / (ins.interval as number);
          this.check('slotOnce', onGrid(anchor), () => `every-${ins.interval} ms schedule ${ctx.id} ran slot ${iso(slot)}, off its grid (anchor ${iso(anchor)}, k = ${k})`);
        }
      }
      if (this.config.expect.misfireKept && state.missedBefore > -Infinity) {
        this.check('slotOnce', slot >= state.missedBefore || state.allowedSlots.has(slot), () => `schedule ${ctx.id} ran slot ${iso(slot)}, which a 'misfired' event declared missed (catch-up at ${iso(state.missedBefore)})`);
      }
      this.check('slotOnce', !state.doneSlots.has(slot), () => `schedule ${ctx.id} ran slot ${iso(slot)} again after it finished (attempt ${ctx.attempt})`);
      this.check('slotOnce', slot > state.maxDoneSlot, () => `schedule ${ctx.id} ran slot ${iso(slot)} after the later slot ${iso(state.maxDoneSlot)} had finished`);
      if (state.curSlot !== slot) {
        if (timed && ins.misfire === 'all' && !state.rescheduled && !ins.anchorAlts && !state.allowedSlots.has(slot)) this.checkNoSkip(ctx.id, state, slot, now);
        state.curSlot = slot;
        state.slotStarts = 0;
        state.stopAborted = 0;
        state.lost = 0;
        state.nextDue = undefined;
      }
      state.slotStarts++;
      this.check('attempts', state.slotStarts <= policy.maxRetries + 1 + state.stopAborted + this.uncharged(state), () => `schedule ${ctx.id} slot ${iso(slot)} started ${state.slotStarts} times, maxRetries is ${policy.maxRetries}`);
    } else {
      state.startsInRun++;
      this.check('attempts', state.startsInRun <= policy.maxRetries + 1 + state.stopAborted + this.uncharged(state), () => `job ${ctx.id} v${a.v} started ${state.startsInRun} times in one run, maxRetries is ${policy.maxRetries}`);
    }
    const due = state.nextDue && earliest(state.nextDue);
    if (due && timed) this.check('notEarly', !this.early(due.wall, now), () => `job ${ctx.id} attempt ${ctx.attempt} started at ${iso(now)}, ${due.wall - now} ms before its due time ${iso(due.wall)} (${due.why})`);
    // An attempt aborted by a graceful stop() may or may not be charged (SPEC is silent): allow it either way.
    // Without the crash rule a claim that reached the disk just before a crash raises `attempt` unseen: no bound then.
    const bound = this.config.expect.crashRule ? policy.maxRetries + 1 + state.stopAborted : Infinity;
    this.check('attempts', ctx.attempt >= 1 && ctx.attempt <= bound, () => `job ${ctx.id} runs attempt ${ctx.attempt}, maxRetries is ${policy.maxRetries}${state.stopAborted ? ` (+${state.stopAborted} aborted by stop())` : ''}`);
    state.lastStartSeq = ++this.seq;
    this.attempts.push(a);
    return a;
  }

  /** The handler returned or threw at `now`. */
  onEnd(a: AttemptRec, outcome: 'ok' | 'fail' | 'unrecoverable' | 'rateLimited', now: number, pushMs = 0): void {
    if (a.ended !== undefined || a.abort !== undefined) return;
    a.ended = outcome;
    a.endWall = now;
    const state = this.vs.get(a.v);
    if (!state) return;
    if (outcome === 'ok') state.okEnds++;
    else if (outcome === 'fail') this.failed(state, a, now);
    else if (outcome === 'rateLimited') {
      // The attempt does not count (the job runs it again with the same number), and no job of
      // its name starts for pushMs: held by the name's window on the job clock (wall), or, when
      // the store could not hold the name, by the job's own due time (elapsed, re-based by clock
      // steps). Either may be the one that applies: the bound is the earlier of the two frames
      // (a wall time that backward steps move back).
      state.stopAborted++;
      state.pushes.set(`${a.slot}:${a.attempt}`, this.pushesOf(a.v, a.slot, a.attempt) + 1);
      state.nextDue = { wall: now + pushMs, elapsed: false, backOnly: true, pushedBack: true, why: `job.rateLimit(${pushMs}) at ${iso(now)}` };
    }
  }

  /** How many times attempt `attempt` of version v's slot was pushed back (job.rateLimit) so far. */
  pushesOf(v: number, slot: number, attempt: number): number {
    return this.vs.get(v)?.pushes.get(`${slot}:${attempt}`) ?? 0;
  }

  /** The attempt's signal aborted at `now`. */
  onAbort(a: AttemptRec, why: 'timeout' | 'stop' | 'other', now: number): void {
    if (a.ended !== undefined || a.abort !== undefined) return;
    a.abort = why;
    a.endWall = now;
    const state = this.vs.get(a.v);
    if (!state) return;
    if (why === 'timeout') this.failed(state, a, now);
    else if (why === 'stop') {
      state.stopAborted++;
      state.nextDue = undefined;
    }
  }

  /** With misfire 'all', no slot of the schedule lies between the previous occurrence (or its creation) and `slot`. */
  private checkNoSkip(id: string, state: VState, slot: number, now: number): void {
    const ins = state.ins;
    // Slots that ended without a start (a lost attempt charged at claim, its 'dead' event seen) count as run.
    const last = Math.max(state.curSlot ?? -Infinity, state.maxDoneSlot);
    const prev = Number.isFinite(last) ? last : undefined;
    // More than MISFIRE_ALL_CAP slots behind: the oldest are dropped by design.
    const cap = 1000;
    let skipped: number[] = [];
    if (ins.kind === 'every') {
      const every = ins.interval as number;
      const anchor = ins.anchor as number;
      const k = Math.round((slot - anchor) / every);
      const kPrev = prev === undefined ? -1 : Math.round((prev - anchor) / every);
      if (Math.floor((now - anchor) / every) - kPrev >= cap) return;
      for (let j = kPrev + 1; j < k && skipped.length === 0; j++) if (!state.doneSlots.has(anchor + j * every)) skipped = [anchor + j * every];
    } else {
      const from = prev ?? (ins.created as number);
      const step = (ins.expr as string).trim().split(/\s+/).length === 6 ? 1000 : 60_000;
      if ((now - from) / step > 200_000) return;
      const rule = this.config.expect.cronieDst ? 'cronie' : 'wall';
      let behind = 0;
      for (let t = Math.floor(from / step) * step + step; t <= now && behind < cap; t += step) {
        if (t <= from || slotProblem(ins.expr as string, ins.tz, t, rule) !== undefined) continue;
        behind++;
        if (t < slot && !state.doneSlots.has(t)) skipped.push(t);
      }
      if (behind >= cap) return;
    }
    this.check('allSlots', skipped.length === 0, () => `schedule ${id} (misfire 'all') ran slot ${iso(slot)} after ${prev === undefined ? 'its creation' : iso(prev)}, skipping slot ${iso(skipped[0] as number)}${skipped.length > 1 ? ` and ${skipped.length - 1} more` : ''}`);
  }

  /** Lost attempts that main does not charge yet (see known.ts). */
  private uncharged(state: VState): number {
    // A lost catch-up of a schedule comes back as a fresh occurrence of the same slot while misfire
    // planning is in memory only (known.ts misfireKept): the store charged its stored slot instead.
    const recurring = state.ins.kind === 'cron' || state.ins.kind === 'every';
    if (this.config.expect.crashRule) return recurring && !this.config.expect.misfireKept ? state.lost : 0;
    return this.config.timeChecks === false ? Infinity : state.lost;
  }

  private failed(state: VState, a: AttemptRec, now: number): void {
    const policy = this.config.policy(state.ins);
    if (a.attempt <= policy.maxRetries) {
      const wait = backoffMs(policy, a.attempt);
      state.nextDue = { wall: now + wait, elapsed: true, why: `retry ${a.attempt} after a failure at ${iso(now)} waits ${wait} ms` };
    }
  }

  /** Events are emitted only once the store recorded the change: they are facts. */
  onEvent(pid: number, type: string, payload: { job?: { id: string; payload: unknown; runAt: Date } }): void {
    const job = payload.job;
    if (!job) return;
    const v = (job.payload as { v?: unknown } | null)?.v;
    const state = typeof v === 'number' ? this.vs.get(v) : undefined;
    if (!state) return;
    if (type === 'rateLimited') {
      // The push-back is recorded: that attempt is settled (not lost by a later crash).
      for (let i = this.attempts.length - 1; i >= 0; i--) {
        const a = this.attempts[i] as AttemptRec;
        if (a.pid === pid && a.id === job.id && !a.confirmed && a.ended === 'rateLimited') {
          a.confirmed = true;
          break;
        }
      }
      return;
    }
    if (type === 'misfired') {
      const runAt = (payload as { runAt?: Date }).runAt;
      if (runAt) state.missedBefore = Math.max(state.missedBefore, runAt.getTime());
      return;
    }
    if (type === 'failed') {
      // A retry was durably scheduled: that attempt is settled (not lost by a later crash).
      const failure = payload as { willRetry?: boolean; error?: Error; nextRunAt?: Date };
      if (!failure.willRetry) return;
      if (failure.nextRunAt && CHARGE_ERRORS.has(failure.error?.name ?? '') && state.ins.kind !== 'cron' && state.ins.kind !== 'every') {
        // A lost attempt charged at claim (possibly one claimed just before a crash, never seen
        // starting): its retry waits the backoff in elapsed time, like any retry, so it moves with
        // clock steps and may start before the job's first wall-clock due time after a backward step.
        const at = failure.nextRunAt.getTime();
        state.nextDue = { wall: at, elapsed: true, charge: true, why: `retry after a lost attempt charged (${failure.error?.name}), due ${iso(at)}` };
      }
      for (let i = this.attempts.length - 1; i >= 0; i--) {
        const a = this.attempts[i] as AttemptRec;
        if (a.pid === pid && a.id === job.id && !a.confirmed && (a.ended === 'fail' || a.abort === 'timeout')) {
          a.confirmed = true;
          break;
        }
      }
      return;
    }
    if (type !== 'completed' && type !== 'dead') return;
    const want = type === 'completed' ? ['ok'] : ['fail', 'unrecoverable', 'aborted'];
    // The newest attempt it can be, preferring one of the event's own run: a schedule's next run can
    // start (and end) here before the event of the one before arrives (PostgreSQL seed 289001066).
    let match: AttemptRec | undefined;
    let newest: AttemptRec | undefined;
    const ran = job.runAt.getTime();
    for (let i = this.attempts.length - 1; i >= 0; i--) {
      const a = this.attempts[i] as AttemptRec;
      if (a.pid === pid && a.id === job.id && !a.confirmed && (want.includes(a.ended ?? '') || (type === 'dead' && a.abort === 'timeout'))) {
        newest ??= a;
        if (a.slot === ran) {
          match = a;
          break;
        }
      }
    }
    match ??= newest;
    if (match) match.confirmed = true;
    if (type === 'completed') {
      this.check('phantom', match !== undefined, () => `'completed' for job ${job.id} v${v} with no successful attempt in this process`);
    }
    const seq = ++this.seq;
    if (state.ins.kind === 'cron' || state.ins.kind === 'every') {
      const slot = match?.slot ?? job.runAt.getTime();
      state.doneSlots.add(slot);
      state.maxDoneSlot = Math.max(state.maxDoneSlot, slot);
      state.facts.push({ seq, kind: 'slotDone', slot });
    } else {
      state.facts.push({ seq, kind: type });
    }
  }

  /** A call's status as of `asOf` (see there). */
  private statusOf(op: OpRec): OpStatus {
    return op.settledAt !== undefined && op.settledAt > this.asOf ? 'pending' : op.status;
  }

  /** The newest fact learnt by `asOf`. */
  private lastFact(state: VState): Fact | undefined {
    for (let i = state.facts.length - 1; i >= 0; i--) {
      const f = state.facts[i] as Fact;
      if (f.seq <= this.asOf) return f;
    }
    return undefined;
  }

  /** True when a call on `id` made after `seq` is not decided (pending, or lost with its process). */
  undecided(id: string, seq: number): boolean {
    const list = this.idOps.get(id);
    if (!list) return false;
    for (let i = list.length - 1; i >= 0; i--) {
      const op = list[i] as OpRec;
      if (op.seq <= seq) break;
      const status = this.statusOf(op);
      if (status === 'pending' || status === 'unknown') return true;
    }
    return false;
  }

  /**
   * On a store without call order, a cancel made before `insert` but still in flight when it was
   * made may have applied after it and cancelled what it stored (seed 224000226, PostgresStore:
   * `cancel(s2)` and `scheduleCron(s2)` in one burst).
   */
  private cancelInFlight(id: string, insert: OpRec): OpRec | undefined {
    if (this.config.callOrder !== false) return undefined;
    return this.idOps.get(id)?.find((op) => op.kind === 'cancel' && op.seq < insert.seq && (op.status !== 'acked' || (op.settledAt ?? 0) > insert.seq) && op.status !== 'rejected');
  }

  private anyOp(id: string, kinds: readonly string[], after: number, statuses: readonly OpStatus[]): OpRec | undefined {
    return this.idOps.get(id)?.find((op) => op.seq > after && kinds.includes(op.kind) && statuses.includes(this.statusOf(op)));
  }

  // ----------------------------------------------------------- store view

  /**
   * Compares the store's records with the model. `phase`: 'live' (a running
   * process, quiescent), 'recovered' (right after a restart), 'final'.
   */
  checkRecords(records: readonly JobRecord[], phase: 'live' | 'recovered' | 'final', asOf = Infinity): void {
    this.asOf = asOf;
    try {
      this.checkRecordsNow(records, phase);
    } finally {
      this.asOf = Infinity;
    }
  }

  /** The model's sequence number now: pass it to `checkRecords` with a read sent now. */
  get now(): number {
    return this.seq;
  }

  private checkRecordsNow(records: readonly JobRecord[], phase: 'live' | 'recovered' | 'final'): void {
    const byId = new Map<string, JobRecord>();
    for (const r of records) {
      byId.set(r.id, r);
      const v = (r.payload as { v?: unknown } | null)?.v;
      const state = typeof v === 'number' ? this.vs.get(v) : undefined;
      if (!state) {
        this.fail('rejected', `the store holds job ${r.id} with payload ${JSON.stringify(r.payload)}, which no call scheduled`);
        continue;
      }
      const ins = state.ins;
      this.check('rejected', this.statusOf(ins.op) !== 'rejected', () => `the store holds job ${r.id} v${v} (${r.state}) though the call that scheduled it was rejected (${phase})`);
      this.check('durable', r.name === ins.name && (ins.id === undefined || ins.id === r.id), () => `job ${r.id} v${v} has name ${r.name}, expected ${ins.name} (id ${ins.id})`);
      this.check('dedupe', ins.throttled !== true, () => `the store holds job ${r.id} with v${v}, the payload of a call answered 'throttled' (${phase})`);
      if (r.state === 'completed' && !r.recur) {
        this.check('phantom', state.okEnds > 0, () => `job ${r.id} v${v} is completed but its handler never succeeded`);
      }
      if (r.state === 'cancelled') {
        const cancel = this.anyOp(r.id, ['cancel'], ins.op.seq, ['acked', 'pending', 'unknown']) ?? this.cancelInFlight(r.id, ins.op);
        this.check('rejected', cancel !== undefined, () => `job ${r.id} v${v} is cancelled, but no cancel call was acknowledged or left undecided`);
      }
      this.checkFacts(r, state, phase);
    }
    // Acknowledged jobs that must exist.
    for (const [id] of this.idOps) {
      const cur = this.current(id);
      if (!cur) continue;
      const r = byId.get(id);
      const allowed = new Set<number>([cur.ins.v]);
      for (const op of this.idOps.get(id) ?? []) {
        const status = this.statusOf(op);
        if (op.seq > cur.ins.op.seq && (status === 'pending' || status === 'unknown')) for (const v of op.vs ?? []) allowed.add(v);
        // No call order (RedisStore, PostgresStore): an earlier insert still in flight when the
        // current one was made may have landed after it (PostgreSQL seed 279000056: a scheduleMany
        // replacing j5, then a handler's scheduleIn of j5 from another process, acknowledged first).
        if (this.config.callOrder === false && op.seq < cur.ins.op.seq && status === 'acked' && (op.settledAt ?? 0) > cur.ins.op.seq) {
          for (const v of op.vs ?? []) if (this.vs.get(v)?.ins.id === id && this.vs.get(v)?.stored === true) allowed.add(v);
        }
      }
      if (!r) {
        const evictable = this.config.keepSmall || this.undecidedKinds(id, cur.ins.op.seq, ['cancel', 'retry']);
        this.check('durable', evictable, () => `acknowledged job ${id} v${cur.ins.v} (${cur.ins.kind}) is missing from the store (${phase})`);
        continue;
      }
      const v = (r.payload as { v?: unknown }).v as number;
      this.check('durable', allowed.has(v) || this.debounceMayHold(v, r.name), () => `job ${id} holds v${v}, expected v${cur.ins.v}${allowed.size > 1 ? ` or one of ${[...allowed].join(', ')}` : ''} (the last acknowledged insert) (${phase})`);
    }
    if (phase === 'recovered') this.checkManyAtomic(records);
  }

  /** Ids whose last acknowledged insert stands: checkRecords expects each to be in the store (or evictable). */
  acknowledgedIds(): string[] {
    return [...this.idOps.keys()].filter((id) => this.current(id) !== undefined);
  }

  private undecidedKinds(id: string, after: number, kinds: readonly string[]): boolean {
    return this.anyOp(id, kinds, after, ['pending', 'unknown']) !== undefined;
  }

  /** The insert the id holds per acknowledged calls (the last acknowledged insert that stored its own v). */
  private current(id: string): VState | undefined {
    let best: VState | undefined;
    for (const op of this.idOps.get(id) ?? []) {
      if (this.statusOf(op) !== 'acked' || !op.vs) continue;
      for (const v of op.vs) {
        const state = this.vs.get(v);
        // Later call wins; within one scheduleMany, the later item.
        if (state && state.ins.id === id && state.stored && this.lastFact(state) !== undefined && (!best || op.seq > best.ins.op.seq || (op.seq === best.ins.op.seq && v > best.ins.v))) best = state;
      }
    }
    return best;
  }

  private checkFacts(r: JobRecord, state: VState, phase: string): void {
    const fact = this.lastFact(state);
    if (!fact || this.undecided(r.id, fact.seq)) return;
    const recurring = state.ins.kind === 'cron' || state.ins.kind === 'every';
    const where = `job ${r.id} v${state.ins.v}`;
    switch (fact.kind) {
      case 'cancelled':
        if (fact.weak) break;
        this.check('durable', r.state === 'cancelled', () => `${where} was acknowledged cancelled, the store says ${r.state} (${phase})`);
        break;
      case 'completed':
      case 'dead':
        if (!recurring) this.check('durable', r.state === fact.kind, () => `${where} was reported ${fact.kind} (event), the store says ${r.state} (${phase})`);
        break;
      case 'slotDone': {
        const s = fact.slot as number;
        const ok = TERMINAL.has(r.state) || (r.recur !== undefined && r.recur.slot > s);
        this.check('durable', ok, () => `${where}: slot ${iso(s)} was reported finished, the store is back at slot ${iso(r.recur?.slot ?? r.runAt)} (${r.state}) (${phase})`);
        break;
      }
      case 'scheduled':
      case 'revived': {
        if (fact.weak || state.lastStartSeq > (fact.from ?? fact.seq) || this.lastCrashSeq > fact.seq || !fact.runAt || this.config.timeChecks === false) break;
        if (r.state !== 'scheduled' || recurring) break;
        const want = fact.runAt.wall;
        // A reschedule does not erase the charge of an attempt lost before it (a crash, or a stop whose
        // hand-back was not stored): when the job comes due the charge is taken first and the retry
        // waits its backoff from then (README, crash rule). The record shows the charge was taken.
        // That retry is elapsed time: a backward step since can carry it before `want`, a wall time the
        // step did not move (a debounce to a date; seed 297158202). Its failed event, moved with the steps, says where.
        const movedRetry = state.nextDue?.charge === true && r.runAt === state.nextDue.wall;
        const charged = (state.lost > 0 || state.stopAborted > 0 || state.chargeUnseen === true) && r.lost === undefined && r.relative === true && (r.runAt > want || movedRetry) && CHARGE_ERRORS.has(r.lastError?.name ?? '');
        this.check('durable', r.runAt === want || charged, () => `${where} was acknowledged due at ${iso(want)}, the store says ${iso(r.runAt)} (${phase})`);
        break;
      }
    }
    if (phase === 'recovered' && !TERMINAL.has(r.state) && fact.kind !== 'scheduled' && fact.kind !== 'revived' && fact.kind !== 'slotDone') {
      this.coverage.check('durable');
    }
  }

  /** An undecided scheduleMany is all or none after recovery. */
  private checkManyAtomic(records: readonly JobRecord[]): void {
    const present = new Set<number>();
    for (const r of records) {
      const v = (r.payload as { v?: unknown }).v;
      if (typeof v === 'number') present.add(v);
    }
    // A job that started was stored, even if it has finished and retention
    // (keepCompleted 0) removed it before these records were read.
    for (const a of this.attempts) present.add(a.v);
    for (const op of this.ops) {
      if (op.kind !== 'many' || op.status !== 'unknown' || !op.vs || op.vs.length < 2) continue;
      // Only when every item would store its own v: distinct ids, no 'keep', nothing touched those ids since.
      const items = op.vs.map((v) => this.vs.get(v)?.ins);
      const ids = items.map((ins) => ins?.id);
      if (items.some((ins) => !ins || ins.id === undefined || ins.mode === 'keep' || this.touchedAfter(ins.id, op.seq))) continue;
      if (new Set(ids).size !== ids.length) continue;
      const n = op.vs.filter((v) => present.has(v)).length;
      this.check('atomicMany', n === 0 || n === op.vs.length, () => `scheduleMany of ${op.vs?.length} jobs (in flight at a crash) came back with ${n} of them`);
    }
  }

  private touchedAfter(id: string, seq: number): boolean {
    return (this.idOps.get(id) ?? []).some((op) => op.seq > seq);
  }

  /** After the final drain: nothing due is left behind. */
  checkDrained(records: readonly JobRecord[], now: number): void {
    for (const r of records) {
      if (r.state === 'running') {
        this.fail('atLeastOnce', `job ${r.id} is still 'running' after the final drain with no attempt alive (a settle that never reached the store?)`);
        continue;
      }
      if (r.state !== 'scheduled') continue;
      this.check('atLeastOnce', r.runAt > now, () => `job ${r.id} (${r.recur ? 'schedule' : 'one-off'}) is still scheduled at ${iso(r.runAt)}, due ${now - r.runAt} ms ago, after the final drain`);
    }
  }

  coverageOf(): Record<string, number> {
    return this.coverage.counts;
  }
}

export function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}
