/**
 * The Redis server's clock, estimated in this process from the server time
 * every script reply carries (`TIME` read inside the script).
 *
 * The estimate rides on the monotonic clock (`performance.now()`), not on
 * the wall clock, so a wrong, fast, slow or jumping local clock does not move
 * it. A reply read at server time `r`, sent at monotonic `t0` and received at
 * `t1`, bounds `server − monotonic` to `[r − t1, r − t0]`; bounds from
 * successive replies are intersected (fast round trips give tight ones). An
 * empty intersection means the server's clock jumped, and the window
 * restarts from the new reply; it also restarts every `maxAgeMs` so slow
 * drift cannot leave it stale.
 *
 * `now()` answers with the LOWER bound: an instant the server's clock has
 * surely reached. A job claimed with it is never early on the server's clock.
 */
import { performance } from 'node:perf_hooks';

export class ServerTime {
  private lo: number | undefined;
  private hi: number | undefined;
  private since = 0;

  constructor(private readonly maxAgeMs = 30_000) {}

  /** Monotonic ms, to bracket a request with. */
  mono(): number {
    return performance.now();
  }

  /** Records one reply: server time `server`, request sent at monotonic `t0`, reply at `t1`. */
  sample(server: number, t0: number, t1: number): void {
    if (!Number.isFinite(server)) return;
    const lo = server - t1;
    const hi = server - t0;
    if (this.lo === undefined || this.hi === undefined || lo > this.hi || hi < this.lo || t1 - this.since > this.maxAgeMs) {
      this.lo = lo;
      this.hi = hi;
      this.since = t1;
      return;
    }
    if (lo > this.lo) this.lo = lo;
    if (hi < this.hi) this.hi = hi;
  }

  /** Whether a reply has been seen. */
  get known(): boolean {
    return this.lo !== undefined;
  }

  /** Width of the current estimate window, ms (its uncertainty). */
  uncertainty(): number {
    return this.lo === undefined || this.hi === undefined ? Infinity : this.hi - this.lo;
  }

  /**
   * Server time the server's clock has surely reached, whole epoch ms (job
   * times are whole ms, like Date.now()); the wall clock before any reply.
   */
  now(): number {
    return this.lo === undefined ? Date.now() : Math.floor(performance.now() + this.lo);
  }

  /** Monotonic ms from now until the server's clock surely reaches `server`. */
  until(server: number): number {
    return server - this.now();
  }
}
