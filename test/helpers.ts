/** Shared test fixtures: a scheduler on a VirtualClock, event recording. */
import { Scheduler, type SchedulerOptions } from '../src/scheduler.js';
import { VirtualClock } from '../src/clock.js';
import type { JobMap } from '../src/types.js';
import type { SchedulerEvents } from '../src/events.js';

export const T0 = Date.UTC(2027, 0, 1, 0, 0, 0);

/** The benches' seeded PRNG (mulberry32): a test's random operations are the same every run. */
export { prng } from '../bench/lib.js';

/** Calls a function with arguments the types would refuse (bad-input tests). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const loose = (fn: Function): ((...args: unknown[]) => unknown) => fn as (...args: unknown[]) => unknown;

export async function virtualScheduler<Jobs extends JobMap>(
  options: Omit<SchedulerOptions, 'clock'> = {},
  start: number = T0,
): Promise<{ scheduler: Scheduler<Jobs>; clock: VirtualClock }> {
  const clock = new VirtualClock(start);
  const scheduler = new Scheduler<Jobs>({ ...options, clock });
  await scheduler.start();
  return { scheduler, clock };
}

export type Recorded = { type: string; id?: string; at: number; payload: unknown };

/** Records every event of `types` with the clock time it happened at. */
export function record<Jobs extends JobMap>(
  scheduler: Scheduler<Jobs>,
  clock: { now(): number },
  types: (keyof SchedulerEvents)[] = ['scheduled', 'started', 'completed', 'failed', 'retrying', 'dead', 'cancelled', 'misfired', 'missingHandler', 'drained', 'error', 'rescheduled'],
): Recorded[] {
  const log: Recorded[] = [];
  for (const type of types) {
    scheduler.on(type, (payload: unknown) => {
      const job = (payload as { job?: { id: string } }).job;
      log.push({ type, ...(job ? { id: job.id } : {}), at: clock.now(), payload });
    });
  }
  return log;
}

/** Events as collected by `collectEvents`, in the order they were emitted. */
export interface EventLog<Jobs extends JobMap> {
  /** Every collected event, in order. */
  readonly all: { type: keyof SchedulerEvents<Jobs>; payload: unknown }[];
  /** The payloads of one type, in order. */
  of<K extends keyof SchedulerEvents<Jobs>>(type: K): SchedulerEvents<Jobs>[K][];
  /** The job ids of one type's events, in order. */
  ids(type: keyof SchedulerEvents<Jobs>): string[];
  /** Stops collecting. */
  off(): void;
}

const ALL_EVENTS = ['scheduled', 'rescheduled', 'started', 'completed', 'failed', 'retrying', 'dead', 'lost', 'cancelled', 'misfired', 'missingHandler', 'drained', 'clockChanged', 'error'] as const;

/**
 * Collects a scheduler's events so a test asserts on them afterwards. Never
 * assert inside a listener: the scheduler turns a throwing listener into an
 * `error` event, so the assertion would fail silently. `error` events are
 * always collected, so a test can check `log.of('error')` is empty.
 */
export function collectEvents<Jobs extends JobMap>(
  scheduler: Scheduler<Jobs>,
  types: readonly (keyof SchedulerEvents<Jobs>)[] = ALL_EVENTS,
): EventLog<Jobs> {
  const all: { type: keyof SchedulerEvents<Jobs>; payload: unknown }[] = [];
  const listeners = new Map<keyof SchedulerEvents<Jobs>, (payload: unknown) => void>();
  for (const type of new Set([...types, 'error' as const])) {
    const listener = (payload: unknown): void => {
      all.push({ type, payload });
    };
    listeners.set(type, listener);
    scheduler.on(type, listener);
  }
  return {
    all,
    of: <K extends keyof SchedulerEvents<Jobs>>(type: K) => all.filter((e) => e.type === type).map((e) => e.payload as SchedulerEvents<Jobs>[K]),
    ids: (type) => all.filter((e) => e.type === type).map((e) => (e.payload as { job: { id: string } }).job.id),
    off: () => {
      for (const [type, listener] of listeners) scheduler.off(type, listener);
    },
  };
}

/** Polls `check` on real time until it holds (for durable stores, whose I/O the virtual clock does not wait for). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('until: condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Fails the test on any unhandled rejection while `fn` runs. */
export async function noUnhandledRejections(fn: () => Promise<void>): Promise<void> {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  if (seen.length > 0) throw new Error(`unhandled rejection(s): ${seen.map(String).join('; ')}`);
}

/**
 * Runs `body(count)` beside a setImmediate ticker; every `count()` call (from
 * the caller's spies) counts toward the current turn of the event loop.
 * Returns the most counted in one turn and the total: how a test tells work
 * spread over many turns from work done in one, without timing anything.
 */
export async function countPerTurn(body: (count: () => void) => Promise<void>): Promise<{ most: number; total: number }> {
  let inTurn = 0;
  let most = 0;
  let total = 0;
  let on = true;
  const tick = (): void => {
    most = Math.max(most, inTurn);
    inTurn = 0;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    await body(() => {
      inTurn++;
      total++;
    });
  } finally {
    on = false;
  }
  most = Math.max(most, inTurn);
  return { most, total };
}
