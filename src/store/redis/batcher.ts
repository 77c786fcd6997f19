/**
 * Coalesces calls made in the same tick of the event loop into one Redis
 * script call (inserts; settles). Fifty `scheduleIn` calls in flight become
 * one round trip and one script run instead of fifty, which is where most of
 * the time goes, for Redis and for this process. Each call keeps its own
 * outcome: the script answers per item, and a failure of the whole batch
 * (deadline, connection) rejects every call in it.
 */

/** One item's outcome as the flush function reports it. */
export type ItemOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Pending<Q, R> {
  request: Q;
  size: number;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export class Batcher<Q, R> {
  private queue: Pending<Q, R>[] = [];
  private scheduled = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  /**
   * @param flush sends one batch; resolves with one outcome per request, in order
   * @param maxItems most requests per batch
   * @param maxBytes most bytes per batch (a bigger single request goes alone)
   */
  constructor(
    private readonly flush: (requests: Q[]) => Promise<ItemOutcome<R>[]>,
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {}

  add(request: Q, size: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ request, size, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // After every promise continuation of this turn: calls made together go together.
        process.nextTick(this.drain);
      }
    });
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    while (this.queue.length > 0) {
      let bytes = 0;
      let n = 0;
      while (n < this.queue.length && n < this.maxItems) {
        const size = (this.queue[n] as Pending<Q, R>).size;
        if (n > 0 && bytes + size > this.maxBytes) break;
        bytes += size;
        n++;
      }
      void this.send(this.queue.splice(0, n));
    }
  };

  private async send(batch: Pending<Q, R>[]): Promise<void> {
    this.inFlight++;
    try {
      const outcomes = await this.flush(batch.map((p) => p.request));
      batch.forEach((p, i) => {
        const o = outcomes[i];
        if (o === undefined) p.reject(new Error('no outcome for a batched call'));
        else if (o.ok) p.resolve(o.value);
        else p.reject(o.error);
      });
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      this.inFlight--;
      if (this.queue.length === 0 && this.inFlight === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}
