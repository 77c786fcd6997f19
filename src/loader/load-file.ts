/**
 * One settled file through DirectoryLoader: bytes → JSON → checked jobs →
 * a dry run of the scheduler calls (when the file needs more than one) →
 * the real calls → archive, delete or remember (keep); and bad entries into
 * errorDir beside their report. The loader's per-name actor (loader.ts)
 * decides when a file is settled and what an outcome means for it.
 *
 * WHY ids derived from the file (name + hash of content and mtime + index),
 * scheduled with onDuplicate 'keep': a crash after scheduling and before
 * archiving loads the file again on restart, and that second load adds
 * nothing. The mtime is in the hash so that a new file with the same name
 * and content dropped later is a new submission, not a duplicate.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';
import type { Scheduler } from '../scheduler.js';
import type { JobMap } from '../types.js';
import { applyJobs, dryRun, type PlannedJob } from './apply.js';
import { type EntryIdentity, errorCode, moveNoClobber, moveToErrorDir, removeIfSame, utcStamp } from './fs.js';
import { JobFileSyntaxError, decodeJobFile, readJobs, type FileJob } from './job-file.js';
import type { KeptEntry, KeptManifest } from './manifest.js';
import type { LoaderConfig } from './options.js';
import { readSettled } from './read.js';

/** What the loader's last look saw of a regular file it let settle. */
export interface Look {
  /** `sigOf` of the file read (the link's target, when following one). */
  sig: string;
  size: number;
  mtimeMs: number;
  /** The directory entry itself (lstat): what a move must find in its place. */
  entry: EntryIdentity;
}

export interface LoadContext {
  readonly config: LoaderConfig;
  readonly scheduler: Scheduler<JobMap>;
  readonly manifest: KeptManifest | undefined;
  /** realpath of `config.dir`. */
  readonly realDir: string;
  /** Reports one of the loader's own failures (the `error` event). */
  readonly reportError: (error: unknown, file: string) => void;
}

export type LoadOutcome =
  /**
   * Every job scheduled; `gone`: the file was archived or deleted.
   * `recorded` (keep mode): settles once the state file holds the file (a
   * failure is reported, never thrown), so the caller can free its slot
   * first and many files share one state-file write.
   */
  | { kind: 'loaded'; jobIds: string[]; archivedTo?: string; gone: boolean; recorded?: Promise<void> }
  /** Keep mode: touched, same content; nothing loaded. */
  | { kind: 'unchanged'; recorded: Promise<void> }
  /** The file changed (or vanished) under the read: settle again. */
  | { kind: 'changed' }
  /** Not valid JSON (yet): maybe still being written. */
  | { kind: 'syntax'; error: ValidationError }
  | { kind: 'bad'; error: ValidationError }
  /** Scheduler stopped, store write failed, file unreadable: try again later. */
  | { kind: 'transient'; error: unknown };

/** Assigns ids: the file's own, or derived from the file so a reload adds nothing. */
function plan(jobs: FileJob[], name: string, sha256: string, mtimeMs: number, kept: KeptEntry | undefined): PlannedJob[] {
  const fileHash = createHash('sha256').update(`${sha256}:${mtimeMs}`).digest('hex').slice(0, 16);
  return jobs.map((job) => {
    if (job.id === undefined) return { ...job, jobId: `file:${name}:${fileHash}:${job.index}`, onDuplicate: 'keep' };
    // A file's own id is an idempotency key (kept if it exists), except that a changed
    // kept file replaces the jobs its previous version created.
    return { ...job, jobId: job.id, onDuplicate: kept?.jobIds.includes(job.id) ? 'replace' : 'keep' };
  });
}

/** Keep mode, a kept file changed: cancels its previous version's jobs that have not run (and its schedules). */
async function cancelSuperseded(ctx: LoadContext, previous: readonly string[], current: readonly string[], file: string): Promise<void> {
  const keep = new Set(current);
  for (const id of previous) {
    if (keep.has(id)) continue;
    try {
      const info = await ctx.scheduler.get(id);
      if (!info) continue;
      const recurring = info.cron !== undefined || info.every !== undefined;
      if (info.state === 'scheduled' || (info.state === 'running' && recurring)) await ctx.scheduler.cancel(id);
    } catch (error) {
      ctx.reportError(error, file);
    }
  }
}

