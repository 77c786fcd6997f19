/**
 * A Scheduler's store calls in flight and its elapsed-time waits (settle
 * and re-base retries), so stop() can wait for the calls and cut the waits
 * short, and a step of the wall clock moves each wait with it.
 */
import type { Clock, ClockTimer } from '../clock.js';

interface Sleeper {
  /** When it wakes, on the base clock. */
  at: number;
  timer: ClockTimer;
  wake: () => void;
}

export class Calls {
  private pendingOps = 0;
  private readonly opsIdle: (() => void)[] = [];
  private readonly sleepers = new Set<Sleeper>();

  /** `clock`: the base clock, on which waits are elapsed time. */
  constructor(private readonly clock: Clock) {}

  /** Store calls in flight are counted so stop() can wait for them without per-call allocations. */
  async track<T>(promise: Promise<T>): Promise<T> {
    this.pendingOps++;
    try {
      return await promise;
    } finally {
      if (--this.pendingOps === 0 && this.opsIdle.length > 0) {
        for (const resolve of this.opsIdle.splice(0)) resolve();
      }
    }
  }

  /** Resolves when no tracked call is in flight. */
  settled(): Promise<void> {
    if (this.pendingOps === 0) return Promise.resolve();
    return new Promise((resolve) => this.opsIdle.push(resolve));
  }

  /** Waits `ms` of elapsed time: a step of the wall clock moves the wake-up with it (`step`). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const clock = this.clock;
      const sleeper: Sleeper = {
        at: clock.now() + ms,
        timer: undefined as unknown as ClockTimer,
        wake: (): void => {
          sleeper.timer.clear();
          this.sleepers.delete(sleeper);
          resolve();
        },
      };
      sleeper.timer = clock.setTimer(sleeper.at, () => sleeper.wake());
      this.sleepers.add(sleeper);
    });
  }

  /** The wall clock was stepped by `deltaMs`: a wait moves with the step rather than wait the step out. */
  step(deltaMs: number): void {
    for (const sleeper of this.sleepers) {
      sleeper.timer.clear();
      sleeper.at += deltaMs;
      sleeper.timer = this.clock.setTimer(sleeper.at, () => sleeper.wake());
    }
  }

  /** Ends every wait now (stop). */
  wakeAll(): void {
    for (const sleeper of [...this.sleepers]) sleeper.wake();
  }
}

export { idleTurn } from '../idle-turn.js';

/** `work`, or whatever is done of it by `deadline` (real time, epoch ms). */
export function withDeadline(work: Promise<unknown>, deadline: number): Promise<boolean> {
  // Even past the deadline the work gets one turn: a store that closes at once still closes.
  const left = Math.max(0, deadline - Date.now());
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), left);
  });
  return Promise.race([work.then(() => true, () => true), expired]).finally(() => clearTimeout(timer));
}
