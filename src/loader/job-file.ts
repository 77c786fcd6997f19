/**
 * The job-file format of DirectoryLoader (SPEC §7): decoding, and checking
 * every field before anything is scheduled. A file holds one job object or
 * an array of them:
 *
 *   { id?, name, payload?, delay? | at? | cron? | every?, tz?, misfire?,
 *     retry?, timeout?, priority? }
 *
 * At most one of delay/at/cron/every; none means "run now" (delay 0).
 * Unknown fields are errors. The checks reuse the scheduler's own validators
 * (validate.ts, retry.ts, cron.ts), with paths that point into the file
 * (`jobs[2].at`) so the `.error.json` report says where to look.
 */
import { validateRecurrence } from '../cron.js';
import { parseDuration } from '../duration.js';
import { ValidationError } from '../errors.js';
import { validateRetry } from '../retry.js';
import type { JsonValue, MisfirePolicy, RetryOptions } from '../types.js';
import { MAX_TIME, checkFinite, checkId, checkName, checkPositive, show, toJsonValue } from '../validate.js';

/** When a job from a file runs. */
export type FileJobTiming =
  | { kind: 'once'; delay: number }
  | { kind: 'once'; at: number }
  | { kind: 'cron'; cron: string; tz?: string }
  | { kind: 'every'; every: number };

/** One checked job of a file. */
export interface FileJob {
  /** Position in the file (0 for a single-object file). */
  index: number;
  /** `jobs[i]` or `job`: how messages refer to it. */
  path: string;
  name: string;
  payload: JsonValue;
  timing: FileJobTiming;
  /** The file's own id for the job, if it gave one. */
  id?: string;
  misfire?: MisfirePolicy;
  retry?: RetryOptions;
  timeout?: number;
  priority?: number;
}

/** Field names a job object may have. */
export const JOB_FIELDS: readonly string[] = ['id', 'name', 'payload', 'delay', 'at', 'cron', 'every', 'tz', 'misfire', 'retry', 'timeout', 'priority'];
const FIELD_SET: ReadonlySet<string> = new Set(JOB_FIELDS);
const TIMING_FIELDS = ['delay', 'at', 'cron', 'every'] as const;

/** Thrown for content that is not (yet) valid JSON: it may still be being written. */
export class JobFileSyntaxError extends ValidationError {}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Decodes a file's bytes as UTF-8 JSON (a leading BOM is allowed). Empty or
 * whitespace-only content, invalid UTF-8 and JSON syntax errors throw
 * JobFileSyntaxError: a half-written file looks exactly like that.
 */
export function decodeJobFile(bytes: Uint8Array, fileName: string): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (error) {
    throw new JobFileSyntaxError(`Expected ${fileName} to be UTF-8 text, got invalid UTF-8`, { cause: error });
  }
  if (text.trim() === '') throw new JobFileSyntaxError(`Expected ${fileName} to hold a JSON job object or array, got an empty file`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new JobFileSyntaxError(`Expected ${fileName} to be valid JSON, got a syntax error: ${detail}`, { cause: error });
  }
}

/** Re-throws `error` as a ValidationError whose message starts with `prefix: `. */
function within(prefix: string, error: unknown): never {
  if (error instanceof ValidationError) throw new ValidationError(`${prefix}: ${error.message}`, { cause: error });
  throw error;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:(Z)|([+-])(\d{2}):?(\d{2}))$/i;

/**
 * Epoch ms of an ISO 8601 date-time that carries its UTC offset ('Z' or
 * ±hh:mm), or undefined. Stricter than Date.parse, which accepts '2027-02-30'
 * (rolling over to March) and reads an offset-less time in local time.
 */
