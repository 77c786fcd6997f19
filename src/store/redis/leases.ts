/**
 * The leases this process holds: which attempts it runs, renewing them, and
 * noticing when one is lost.
 *
 * A lease is renewed only while its attempt is really alive: from its claim
 * until its outcome is recorded, and once the first `settle` of that attempt
 * was tried, for at most `settleGraceMs` more (time for the scheduler's
 * settle retries to land). A settle that never gets through can therefore
 * never keep a job `running` forever: its lease lapses and the job runs
 * again elsewhere.
 *
 * Each lease also has a local deadline: the time the renewal that last
 * succeeded was SENT, plus `leaseMs`, on this process's monotonic clock. The
 * server's expiry is at or after it, so once it passes without a renewal the
 * lease may be gone: the attempt is reported lost (`'lease'`) at once, even
 * while Redis is unreachable, and a process resumed after SIGSTOP or a long
 * event-loop block aborts its handler before doing more work in parallel
 * with the job's new owner.
 *
 * The tick runs on the scheduler's Clock (tests drive it with a
 * VirtualClock) and also on a real-time timer, whichever fires first: the
 * lease itself expires on the Redis server's real clock, so renewals must
 * not wait for a virtual clock nobody advances, nor for a wall clock stepped
 * backwards.
 */
import { performance } from 'node:perf_hooks';
import type { Clock, ClockTimer } from '../../clock.js';
import type { LostReason } from '../store.js';

export interface HeldLease {
  token: string;
  /** The claimed record's seq (a different seq later means the job was replaced). */
  seq: number;
  /** Local deadline, monotonic ms. */
  expires: number;
  /** Monotonic ms of the first settle of this attempt. */
  settling?: number;
  /**
   * Why a renewal found the job no longer this attempt's while its settle was
   * in flight: not reported then (the settle's own reply says whether the
   * outcome landed), only if the local deadline passes with the lease still held.
   */
  gone?: LostReason;
  /** The job's hash as claimed, and its decoded payload: an outcome is sent as changes against them. */
  claimed?: { fields: Record<string, string>; payload: unknown };
}

/** A lease the store asks Redis to renew. */
export interface RenewItem {
  id: string;
  token: string;
  seq: number;
}

export interface LeaseOptions {
  leaseMs: number;
  settleGraceMs: number;
  /** Runs RENEW; resolves with the attempts no longer owned and why. */
  renew(items: RenewItem[]): Promise<[string, LostReason][]>;
  /** An attempt of this process lost its job. */
  lost(id: string, token: string, reason: LostReason): void;
  /** Monotonic ms (tests pass a fake one). @default performance.now */
  mono?: () => number;
  /** Also tick on a real-time timer. @default true */
  realTime?: boolean;
}

export class Leases {
  readonly held = new Map<string, HeldLease>();
  private clock: Clock | undefined;
  private clockTimer: ClockTimer | undefined;
  private realTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private readonly period: number;
  private readonly mono: () => number;

  constructor(private readonly options: LeaseOptions) {
    this.period = Math.max(50, Math.floor(options.leaseMs / 3));
    this.mono = options.mono ?? (() => performance.now());
  }

  start(clock: Clock): void {
    this.clock = clock;
  }

  stop(): void {
    this.clock = undefined;
    this.clockTimer?.clear();
    clearTimeout(this.realTimer);
    this.clockTimer = undefined;
    this.realTimer = undefined;
  }

  /** A claim that was sent at monotonic `sentAt` took this attempt. */
  add(id: string, token: string, seq: number, sentAt: number, claimed?: HeldLease['claimed']): void {
    this.held.set(id, claimed ? { token, seq, expires: sentAt + this.options.leaseMs, claimed } : { token, seq, expires: sentAt + this.options.leaseMs });
    if (this.clockTimer === undefined) this.arm();
  }

  /** Monotonic ms now (the clock of the local deadlines). */
  now(): number {
    return this.mono();
  }

  /** The first settle of this attempt is being tried: renew it only for the grace period from now. */
  settling(id: string, token: string): void {
    const lease = this.held.get(id);
    if (lease && lease.token === token && lease.settling === undefined) lease.settling = this.mono();
  }

  /** The attempt's outcome was recorded (or refused): forget its lease. */
  release(id: string, token?: string): void {
    const lease = this.held.get(id);
    if (lease && (token === undefined || lease.token === token)) this.held.delete(id);
  }

  /** Forgets the lease and tells the scheduler, once, that the attempt lost its job. */
  lose(id: string, token: string, reason: LostReason): void {
    const lease = this.held.get(id);
    if (!lease || lease.token !== token) return;
    this.held.delete(id);
    this.options.lost(id, token, reason);
  }

  /** id/token pairs of every held lease (for RELEASE at close). */
  pairs(): string[] {
    const out: string[] = [];
    for (const [id, lease] of this.held) out.push(id, lease.token);
    return out;
  }

  /** Arms the next tick while any lease is held (an idle store keeps no timer here). */
  private arm(): void {
    const clock = this.clock;
    this.clockTimer?.clear();
    clearTimeout(this.realTimer);
    this.clockTimer = undefined;
    this.realTimer = undefined;
    if (!clock || this.held.size === 0) return;
    let fired = false;
    const fire = (): void => {
      if (fired) return;
      fired = true;
      this.clockTimer?.clear();
      clearTimeout(this.realTimer);
      void this.tick().finally(() => this.arm());
    };
    // Every renewal period, and at the earliest local deadline (to report a lost lease promptly).
    let wait = this.period;
    const now = this.mono();
    for (const lease of this.held.values()) wait = Math.min(wait, lease.expires - now + 1);
    wait = Math.max(1, Math.ceil(wait));
    this.clockTimer = clock.setTimer(clock.now() + wait, fire);
    if (this.options.realTime !== false) {
      this.realTimer = setTimeout(fire, wait);
      this.realTimer.unref();
    }
  }

  /** Reports leases past their local deadline, then renews the live ones. */
  async tick(): Promise<void> {
    if (this.held.size === 0) return;
    const now = this.mono();
    const items: RenewItem[] = [];
    for (const [id, lease] of [...this.held]) {
      if (lease.expires <= now) {
        this.lose(id, lease.token, lease.gone ?? 'lease');
      } else if (lease.gone === undefined && (lease.settling === undefined || now - lease.settling < this.options.settleGraceMs)) {
        items.push({ id, token: lease.token, seq: lease.seq });
      }
    }
    if (items.length === 0 || this.renewing) return;
    this.renewing = true;
    const sentAt = this.mono();
    try {
      const gone = new Map(await this.options.renew(items));
      for (const item of items) {
        const reason = gone.get(item.id);
        const lease = this.held.get(item.id);
        if (reason !== undefined) {
          // A settle of this attempt may have landed before this renewal ran
          // (sent after it, or retried): the job has moved on, and Redis says
          // so with a reason although the outcome was recorded. That settle's
          // reply decides (OK: released; STALE: reported lost there); this
          // lease is only no longer renewed, and reported at its local
          // deadline if it is still held then.
          if (lease && lease.token === item.token && lease.settling !== undefined) lease.gone = reason;
          else this.lose(item.id, item.token, reason);
          continue;
        }
        if (lease && lease.token === item.token) lease.expires = sentAt + this.options.leaseMs;
      }
    } catch {
      // Redis unreachable: the next tick tries again; the local deadline reports the loss if it comes.
    } finally {
      this.renewing = false;
    }
  }
}
