/**
 * Argument checks at the public boundary. The core trusts what passes here.
 * Messages follow "Expected `x` to be …, got …".
 */
import { ValidationError } from './errors.js';
import type { JsonValue } from './types.js';

/** Largest |epoch ms| a Date can hold. */
export const MAX_TIME = 8.64e15;

/** Short, safe description of any value for error messages. */
export function show(value: unknown): string {
  try {
    if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
    if (typeof value === 'bigint') return `${value}n`;
    if (typeof value === 'symbol') return value.toString();
    if (typeof value === 'function') return 'a function';
    if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString()})`;
    if (Array.isArray(value)) return 'an array';
    if (value !== null && typeof value === 'object') return `an object (${Object.prototype.toString.call(value)})`;
    return String(value);
  } catch {
    return 'an unreadable value';
  }
}

/** A delay in ms: finite number >= 0. */
export function checkDelay(value: unknown, what = 'delay'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(`Expected \`${what}\` to be a finite number of ms >= 0, got ${show(value)}`);
  }
  return value;
}

/** A Date or epoch ms within the range a Date can hold. */
export function checkTime(value: unknown, what = 'when'): number {
  let ms: number;
  if (value instanceof Date) {
    try {
      ms = value.getTime();
    } catch (error) {
      // A Date subclass (or a Proxy) whose getTime throws is still bad input.
      throw new ValidationError(`Expected \`${what}\` to be a readable Date, got one whose getTime() throws`, { cause: error });
    }
  } else if (typeof value === 'number') ms = value;
  else throw new ValidationError(`Expected \`${what}\` to be a Date or epoch ms, got ${show(value)}`);
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_TIME) {
    throw new ValidationError(`Expected \`${what}\` to be a valid time within ±8.64e15 ms, got ${show(value)}`);
  }
  // Due times are whole ms; rounding up keeps "never early".
  return Math.ceil(ms);
}

/** Throws on keys of `options` not in `allowed`. */
export function checkKeys(options: object, allowed: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.has(key)) {
      throw new ValidationError(`Unknown option \`${what}.${key}\` (expected one of ${[...allowed].join(', ')})`);
    }
  }
}

/** Options object or undefined. */
export function checkOptionsObject(value: unknown, what: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`Expected \`${what}\` to be an options object, got ${show(value)}`);
  }
  return value as Record<string, unknown>;
}

export function checkName(value: unknown, what = 'name'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new ValidationError(`Expected \`${what}\` to be a non-empty string of at most 256 characters, got ${show(value)}`);
  }
  return value;
}

export function checkId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 512) {
    throw new ValidationError(`Expected \`id\` to be a non-empty string of at most 512 characters, got ${show(value)}`);
  }
  return value;
}

export function checkPositive(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ValidationError(`Expected \`${what}\` to be a finite number > 0, got ${show(value)}`);
  }
  return value;
}

export function checkPositiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ValidationError(`Expected \`${what}\` to be an integer > 0, got ${show(value)}`);
  }
  return value;
}

export function checkNonNegativeInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ValidationError(`Expected \`${what}\` to be an integer >= 0, got ${show(value)}`);
  }
  return value;
}

export function checkFinite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValidationError(`Expected \`${what}\` to be a finite number, got ${show(value)}`);
  }
  return value;
}

/** Payloads and results nest at most this deep (JSON.parse and the copy below recurse). */
export const MAX_JSON_DEPTH = 1000;

/** Largest `maxPayloadBytes` accepted: V8 strings end at ~512 MiB, and a record is stringified whole. */
export const MAX_PAYLOAD_LIMIT = 256 * 1024 * 1024;

/**
 * Upper bound of the UTF-8 JSON size of what `walkJson` visited: a UTF-16
 * unit is at most 3 bytes, or 6 as a `\u00XX` escape; numbers at most 24
 * characters. Cheap enough for the hot path; the exact size is computed only
 * when this bound exceeds the limit.
 */
interface SizeBound {
  bytes: number;
}

