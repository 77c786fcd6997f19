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
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
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

/**
 * Returns a deep, frozen copy of `value` if JSON round-trips it unchanged, else throws
 * ValidationError naming the path: undefined, functions, symbols, NaN,
 * Infinity, BigInt, cycles, Dates, Maps, class instances, sparse arrays,
 * `__proto__` keys and getters that throw are all refused.
 */
export function toJsonValue(value: unknown, what = 'payload'): JsonValue {
  // Fast path for the common payload shapes: primitives are returned as is.
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      break;
  }
  try {
    return walkJson(value, what, []);
  } catch (error) {
    // Proxies and exotic objects can throw from any trap: still a typed error.
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`Expected \`${what}\` to be JSON, got a value that throws when read`, { cause: error });
  }
}

/** Recursive copy-and-check; `stack` holds the objects on the current path (cycle detection). */
function walkJson(v: unknown, path: string, stack: object[]): JsonValue {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new ValidationError(`Expected \`${path}\` to be a finite number (JSON), got ${String(v)}`);
      return v;
    case 'object': {
      if (v === null) return null;
      if (stack.includes(v)) throw new ValidationError(`Expected \`${path}\` to be JSON, got a circular reference`);
      stack.push(v);
      try {
        if (Array.isArray(v)) {
          const out: JsonValue[] = new Array<JsonValue>(v.length);
          for (let i = 0; i < v.length; i++) {
            if (!(i in v)) throw new ValidationError(`Expected \`${path}[${i}]\` to be JSON, got a hole in a sparse array`);
            out[i] = walkJson(v[i], `${path}[${i}]`, stack);
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
        for (const key of Object.keys(v)) {
          if (key === '__proto__') throw new ValidationError(`Expected \`${path}\` to be JSON without a \`__proto__\` key, got one`);
          let child: unknown;
          try {
            child = (v as Record<string, unknown>)[key];
          } catch (error) {
            throw new ValidationError(`Expected \`${path}.${key}\` to be readable, got a getter that throws`, { cause: error });
          }
          out[key] = walkJson(child, path + '.' + key, stack);
        }
        return Object.freeze(out);
      } finally {
        stack.pop();
      }
    }
    default:
      throw new ValidationError(`Expected \`${path}\` to be JSON, got ${show(v)}`);
  }
}
