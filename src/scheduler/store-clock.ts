/**
 * The clock a scheduler takes job times from when its store has a clock of
 * its own (a shared store: its server's).
 */
import type { Clock, ClockTimer } from '../clock.js';
import type { Store } from '../store/store.js';

/**
 * The clock a scheduler runs on. When the store has its own clock (a shared
 * store: its server's), every job time comes from it (runAt, slots, retries,
 * claim's `now`, finishedAt, lateness) and the given Clock only waits: a
 * timer for store instant `at` waits `at - store.now()` on the Clock and
 * re-checks the store's clock when it fires, so a fast, slow or jumping local
 * clock can neither fire it early nor stamp a job in another frame.
 */
export function storeClock(store: Store, clock: Clock): Clock {
  if (typeof store.now !== 'function') return clock;
  const storeNow = (): number => (store.now as () => number).call(store);
  const wrapped: Clock = {
    now: storeNow,
    setTimer(at: number, fn: () => void): ClockTimer {
      let inner: ClockTimer | undefined;
      let cleared = false;
      const arm = (): void => {
        inner = clock.setTimer(clock.now() + Math.max(0, at - storeNow()), () => {
          if (cleared) return;
          if (storeNow() >= at) fn();
          else arm();
        });
      };
      arm();
      return {
        clear(): void {
          cleared = true;
          inner?.clear();
        },
      };
    },
  };
  const probe = clock.addPendingProbe?.bind(clock);
  if (probe) wrapped.addPendingProbe = probe;
  return wrapped;
}
