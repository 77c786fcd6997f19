/**
 * The two timers of a shared store (RedisStore, PostgresStore) that keep its
 * caches true when no notice comes: the poll (every `pollMs`, and at once
 * when the server connection comes back), and the lease watch, armed for
 * when the earliest lease ends, which recovers the jobs of a process that
 * died.
 */
import type { ClockTimer } from '../../clock.js';
import type { StoreContext } from '../store.js';
import type { ServerView } from './view.js';

/** Slack after a lease's end before the watch timer checks it. */
const LEASE_GRACE_MS = 5;

/** The store's options the timers read: the poll interval; `readOnly` (no lease watch). */
export interface WatchOptions {
  readonly pollMs: number;
  readonly readOnly: boolean;
}

/** What the timers need from their store. */
export interface WatchHost {
  status(): 'closed' | 'opening' | 'open' | 'closing';
  context(): StoreContext | undefined;
  /** One poll's round trip: refreshes the caches, recovering expired leases; resolves with how many jobs it recovered. */
  tick(): Promise<number>;
  nextDueAt(): number | undefined;
}

/** The poll and the lease watch of one store. */
export class Watch {
  private pollTimer: ClockTimer | undefined;
  private leaseWatch: ClockTimer | undefined;
  private leaseWatchAt: number | undefined;
  private polling = false;
  private reconnected = false;

  constructor(
    private readonly view: ServerView,
    private readonly options: WatchOptions,
    private readonly host: WatchHost,
  ) {}

  /** A connection came back (notices may have been missed): poll now, and wake the scheduler once a poll gets through. */
  readonly onReconnect = (): void => {
    if (this.host.status() !== 'open') return;
    this.reconnected = true;
    void this.poll();
  };

  /** Arms the next poll (while open). */
  armPoll(): void {
    const clock = this.host.context()?.clock;
    if (!clock || this.host.status() !== 'open') return;
    this.pollTimer = clock.setTimer(clock.now() + this.options.pollMs, () => {
      this.pollTimer = undefined;
      void this.poll().finally(() => this.armPoll());
    });
  }

  /** Safety net: refresh the caches (recovering expired leases); wake the scheduler if something moved earlier. */
  async poll(): Promise<boolean> {
    if (this.polling || this.host.status() !== 'open') return false;
    this.polling = true;
    try {
      const force = this.reconnected;
      const before = this.host.nextDueAt();
      const recovered = await this.host.tick();
      const after = this.host.nextDueAt();
      if (force) this.reconnected = false;
      if (force || recovered > 0 || (after !== undefined && (before === undefined || after < before))) this.host.context()?.wake();
      return true;
    } catch {
      // Unreachable: the next poll (or the reconnect) tries again.
      return false;
    } finally {
      this.polling = false;
    }
  }

  /** Arms the one timer that recovers expired leases (of dead processes) when the earliest one ends. */
  watchLeases(minWait = 0): void {
    const clock = this.host.context()?.clock;
    if (!clock || (this.host.status() !== 'open' && this.host.status() !== 'opening') || this.options.readOnly) return;
    const at = this.view.leaseMin;
    this.leaseWatch?.clear();
    this.leaseWatch = undefined;
    this.leaseWatchAt = at;
    if (at === undefined) return;
    const wait = Math.max(minWait, Math.ceil(this.view.time.until(at)) + LEASE_GRACE_MS);
    this.leaseWatch = clock.setTimer(clock.now() + wait, () => {
      this.leaseWatch = undefined;
      this.leaseWatchAt = undefined;
      // After a failed or skipped poll, wait a little: the lease may look expired only because the server is away.
      void this.poll().then((ok) => this.watchLeases(ok ? 0 : 250));
    });
  }

  /** Whether a lease ending at `at` ends before the one the watch is armed for (then watchLeases() again). */
  sooner(at: number): boolean {
    return this.leaseWatchAt === undefined || at < this.leaseWatchAt;
  }

  /** Stops both timers (the store closes). */
  stop(): void {
    this.pollTimer?.clear();
    this.leaseWatch?.clear();
    this.pollTimer = undefined;
    this.leaseWatch = undefined;
    this.leaseWatchAt = undefined;
  }
}