/**
 * Returns a deep, frozen copy of `value` if JSON round-trips it unchanged, else throws
 * ValidationError naming the path: undefined, functions, symbols, NaN,
 * Infinity, BigInt, cycles, Dates, Maps, class instances, sparse arrays,
 * `__proto__` keys, getters that throw, nesting deeper than
 * {@link MAX_JSON_DEPTH} and (with `maxBytes`) more than `maxBytes` of UTF-8
 * JSON are all refused.
 */
export function toJsonValue(value: unknown, what = 'payload', maxBytes = Infinity): JsonValue {
  // Fast path for the common payload shapes: primitives are returned as is.
  switch (typeof value) {
    case 'string':
      if (value.length * 6 + 2 > maxBytes) checkSize(value, what, maxBytes);
      return value;
    case 'boolean':
      return value;
    case 'number':
      // -0 + 0 is 0: JSON writes -0 as 0, so every store keeps what a durable one reopens.
      if (Number.isFinite(value)) return value + 0;
      break;
  }
  const size: SizeBound = { bytes: 0 };
  let copy: JsonValue;
  try {
    copy = walkJson(value, what, undefined, size);
  } catch (error) {
    // Proxies and exotic objects can throw from any trap: still a typed error.
    if (error instanceof ValidationError) throw error;
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new ValidationError(`Expected \`${what}\` to nest at most ${MAX_JSON_DEPTH} levels deep, got deeper`, { cause: error });
    }
    throw new ValidationError(`Expected \`${what}\` to be JSON, got a value that throws when read`, { cause: error });
  }
  if (size.bytes > maxBytes) checkSize(copy, what, maxBytes);
  return copy;
}

/** Throws unless `value`'s UTF-8 JSON fits in `maxBytes`. */
function checkSize(value: JsonValue, what: string, maxBytes: number): void {
  let bytes: number;
  try {
    bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  } catch (error) {
    // Past V8's longest string (~512 MiB) JSON.stringify throws "Invalid string length".
    throw new ValidationError(`Expected \`${what}\` to be at most ${maxBytes} bytes as JSON, got more than V8's longest string`, { cause: error });
  }
  if (bytes > maxBytes) {
    throw new ValidationError(`Expected \`${what}\` to be at most ${maxBytes} bytes as JSON (maxPayloadBytes), got ${bytes} bytes`);
  }
}

/**
 * True for a string, boolean, null or a finite number other than -0, which
 * the copy keeps as it is (`size` counted). WHY: the common payload is a
 * flat object; checking its values inline spares a call and the path string
 * (`payload.orderId`, built only when a value is refused) per key.
 */
function isFlat(v: unknown, size: SizeBound): v is string | boolean | number | null {
  switch (typeof v) {
    case 'string':
      size.bytes += v.length * 6 + 3;
      return true;
    case 'number':
      if (!Number.isFinite(v) || Object.is(v, -0)) return false;
      size.bytes += 25;
      return true;
    case 'boolean':
      size.bytes += 6;
      return true;
    case 'object':
      if (v !== null) return false;
      size.bytes += 5;
      return true;
    default:
      return false;
  }
}

/**
 * Recursive copy-and-check. `stack` holds the objects above `v` on its path
 * (cycle detection and depth); undefined at the top, and made only when a
 * value nests (a flat payload, the common one, allocates no stack).
 */
