/**
 * Sends the insert requests the `schedule*` calls built (requests.ts) to the
 * store and answers with JobInfo: synchronously recorded on a store that
 * inserts at once, otherwise awaited; then the `scheduled` / `rescheduled`
 * events and what a dedupe window did.
 */
import type { JobInfoOf } from '../events.js';
import type { InsertRequest, InsertResult, JobRecord, Store, StoreWriteOptions } from '../store/store.js';
import type { JobMap } from '../types.js';
import type { Dispatcher } from './dispatcher.js';
import type { EventHub } from './event-hub.js';

/** What inserting needs from its Scheduler. */
export interface InsertHost<Jobs extends JobMap, Results> {
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  readonly hub: EventHub<Jobs, Results>;
  /** The JobInfo of `record`. */
  info(record: JobRecord): JobInfoOf<Jobs, Results>;
}

const noop = (): void => undefined;

/** Inserts requests into the store on behalf of one Scheduler. */
export class Inserts<Jobs extends JobMap, Results> {
  constructor(private readonly host: InsertHost<Jobs, Results>) {}

  /** Inserts one request; throws (synchronously) only for what a store that inserts at once refuses. */
  one(request: InsertRequest, write: StoreWriteOptions): Promise<JobInfoOf<Jobs, Results>> {
    const { store, dispatcher } = this.host;
    const insertSync = store.insertSync;
    if (insertSync !== undefined && write.db === undefined && !dispatcher.rebasing()) {
      // Nothing to wait for: the job is recorded (and indexed) before this returns.
      const result = insertSync.call(store, [request])[0] as InsertResult;
      dispatcher.arm();
      return Promise.resolve(this.after(result, write, request.dedupe !== undefined));
    }
    return this.oneAsync(request, write);
  }

  private async oneAsync(request: InsertRequest, write: StoreWriteOptions): Promise<JobInfoOf<Jobs, Results>> {
    const release = this.holdClaims([request], write);
    try {
      return this.after((await this.insertAsync([request], write))[0] as InsertResult, write, request.dedupe !== undefined);
    } finally {
      release();
    }
  }

  /** Inserts `requests` in one store write, all or none. */
  async many(requests: InsertRequest[], write: StoreWriteOptions): Promise<JobInfoOf<Jobs, Results>[]> {
    const release = this.holdClaims(requests, write);
    try {
      const results = await this.insertAsync(requests, write);
      return results.map((result, i) => this.after(result, write, requests[i]?.dedupe !== undefined));
    } finally {
      release();
    }
  }

  /**
   * A replace of a job running here ends its version in the store, which
   * frees its group slot: no claim until its attempt is told (see
   * Dispatcher.holdClaimsFor). The release to call once `after` ran.
   */
  private holdClaims(requests: readonly InsertRequest[], write: StoreWriteOptions): () => void {
    if (write.db !== undefined) return noop;
    const releases: (() => void)[] = [];
    for (const request of requests) {
      if (request.onDuplicate !== 'replace') continue;
      const release = this.host.dispatcher.holdClaimsFor(request.record.id);
      if (release) releases.push(release);
    }
    return releases.length === 0 ? noop : () => releases.forEach((release) => release());
  }

  private async insertAsync(requests: InsertRequest[], write: StoreWriteOptions): Promise<InsertResult[]> {
    const { store, dispatcher } = this.host;
    try {
      if (dispatcher.rebasing()) {
        // Rare: a clock step the store has not taken yet. It lands first, or
        // the insert is refused with its error (a re-base landing after would
        // move the fresh delay by a step it never saw). Awaited inline, as
        // cancel() awaits it: calls waiting on it resume in call order.
        const refused = await dispatcher.afterRebase();
        if (refused) throw refused.error;
      }
      return await dispatcher.track(write.db ? store.insert(requests, write) : store.insert(requests));
    } finally {
      dispatcher.arm();
    }
  }

  private after(result: InsertResult, write: StoreWriteOptions, dedupe = false): JobInfoOf<Jobs, Results> {
    if (dedupe) return this.afterDedupe(result);
    const { dispatcher, hub } = this.host;
    // In a transaction the replaced attempt is told when it commits (a rollback keeps it).
    if (result.previous?.state === 'running' && !write.db) dispatcher.replaced(result.previous.id, result.previous);
    if (result.outcome === 'kept') {
      // A kept schedule may be mid-claim (its misfires being planned): answer with the record as it is after that.
      return this.host.info(dispatcher.current(result.record));
    }
    if (hub.wants('scheduled')) hub.publish('scheduled', () => ({ job: this.host.info(result.record) }));
    return this.host.info(result.record);
  }

  /** What a call with a dedupe window resolves with: the job, and `dedupe` saying what the window did. */
  private afterDedupe(result: InsertResult): JobInfoOf<Jobs, Results> {
    const { dispatcher, hub } = this.host;
    const record = result.record;
    if (result.outcome === 'debounced') {
      const previousRunAt = new Date(result.previous?.runAt ?? record.runAt);
      hub.publish('rescheduled', () => ({ job: this.host.info(record), previousRunAt }));
    } else if (result.outcome !== 'throttled' && hub.wants('scheduled')) hub.publish('scheduled', () => ({ job: this.host.info(record) }));
    const info = this.host.info(result.outcome === 'throttled' ? dispatcher.current(record) : record);
    info.dedupe = result.outcome === 'throttled' || result.outcome === 'debounced' ? result.outcome : 'created';
    return info;
  }
}
