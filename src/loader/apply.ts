/**
 * Turning a file's checked jobs into Scheduler calls, and a dry run of the
 * very same calls against a throw-away scheduler.
 *
 * WHY a dry run: SPEC §7 wants every job of a file scheduled or none. One-off
 * jobs go in one `scheduleMany` (all or none, one store write), but the
 * public Scheduler API has no all-or-none insert mixing one-off and recurring
 * jobs, so a file with cron/every jobs takes several calls. Running the same
 * calls first on a sandbox Scheduler (MemoryStore, VirtualClock) makes the
 * scheduler's own validation reject a bad job before any real call is made;
 * what remains between the real calls is a store failure, and derived ids
 * with `onDuplicate: 'keep'` make the retry complete the set without
 * duplicating what was already inserted.
 */
import { VirtualClock } from '../clock.js';
import { ValidationError } from '../errors.js';
import type { Scheduler } from '../scheduler.js';
import { Scheduler as SchedulerClass } from '../scheduler.js';
import { MemoryStore } from '../store/memory.js';
import type { CronOptions, EveryOptions, JobMap, OnDuplicate, ScheduleOptions } from '../types.js';
import type { FileJob } from './job-file.js';

/** A checked job with the id and duplicate policy it will be scheduled under. */
export interface PlannedJob extends FileJob {
  jobId: string;
  onDuplicate: OnDuplicate;
}

function scheduleOptions(job: PlannedJob): ScheduleOptions {
  const options: ScheduleOptions = { id: job.jobId, onDuplicate: job.onDuplicate };
  if (job.retry !== undefined) options.retry = job.retry;
  if (job.timeout !== undefined) options.timeout = job.timeout;
  if (job.priority !== undefined) options.priority = job.priority;
  return options;
}

/**
 * Schedules `jobs` on `scheduler`: the one-off jobs in one `scheduleMany`,
 * then each recurring job. Returns the job ids in file order.
 */
export async function applyJobs(scheduler: Scheduler<JobMap>, jobs: readonly PlannedJob[]): Promise<string[]> {
  const ids: string[] = jobs.map((job) => job.jobId);
  const once = jobs.map((job, k) => [job, k] as const).filter(([job]) => job.timing.kind === 'once');
  if (once.length > 0) {
    const infos = await scheduler.scheduleMany(
      once.map(([job]) => {
        const t = job.timing as { delay?: number; at?: number };
        return {
          name: job.name,
          payload: job.payload,
          ...(t.at === undefined ? { delay: t.delay ?? 0 } : { at: t.at }),
          options: scheduleOptions(job),
        };
      }),
    );
    infos.forEach((info, i) => {
      ids[(once[i] as readonly [PlannedJob, number])[1]] = info.id;
    });
  }
  for (const [k, job] of jobs.entries()) {
    const t = job.timing;
    if (t.kind === 'once') continue;
    const options: EveryOptions = scheduleOptions(job);
    if (job.misfire !== undefined) options.misfire = job.misfire;
    if (t.kind === 'cron') {
      const cronOptions: CronOptions = t.tz === undefined ? options : { ...options, tz: t.tz };
      ids[k] = (await scheduler.scheduleCron(job.name, t.cron, job.payload, cronOptions)).id;
    } else {
      ids[k] = (await scheduler.scheduleEvery(job.name, t.every, job.payload, options)).id;
    }
  }
  return ids;
}

/**
 * Makes the calls `applyJobs` would make, one job at a time, on a sandbox
 * scheduler, so the scheduler's own validation speaks before anything real
 * is scheduled, at `now` (epoch ms). Throws the first ValidationError,
 * prefixed with the job's path in the file.
 */
export async function dryRun(jobs: readonly PlannedJob[], now: number): Promise<void> {
  const sandbox = new SchedulerClass<JobMap>({ clock: new VirtualClock(now), store: new MemoryStore() });
  await sandbox.start();
  try {
    for (const job of jobs) {
      try {
        await applyJobs(sandbox, [job]);
      } catch (error) {
        if (error instanceof ValidationError) throw new ValidationError(`\`${job.path}\`: ${error.message}`, { cause: error });
        throw error;
      }
    }
  } finally {
    await sandbox.stop();
  }
}
