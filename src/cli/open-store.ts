/**
 * Opening the store a command names: a JsonFileStore folder, a `redis://`
 * URL (with `--prefix`) or a `postgres://` URL (with `--schema`).
 *
 * Reads (`openReader`) never change the store: a folder is read with
 * `inspectStore` (no lock, nothing written; safe while an app runs it), Redis
 * and PostgreSQL through a store opened `readOnly` (no subscription or
 * LISTEN, no timers, no lease recovery, no migration; PostgreSQL runs every
 * transaction read-only). Changes (`openWriter`) open the store as an app
 * does: a folder takes its LOCK (refused with StoreLockedError, naming the
 * holder, while a live process holds it), Redis and PostgreSQL are shared
 * and changed live; a schema that holds no store is refused, not created.
 */
import { stat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { SystemClock } from '../clock.js';
import type { JobState } from '../types.js';
import { JsonFileStore } from '../store/json-file.js';
import { inspectStore, type StoreInspection } from '../store/json-file/inspect.js';
import { listFolder } from '../store/json-file/recover.js';
import type { JobRecord, Store, StoreContext, StoreCounts } from '../store/store.js';
import { ValidationError } from '../errors.js';
import { CliError, EXIT, UsageError } from './exit.js';
import { createProgress } from './progress.js';

export type StoreTarget =
  | { kind: 'redis'; url: string; prefix: string | undefined }
  | { kind: 'postgres'; url: string; schema: string | undefined }
  | { kind: 'folder'; dir: string };

/** `<store>`: a redis:// (rediss://) URL, a postgres:// (postgresql://) URL, or a folder path; `values`: `--prefix`, `--schema`. */
export function parseTarget(arg: string, values: Record<string, string | boolean | undefined>): StoreTarget {
  const prefix = values.prefix as string | undefined;
  const schema = values.schema as string | undefined;
  const redis = /^rediss?:\/\//.test(arg);
  const postgres = /^postgres(ql)?:\/\//.test(arg);
  if (!redis && !postgres && /^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
    throw new UsageError(`Expected <store> to be a JsonFileStore folder, a redis:// or a postgres:// URL, got ${JSON.stringify(showUrl(arg))}`);
  }
  if (prefix !== undefined && !redis) throw new UsageError(`Expected \`--prefix\` only with a redis:// store, got it with ${postgres ? 'a postgres:// URL' : 'a folder'}`);
  if (schema !== undefined && !postgres) throw new UsageError(`Expected \`--schema\` only with a postgres:// store, got it with ${redis ? 'a redis:// URL' : 'a folder'}`);
  if (redis) return { kind: 'redis', url: arg, prefix };
  if (postgres) return { kind: 'postgres', url: arg, schema };
  return { kind: 'folder', dir: path.resolve(arg) };
}

/** A URL without its password, for messages and output. */
export function showUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_, auth: string) => `//${auth.includes(':') ? `${auth.split(':')[0] as string}:***` : auth}@`);
}

export interface ListQuery {
  name?: string | undefined;
  states?: readonly JobState[] | undefined;
  /** 0 = no limit. */
  limit: number;
}

export interface ListAnswer {
  jobs: JobRecord[];
  /** Jobs matching the filter in all (undefined when the store cannot tell cheaply). */
  matched: number | undefined;
}

/** A store opened for reading. */
export interface StoreReader {
  readonly kind: 'json-file' | 'redis' | 'postgres';
  readonly location: string;
  list(query: ListQuery): Promise<ListAnswer>;
  get(id: string): Promise<JobRecord | undefined>;
  counts(): StoreCounts;
  /** Earliest runAt of a scheduled job. */
  nextDueAt(): number | undefined;
  /** The folder as it was read (JsonFileStore only). */
  readonly inspection: StoreInspection | undefined;
  close(): Promise<void>;
}

function context(): StoreContext {
  const clock = new SystemClock();
  return {
    now: () => Date.now(),
    clock,
    wake: () => undefined,
    // Never drop finished jobs the app keeps: retention is the app's to apply.
    keepCompleted: Number.MAX_SAFE_INTEGER,
    keepDead: Number.MAX_SAFE_INTEGER,
    warn: (message) => process.stderr.write(`godelayq: warning: ${message}\n`),
    maxPayloadBytes: Number.MAX_SAFE_INTEGER,
  };
}

/** Loads godelayq/redis's store (ioredis is an optional peer: say what to install when it is missing). */
async function redisStore(target: Extract<StoreTarget, { kind: 'redis' }>, readOnly: boolean): Promise<Store> {
  let mod: typeof import('../redis.js');
  try {
    mod = await import('../redis.js');
  } catch (error) {
    throw new CliError(`A redis:// store needs the ioredis package (npm install ioredis): ${error instanceof Error ? error.message : String(error)}`, EXIT.unavailable, { cause: error });
  }
  return new mod.RedisStore({ url: target.url, ...(target.prefix === undefined ? {} : { prefix: target.prefix }), readOnly, redisOptions: { retryStrategy: () => null } });
}

