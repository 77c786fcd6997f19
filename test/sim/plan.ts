/**
 * A scenario: its configuration and its list of steps, generated up front
 * from the seed so a scenario can be replayed, printed and shrunk (a subset
 * of its steps is still a valid scenario). Ids come from small pools so
 * duplicates, cancels and reschedules hit real jobs; times are offsets from
 * the clock at the moment a step runs.
 */
import type { CrashMode, FaultKind } from './disk.js';
import type { Expectations } from './known.js';
import { Prng } from './prng.js';

export type Misfire = 'once' | 'skip' | 'all';
export type Dup = 'reject' | 'keep' | 'replace';

export interface RetrySpec {
  maxRetries: number;
  backoff: { type: 'fixed'; delay: number } | { type: 'exponential'; delay: number; factor?: number; maxDelay?: number };
}

export interface JobOpts {
  id?: string;
  retry?: RetrySpec;
  timeout?: number;
  priority?: number;
  onDuplicate?: Dup;
  /** A group (issue job control): 'g0' runs one at a time, g1 two at a time. */
  group?: GroupOpt;
  /** A dedupe window (one-offs only; never with `id` or `onDuplicate`, see withDedupe). */
  dedupe?: DedupeOpt;
}

export interface DedupeOpt {
  key: string;
  ttlMs: number;
  mode?: 'throttle' | 'debounce';
}

export type GroupOpt = 'g0' | { id: 'g1'; concurrency: 2 };

/** The limit a group option sets (the model's view of it). */
export function groupOf(group: GroupOpt): { id: string; limit: number } {
  return group === 'g0' ? { id: 'g0', limit: 1 } : { id: group.id, limit: group.concurrency };
}

export type Op =
  | { op: 'in'; name: string; delay: number; opts?: JobOpts }
  | { op: 'at'; name: string; offset: number; opts?: JobOpts }
  | { op: 'cron'; name: string; expr: string; tz?: string; misfire?: Misfire; limit?: number; opts?: JobOpts }
  | { op: 'every'; name: string; interval: number; misfire?: Misfire; limit?: number; opts?: JobOpts }
  | { op: 'many'; items: { name: string; delay?: number; offset?: number; opts?: JobOpts }[] }
  | { op: 'cancel'; id: string }
  | { op: 'reschedule'; id: string; offset: number }
  | { op: 'retry'; id: string; offset?: number }
  | { op: 'get'; id: string }
  | { op: 'list' }
  | { op: 'invalid'; what: 'delay' | 'cron' | 'payload' | 'tz' | 'at' | 'retry' };

export type Step =
  | { k: 'op'; op: Op }
  | { k: 'burst'; ops: Op[] }
  | { k: 'advance'; ms: number }
  | { k: 'step'; deltaMs: number }
  | { k: 'crash'; mode: CrashMode; at: 'now' | { calls: number; side: 'before' | 'after' }; downMs: number }
  | { k: 'restart' }
  | { k: 'fault'; fault: FaultKind; after: number }
  | { k: 'heal' }
  | { k: 'pause' }
  | { k: 'resume' }
  | { k: 'unregister'; name: string }
  | { k: 'register'; name: string };

export interface HandlerSpec {
  name: string;
  concurrency?: number;
  /** At most `max` starts of the name in any `durationMs` (job control's rate limits). */
  rateLimit?: { max: number; durationMs: number };
  retry?: RetrySpec;
  timeout?: number;
}

export interface Scenario {
  seed: number;
  store: 'memory' | 'json';
  /** `MemoryStore({ packed: true })` (a memory store only): plain jobs kept as bytes (packed-jobs.ts). */
  packed?: boolean;
  /** Start of the wall clock. */
  t0: number;
  /** Time zones cron jobs use (near t0's DST transition when there is one). */
  zones: string[];
  concurrency: number;
  retry?: RetrySpec;
  timeout?: number;
  keepCompleted: number;
  keepDead: number;
  snapshotEvery?: number;
  fsync: boolean;
  /** The store folder exists (durably) before the first start; else the store creates it. */
  dirExists: boolean;
  /** Weights of fs completion latency 0..3 turns. */
  latency: [number, number, number, number];
  handlers: HandlerSpec[];
  steps: Step[];
}

