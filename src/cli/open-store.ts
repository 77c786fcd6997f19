/**
 * Opening the store a command names: a JsonFileStore folder or a `redis://`
 * URL (with `--prefix`).
 *
 * Reads (`openReader`) never change the store: a folder is read with
 * `inspectStore` (no lock, nothing written; safe while an app runs it), Redis
 * through a RedisStore opened `readOnly` (no subscription, no timers, no
 * lease recovery). Changes (`openWriter`) open the store as an app does: a
 * folder takes its LOCK (refused with StoreLockedError, naming the holder,
 * while a live process holds it), Redis is shared and changed live.
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

export type StoreTarget = { kind: 'redis'; url: string; prefix: string | undefined } | { kind: 'folder'; dir: string };

/** `<store>`: a redis:// (rediss://) URL, or a folder path. */
export function parseTarget(arg: string, prefix: string | undefined): StoreTarget {
  if (/^rediss?:\/\//.test(arg)) return { kind: 'redis', url: arg, prefix };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) throw new UsageError(`Expected <store> to be a JsonFileStore folder or a redis:// URL, got ${JSON.stringify(arg)}`);
  if (prefix !== undefined) throw new UsageError('Expected `--prefix` only with a redis:// store, got it with a folder');
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
  readonly kind: 'json-file' | 'redis';
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
  if (target.kind === 'redis') {
    const store = await redisStore(target, true);
    await store.open(context());
    return {
      kind: 'redis',
      location: `${showUrl(target.url)} prefix ${target.prefix ?? 'godelayq'}`,
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
  else {
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
