/**
 * `pause()` / `resume()` / `isPaused()`: their options and check, and
 * PauseControl, which applies them to the dispatcher and the store.
 * Local pause: this process starts nothing new (running attempts go on).
 * `everywhere: true`: the store keeps the pause and every process sharing it
 * starts nothing new until any of them resumes (store.ts `setPaused`; on
 * RedisStore the claim itself refuses while paused, see store/redis/pause.ts).
 */
import { ValidationError } from '../errors.js';
import type { PauseOrigin } from '../events.js';
import type { PauseState, Store, StoreFeatures } from '../store/store.js';
import type { Dispatcher } from './dispatcher.js';
import { checkKeys, checkOptionsObject, show } from '../validate.js';

/** Options of `pause()`, `resume()` and `isPaused()`. */
export interface PauseOptions {
  /**
   * `true`: the pause is kept by the store and holds for every process
   * sharing it (RedisStore), across restarts (JsonFileStore, RedisStore),
   * until `resume({ everywhere: true })` from any process. The call then
   * returns a promise that resolves once the store recorded it.
   * @default false
   */
  everywhere?: boolean;
}

const PAUSE_KEYS = new Set(['everywhere']);

/** Whether `options` asks for the store-wide pause; throws ValidationError on anything else. */
export function checkPauseOptions(options: unknown, what = 'options'): boolean {
  const o = checkOptionsObject(options, what);
  if (o === undefined) return false;
  checkKeys(o, PAUSE_KEYS, what);
  if (o.everywhere !== undefined && typeof o.everywhere !== 'boolean') {
    throw new ValidationError(`Expected \`${what}.everywhere\` to be a boolean, got ${show(o.everywhere)}`);
  }
  return o.everywhere === true;
}

/** Whether a call with `options` returns a promise (asks for `everywhere: true`), judged before checking it. */
export function asksEverywhere(options: unknown): boolean {
  return typeof options === 'object' && options !== null && (options as { everywhere?: unknown }).everywhere === true;
}

/** What pausing needs from its Scheduler. */
export interface PauseHost {
  readonly store: Store;
  readonly dispatcher: Dispatcher;
  /** Emits `paused` or `resumed`. */
  publish(type: 'paused' | 'resumed', make: () => { everywhere: boolean; origin: PauseOrigin }): void;
  /** Throws UnsupportedOptionError when the store lacks `feature`. */
  requireFeature(feature: keyof StoreFeatures, what: string): void;
  assertStarted(): void;
}

/** This process's own pause and the store-wide pause as this process knows it. */
export class PauseControl {
  /**
   * This process's own `pause`/`resume({ everywhere: true })` in flight: the
   * state it asks for. The store may tell of that change before the call's
   * reply (a claim's reply or a poll reads it first): it is applied at once,
   * and its event waits for the call, which reports it as `local`.
   */
  private asking: boolean | undefined;
  /** A change the store told of while `asking` (and to the same state): its event is the call's. */
  private heldEvent = false;

  constructor(private readonly host: PauseHost) {}

  /** `pause()` (`paused`) or `resume()`: local, or everywhere (a promise then). */
  call(paused: boolean, options: PauseOptions | undefined): void | Promise<void> {
    let everywhere: boolean;
    try {
      everywhere = checkPauseOptions(options);
    } catch (error) {
      if (asksEverywhere(options)) return Promise.reject(error as Error);
      throw error;
    }
    if (everywhere) return this.setPausedEverywhere(paused);
    const dispatcher = this.host.dispatcher;
    if (dispatcher.isPaused('local') === paused) return;
    if (paused) dispatcher.pause();
    else dispatcher.resume();
    this.host.publish(paused ? 'paused' : 'resumed', () => ({ everywhere: false, origin: 'local' }));
  }

  /** `isPaused()`. */
  isPaused(options: PauseOptions | undefined): boolean {
    if (options !== undefined) checkPauseOptions(options);
    const everywhere = options?.everywhere;
    const local = this.host.dispatcher.isPaused('local');
    const shared = this.host.dispatcher.isPaused('everywhere');
    return everywhere === undefined ? local || shared : everywhere ? shared : local;
  }

  private async setPausedEverywhere(paused: boolean): Promise<void> {
    this.host.requireFeature('pauseEverywhere', 'options.everywhere: true');
    this.host.assertStarted();
    const store = this.host.store;
    const setPaused = store.setPaused as NonNullable<Store['setPaused']>;
    const before = this.asking;
    this.asking = paused;
    let state: PauseState;
    try {
      state = await this.host.dispatcher.track(setPaused.call(store, paused));
    } catch (error) {
      // The change may have landed and been learned meanwhile: its event is told as the store's.
      this.release(before, 'remote');
      throw error;
    }
    this.release(before, 'local');
    this.apply(state.paused, 'local');
  }

  /** The call in flight ended: an event held for it is published as `origin`. */
  private release(before: boolean | undefined, origin: PauseOrigin): void {
    const held = this.heldEvent;
    this.asking = before;
    this.heldEvent = false;
    if (!held) return;
    const paused = this.host.dispatcher.isPaused('everywhere');
    this.host.publish(paused ? 'paused' : 'resumed', () => ({ everywhere: true, origin }));
  }

  /** The store-wide pause as this process learned it (its own call, or the store). */
  apply(paused: boolean, origin: PauseOrigin): void {
    if (this.host.dispatcher.isPaused('everywhere') === paused) return;
    this.host.dispatcher.setPausedEverywhere(paused);
    // This process's own call told of by the store before its reply: the call publishes it (as local).
    if (origin === 'remote' && this.asking === paused) {
      this.heldEvent = true;
      return;
    }
    this.host.publish(paused ? 'paused' : 'resumed', () => ({ everywhere: true, origin }));
  }
}