/** Knobs of the generator: what kinds of faults it may produce. */
export interface GenOptions {
  store?: 'memory' | 'json' | 'any';
  /** Steps per scenario (upper bound). @default 40 */
  steps?: number;
  crashes?: boolean;
  powerCuts?: boolean;
  /** Page-granular reordering within one write (the harshest crash model). */
  scramble?: boolean;
  diskFaults?: boolean;
  clockSteps?: boolean;
  /** Forward clock steps while running (elapsed-time re-basing, issue 13.5). */
  forwardSteps?: boolean;
  /** Let the store create its folder (parent-folder fsync, issue 11.11). */
  freshDir?: boolean;
}

export const NAMES = ['a', 'b', 'c'] as const;
export const ONE_OFF_IDS = ['j0', 'j1', 'j2', 'j3', 'j4', 'j5', 'j6', 'j7', 'j8', 'j9'];
export const SCHEDULE_IDS = ['s0', 's1', 's2'];

/** DST transitions to start near (UTC instants), with their zone. */
const TRANSITIONS: [string, number][] = [
  ['America/New_York', Date.UTC(2026, 2, 8, 7)],
  ['America/New_York', Date.UTC(2026, 10, 1, 6)],
  ['Europe/London', Date.UTC(2026, 2, 29, 1)],
  ['Europe/London', Date.UTC(2026, 9, 25, 1)],
  ['Australia/Lord_Howe', Date.UTC(2026, 3, 4, 15)],
  ['Australia/Lord_Howe', Date.UTC(2026, 9, 3, 15, 30)],
  ['Pacific/Chatham', Date.UTC(2026, 3, 4, 14)],
  ['Pacific/Chatham', Date.UTC(2026, 8, 26, 14)],
];
const PLAIN_ZONES = ['UTC', 'Asia/Kolkata', 'America/New_York'];

/** Cron expressions the oracle in cron-oracle.ts understands (no L, #, names). */
export const CRONS = [
  '*/5 * * * *',
  '*/15 * * * *',
  '0 * * * *',
  '30 * * * *',
  '*/20 * * * * *',
  '* * * * *',
  '30 2 * * *',
  '0 3 * * *',
  '15 1 * * *',
  '0 0 * * *',
  '45 1-3 * * *',
];

export function retrySpec(prng: Prng): RetrySpec {
  const maxRetries = prng.int(0, 3);
  return prng.chance(0.5)
    ? { maxRetries, backoff: { type: 'fixed', delay: prng.pick([0, 100, 1000, 5000]) } }
    : { maxRetries, backoff: { type: 'exponential', delay: prng.pick([50, 500, 2000]), factor: prng.pick([2, 3]), ...(prng.chance(0.5) ? { maxDelay: 4000 } : {}) } };
}

export function jobOpts(prng: Prng, ids: readonly string[], idChance: number): JobOpts | undefined {
  if (!prng.chance(0.85)) return undefined;
  const o: JobOpts = {};
  if (prng.chance(idChance)) o.id = prng.pick(ids);
  if (prng.chance(0.4)) o.retry = retrySpec(prng);
  if (prng.chance(0.25)) o.timeout = prng.pick([500, 2000, 10_000]);
  if (prng.chance(0.2)) o.priority = prng.int(-2, 2);
  const dup = prng.chance(0.5) ? prng.pick(['reject', 'keep', 'replace', undefined] as const) : undefined;
  if (dup) o.onDuplicate = dup;
  // Drawn last, so the draws above stay what they were for a given seed.
  if (prng.chance(0.3)) o.group = prng.chance(0.5) ? 'g0' : { id: 'g1', concurrency: 2 };
  return o;
}

/**
 * The options of a dedupe key's calls: fixed per key, since a debounce keeps
 * the window job's options (README, Dedupe windows) and the model reads a
 * job's retry policy, timeout and group from the call that made its version.
 */
const DEDUPE_KEYS: Record<string, Omit<JobOpts, 'dedupe'>> = {
  k0: {},
  k1: { retry: { maxRetries: 2, backoff: { type: 'fixed', delay: 1000 } }, timeout: 2000, priority: 1, group: 'g0' },
};

/**
 * Some one-offs get a dedupe window instead of their own options (a key
 * from a pool of two, so calls meet in windows). Never with `id` or
 * `onDuplicate`: the model follows a job's versions by the id a call names,
 * while a debounce moves its version onto the window's job, whose generated
 * id no call names.
 */
