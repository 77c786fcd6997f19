/**
 * `options.group` at the public boundary: validates it and writes the group
 * fields of a job record. The claim rules live in the stores (store/groups.ts
 * for the local stores, the CLAIM script for Redis).
 */
import { ValidationError } from '../errors.js';
import { checkOptionsObject, checkPositiveInt, show } from '../validate.js';

/** Largest `groupConcurrency`: beyond it a group is not a limit. */
const MAX_GROUP_CONCURRENCY = 1_000_000;

/** The group fields of a record, from `options.group`. */
export interface GroupFields {
  group: string;
  groupConcurrency?: number;
}

function checkGroupId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new ValidationError(`Expected \`${what}\` to be a non-empty string of at most 256 characters, got ${show(value)}`);
  }
  return value;
}

/**
 * `'customer:42'` or `{ id: 'customer:42', concurrency?: 2 }`. A concurrency
 * of 1 (the default) is left out of the record.
 */
export function groupFields(value: unknown, where: string): GroupFields {
  const what = `${where}options.group`;
  if (typeof value === 'string') return { group: checkGroupId(value, what) };
  const o = checkOptionsObject(value, what);
  if (!o) throw new ValidationError(`Expected \`${what}\` to be a string or { id, concurrency? }, got undefined`);
  for (const key of Object.keys(o)) {
    if (key !== 'id' && key !== 'concurrency') throw new ValidationError(`Unknown option \`${what}.${key}\` (expected one of id, concurrency)`);
  }
  const group = checkGroupId(o.id, `${what}.id`);
  if (o.concurrency === undefined) return { group };
  const concurrency = checkPositiveInt(o.concurrency, `${what}.concurrency`);
  if (concurrency > MAX_GROUP_CONCURRENCY) {
    throw new ValidationError(`Expected \`${what}.concurrency\` to be an integer from 1 to ${MAX_GROUP_CONCURRENCY}, got ${show(concurrency)}`);
  }
  return concurrency === 1 ? { group } : { group, groupConcurrency: concurrency };
}
