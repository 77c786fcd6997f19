/**
 * Per-job retention (`removeOnComplete` / `removeOnFail`) at the public
 * boundary: validates a policy, and turns the policy that applies to a
 * finished record (the job's, else its name's, else the scheduler's) into
 * the `removal` its store carries out (store/removal.ts for the local
 * stores, the SETTLE script for Redis).
 */
import { ValidationError } from '../errors.js';
import type { JobRecord, StoredRemovePolicy } from '../store/store.js';
import { checkNonNegativeInt, checkOptionsObject, show } from '../validate.js';

/** Largest `count` and `ageMs`: beyond them a policy is not a limit. */
const MAX_COUNT = 1e9;
const MAX_AGE_MS = 1000 * 365 * 86_400_000;

/** The policies that apply to jobs of a name: register's, or the scheduler's defaults. */
export interface RemovalPolicies {
  complete?: StoredRemovePolicy | undefined;
  fail?: StoredRemovePolicy | undefined;
}

/** `true`, `false`, `{ count }`, `{ ageMs }` or both keys; anything else is a ValidationError. */
export function removePolicy(value: unknown, what: string): StoredRemovePolicy {
  if (typeof value === 'boolean') return value;
  const expected = `Expected \`${what}\` to be true, false, { count }, { ageMs } or { count, ageMs }, got`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(`${expected} ${show(value)}`);
  const o = checkOptionsObject(value, what);
  if (!o) throw new ValidationError(`${expected} undefined`);
  for (const key of Object.keys(o)) {
    if (key !== 'count' && key !== 'ageMs') throw new ValidationError(`Unknown option \`${what}.${key}\` (expected one of count, ageMs)`);
  }
  if (o.count === undefined && o.ageMs === undefined) throw new ValidationError(`${expected} ${show(value)} with neither key`);
  const policy: { count?: number; ageMs?: number } = {};
  if (o.count !== undefined) policy.count = bounded(o.count, MAX_COUNT, `${what}.count`);
  if (o.ageMs !== undefined) policy.ageMs = bounded(o.ageMs, MAX_AGE_MS, `${what}.ageMs`);
  return policy;
}

function bounded(value: unknown, max: number, what: string): number {
  const n = checkNonNegativeInt(value, what);
  if (n > max) throw new ValidationError(`Expected \`${what}\` to be an integer from 0 to ${max}, got ${show(value)}`);
  return n;
}

/** Whether a policy asks the store to remove anything (so the store must support removal). */
export function removes(policy: StoredRemovePolicy | undefined): boolean {
  return policy !== undefined && policy !== false;
}

/**
 * `record` (completed or dead, `finishedAt` set) with the removal its
 * policy asks for: the job's own (`retain`), else `name`'s, else the
 * default. Returns `record` itself when none applies.
 */
export function withRemoval(record: JobRecord, byName: RemovalPolicies | undefined, defaults: RemovalPolicies): JobRecord {
  const complete = record.state === 'completed';
  const own = complete ? record.retain?.complete : record.retain?.fail;
  const policy = own ?? (complete ? (byName?.complete ?? defaults.complete) : (byName?.fail ?? defaults.fail));
  if (policy === undefined || policy === false) return record;
  const finishedAt = record.finishedAt ?? 0;
  const removal: { at?: number; count?: number } = {};
  if (policy === true) removal.at = finishedAt;
  else {
    if (policy.ageMs !== undefined) removal.at = finishedAt + policy.ageMs;
    if (policy.count !== undefined) {
      // Keeping none is removing at once.
      if (policy.count === 0) removal.at = finishedAt;
      else removal.count = policy.count;
    }
  }
  record.removal = removal;
  return record;
}
