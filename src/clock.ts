/**
 * Time sources. The scheduler never reads global time: it asks its Clock.
 *
 * SystemClock waits in capped slices (30 s) with unref'd timers, re-reading
 * the wall clock at every wake-up: that handles delays beyond setTimeout's
 * 2^31-1 ms limit, laptop sleep, and wall-clock jumps both ways, and since
 * Node's setTimeout can fire up to 1 ms early, a timer that wakes before its
 * instant is simply re-armed for the rest: nothing fires early. Its timers
 * never keep the process alive by themselves (a timer already due holds it
 * for the one turn it waits); `hold()` does, and the scheduler holds while
 * it has work (unless `unref: true`).
 *
 * Steps: the wall clock (Date.now) can be stepped by an operator or NTP; the
 * monotonic clock (performance.now) cannot. SystemClock compares the two at
 * every wake-up (and whenever asked, `checkStep`): a change of their offset
 * beyond STEP_THRESHOLD between two checks is a step, reported to `onStep`
 * listeners so delays (elapsed time) can be re-based while dates and cron
 * slots (wall time) stay put. Slow drift below the threshold is absorbed.
 * Time spent suspended (laptop sleep, a paused VM) is not elapsed time for
 * the monotonic clock either, so it counts as a forward step — as it does
 * for Node's own setTimeout, which also does not run during suspend.
 *
 * VirtualClock is for tests: time moves only when told to, and `advance`
 * fires every timer on the way at its own instant, letting promise chains
 * settle in between, at a cost proportional to the timers fired, not to the
 * distance travelled.
 */
import { ValidationError } from './errors.js';

/** A one-shot timer; `clear()` cancels it. */
export interface ClockTimer {
  clear(): void;
}

/** Time source of a Scheduler. */
export interface Clock {
  /** Current time, epoch ms. */
  now(): number;
  /** Calls `fn` once, not before `at` (epoch ms on this clock). */
  setTimer(at: number, fn: () => void): ClockTimer;
  /**
   * Optional: lets a virtual clock ask whether work is still pending (for
   * `runAll`). Returns a function that removes the probe.
   */
  addPendingProbe?(probe: () => boolean): () => void;
  /**
   * Optional: subscribe to steps of the wall clock (`deltaMs` > 0: jumped
   * forward). Returns a function that unsubscribes.
   */
  onStep?(listener: (deltaMs: number) => void): () => void;
  /** Optional: look for a step now (listeners are called synchronously). */
  checkStep?(): void;
  /**
   * Optional (real clocks): keep the process alive until the returned
   * function is called. Timers alone never do.
   */
  hold?(): () => void;
}

/** Longest single wait: long delays, sleep and clock jumps are re-checked at least this often. */
export const MAX_WAIT_SLICE = 30_000;

/** A change of the wall-minus-monotonic offset larger than this between two checks is a step, ms. */
export const STEP_THRESHOLD = 1000;

const noop = (): void => undefined;

/** The real wall clock (Date.now), with capped, unref'd waits and step detection. */
export class SystemClock implements Clock {
  private offset = Date.now() - performance.now();
  private readonly stepListeners = new Set<(deltaMs: number) => void>();

  now(): number {
    return Date.now();
  }

  onStep(listener: (deltaMs: number) => void): () => void {
    this.offset = Date.now() - performance.now();
    this.stepListeners.add(listener);
    return () => this.stepListeners.delete(listener);
  }

  checkStep(): void {
    if (this.stepListeners.size === 0) return;
    const offset = Date.now() - performance.now();
    const delta = offset - this.offset;
    this.offset = offset;
    if (Math.abs(delta) < STEP_THRESHOLD) return;
    const deltaMs = Math.round(delta);
    for (const listener of [...this.stepListeners]) listener(deltaMs);
  }

  hold(): () => void {
    // A ref'd interval that never fires in practice: it only keeps the loop alive.
    const handle = setInterval(noop, 2 ** 31 - 1);
    return () => clearInterval(handle);
  }

  /**
   * Date.now() when a timer last started on the next turn (setImmediate)
   * because it was due already: at most one does so a millisecond.
   */
  private immediateAt = -1;

