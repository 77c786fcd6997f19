/**
 * JobRecord <-> Redis hash (the fields are listed in scripts.ts). JSON values
 * (payload, result, the rarely set options in `x`) are written and parsed
 * only here; Lua reads and changes the plain string fields beside them.
 * Fields at their default are left out (`st` for scheduled, `att` and `pr`
 * for 0), so a delayed job's hash stays small. The id is not stored in the
 * hash (it is in the key): scripts that return a hash add an `id` field.
 */
import { ValidationError } from '../../errors.js';
import type { JobState } from '../../types.js';
import type { JobRecord, NewJobRecord } from '../store.js';

const STATES: ReadonlySet<string> = new Set(['scheduled', 'running', 'completed', 'dead', 'cancelled']);

/** Field order of the values `encodeFields` returns; Lua's `put` reads them in this order. */
export const FIELD_NAMES = ['pl', 'ca', 'x', 'st', 'at', 'att', 'pr', 'nm', 'fin', 'res', 'sig', 'rec', 'lo', 'rl', 'gr', 'gm'] as const;

/** Shortest round-trip text of a number (JS `String`, which Lua's tonumber and Redis's strtod read back exactly). */
function num(x: number): string {
  return String(x);
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * The 16 hash values of a record, in FIELD_NAMES order ('' = absent).
 * Throws ValidationError when the payload or result is above `maxBytes`.
 * `payloadText`: the payload's JSON when the caller already has it (an
 * attempt's outcome carries the payload it was claimed with).
 */
export function encodeFields(record: NewJobRecord | JobRecord, maxBytes: number, payloadText?: string): string[] {
  const {
    id: _id,
    payload,
    createdAt,
    state,
    runAt,
    attempt,
    priority,
    name,
    finishedAt,
    result,
    token: _token,
    seq: _seq,
    lost,
    relative,
    group,
    groupConcurrency,
    dedupe: _dedupe, // a local store's window mark; Redis keeps windows in their own keys
    removal: _removal, // carried out by SETTLE (its own argument), never stored
    ...rest
  } = record as JobRecord;
  let extra = '';
  for (const key in rest) {
    if ((rest as Record<string, unknown>)[key] !== undefined) {
      extra = JSON.stringify(rest);
      break;
    }
  }
  const pl = payloadText ?? JSON.stringify(payload);
  const res = result === undefined ? '' : JSON.stringify(result);
  // Length first: a UTF-8 byte count costs a pass over the string, and most payloads are far below the limit.
  if (payloadText === undefined && pl.length * 3 > maxBytes && utf8Bytes(pl) > maxBytes) {
    throw new ValidationError(`Expected the payload of job \`${record.id}\` to be at most ${maxBytes} bytes of JSON, got ${utf8Bytes(pl)}`);
  }
  if (res.length * 3 > maxBytes && utf8Bytes(res) > maxBytes) {
    throw new ValidationError(`Expected the result of job \`${record.id}\` to be at most ${maxBytes} bytes of JSON, got ${utf8Bytes(res)}`);
  }
  return [
    pl,
    num(createdAt),
    extra,
    state === 'scheduled' ? '' : state,
    num(runAt),
    attempt === 0 ? '' : num(attempt),
    priority === 0 ? '' : num(priority),
    name,
    finishedAt === undefined ? '' : num(finishedAt),
    res,
    record.recur?.signature ?? '',
    record.recur ? '1' : '',
    lost ?? '',
    relative ? '1' : '',
    group ?? '',
    groupConcurrency === undefined ? '' : num(groupConcurrency),
  ];
}

/** A hash as HGETALL returns it from Lua (flat [field, value, ...]) or from ioredis (object). */
export type RawHash = readonly string[] | Record<string, string>;

/** Field → value of a hash. */
export function toMap(raw: RawHash): Record<string, string> {
  if (!Array.isArray(raw)) return raw as Record<string, string>;
  const flat = raw as readonly string[];
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) map[flat[i] as string] = flat[i + 1] as string;
  return map;
}

/**
 * Field/value pairs that turn the hash `base` (a record as claimed) into the
 * record whose values are `fields` ('' = delete).
 */
export function changedFields(fields: readonly string[], base: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  FIELD_NAMES.forEach((name, i) => {
    const value = fields[i] as string;
    if (value !== (base[name] ?? '')) out.push(name, value);
  });
  return out;
}

/** The record of a hash (`id` from its key); undefined when the hash is empty (no such job). */
export function decodeRecord(raw: RawHash, id?: string): JobRecord | undefined {
  const h = toMap(raw);
  if (h.pl === undefined || h.nm === undefined) return undefined;
  const extra = h.x ? (JSON.parse(h.x) as Partial<JobRecord>) : {};
  const state = h.st ?? 'scheduled';
  const record: JobRecord = {
    ...extra,
    id: id ?? h.id ?? '',
    name: h.nm,
    payload: JSON.parse(h.pl) as JobRecord['payload'],
    state: (STATES.has(state) ? state : 'scheduled') as JobState,
    runAt: Number(h.at),
    createdAt: Number(h.ca ?? 0),
    attempt: Number(h.att ?? 0),
    seq: Number(h.seq ?? 0),
    priority: Number(h.pr ?? 0),
  };
  if (h.tk !== undefined && h.tk !== '') record.token = h.tk;
  if (h.fin !== undefined && h.fin !== '') record.finishedAt = Number(h.fin);
  if (h.res !== undefined && h.res !== '') record.result = JSON.parse(h.res) as NonNullable<JobRecord['result']>;
  if (h.lo === 'lease' || h.lo === 'crash') record.lost = h.lo;
  if (h.rl === '1') record.relative = true;
  if (h.gr !== undefined && h.gr !== '') {
    record.group = h.gr;
    if (h.gm !== undefined && h.gm !== '') record.groupConcurrency = Number(h.gm);
  }
  return record;
}
