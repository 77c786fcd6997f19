/**
 * Nightly report: a cron schedule at 02:00 London time. The server is down
 * for three days; when it comes back, `misfire: 'once'` runs ONE catch-up
 * report (not three) and a `misfired` event says how many slots were
 * skipped. Runs on a VirtualClock: a week passes in well under a second.
 *
 *   npx tsx examples/cron-report.ts
 */
import { pathToFileURL } from 'node:url';
import { MemoryStore, Scheduler, VirtualClock } from '../src/index.js';

type Jobs = {
  'report.nightly': { format: 'pdf' | 'csv'; to: string[] };
};

const HOUR = 3600_000;
const DAY = 24 * HOUR;

export interface CronReportOptions {
  /** @default 'Europe/London' */
  tz?: string;
  /** Days the server is down. @default 3 */
  downDays?: number;
  log?: (line: string) => void;
}

export interface CronReportResult {
  /** The slot (job.runAt) of each report that ran, and when it actually ran. */
  runs: { slot: Date; ranAt: Date }[];
  /** `missed` of each misfired event. */
  misfired: number[];
}

export async function cronReport(options: CronReportOptions = {}): Promise<CronReportResult> {
  const log = options.log ?? console.log;
  const tz = options.tz ?? 'Europe/London';
  const downDays = options.downDays ?? 3;
  const clock = new VirtualClock(new Date('2027-06-01T12:00:00Z'));
  const at = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + 'Z';
  // A MemoryStore keeps its jobs across stop()/start() of one Scheduler. An
  // app that really restarts (a new process) uses a JsonFileStore instead:
  // the misfire handling is the same.
  const scheduler = new Scheduler<Jobs>({ clock, store: new MemoryStore() });

  const runs: CronReportResult['runs'] = [];
  scheduler.register('report.nightly', async (job) => {
    // job.runAt is the slot, even for a late catch-up run: report on the day before it.
    runs.push({ slot: job.runAt, ranAt: new Date(clock.now()) });
    log(`${at(clock.now())}  report for the day before ${at(job.runAt.getTime())} sent to ${job.payload.to.join(', ')}`);
    return { pages: 12 };
  });
  const misfired: number[] = [];
  scheduler.on('misfired', ({ job, missed }) => {
    misfired.push(missed);
    log(`${at(clock.now())}  misfired since ${at(job.runAt.getTime())}: ${missed} slot(s) skipped, the latest one runs as a catch-up`);
  });

  /** Every start-up declares its schedules: the same declaration keeps the existing schedule. */
  async function boot(): Promise<void> {
    await scheduler.start();
    const job = await scheduler.scheduleCron('report.nightly', '0 2 * * *', { format: 'pdf', to: ['cfo@example.com'] }, { tz, misfire: 'once' });
    const next = job.cron?.nextRunAt; // undefined while an occurrence is running
    log(`${at(clock.now())}  declared ${job.id}: '0 2 * * *' in ${tz}${next ? `, next run ${at(next.getTime())}` : ''}`);
  }

  log(`${at(clock.now())}  server up`);
  await boot();
  await clock.advance(2 * DAY); // two normal nights

  log(`${at(clock.now())}  server down for ${downDays} days`);
  await scheduler.stop();
  await clock.advance(downDays * DAY); // nothing runs: the scheduler is stopped
  log(`${at(clock.now())}  server up again`);
  await boot(); // the catch-up runs at once
  await clock.advance(DAY); // and the schedule carries on as usual

  await scheduler.stop();
  return { runs, misfired };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await cronReport();
}
