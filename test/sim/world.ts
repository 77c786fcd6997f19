/**
 * The simulated machine: one wall clock (a VirtualClock), one SimDisk, and
 * at most one live process at a time, each a real Scheduler on a real store.
 *
 * A process owns a ProcessClock (its timers, on the shared clock) and a
 * SimFs (its file descriptors). Killing it clears its timers, makes every
 * later or in-flight file-system call hang, and stops its handlers from
 * doing anything: nothing it left in memory can touch the world again. Only
 * the disk survives, and a power cut then decides what of it survives.
 */
import type { Clock, ClockTimer } from '../../src/clock.js';
import type { Scheduler } from '../../src/scheduler.js';
import type { Store } from '../../src/store/store.js';
import type { SimFs } from './sim-fs.js';

/** A process's view of the shared clock: its timers die with it. */
export class ProcessClock implements Clock {
  private readonly timers = new Set<ClockTimer>();
  private readonly releases = new Set<() => void>();
  private dead = false;
  readonly onStep?: (listener: (deltaMs: number) => void) => () => void;
  readonly checkStep?: () => void;
  readonly hold?: () => () => void;

  constructor(private readonly base: Clock) {
    // Step detection and keep-alive pass through, and end with the process.
    if (base.onStep) {
      const subscribe = base.onStep.bind(base);
      this.onStep = (listener) => {
        const off = subscribe((delta) => {
          if (!this.dead) listener(delta);
        });
        this.releases.add(off);
        return () => {
          this.releases.delete(off);
          off();
        };
      };
    }
    if (base.checkStep) this.checkStep = (): void => void (this.dead || base.checkStep?.());
    if (base.hold) {
      const hold = base.hold.bind(base);
      this.hold = () => {
        if (this.dead) return () => undefined;
        const release = hold();
        this.releases.add(release);
        return () => {
          this.releases.delete(release);
          release();
        };
      };
    }
  }

  now(): number {
    return this.base.now();
  }

  setTimer(at: number, fn: () => void): ClockTimer {
    if (this.dead) return { clear: () => undefined };
    const timer = this.base.setTimer(at, () => {
      this.timers.delete(timer);
      if (!this.dead) fn();
    });
    this.timers.add(timer);
    return {
      clear: (): void => {
        timer.clear();
        this.timers.delete(timer);
      },
    };
  }

  kill(): void {
    this.dead = true;
    for (const t of this.timers) t.clear();
    this.timers.clear();
    for (const release of this.releases) release();
    this.releases.clear();
  }
}

export type Jobs = Record<string, { v: number }>;

export class Proc {
  alive = true;
  started = false;
  paused = false;
  readonly died: Promise<void>;
  private markDied!: () => void;
  /** Scheduler calls made by this process that have not settled. */
  readonly pending = new Set<Promise<unknown>>();
  scheduler!: Scheduler<Jobs>;
  store!: Store;
  fs: SimFs | undefined;

  constructor(
    readonly pid: number,
    readonly clock: ProcessClock,
  ) {
    this.died = new Promise((resolve) => {
      this.markDied = resolve;
    });
  }

  kill(): void {
    if (!this.alive) return;
    this.alive = false;
    this.clock.kill();
    this.markDied();
  }

  /** Resolves after `ms` on this process's clock; never once it died. */
  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.clock.setTimer(this.clock.now() + ms, resolve));
  }

  /** Tracks a scheduler call so stop() can be checked to leave none pending. */
  track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const done = (): void => {
      this.pending.delete(promise);
    };
    promise.then(done, done);
    return promise;
  }
}

/** Resolves with the promise's outcome, or 'died' if the process dies first. */
export async function unlessDied<T>(proc: Proc, promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown } | 'died'> {
  const outcome = promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return Promise.race([outcome, proc.died.then(() => 'died' as const)]);
}

export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