export function withDedupe(prng: Prng, opts: JobOpts | undefined, chance = 0.2): JobOpts | undefined {
  if (!prng.chance(chance)) return opts;
  const key = prng.pick(Object.keys(DEDUPE_KEYS));
  const mode = prng.pick(['debounce', 'throttle', undefined] as const);
  return { ...DEDUPE_KEYS[key], dedupe: { key, ttlMs: prng.pick([100, 5000, 60_000, 3_600_000, 3_600_000]), ...(mode ? { mode } : {}) } };
}

/**
 * The id of an op that targets a dedupe window's job: resolved when the op
 * runs, to the job the last created or debounced dedupe call returned
 * (dedupe calls name no id, so no other op would ever reach those jobs).
 */
export const WINDOW_JOB = '@window';

/** Dedupe calls mostly use the first name, so they meet in a few windows (a window is per name and key). */
export function dedupeName(opts: JobOpts | undefined, name: string): string {
  return opts?.dedupe !== undefined && name !== NAMES[2] ? NAMES[0] : name;
}

function delay(prng: Prng): number {
  const scale = prng.pick([0, 10, 1000, 5000, 60_000, 900_000, 3_600_000]);
  return scale === 0 ? 0 : prng.int(0, scale);
}

function makeOp(prng: Prng, zones: readonly string[]): Op {
  const kind = prng.weighted({ in: 10, at: 3, cron: 3, every: 2, many: 2, cancel: 4, reschedule: 3, retry: 2, get: 1, list: 0.5, invalid: 1 });
  const name = prng.pick(NAMES);
  switch (kind) {
    case 'in': {
      const opts = withDedupe(prng, jobOpts(prng, ONE_OFF_IDS, 0.8));
      return { op: 'in', name: dedupeName(opts, name), delay: delay(prng), ...(opts ? { opts } : {}) };
    }
    case 'at': {
      const opts = withDedupe(prng, jobOpts(prng, ONE_OFF_IDS, 0.8));
      return { op: 'at', name: dedupeName(opts, name), offset: prng.int(-60_000, 3_600_000), ...(opts ? { opts } : {}) };
    }
    case 'cron': {
      const opts = jobOpts(prng, SCHEDULE_IDS, 0.6);
      return {
        op: 'cron',
        name,
        expr: prng.pick(CRONS),
        ...(prng.chance(0.8) ? { tz: prng.pick(zones) } : {}),
        ...(prng.chance(0.5) ? { misfire: prng.pick(['once', 'skip', 'all'] as const) } : {}),
        ...(prng.chance(0.15) ? { limit: prng.int(1, 5) } : {}),
        ...(opts ? { opts } : {}),
      };
    }
    case 'every': {
      const opts = jobOpts(prng, SCHEDULE_IDS, 0.6);
      return {
        op: 'every',
        name,
        interval: prng.pick([7000, 60_000, 300_000, 3_600_000]),
        ...(prng.chance(0.5) ? { misfire: prng.pick(['once', 'skip', 'all'] as const) } : {}),
        ...(prng.chance(0.15) ? { limit: prng.int(1, 5) } : {}),
        ...(opts ? { opts } : {}),
      };
    }
    case 'many': {
      const n = prng.int(1, 4);
      const items = Array.from({ length: n }, () => {
        const opts = withDedupe(prng, jobOpts(prng, ONE_OFF_IDS, 0.7));
        return {
          name: dedupeName(opts, prng.pick(NAMES)),
          ...(prng.chance(0.7) ? { delay: delay(prng) } : { offset: prng.int(-1000, 600_000) }),
          ...(opts ? { opts } : {}),
        };
      });
      return { op: 'many', items };
    }
    case 'cancel':
      return { op: 'cancel', id: prng.chance(0.15) ? WINDOW_JOB : prng.pick(prng.chance(0.8) ? ONE_OFF_IDS : SCHEDULE_IDS) };
    case 'reschedule':
      return { op: 'reschedule', id: prng.chance(0.15) ? WINDOW_JOB : prng.pick(prng.chance(0.8) ? ONE_OFF_IDS : SCHEDULE_IDS), offset: prng.int(-30_000, 1_800_000) };
    case 'retry':
      return { op: 'retry', id: prng.chance(0.15) ? WINDOW_JOB : prng.pick(ONE_OFF_IDS), ...(prng.chance(0.4) ? { offset: prng.int(0, 600_000) } : {}) };
    case 'get':
      return { op: 'get', id: prng.pick([...ONE_OFF_IDS, ...SCHEDULE_IDS]) };
    case 'list':
      return { op: 'list' };
    default:
      return { op: 'invalid', what: prng.pick(['delay', 'cron', 'payload', 'tz', 'at', 'retry'] as const) };
  }
}

