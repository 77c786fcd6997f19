/**
 * Time arithmetic for recurring jobs, the one import the rest of the library uses: which
 * instants a cron expression or a fixed interval fires at (DST rules included) and what to do
 * with slots that were missed. Pure and clock-free. The parts live in `src/cron/`:
 * `expression.ts` (parse, validate, interval vs fixed-time), `walls.ts` (the calendar search in
 * wall time), `zone.ts` (offsets and transitions from Intl), `slots.ts` (walls to instants, the
 * DST rules), `misfire.ts` (planning late slots) and `spec.ts` (validation, signatures).
 */

export { DEFAULT_MISFIRE_GRACE_MS, MISFIRE_ALL_CAP, planDue, type DuePlan, type MisfirePolicy, type PlanOptions } from './cron/misfire.js';
export { countSlots, firstSlot, nextSlot, prevSlot, type RecurrenceSpec } from './cron/slots.js';
export { recurrenceSignature, validateRecurrence, type RecurrenceDeclaration } from './cron/spec.js';