  setTimer(at: number, fn: () => void): ClockTimer {
    let handle: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;
    let cleared = false;
    const arm = (): void => {
      // A step found here re-bases the listeners' due times (they may clear
      // or re-arm this very timer) before this timer decides it is due.
      this.checkStep();
      if (cleared) return;
      const wait = at - Date.now();
      if (wait <= 0) {
        handle = undefined;
        fn();
        return;
      }
      handle = setTimeout(arm, Math.min(Math.max(1, Math.ceil(wait)), MAX_WAIT_SLICE));
      handle.unref();
    };
    // Arm on a fresh turn even when already due, so callers never re-enter.
    // Due already: the next turn (setImmediate), not setTimeout(0), which
    // Node makes 1 ms and libuv counts from the loop's next idle moment:
    // a job scheduled to run now started ~1.2 ms later. At most one such
    // timer a millisecond, so a caller that keeps re-arming for a time
    // already past cannot spin the loop (the rest wait 1 ms, as before).
    // Not unref'd: Node does not run an unref'd immediate while the loop
    // waits in poll, so it waited for the next unrelated wake. It holds the
    // process for this one turn only.
    const now = Date.now();
    if (at <= now && now !== this.immediateAt) {
      this.immediateAt = now;
      immediate = setImmediate(() => {
        immediate = undefined;
        arm();
      });
    } else {
      handle = setTimeout(() => {
        if (!cleared) arm();
      }, Math.min(Math.max(0, Math.ceil(at - now)), MAX_WAIT_SLICE));
      handle.unref();
    }
    return {
      clear(): void {
        cleared = true;
        if (handle) clearTimeout(handle);
        if (immediate) clearImmediate(immediate);
        handle = undefined;
        immediate = undefined;
      },
    };
  }
}

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
  active: boolean;
}

function toEpoch(value: number | Date, what: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new ValidationError(`Expected \`${what}\` to be a valid Date or epoch ms, got ${String(value)}`);
  }
  return ms;
}

/** Lets promise chains started by fired timers run to completion (unless they wait on real I/O). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock that moves only when told to. Pass it as `clock` to a Scheduler to
 * test schedules deterministically, without sleeping.
 * @example
 * const clock = new VirtualClock(Date.UTC(2027, 0, 1));
 * const scheduler = new Scheduler<Jobs>({ clock });
 * await scheduler.start();
 * await scheduler.scheduleIn('mail.send', 60_000, { to: 'a@b.c' });
 * await clock.advance(60_000); // the handler has run
 */
export class VirtualClock implements Clock {
  private current: number;
  private timers: VirtualTimer[] = [];
  private seq = 0;
  private readonly probes = new Set<() => boolean>();
  private readonly stepListeners = new Set<(deltaMs: number) => void>();

  /** @param start initial time, epoch ms or Date. @default 0 */
  constructor(start: number | Date = 0) {
    this.current = toEpoch(start, 'start');
  }

  now(): number {
    return this.current;
  }

  setTimer(at: number, fn: () => void): ClockTimer {
    const timer: VirtualTimer = { at, seq: this.seq++, fn, active: true };
    this.timers.push(timer);
    return {
      clear: (): void => {
        timer.active = false;
      },
    };
  }

  addPendingProbe(probe: () => boolean): () => void {
    this.probes.add(probe);
    return () => this.probes.delete(probe);
  }

  onStep(listener: (deltaMs: number) => void): () => void {
    this.stepListeners.add(listener);
    return () => this.stepListeners.delete(listener);
  }

  /** Active timers, for tests and `runAll`. */
  get pendingTimers(): number {
    this.compact();
    return this.timers.length;
  }

  private compact(): void {
    if (this.timers.some((t) => !t.active)) this.timers = this.timers.filter((t) => t.active);
  }

  private earliest(): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const t of this.timers) {
      if (t.active && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    return best;
  }

  /** Fires every timer due at or before `limit`, in order, moving time to each one's instant. */
  private async fireUntil(limit: number): Promise<void> {
    await settle();
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > limit) break;
      next.active = false;
      this.compact();
      if (next.at > this.current) this.current = next.at;
      next.fn();
      await settle();
    }
  }

  /**
   * Moves time forward by `ms`, firing everything that becomes due on the
   * way, each at its own instant.
   */
  async advance(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new ValidationError(`Expected \`ms\` to be a finite number >= 0, got ${String(ms)}`);
    }
    const target = this.current + ms;
    await this.fireUntil(target);
    this.current = Math.max(this.current, target);
    await settle();
  }

  /**
   * Advances to each next timer until no one-off work is pending (recurring
   * schedules alone do not keep it going). Stops after `maxSteps` timers.
   */
  async runAll(maxSteps = 100_000): Promise<void> {
    await settle();
    for (let step = 0; step < maxSteps; step++) {
      const pending = [...this.probes].some((probe) => probe());
      if (!pending) return;
      const next = this.earliest();
      if (!next) return;
      await this.fireUntil(Math.max(next.at, this.current));
    }
  }

  /**
   * Jumps the wall clock to `time`, backwards or forwards, as an operator
   * changing the system time would: step listeners hear of it first (a
   * scheduler re-bases its delays), then timers now due fire at the new time.
   */
  async set(time: number | Date): Promise<void> {
    const target = toEpoch(time, 'time');
    const delta = target - this.current;
    this.current = target;
    if (delta !== 0) for (const listener of [...this.stepListeners]) listener(delta);
    await this.fireUntil(this.current);
  }
}
