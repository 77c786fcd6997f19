/**
 * The `godelayq` command: see and fix jobs without writing code.
 *
 *   godelayq jobs|show|stats <store> …           read-only, safe beside a running app
 *   godelayq retry|cancel|reschedule <store> <id>  change one job
 *   godelayq cron '<expression>' …                the next runs, DST changes marked
 *
 * Each command lives in commands/; this file dispatches, prints errors to
 * stderr (and as JSON on stdout with --json) and exits with the documented
 * code (exit.ts).
 */
import { toError } from '../errors.js';
import { changeCommand } from './commands/change.js';
import { cronCommand } from './commands/cron.js';
import { jobsCommand } from './commands/jobs.js';
import { showCommand } from './commands/show.js';
import { statsCommand } from './commands/stats.js';
import { EXIT, exitCodeOf, UsageError } from './exit.js';

export const MAIN_HELP = `Usage: godelayq <command> [options]

Read (never takes a JsonFileStore's LOCK, never writes; safe while an app runs):
  jobs <store> [--state s] [--name n] [--limit n]   list jobs in due-time order
  show <store> <id>                                 one job in full
  stats <store>                                     counts per state and name

Change (Redis, PostgreSQL: live; a JsonFileStore folder: only while no process holds it):
  retry <store> <id> [--at ISO | --in 5m]           dead/cancelled job back to scheduled
  cancel <store> <id>                               cancel a scheduled or running job
  reschedule <store> <id> (--at ISO | --in 5m)      move a scheduled job

  cron '<expression>' [--tz zone] [-n 10]           next runs, DST changes marked

<store> is a JsonFileStore folder, a redis:// URL (with --prefix <prefix>) or a
postgres:// URL (with --schema <schema>).
Every command takes --json (output for scripts) and --help.

Exit codes: 0 ok, 1 usage error, 2 job not found, 3 store locked or
unavailable, 4 store files corrupt, 5 job state does not allow the change,
70 unexpected failure.
`;

const COMMANDS: Record<string, (argv: readonly string[]) => Promise<void>> = {
  jobs: jobsCommand,
  show: showCommand,
  stats: statsCommand,
  retry: (argv) => changeCommand('retry', argv),
  cancel: (argv) => changeCommand('cancel', argv),
  reschedule: (argv) => changeCommand('reschedule', argv),
  cron: cronCommand,
};

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(MAIN_HELP);
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    const run = COMMANDS[command];
    if (!run) throw new UsageError(`Expected a command (${Object.keys(COMMANDS).join(', ')}), got ${JSON.stringify(command)}. Run godelayq --help`);
    await run(rest);
    return EXIT.ok;
  } catch (error) {
    const code = exitCodeOf(error);
    const message = toError(error).message;
    process.stderr.write(`godelayq: ${message}\n`);
    if (code === EXIT.usage && !json) process.stderr.write(`Run godelayq ${command && COMMANDS[command] ? `${command} ` : ''}--help for the usage.\n`);
    if (code === EXIT.failure && process.env.GODELAYQ_DEBUG) process.stderr.write(`${toError(error).stack ?? ''}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: { exitCode: code, name: toError(error).name, message } }, null, 2)}\n`);
    return code;
  }
}

// A reader that stops early (`godelayq jobs … | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

const code = await main(process.argv.slice(2));
// Let stdout drain, then leave even if a client library keeps a handle open.
process.stdout.write('', () => process.exit(code));
