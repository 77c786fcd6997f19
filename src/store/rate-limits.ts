/**
 * Start-rate limits for the local stores (MemoryStore, JsonFileStore): a
 * sliding window of start times per job name and one for the whole store,
 * plus the "pushed back until" time a handler set for its name
 * (`job.rateLimit(ms)`). A claim asks `allow(name)` before it takes a job and
 * tells `took(name)` after; a job over the limit stays where it waits, in
 * order, and the claim reports when the first limit frees (`retryAt`).
 *
 * WHY a sliding log: a fixed window lets 2 × max through around its edge;
 * the log holds at most `max` entries per name, which a limit keeps small.
 * Not persisted: after a restart the windows start empty (RedisStore keeps
 * its windows in Redis, shared by every process).
 */
import type { ClaimRequest, RateLimit } from './store.js';

/** A window's start times, oldest first (a queue with a moving head). */
class StartLog {
  private times: number[] = [];
  private head = 0;

  /** Drops starts at or before `now - durationMs`; returns how many remain. */
  count(now: number, durationMs: number): number {
    const since = now - durationMs;
    while (this.head < this.times.length && (this.times[this.head] as number) <= since) this.head++;
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  push(now: number): void {
    this.times.push(now);
  }

  /** Forgets the newest start (a claim that did not start its job). */
  dropNewest(): void {
    if (this.times.length > this.head) this.times.pop();
  }

  /** Moves every start by `deltaMs` (a clock step; see RateWindows.shift). */
  shift(deltaMs: number): void {
    const times = this.times;
    for (let i = this.head; i < times.length; i++) times[i] = (times[i] as number) + deltaMs;
  }

  /** When the window has room again for one more start, given `max` allowed. */
  freeAt(max: number, durationMs: number): number {
    const n = this.times.length - this.head;
    // The start that must leave the window: the (n - max + 1)-th oldest.
    const i = this.head + Math.max(0, n - max);
    return (this.times[i] ?? -Infinity) + durationMs;
  }
}

/** Per-name and store-wide start windows, and names pushed back by their handlers. */
export class RateWindows {
  private readonly names = new Map<string, StartLog>();
  private readonly all = new StartLog();
  private readonly until = new Map<string, number>();

  /** True when a claim must go through `RateGate` (some limit configured or some name pushed back). */
  active(request: ClaimRequest): boolean {
    return request.rateLimit !== undefined || request.globalRateLimit !== undefined || this.until.size > 0;
  }

  /** No job of `name` starts before `at` (a handler's `job.rateLimit(ms)`). */
  pushBack(name: string, at: number): void {
    if ((this.until.get(name) ?? -Infinity) < at) this.until.set(name, at);
  }

  /**
   * The wall clock was stepped by `deltaMs`: windows and push-backs are
   * lengths of elapsed time, so every start and every "until" moves with the
   * step. Left in place, a step back by an hour left the last starts an hour
   * in the future, and the name waited that hour before its next start.
   */
  shift(deltaMs: number): void {
    for (const log of this.names.values()) log.shift(deltaMs);
    this.all.shift(deltaMs);
    for (const [name, at] of this.until) this.until.set(name, at + deltaMs);
  }

  /**
   * A claim of a job of `name` ended without starting it: its start leaves
   * the name's window and the store-wide one. The newest start goes: the
   * scheduler refunds right after the claim that counted it, and the starts
   * of one claim share its instant, so which of them goes makes no difference.
   */
  refund(name: string): void {
    this.names.get(name)?.dropNewest();
    this.all.dropNewest();
  }

  /** A gate for one claim at `request.now`. */
  gate(request: ClaimRequest): RateGate {
    return new RateGate(this, request);
  }

  /** @internal */
  log(name: string): StartLog {
    let log = this.names.get(name);
    if (!log) {
      log = new StartLog();
      this.names.set(name, log);
    }
    return log;
  }

  /** @internal */
  get global(): StartLog {
    return this.all;
  }

  /** @internal The push-back of `name` in force at `now`, if any (expired ones are dropped). */
  blockedUntil(name: string, now: number): number | undefined {
    const at = this.until.get(name);
    if (at === undefined) return undefined;
    if (at <= now) {
      this.until.delete(name);
      return undefined;
    }
    return at;
  }
}

/** The rate rules of one claim: which names may start one more job, and when the blocked ones may. */
export class RateGate {
  /** Earliest instant a name (or the store) blocked in this claim may start again. */
  retryAt: number | undefined;
  /** Per name seen in this claim: starts left now, and the push-back in force. */
  private readonly names = new Map<string, { left: number; blocked: number | undefined }>();
  private globalLeft: number;

  constructor(
    private readonly windows: RateWindows,
    private readonly request: ClaimRequest,
  ) {
    const g = request.globalRateLimit;
    this.globalLeft = g === undefined ? Infinity : g.max - windows.global.count(request.now, g.durationMs);
  }

  /** True while the store-wide limit has room; else notes when it will. */
  open(): boolean {
    if (this.globalLeft > 0) return true;
    const g = this.request.globalRateLimit as RateLimit;
    this.later(this.windows.global.freeAt(g.max, g.durationMs));
    return false;
  }

  /** May one more job of `name` start now? When not, notes when it may. */
  allow(name: string): boolean {
    if (!this.open()) return false;
    let s = this.names.get(name);
    if (!s) {
      const blocked = this.windows.blockedUntil(name, this.request.now);
      const limit = this.request.rateLimit?.(name);
      const left = blocked !== undefined ? 0 : limit === undefined ? Infinity : limit.max - this.windows.log(name).count(this.request.now, limit.durationMs);
      s = { left, blocked };
      this.names.set(name, s);
    }
    if (s.left > 0) return true;
    if (s.blocked !== undefined) this.later(s.blocked);
    else {
      const limit = this.request.rateLimit?.(name) as RateLimit;
      this.later(this.windows.log(name).freeAt(limit.max, limit.durationMs));
    }
    return false;
  }

  /** A job of `name` was taken (after `allow`): it counts in the windows from now. */
  took(name: string): void {
    const now = this.request.now;
    const s = this.names.get(name);
    if (s && s.left !== Infinity) {
      s.left--;
      this.windows.log(name).push(now);
    }
    if (this.request.globalRateLimit !== undefined) {
      this.globalLeft--;
      this.windows.global.push(now);
    }
  }

  private later(at: number): void {
    if (this.retryAt === undefined || at < this.retryAt) this.retryAt = at;
  }
}