/** Loads godelayq/postgres's store (pg is an optional peer: say what to install when it is missing). */
async function postgresStore(target: Extract<StoreTarget, { kind: 'postgres' }>, readOnly: boolean): Promise<Store> {
  let mod: typeof import('../postgres.js');
  try {
    mod = await import('../postgres.js');
  } catch (error) {
    throw new CliError(`A postgres:// store needs the pg package (npm install pg): ${error instanceof Error ? error.message : String(error)}`, EXIT.unavailable, { cause: error });
  }
  try {
    // A command makes a handful of calls: one connection, and a mistyped address fails fast.
    return new mod.PostgresStore({ connectionString: target.url, ...(target.schema === undefined ? {} : { schema: target.schema }), readOnly, poolConfig: { max: 1 } });
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(error.message);
    throw error;
  }
}

/** A reader on a shared store opened read-only (Redis, PostgreSQL). */
async function sharedReader(kind: 'redis' | 'postgres', store: Store, location: string): Promise<StoreReader> {
  await store.open(context());
  return {
    kind,
    location,
    inspection: undefined,
    async list(query) {
      const jobs = await store.list({ ...(query.name === undefined ? {} : { name: query.name }), ...(query.states ? { states: query.states } : {}), ...(query.limit > 0 ? { limit: query.limit } : {}) });
      return { jobs, matched: query.limit === 0 ? jobs.length : undefined };
    },
    get: (id) => store.get(id),
    counts: () => store.counts(),
    nextDueAt: () => store.nextDueAt(),
    close: () => store.close(),
  };
}

const byRunAt = (a: JobRecord, b: JobRecord): number => a.runAt - b.runAt || a.seq - b.seq;

function countsOf(records: readonly JobRecord[]): StoreCounts {
  const c: StoreCounts = { scheduled: 0, running: 0, completed: 0, dead: 0, cancelled: 0, recurring: 0, indexed: 0 };
  for (const r of records) {
    c[r.state]++;
    if (r.state === 'scheduled') {
      c.indexed++;
      if (r.recur) c.recurring++;
    }
  }
  return c;
}

/** Opens `target` for reading; a folder is read whole now (with a progress bar on a terminal). */
export async function openReader(target: StoreTarget): Promise<StoreReader> {
  if (target.kind === 'redis') return sharedReader('redis', await redisStore(target, true), `${showUrl(target.url)} prefix ${target.prefix ?? 'godelayq'}`);
  if (target.kind === 'postgres') return sharedReader('postgres', await postgresStore(target, true), `${showUrl(target.url)} schema ${target.schema ?? 'godelayq'}`);
  const progress = createProgress(`reading ${path.basename(target.dir)}`);
  let inspection: StoreInspection;
  try {
    inspection = await inspectStore(target.dir, { onProgress: (done, total) => progress.update(done, total) });
  } catch (error) {
    if (error instanceof ValidationError) throw new CliError(error.message, EXIT.unavailable, { cause: error });
    throw error;
  } finally {
    progress.finish();
  }
  const records = inspection.records;
  const counts = countsOf(records);
  let next: number | undefined;
  for (const r of records) if (r.state === 'scheduled' && (next === undefined || r.runAt < next)) next = r.runAt;
  return {
    kind: 'json-file',
    location: target.dir,
    inspection,
    async list(query) {
      const states = query.states && new Set(query.states);
      const matches = records.filter((r) => (!states || states.has(r.state)) && (query.name === undefined || r.name === query.name));
      matches.sort(byRunAt);
      return { jobs: query.limit > 0 ? matches.slice(0, query.limit) : matches, matched: matches.length };
    },
    get: (id) => Promise.resolve(records.find((r) => r.id === id)),
    counts: () => counts,
    nextDueAt: () => next,
    close: () => Promise.resolve(),
  };
}

/** Opens `target` for changing it: Redis live; a folder only when no live process holds its LOCK. */
export async function openWriter(target: StoreTarget): Promise<Store> {
  let store: Store;
  if (target.kind === 'redis') store = await redisStore(target, false);
  else if (target.kind === 'postgres') {
    // Opening for writing would create a missing schema: a mistyped schema must not become a new store.
    const probe = await postgresStore(target, true);
    await probe.open(context());
    await probe.close();
    store = await postgresStore(target, false);
  } else {
    // JsonFileStore creates a missing folder: a mistyped path must not become a new store.
    const names = await stat(target.dir).then(
      (s) => (s.isDirectory() ? readdir(target.dir) : []),
      () => [],
    );
    const listing = listFolder(names);
    if (listing.journals.length === 0 && listing.snapshots.length === 0) {
      throw new CliError(`Expected a JsonFileStore folder, got ${target.dir}, which holds no store (no journal or snapshot file)`, EXIT.unavailable);
    }
    store = new JsonFileStore(target.dir);
  }
  await store.open(context());
  return store;
}