/** Reads, checks and schedules the settled file `name`, then archives, deletes or remembers it. */
export async function loadFile(ctx: LoadContext, name: string, look: Look): Promise<LoadOutcome> {
  const { config } = ctx;
  const file = join(config.dir, name);
  let bytes: Uint8Array;
  try {
    const read = await readSettled(config.fs, file, { sig: look.sig, maxBytes: config.maxFileBytes, follow: config.followSymlinks, realDir: ctx.realDir });
    switch (read.kind) {
      case 'changed':
        return read;
      case 'tooLarge':
        return { kind: 'bad', error: new ValidationError(`Expected ${name} to be at most ${config.maxFileBytes} bytes (options.maxFileBytes), got ${read.size} bytes`) };
      case 'refused':
        return { kind: 'bad', error: new ValidationError(`Expected ${name} to be a regular file inside the folder, got ${read.reason}; it was not read`) };
      case 'unstable':
        return {
          kind: 'bad',
          error: new ValidationError(`Expected ${name} to be an ordinary file, got one with ${read.got > read.size ? 'more' : 'fewer'} bytes than its unchanged size (${read.size} bytes) says`),
        };
      case 'read':
        bytes = read.bytes;
    }
  } catch (error) {
    return { kind: 'transient', error };
  }

  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const kept = ctx.manifest?.get(name);
  if (ctx.manifest && kept?.sha256 === sha256) {
    // Touched but not changed: remember the new mtime, load nothing.
    const recorded = ctx.manifest.set(name, { ...kept, size: look.size, mtimeMs: look.mtimeMs }).catch((error: unknown) => ctx.reportError(error, file));
    return { kind: 'unchanged', recorded };
  }

  const now = config.clock.now();
  let jobs: PlannedJob[];
  try {
    jobs = plan(readJobs(decodeJobFile(bytes, name), now), name, sha256, look.mtimeMs, kept);
    const calls = (jobs.some((job) => job.timing.kind === 'once') ? 1 : 0) + jobs.filter((job) => job.timing.kind !== 'once').length;
    // One call is all-or-none by itself; several need the dry run first.
    if (calls > 1) await dryRun(jobs, now);
  } catch (error) {
    if (error instanceof JobFileSyntaxError) return { kind: 'syntax', error: new ValidationError(error.message, { cause: error.cause }) };
    if (error instanceof ValidationError) return { kind: 'bad', error };
    return { kind: 'transient', error };
  }

  let jobIds: string[];
  try {
    jobIds = await applyJobs(ctx.scheduler, jobs);
  } catch (error) {
    // After a passing dry run only the store (or a stopped scheduler) can fail: try again
    // later; jobs already inserted are kept (same ids), the rest follow.
    if (error instanceof ValidationError) return { kind: 'bad', error: new ValidationError(`The scheduler refused a job of ${name}: ${error.message}`, { cause: error }) };
    return { kind: 'transient', error };
  }

  if (ctx.manifest) {
    if (kept) await cancelSuperseded(ctx, kept.jobIds, jobIds, file);
    const entry: KeptEntry = { size: look.size, mtimeMs: look.mtimeMs, sha256, jobIds, loadedAt: new Date(config.clock.now()).toISOString() };
    // A lost write is harmless: the file is loaded again at the next start and adds nothing.
    const recorded = ctx.manifest.set(name, entry).catch((error: unknown) => ctx.reportError(error, file));
    return { kind: 'loaded', jobIds, gone: false, recorded };
  }
  try {
    if (config.onLoaded === 'archive') {
      const archivedTo = await moveNoClobber(config.fs, file, config.archiveDir, `${utcStamp(config.clock.now())}-${name}`, look.entry);
      // undefined: another file took this name after the read; it stays to be loaded.
      return archivedTo === undefined ? { kind: 'loaded', jobIds, gone: false } : { kind: 'loaded', jobIds, archivedTo, gone: true };
    }
    return { kind: 'loaded', jobIds, gone: await removeIfSame(config.fs, file, look.entry) };
  } catch (error) {
    // The jobs are scheduled; the file stays. A later start loads it again, adding nothing.
    ctx.reportError(error, file);
    return { kind: 'loaded', jobIds, gone: false };
  }
}

/**
 * Moves the bad entry `name` to errorDir beside `<name>.error.json`.
 * Returns where it went, or undefined when it could not be moved (reported)
 * or was replaced meanwhile.
 */
export async function rejectEntry(ctx: LoadContext, name: string, entry: EntryIdentity, error: Error): Promise<string | undefined> {
  const file = join(ctx.config.dir, name);
  const code = (error as { code?: unknown }).code;
  const report = {
    file,
    error: { name: error.name, ...(typeof code === 'string' ? { code } : {}), message: error.message },
    at: new Date(ctx.config.clock.now()).toISOString(),
  };
  try {
    return await moveToErrorDir(ctx.config.fs, file, ctx.config.errorDir, name, report, entry);
  } catch (moveError) {
    ctx.reportError(moveError, file);
    return undefined;
  }
}

/** The error code of a failed look that means "no such entry any more". */
export function isGone(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
