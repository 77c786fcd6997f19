/**
 * JSON text of a job record in pieces of bounded size, so a record with a
 * 100 MB payload is serialised (and checksummed and written) without one
 * long synchronous JSON.stringify: the snapshot writer yields to the event
 * loop between pieces. The text equals JSON.stringify's up to key order
 * being the same and strings longer than a piece being escaped piecewise
 * (which yields the same JSON value).
 *
 * Small values go through JSON.stringify whole: `approxSize` walks a value
 * only until it knows the value is bigger than a piece.
 */
import type { JobRecord } from '../store.js';

/** Characters of JSON text per piece (~1 ms of JSON.stringify). */
export const PIECE = 1 << 20;

/**
 * A rough size of `value`'s JSON text, exact enough to tell small from
 * big; stops counting once past `budget`.
 */
export function approxSize(value: unknown, budget: number): number {
  if (typeof value === 'string') return value.length + 2;
  if (typeof value !== 'object' || value === null) return 8;
  // Fast path, no allocation: a flat object or array of primitives (most payloads).
  let flat = 2;
  let nested = false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && !nested; i++) {
      const v: unknown = value[i];
      if (typeof v === 'string') flat += v.length + 3;
      else if (typeof v === 'object' && v !== null) nested = true;
      else flat += 8;
      if (flat > budget) return flat;
    }
  } else {
    for (const key in value) {
      const v = (value as Record<string, unknown>)[key];
      flat += key.length + 4;
      if (typeof v === 'string') flat += v.length + 3;
      else if (typeof v === 'object' && v !== null) {
        nested = true;
        break;
      } else flat += 8;
      if (flat > budget) return flat;
    }
  }
  if (!nested) return flat;
  let total = 2;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') total += v.length + 3;
    else if (typeof v !== 'object' || v === null) total += 8;
    else if (Array.isArray(v)) {
      total += 2;
      for (let i = 0; i < v.length; i++) stack.push(v[i]);
    } else {
      total += 2;
      for (const key in v) {
        total += key.length + 4;
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
    if (total > budget) return total;
  }
  return total;
}

/** True when a record may be too big to stringify in one piece. */
export function isBigRecord(record: JobRecord): boolean {
  return (
    approxSize(record.payload, PIECE) > PIECE ||
    (record.result !== undefined && approxSize(record.result, PIECE) > PIECE) ||
    (record.lastError !== undefined && record.lastError.message.length > PIECE) ||
    (record.progress !== undefined && approxSize(record.progress, PIECE) > PIECE) ||
    (record.logs !== undefined && approxSize(record.logs, PIECE) > PIECE)
  );
}

/** Yields the JSON text of `value` in pieces of at most about `piece` characters. */
export function* jsonPieces(value: unknown, piece: number = PIECE): Generator<string> {
  if (typeof value === 'string') {
    if (value.length <= piece) {
      yield JSON.stringify(value);
      return;
    }
    yield '"';
    for (let i = 0; i < value.length; ) {
      let j = Math.min(value.length, i + piece);
      // Never split a surrogate pair: each half would be escaped alone.
      const code = value.charCodeAt(j - 1);
      if (j < value.length && code >= 0xd800 && code <= 0xdbff) j--;
      yield JSON.stringify(value.slice(i, j)).slice(1, -1);
      i = j;
    }
    yield '"';
    return;
  }
  if (typeof value !== 'object' || value === null || approxSize(value, piece) <= piece) {
    yield JSON.stringify(value) ?? 'null';
    return;
  }
  // A big container: small members are stringified and gathered into
  // pieces; big ones are split further.
  const isArray = Array.isArray(value);
  let out = isArray ? '[' : '{';
  let first = true;
  const members: Iterable<[string | undefined, unknown]> = isArray
    ? (value as unknown[]).map((item): [undefined, unknown] => [undefined, item])
    : Object.entries(value);
  for (const [key, raw] of members) {
    const skip = raw === undefined || typeof raw === 'function' || typeof raw === 'symbol';
    if (skip && key !== undefined) continue;
    const item = skip ? null : raw;
    out += `${first ? '' : ','}${key === undefined ? '' : `${JSON.stringify(key)}:`}`;
    first = false;
    if (approxSize(item, piece) <= piece) {
      out += JSON.stringify(item);
      if (out.length >= piece) {
        yield out;
        out = '';
      }
      continue;
    }
    if (out.length > 0) yield out;
    out = '';
    yield* jsonPieces(item, piece);
  }
  yield `${out}${isArray ? ']' : '}'}`;
}