function walkJson(v: unknown, path: string, stack: object[] | undefined, size: SizeBound): JsonValue {
  switch (typeof v) {
    case 'string':
      size.bytes += v.length * 6 + 3;
      return v;
    case 'boolean':
      size.bytes += 6;
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new ValidationError(`Expected \`${path}\` to be a finite number (JSON), got ${String(v)}`);
      size.bytes += 25;
      return v + 0; // -0 becomes 0, as JSON writes it
    case 'object': {
      size.bytes += 5;
      if (v === null) return null;
      if (stack !== undefined && stack.includes(v)) throw new ValidationError(`Expected \`${path}\` to be JSON, got a circular reference`);
      if (stack !== undefined && stack.length >= MAX_JSON_DEPTH) {
        throw new ValidationError(`Expected \`${what(path)}\` to nest at most ${MAX_JSON_DEPTH} levels deep, got deeper`);
      }
      if (v instanceof Date) {
        throw new ValidationError(`Expected \`${path}\` to be JSON, got ${show(v)}: pass an ISO string (date.toISOString()) or epoch ms instead`);
      }
      if (Array.isArray(v)) {
        const out: JsonValue[] = new Array<JsonValue>(v.length);
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) throw new ValidationError(`Expected \`${path}[${i}]\` to be JSON, got a hole in a sparse array`);
          const child: unknown = v[i];
          out[i] = isFlat(child, size) ? child : nested(v, child, `${path}[${i}]`, stack, size);
        }
        // Frozen: stored records and the JobInfo views of them share it.
        return Object.freeze(out) as JsonValue[];
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new ValidationError(`Expected \`${path}\` to be a plain object (JSON), got ${show(v)}`);
      }
      if (Object.getOwnPropertySymbols(v).length > 0) {
        throw new ValidationError(`Expected \`${path}\` to be JSON, got an object with symbol keys`);
      }
      const out: Record<string, JsonValue> = {};
      // for-in over own keys visits them in Object.keys order without
      // allocating that array (hasOwn skips what a library may have added
      // to Object.prototype).
      for (const key in v) {
        if (!Object.hasOwn(v, key)) continue;
        if (key === '__proto__') throw new ValidationError(`Expected \`${path}\` to be JSON without a \`__proto__\` key, got one`);
        let child: unknown;
        try {
          child = (v as Record<string, unknown>)[key];
        } catch (error) {
          throw new ValidationError(`Expected \`${path}.${key}\` to be readable, got a getter that throws`, { cause: error });
        }
        size.bytes += key.length * 6 + 3;
        out[key] = isFlat(child, size) ? child : nested(v, child, path + '.' + key, stack, size);
      }
      return Object.freeze(out);
    }
    default:
      throw new ValidationError(`Expected \`${path}\` to be JSON, got ${show(v)}`);
  }
}

/** Walks `child` of `parent` with `parent` on the path. */
function nested(parent: object, child: unknown, path: string, stack: object[] | undefined, size: SizeBound): JsonValue {
  const above = stack ?? [];
  above.push(parent);
  try {
    return walkJson(child, path, above, size);
  } finally {
    above.pop();
  }
}

/**
 * A deep, mutable copy of a stored JSON value (plain objects, arrays and
 * primitives only, no cycles: what toJsonValue or JSON.parse produced), for
 * a handler to change freely. Several times faster than structuredClone.
 */
export function copyJson(v: JsonValue): JsonValue {
  if (v === null || typeof v !== 'object') return v;
  // Spread and slice copy a level in one step (V8 clones the object's shape:
  // 3-4x faster than adding keys one by one); then only nested values recurse.
  if (Array.isArray(v)) {
    const out = v.slice();
    for (let i = 0; i < out.length; i++) {
      const child = out[i] as JsonValue;
      if (child !== null && typeof child === 'object') out[i] = copyJson(child);
    }
    return out;
  }
  // Spread defines properties, so an own `__proto__` key (JSON.parse makes
  // one) stays a key and never becomes the copy's prototype; the assignment
  // below then writes that own key (it shadows Object.prototype's setter).
  const out: Record<string, JsonValue> = { ...v };
  for (const key in out) {
    const child = out[key] as JsonValue;
    // (hasOwn: a key some library added to Object.prototype is not the payload's.)
    if (child === null || typeof child !== 'object' || !Object.hasOwn(out, key)) continue;
    out[key] = copyJson(child);
  }
  return out;
}

/**
 * `v` made read-only in place, with everything in it, and returned. A value
 * the scheduler validated is frozen already (toJsonValue): O(1). One a store
 * parsed from its files or its server is frozen here, once (the record keeps
 * it): a JobInfo shares its record's payload and result, and a caller's write
 * must not reach the job.
 */
export function readOnlyJson<T>(v: T): T {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return v;
  if (Array.isArray(v)) for (const item of v as unknown[]) readOnlyJson(item);
  else for (const key in v) if (Object.hasOwn(v, key)) readOnlyJson((v as Record<string, unknown>)[key]);
  return Object.freeze(v);
}

/** The start of a long payload path, for messages about deep nesting. */
function what(path: string): string {
  return path.length > 60 ? `${path.slice(0, 57)}...` : path;
}
