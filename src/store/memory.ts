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
import { ValidationError } from '../errors.js';
import { checkKeys, checkOptionsObject } from '../validate.js';
import { LocalStore, type Change } from './local.js';
import type { InsertRequest, InsertResult, JobRecord } from './store.js';

const own = LocalStore.prototype;

/** Options of `new MemoryStore(options)`. */
export interface MemoryStoreOptions {
  /**
   * Keep each job scheduled by `scheduleIn` / `scheduleAt` without options
   * as bytes (its id, its payload as JSON, a few numbers: ~100 B instead
   * of ~300 B at a million jobs), made a record again when it is read or
   * claimed. Costs CPU: the payload is written as JSON when the job is
   * scheduled and parsed when it is read or claimed. Default `false`.
   */
  packed?: boolean;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['packed']);

/** Keeps jobs in memory; no persistence. */
export class MemoryStore extends LocalStore {
  protected readonly durable = false;

  /** Throws ValidationError for an unknown option or a `packed` that is not a boolean. */
  constructor(options?: MemoryStoreOptions) {
    super();
    const o = checkOptionsObject(options, 'options');
    if (o === undefined) return;
    checkKeys(o, OPTION_KEYS, 'options');
    if (o.packed !== undefined && typeof o.packed !== 'boolean') throw new ValidationError(`Expected \`options.packed\` to be a boolean, got ${JSON.stringify(o.packed) ?? String(o.packed)}`);
    this.state.packing = o.packed === true;
  }

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
