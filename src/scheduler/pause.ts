/**
 * The options of `pause()` / `resume()` / `isPaused()`, and their check.
 * Local pause: this process starts nothing new (running attempts go on).
 * `everywhere: true`: the store keeps the pause and every process sharing it
 * starts nothing new until any of them resumes (store.ts `setPaused`; on
 * RedisStore the claim itself refuses while paused, see store/redis/pause.ts).
 */
import { ValidationError } from '../errors.js';
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
