/**
 * Misfire planning: what to run when a recurring job's slot comes due late (the scheduler was
 * stopped, busy, or the wall clock jumped forward). Pure: the scheduler passes the slot, the
 * time it is now and the policy; this module answers with the slot to run and how many slots
 * will never run, using the slot arithmetic of `slots.ts` (DST rules included).
 */

import { ValidationError } from '../errors.js';
import type { MisfirePolicy } from '../types.js';
import { quote } from './format.js';
import { countSlots, nextSlot, prevSlot, type RecurrenceSpec } from './slots.js';

export type { MisfirePolicy };

/** With `misfire: 'all'`, at most this many missed slots run; older ones are dropped. */
export const MISFIRE_ALL_CAP = 1000;

/** A slot late by at most this many ms runs as if on time (Quartz's `misfireThreshold`). */
export const DEFAULT_MISFIRE_GRACE_MS = 60_000;

/** How {@link planDue} treats a late slot. */
export interface PlanOptions {
  /** @default 'once' */
  misfire?: MisfirePolicy | undefined;
  /**
   * A slot at most this late (and whose following slot is not due yet) is on time: it runs
   * and is not counted as missed. `0`: any lateness misses; `Infinity`: only a due following
   * slot does.
   * @default DEFAULT_MISFIRE_GRACE_MS (60 000)
   */
  graceMs?: number | undefined;
  /**
   * The last slot that already ran to its end. An occurrence moved to before it
   * (`reschedule`) runs as itself; the slots up to this one are neither missed
   * nor run again.
   */
  after?: number | undefined;
}

/** What {@link planDue} decided for a due occurrence. */
export interface DuePlan {
  /**
   * The slot to run now (`<= now`, becomes `job.runAt`), a future slot to wait for (`> now`,
   * only with `'skip'`), or `undefined` when the schedule has no slot left (`endAt` passed).
   */
  runAt: number | undefined;
  /** Slots that will never run because of this decision (for the `misfired` event). */
  missed: number;
}

/**
 * Decides what to run for the occurrence at `slot` when it is due (`slot <= now`; a slot in
 * the future is returned unchanged). The slot is *missed* when it is more than `graceMs` late
 * (`now - slot > graceMs`) or when the slot after it is already due (`nextSlot(slot) <= now`).
 * A slot that is not missed runs: `{ runAt: slot, missed: 0 }`. Otherwise, with M the slots
 * in `[slot, now]` (within `endAt`):
 * - `'skip'` → `{ runAt: nextSlot(now), missed: |M| }` (`undefined` if the schedule is over);
 * - `'once'` → `{ runAt: last of M, missed: |M| − 1 }`;
 * - `'all'` → `{ runAt: oldest of the last 1000 of M, missed: max(0, |M| − 1000) }`, and the
 *   caller runs the following slots one by one (each is then due and planned again).
 *
 * Idempotent: planning the returned `runAt` again with the same `now` gives the same `runAt`
 * with `missed: 0`, so a crash between planning and running never double-counts.
 *
 * @example
 * // The scheduler, when it claims a due occurrence:
 * const plan = planDue(spec, recur.slot, now, { misfire: recur.misfire, graceMs: 60_000 });
 */
export function planDue(spec: RecurrenceSpec, slot: number, now: number, options: PlanOptions = {}): DuePlan {
  const { misfire = 'once', graceMs = DEFAULT_MISFIRE_GRACE_MS } = options;
  if (misfire !== 'once' && misfire !== 'skip' && misfire !== 'all') {
    throw new ValidationError(`Expected misfire policy 'once', 'skip' or 'all', got ${quote(misfire)}`);
  }
  if (typeof graceMs !== 'number' || !(graceMs >= 0)) {
    throw new ValidationError(`Expected \`graceMs\` to be a number of ms >= 0, got ${quote(graceMs)}`);
  }
  if (slot > now) return { runAt: slot, missed: 0 };
  // Slots up to `floor` are the moved occurrence's own or already ran.
  const floor = options.after !== undefined && options.after > slot ? options.after : slot;
  const next = nextSlot(spec, floor);
  const missed = now - slot > graceMs || (next !== undefined && next <= now);
  if (!missed) return { runAt: slot, missed: 0 };
  // M = slot itself plus every slot after the floor up to now.
  const size = 1 + countSlots(spec, floor, now);
  switch (misfire) {
    case 'skip':
      return { runAt: nextSlot(spec, Math.max(now, floor)), missed: size };
    case 'once': {
      const last = prevSlot(spec, now + 1);
      return { runAt: last === undefined || last <= floor ? slot : last, missed: size - 1 };
    }
    case 'all': {
      if (size <= MISFIRE_ALL_CAP) return { runAt: slot, missed: 0 };
      let oldest = prevSlot(spec, now + 1) ?? slot;
      if (spec.every !== undefined) {
        oldest -= (MISFIRE_ALL_CAP - 1) * spec.every;
      } else {
        for (let i = 1; i < MISFIRE_ALL_CAP; i++) oldest = prevSlot(spec, oldest) ?? slot;
      }
      return { runAt: oldest, missed: size - MISFIRE_ALL_CAP };
    }
  }
}