/** Generator options that hold main only to what it implements (see known.ts). */
export function genOptionsFor(expect: Expectations, base: GenOptions = {}): GenOptions {
  return { ...base, ...(expect.parentFsync ? {} : { freshDir: false }) };
}

/** The scenario of `seed` (pure function of its arguments). */
export function generate(seed: number, options: GenOptions = {}): Scenario {
  const prng = Prng.derive(seed, 'plan');
  const store = options.store === 'memory' || options.store === 'json' ? options.store : prng.chance(0.3) ? 'memory' : 'json';
  const json = store === 'json';
  const near = prng.chance(0.5) ? prng.pick(TRANSITIONS) : undefined;
  const t0 = near ? near[1] - prng.int(0, 6 * 3_600_000) : Date.UTC(2027, 0, 1) + prng.int(0, 365) * 86_400_000 + prng.int(0, 86_399) * 1000;
  const zones = near ? [near[0], near[0], prng.pick(PLAIN_ZONES)] : [prng.pick(PLAIN_ZONES), 'UTC'];
  const handlers: HandlerSpec[] = NAMES.map((name) => ({
    name,
    ...(prng.chance(0.4) ? { concurrency: prng.int(1, 3) } : {}),
    ...(prng.chance(0.3) ? { retry: retrySpec(prng) } : {}),
    ...(prng.chance(0.3) ? { timeout: prng.pick([1000, 3000, 20_000]) } : {}),
    // Drawn last, so the draws above stay what they were for a given seed.
    ...(prng.chance(0.25) ? { rateLimit: { max: prng.int(1, 3), durationMs: prng.pick([200, 1000, 5000]) } } : {}),
  }));
  const crashes = json && options.crashes !== false;
  const power = crashes && options.powerCuts !== false;
  const faults = json && options.diskFaults !== false;
  const clockSteps = options.clockSteps !== false;
  const total = prng.int(5, options.steps ?? 40);
  const steps: Step[] = [];
  const healAt: number[] = [];
  for (let i = 0; i < total; i++) {
    if (healAt.includes(i)) steps.push({ k: 'heal' });
    const kind = prng.weighted({
      op: 10,
      burst: 3,
      advance: 8,
      step: clockSteps ? 1 : 0,
      crash: crashes ? 2 : 0,
      restart: 0.7,
      fault: faults ? 1.5 : 0,
      heal: faults ? 0.7 : 0,
      pause: 0.3,
      resume: 0.5,
      unregister: 0.3,
      register: 0.4,
    });
    switch (kind) {
      case 'op':
        steps.push({ k: 'op', op: makeOp(prng, zones) });
        break;
      case 'burst':
        steps.push({ k: 'burst', ops: Array.from({ length: prng.int(2, 6) }, () => makeOp(prng, zones)) });
        break;
      case 'advance':
        steps.push({ k: 'advance', ms: Number(prng.weighted({ 0: 1, 1: 1, 50: 1, 500: 1, 1000: 1, 5000: 1, 30000: 1, 60000: 1, 300000: 1, 3600000: 0.4 })) + prng.int(0, 999) });
        break;
      case 'step': {
        const back = options.forwardSteps === false || prng.chance(0.5);
        const size = prng.pick([2000, 60_000, 3_600_000]) + prng.int(0, 999);
        steps.push({ k: 'step', deltaMs: back ? -size : size });
        break;
      }
      case 'crash': {
        const mode: CrashMode = !power ? 'kill' : prng.weighted({ kill: 5, 'power-prefix': 4, 'power-scramble': options.scramble ? 1 : 0 });
        const at = prng.chance(0.25) ? ('now' as const) : { calls: prng.int(1, 40), side: prng.pick(['before', 'after'] as const) };
        steps.push({ k: 'crash', mode, at, downMs: prng.pick([0, 0, 1000, 60_000, 3_600_000]) });
        break;
      }
      case 'fault': {
        const fault = prng.weighted<FaultKind>({ ENOSPC: 3, short: 2, EIO: 3, 'EIO-landed': 1, 'fsync-EIO': 2, 'read-EIO': 1 });
        steps.push({ k: 'fault', fault, after: prng.int(1, 12) });
        // A full disk is freed a few steps later (else every retry for hours costs simulation time).
        if (fault === 'ENOSPC' || fault === 'short') healAt.push(i + prng.int(1, 5));
        break;
      }
      default:
        steps.push(kind === 'unregister' || kind === 'register' ? { k: kind, name: prng.pick(NAMES) } : ({ k: kind } as Step));
    }
  }
  return {
    seed,
    store,
    // A draw of its own, so every other draw stays what it was for a given seed.
    ...(!json && Prng.derive(seed, 'packed').chance(0.5) ? { packed: true } : {}),
    t0,
    zones,
    concurrency: prng.pick([1, 2, 4, 10]),
    ...(prng.chance(0.5) ? { retry: retrySpec(prng) } : {}),
    ...(prng.chance(0.2) ? { timeout: prng.pick([2000, 30_000]) } : {}),
    keepCompleted: prng.chance(0.15) ? prng.int(0, 3) : 1000,
    keepDead: prng.chance(0.15) ? prng.int(0, 3) : 1000,
    ...(json && prng.chance(0.8) ? { snapshotEvery: prng.int(2, 40) } : {}),
    fsync: !json || !prng.chance(0.1),
    dirExists: !(json && options.freshDir !== false && prng.chance(0.2)),
    latency: prng.pick([
      [1, 0, 0, 0],
      [6, 3, 1, 0],
      [2, 2, 2, 1],
    ] as [number, number, number, number][]),
    handlers,
    steps,
  };
}

