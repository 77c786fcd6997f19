/**
 * MemoryStore: the default store. Jobs live in this process only and are lost
 * when it exits. Stopping and starting a scheduler on the same MemoryStore
 * keeps its jobs (running ones are scheduled again).
 */
import { LocalStore, type Change } from './local.js';

/** Keeps jobs in memory; no persistence. */
export class MemoryStore extends LocalStore {
  protected readonly durable = false;

  protected persist(_changes: Change[]): Promise<void> {
    return Promise.resolve();
  }
}
