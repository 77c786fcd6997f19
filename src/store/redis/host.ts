/**
 * What the modules split out of RedisStore (claim.ts, insert.ts, settle.ts)
 * need from it: its caches, leases and keys, and its one way to run a
 * writing script. Types only.
 */
import type { LostReason, PauseState } from '../store.js';
import type { KeyLayout } from './keys.js';
import type { Leases } from './leases.js';
import type { Script } from './script.js';
import type { ServerView } from './view.js';

/** A script's reply (its last element is the summary the store absorbs). */
export type Reply = unknown[];

/** The parts of a RedisStore its claims, inserts and settles use. */
export interface StoreCore {
  readonly view: ServerView;
  readonly leases: Leases;
  readonly keys: KeyLayout;
  /** Job names seen in ready sets: their capacities go with every claim. */
  readonly knownNames: Set<string>;
  /** Whether the store is open (not opening or closing). */
  isOpen(): boolean;
  /** Runs a writing script (RedisStore.exec); `late`: what to do with a reply that came after its deadline. */
  exec(script: Script, args: readonly (string | number)[], late?: (reply: Reply) => void): Promise<Reply>;
  /** Takes up a store-wide pause state learned from a reply. */
  learnPause(state: PauseState): void;
  /** Tells the scheduler (once per attempt) that an attempt it runs no longer owns its job. */
  notifyLost(id: string, token: string, reason: LostReason): void;
}
