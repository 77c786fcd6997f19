/**
 * Argument parsing for the `godelayq` command, on Node's `util.parseArgs`
 * (strict: an unknown option or a missing value is a usage error), plus the
 * value parsers the commands share (states, limits, times).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '../duration.js';
import type { JobState } from '../types.js';
import { UsageError } from './exit.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
export const COMMON: OptionSpec = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
};

/** Options of commands that open a store. */
export const STORE_OPTIONS: OptionSpec = {
  prefix: { type: 'string' },
  schema: { type: 'string' },
};

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses `argv` (after the command name) against `options`; anything unknown is a UsageError. */
export function parse(command: string, argv: readonly string[], options: OptionSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, '') : String(error);
    throw new UsageError(`${command}: ${message}`);
  }
}

/** The positionals, exactly `names.length` of them. */
export function positionals(command: string, parsed: Parsed, names: readonly string[]): string[] {
  const got = parsed.positionals;
  if (got.length < names.length) throw new UsageError(`${command}: expected ${names.map((n) => `<${n}>`).join(' ')}, got no <${names[got.length] as string}>`);
  if (got.length > names.length) throw new UsageError(`${command}: expected ${names.length} argument(s) (${names.map((n) => `<${n}>`).join(' ')}), got an extra ${JSON.stringify(got[names.length])}`);
  return got;
}

export const STATES: readonly JobState[] = ['scheduled', 'running', 'completed', 'dead', 'cancelled'];

/** `--state dead` or `--state dead,cancelled`. */
export function parseStates(value: string | undefined): JobState[] | undefined {
  if (value === undefined) return undefined;
  const states = value.split(',').map((s) => s.trim());
  for (const s of states) {
    if (!(STATES as readonly string[]).includes(s)) throw new UsageError(`Expected \`--state\` to be one of ${STATES.join(', ')} (comma-separated), got ${JSON.stringify(s)}`);
  }
  return states as JobState[];
}

/** A whole number in [min, max]. */
export function parseInteger(value: string | undefined, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`Expected \`${name}\` to be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

/** `--at ISO` or `--in 5m` (relative to `now`); undefined when neither was given. */
export function parseWhen(values: Parsed['values'], now: number): number | undefined {
  const at = values.at as string | undefined;
  const inText = values.in as string | undefined;
  if (at !== undefined && inText !== undefined) throw new UsageError('Expected one of `--at` and `--in`, got both');
  if (at !== undefined) {
    // An ISO 8601 date-time; a date alone is read as midnight UTC, as Date.parse does.
    const t = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(at) ? Date.parse(at) : Number.NaN;
    if (!Number.isFinite(t)) throw new UsageError(`Expected \`--at\` to be an ISO 8601 time such as 2027-01-31T09:00:00Z, got ${JSON.stringify(at)}`);
    return t;
  }
  if (inText !== undefined) {
    try {
      return now + parseDuration(inText);
    } catch {
      throw new UsageError(`Expected \`--in\` to be a duration such as 90s, 5m, 1h30m or 2d, got ${JSON.stringify(inText)}`);
    }
  }
  return undefined;
}
