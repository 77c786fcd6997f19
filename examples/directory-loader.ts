/**
 * Directory loader: jobs submitted as JSON files. Creates a temporary inbox
 * folder, starts a scheduler and a DirectoryLoader on it, drops two job
 * files (and one broken file) into the folder, and shows them being loaded,
 * archived and run. Ends by itself in about 5 s.
 *
 *   npx tsx examples/directory-loader.ts
 */
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DirectoryLoader, Scheduler } from '../src/index.js';

type Jobs = {
  'email.send': { to: string; subject: string };
  'report.build': { format: 'pdf' | 'csv' };
  'metrics.flush': null;
};

export interface DirectoryLoaderDemoOptions {
  /** Where lines go. @default console.log */
  log?: (line: string) => void;
  /** How long a file must stay unchanged before it is read, ms. @default 200 */
  settleMs?: number;
}

export interface DirectoryLoaderDemoResult {
  /** Handler runs, in order, as "<name> <detail>". */
  runs: string[];
  /** Files left in the archive and error folders at the end. */
  archived: string[];
  errors: string[];
  /** The `error.message` of the broken file. */
  badFileError: string | undefined;
}

/** Runs the demo in a temporary folder (removed at the end). */
export async function directoryLoaderDemo(options: DirectoryLoaderDemoOptions = {}): Promise<DirectoryLoaderDemoResult> {
  const log = options.log ?? console.log;
  const inbox = await mkdtemp(path.join(tmpdir(), 'godelayq-inbox-'));
  const t0 = Date.now();
  const say = (line: string): void => log(`+${((Date.now() - t0) / 1000).toFixed(3)}s  ${line}`);
  const scheduler = new Scheduler<Jobs>();
  const runs: string[] = [];
  const loader = new DirectoryLoader(scheduler, { dir: inbox, settleMs: options.settleMs ?? 200 });
  try {
    scheduler.register('email.send', (job) => {
      runs.push(`email.send ${job.payload.to}`);
      say(`ran      email.send to ${job.payload.to}: "${job.payload.subject}"`);
    });
    scheduler.register('report.build', (job) => {
      runs.push(`report.build ${job.payload.format}`);
      say(`ran      report.build (${job.payload.format})`);
    });
    scheduler.register('metrics.flush', (job) => {
      runs.push('metrics.flush');
      say(`ran      metrics.flush, slot ${job.runAt.toISOString()}`);
    });
    await scheduler.start();

    let badFileError: string | undefined;
    loader.on('fileLoaded', ({ file, jobIds, archivedTo }) => {
      say(`loaded   ${path.basename(file)}: ${jobIds.length} job(s), archived as ${path.relative(inbox, archivedTo ?? '')}`);
    });
    loader.on('fileFailed', ({ file, error, movedTo }) => {
      badFileError = error.message;
      say(`failed   ${path.basename(file)}: ${error.message}`);
      say(`         moved to ${path.relative(inbox, movedTo ?? '')} beside its .error.json`);
    });
    loader.on('error', ({ error }) => say(`error    ${error.message}`));
    await loader.start();
    say(`watching ${inbox}`);

    // A careful producer writes elsewhere and renames the file in: it appears complete.
    const tmp = path.join(inbox, '.welcome.json.part');
    await writeFile(
      tmp,
      JSON.stringify([
        { name: 'email.send', payload: { to: 'ada@example.com', subject: 'Welcome!' } },
        { name: 'email.send', payload: { to: 'ada@example.com', subject: 'How is it going?' }, delay: '2s' },
      ]),
    );
    await rename(tmp, path.join(inbox, 'welcome.json'));
    say('dropped  welcome.json (renamed in)');

    // Written in place: the loader waits until its size and mtime settle.
    const at = new Date(Date.now() + 3000).toISOString();
    await writeFile(
      path.join(inbox, 'reports.json'),
      JSON.stringify([
        { name: 'report.build', payload: { format: 'csv' }, at },
        { id: 'metrics', name: 'metrics.flush', cron: '* * * * * *', misfire: 'skip' },
      ]),
    );
    say(`dropped  reports.json (report at ${at}, metrics every second)`);

    // A typo: the whole file is refused and nothing in it is scheduled.
    await writeFile(path.join(inbox, 'typo.json'), JSON.stringify({ name: 'email.send', delay: '10 minutes' }));
    say('dropped  typo.json');

    // Wait for both emails and the report, with at least two metrics flushes.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        const done =
          runs.filter((r) => r.startsWith('email.send')).length === 2 &&
          runs.includes('report.build csv') &&
          runs.filter((r) => r === 'metrics.flush').length >= 2;
        if (done) {
          scheduler.off('completed', check);
          resolve();
        }
      };
      scheduler.on('completed', check);
    });

    await loader.stop();
    const archived = await readdir(path.join(inbox, 'archive'));
    const errors = await readdir(path.join(inbox, 'error'));
    say(`archive/ ${archived.join(', ')}`);
    say(`error/   ${errors.join(', ')}`);
    const report = JSON.parse(await readFile(path.join(inbox, 'error', 'typo.json.error.json'), 'utf8')) as { error: { message: string } };
    say(`typo.json.error.json says: ${report.error.message}`);
    return { runs, archived, errors, badFileError };
  } finally {
    await loader.stop();
    await scheduler.stop();
    await rm(inbox, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // A safety net only: the demo ends by itself well before this.
  const guard = setTimeout(() => {
    console.error('directory-loader example: did not finish within 10 s');
    process.exit(1);
  }, 10_000);
  guard.unref();
  await directoryLoaderDemo();
}