/** What a handler does on one attempt (see handlers in run.ts). */
export type BehaviorKind = 'ok' | 'throw' | 'unrecoverable' | 'hang' | 'hangIgnore' | 'syncThrow' | 'callback' | 'nonJson' | 'rateLimit';

export interface Behavior {
  kind: BehaviorKind;
  /** Virtual ms before it returns or throws. */
  ms: number;
  /** For 'callback': the call it makes into the scheduler first. */
  call?: Op;
  /** For 'rateLimit': how long `job.rateLimit(ms)` pushes its name back. */
  pushMs?: number;
}

/**
 * The behaviour of one attempt, a pure function of the seed, the insert,
 * the slot and the attempt number, so it does not depend on the order in
 * which jobs happen to run.
 */
export function behavior(seed: number, v: number, slot: number, attempt: number, selfId: string, scale = 1, pushes = 0, mayPushBack = false): Behavior {
  // A pushed-back attempt runs again with the same number: the times it was pushed back tell its runs apart.
  const prng = Prng.derive(seed, `behave:${v}:${slot}:${attempt}${pushes > 0 ? `:p${pushes}` : ''}`);
  const drawn = prng.weighted<Exclude<BehaviorKind, 'rateLimit'>>({ ok: 12, throw: 5, unrecoverable: 0.6, hang: 1.2, hangIgnore: 0.3, syncThrow: 0.5, callback: 2, nonJson: 0.3 });
  const ms = Math.round(prng.pick([0, 0, 0, 10, 500, 3000]) * scale);
  // Push-backs (job.rateLimit) only where the handler has a rate limit, from their own stream: the
  // draws above stay what they were, so a frozen scenario of a handler without one replays as frozen.
  // At most three push-backs of one attempt, so a scenario ends.
  if (mayPushBack && pushes < 3) {
    const push = Prng.derive(seed, `push:${v}:${slot}:${attempt}:${pushes}`);
    if (push.chance(0.08)) return { kind: 'rateLimit', ms, pushMs: Math.round(push.pick([1, 100, 1000, 8000]) * scale) };
  }
  const kind = drawn;
  if (kind !== 'callback') return { kind, ms };
  const which = prng.weighted({ cancelSelf: 1, cancel: 2, schedule: 3, reschedule: 1 });
  const other = prng.pick(ONE_OFF_IDS);
  const call: Op =
    which === 'cancelSelf'
      ? { op: 'cancel', id: selfId }
      : which === 'cancel'
        ? { op: 'cancel', id: other }
        : which === 'reschedule'
          ? { op: 'reschedule', id: other, offset: Math.round(prng.int(0, 600_000) * scale) }
          : { op: 'in', name: prng.pick(NAMES), delay: Math.round(prng.int(0, 60_000) * scale), opts: { id: other, ...(prng.chance(0.5) ? { onDuplicate: prng.pick(['keep', 'replace'] as const) } : {}) } };
  return { kind, ms, call };
}
