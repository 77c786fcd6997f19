/** `godelayq show <store> <id>`: one job in full, read-only. */
import { parse, positionals, STORE_OPTIONS } from '../args.js';
import { CliError, EXIT } from '../exit.js';
import { openReader, parseTarget } from '../open-store.js';
import { duration, jobJson, out, printJson, schedule, time } from '../output.js';
import { footer, sourceInfo } from './read-footer.js';

export const SHOW_HELP = `Usage: godelayq show <store> <id> [--json]

Shows one job: its state, times, attempts, last error, payload and result.
Read-only (no LOCK taken, nothing written). Exit code 2 when there is no such job.

  --prefix <prefix>  key prefix of a RedisStore (default godelayq)
  --schema <schema>  schema of a PostgresStore (default godelayq)
  --json             the job as JSON: { job, source }
`;

export async function showCommand(argv: readonly string[]): Promise<void> {
  const parsed = parse('show', argv, STORE_OPTIONS);
  if (parsed.values.help) return out(SHOW_HELP);
  const [store, id] = positionals('show', parsed, ['store', 'id']) as [string, string];
  const reader = await openReader(parseTarget(store, parsed.values));
  try {
    const job = await reader.get(id);
    const source = sourceInfo(reader);
    if (!job) throw new CliError(`No job with id ${JSON.stringify(id)} in ${reader.location}`, EXIT.notFound);
    if (parsed.values.json) return printJson({ job: jobJson(job), source });
    const lines: [string, string][] = [
      ['id', job.id],
      ['name', job.name],
      ['state', job.state + (job.lost ? ` (attempt ${job.attempt} lost: ${job.lost})` : '')],
      ['run at', time(job.runAt)],
      ['created', time(job.createdAt)],
      ['attempt', `${job.attempt}${job.retry ? ` (max retries ${job.retry.maxRetries})` : ''}`],
      ['priority', String(job.priority)],
    ];
    if (job.finishedAt !== undefined) lines.push(['finished', time(job.finishedAt)]);
    if (job.timeout !== undefined) lines.push(['timeout', duration(job.timeout)]);
    if (job.recur) lines.push(['schedule', `${schedule(job)}, ${job.recur.count} run(s), misfire ${job.recur.misfire}${job.recur.limit === undefined ? '' : `, limit ${job.recur.limit}`}`]);
    if (job.lastError) lines.push(['last error', `${job.lastError.name}: ${job.lastError.message}`]);
    const width = Math.max(...lines.map(([k]) => k.length));
    out(lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
    out(`\npayload\n${indent(JSON.stringify(job.payload, null, 2))}\n`);
    if (job.result !== undefined) out(`result\n${indent(JSON.stringify(job.result, null, 2))}\n`);
    out(footer(source));
  } finally {
    await reader.close();
  }
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}