export function parseIsoInstant(text: string): number | undefined {
  const m = ISO_DATE_TIME.exec(text);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, frac, zulu, sign, ohs, oms] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs);
  const minute = Number(mis);
  const second = ss === undefined ? 0 : Number(ss);
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (month < 1 || month > 12) return undefined;
  const dim = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day < 1 || day > dim || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  let offset = 0;
  if (zulu === undefined) {
    const oh = Number(ohs);
    const om = Number(oms);
    if (oh > 23 || om > 59) return undefined;
    offset = (sign === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const utc = new Date(0);
  utc.setUTCFullYear(year, month - 1, day);
  utc.setUTCHours(hour, minute, second, ms);
  const epoch = utc.getTime() - offset;
  return Number.isFinite(epoch) && Math.abs(epoch) <= MAX_TIME ? epoch : undefined;
}

function duration(value: unknown, path: string): number {
  if (typeof value !== 'number' && typeof value !== 'string') {
    throw new ValidationError(`Expected \`${path}\` to be milliseconds or a duration string like '90s', '10m', '1h30m' or '2d', got ${show(value)}`);
  }
  try {
    return parseDuration(value);
  } catch (error) {
    return within(`\`${path}\``, error);
  }
}

function checkJob(raw: unknown, index: number, path: string, now: number): FileJob {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ValidationError(`Expected \`${path}\` to be a job object { name, payload?, delay? | at? | cron? | every?, ... }, got ${show(raw)}`);
  }
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!FIELD_SET.has(key)) throw new ValidationError(`Unknown field \`${path}.${key}\` (expected one of ${JOB_FIELDS.join(', ')})`);
  }
  const name = checkName(o.name, `${path}.name`);
  const payload = o.payload === undefined ? null : toJsonValue(o.payload, `${path}.payload`);
  const given = TIMING_FIELDS.filter((key) => o[key] !== undefined);
  if (given.length > 1) {
    throw new ValidationError(`Expected \`${path}\` to have at most one of delay, at, cron, every, got ${given.join(' and ')}`);
  }
  let timing: FileJobTiming;
  if (o.at !== undefined) {
    const at = typeof o.at === 'string' ? parseIsoInstant(o.at) : undefined;
    if (at === undefined) {
      throw new ValidationError(
        `Expected \`${path}.at\` to be an ISO 8601 date-time with a UTC offset, such as '2027-01-01T09:00:00Z' or '2027-01-01T10:00:00+01:00', got ${show(o.at)}`,
      );
    }
    timing = { kind: 'once', at };
  } else if (o.cron !== undefined) {
    if (typeof o.cron !== 'string') throw new ValidationError(`Expected \`${path}.cron\` to be a cron expression string, got ${show(o.cron)}`);
    if (o.tz !== undefined && typeof o.tz !== 'string') throw new ValidationError(`Expected \`${path}.tz\` to be an IANA time zone name, got ${show(o.tz)}`);
    timing = { kind: 'cron', cron: o.cron, ...(o.tz === undefined ? {} : { tz: o.tz }) };
    try {
      validateRecurrence({ cron: o.cron, tz: o.tz }, now);
    } catch (error) {
      within(`\`${path}\``, error);
    }
  } else if (o.every !== undefined) {
    const every = duration(o.every, `${path}.every`);
    if (!Number.isSafeInteger(every) || every <= 0) {
      throw new ValidationError(`Expected \`${path}.every\` to be a positive whole number of ms or a duration like '15m', got ${show(o.every)}`);
    }
    timing = { kind: 'every', every };
  } else {
    timing = { kind: 'once', delay: o.delay === undefined ? 0 : duration(o.delay, `${path}.delay`) };
  }
  if (o.tz !== undefined && timing.kind !== 'cron') {
    throw new ValidationError(`Expected \`${path}.tz\` only with \`cron\`, got tz ${show(o.tz)} without a cron expression`);
  }
  if (o.misfire !== undefined) {
    if (timing.kind === 'once') throw new ValidationError(`Expected \`${path}.misfire\` only with \`cron\` or \`every\`, got it on a one-off job`);
    if (o.misfire !== 'once' && o.misfire !== 'skip' && o.misfire !== 'all') {
      throw new ValidationError(`Expected \`${path}.misfire\` to be 'once', 'skip' or 'all', got ${show(o.misfire)}`);
    }
  }
  const job: FileJob = { index, path, name, payload, timing };
  if (o.id !== undefined) {
    try {
      job.id = checkId(o.id);
    } catch (error) {
      within(`\`${path}.id\``, error);
    }
  }
  if (o.misfire !== undefined) job.misfire = o.misfire as MisfirePolicy;
  if (o.retry !== undefined) {
    validateRetry(o.retry, `${path}.retry`, false);
    job.retry = o.retry as RetryOptions;
  }
  if (o.timeout !== undefined) job.timeout = checkPositive(o.timeout, `${path}.timeout`);
  if (o.priority !== undefined) job.priority = checkFinite(o.priority, `${path}.priority`);
  return job;
}

/**
 * Checks a decoded file: one job object or an array of them. Throws
 * ValidationError naming the first bad field; returns every job otherwise.
 * `now` (epoch ms) is only used to check that a cron expression ever fires.
 */
export function readJobs(value: unknown, now: number): FileJob[] {
  const single = !Array.isArray(value);
  if (single && (typeof value !== 'object' || value === null)) {
    throw new ValidationError(`Expected a job object or an array of jobs, got ${show(value)}`);
  }
  const list: unknown[] = single ? [value] : (value as unknown[]);
  const jobs = list.map((raw, i) => checkJob(raw, i, single ? 'job' : `jobs[${i}]`, now));
  const seen = new Map<string, string>();
  for (const job of jobs) {
    if (job.id === undefined) continue;
    const first = seen.get(job.id);
    if (first !== undefined) throw new ValidationError(`Expected unique ids in the file, got id ${show(job.id)} on both \`${first}\` and \`${job.path}\``);
    seen.set(job.id, job.path);
  }
  return jobs;
}
