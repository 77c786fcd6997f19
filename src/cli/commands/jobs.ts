/** `godelayq jobs <store> [--state s] [--name n] [--limit n] [--json]`: jobs in runAt order, read-only. */
import { parse, parseInteger, parseStates, positionals, STORE_OPTIONS } from '../args.js';
import { openReader, parseTarget } from '../open-store.js';
import { jobJson, out, printJson, schedule, table, time } from '../output.js';
import { footer, sourceInfo } from './read-footer.js';

export const JOBS_HELP = `Usage: godelayq jobs <store> [--state <states>] [--name <name>] [--limit <n>] [--json]

Lists jobs in due-time order. Read-only: never takes a JsonFileStore's LOCK and
never writes, so it is safe while an app runs the store.

  <store>            a JsonFileStore folder, a redis:// or a postgres:// URL
  --state <states>   scheduled, running, completed, dead or cancelled (comma-separated)
  --name <name>      only jobs of this name
  --limit <n>        at most n jobs (default 100; 0 = all)
  --prefix <prefix>  key prefix of a RedisStore (default godelayq)
  --schema <schema>  schema of a PostgresStore (default godelayq)
  --json             JSON for scripts: { jobs, shown, matched, source }
`;

export async function jobsCommand(argv: readonly string[]): Promise<void> {
  const parsed = parse('jobs', argv, { ...STORE_OPTIONS, state: { type: 'string' }, name: { type: 'string' }, limit: { type: 'string', short: 'n' } });
  if (parsed.values.help) return out(JOBS_HELP);
  const [store] = positionals('jobs', parsed, ['store']);
  const states = parseStates(parsed.values.state as string | undefined);
  const limit = parseInteger(parsed.values.limit as string | undefined, '--limit', 100, 0);
  const name = parsed.values.name as string | undefined;
  const reader = await openReader(parseTarget(store as string, parsed.values));
  try {
    const { jobs, matched } = await reader.list({ name, states, limit });
    const source = sourceInfo(reader);
    if (parsed.values.json) return printJson({ jobs: jobs.map(jobJson), shown: jobs.length, matched: matched ?? null, source });
    const rows = jobs.map((j) => [j.id, j.name, j.state, time(j.runAt), String(j.attempt), schedule(j), j.lastError ? `${j.lastError.name}: ${j.lastError.message}` : '']);
    out(table(['ID', 'NAME', 'STATE', 'RUN AT (UTC)', 'ATTEMPT', 'SCHEDULE', 'LAST ERROR'], rows));
    const more = matched === undefined ? (limit > 0 && jobs.length === limit ? ' (there may be more: raise --limit)' : '') : matched > jobs.length ? ` of ${matched} (raise --limit to see more)` : '';
    out(`${jobs.length} job${jobs.length === 1 ? '' : 's'}${more}\n${footer(source)}`);
  } finally {
    await reader.close();
  }
}
