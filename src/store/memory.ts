/**
 * MemoryStore: the default store. Jobs live in this process only and are lost
 * when it exits. Stopping and starting a scheduler on the same MemoryStore
 * keeps its jobs (running ones are scheduled again).
 *
 * It has nothing to wait for, so it also offers the synchronous forms of
 * insert and settle (Store.insertSync, settleSync), which spare the scheduler
 * the promise hops of a call; each is offered only while the async method
 * is MemoryStore's own, so a subclass or a test that wraps one is obeyed.
 */
import { LocalStore, type Change } from './local.js';
import type { InsertRequest, InsertResult, JobRecord } from './store.js';

const own = LocalStore.prototype;

/** Keeps jobs in memory; no persistence. */
export class MemoryStore extends LocalStore {
  protected readonly durable = false;

  protected persist(_changes: Change[]): Promise<void> {
    return Promise.resolve();
  }

  /** `insert`, applied before it returns (see Store.insertSync). */
  get insertSync(): ((requests: readonly InsertRequest[]) => InsertResult[]) | undefined {
    return this.insert === own.insert ? this.insertNow : undefined;
  }

  /** `settle`, applied before it returns (see Store.settleSync). */
  get settleSync(): ((id: string, token: string, next: JobRecord) => boolean) | undefined {
    return this.settle === own.settle ? this.settleNow : undefined;
  }
}
