/** `godelayq stats <store>`: counts per state (and per name for a folder), read-only. */
import type { JobState } from '../../types.js';
import { parse, positionals, STATES, STORE_OPTIONS } from '../args.js';
import { openReader, parseTarget } from '../open-store.js';
import { out, printJson, table, time } from '../output.js';
import { footer, sourceInfo } from './read-footer.js';

export const STATS_HELP = `Usage: godelayq stats <store> [--json]

Counts jobs per state (and, for a JsonFileStore folder, per job name), with the
next due time. Read-only (no LOCK taken, nothing written).

  --prefix <prefix>  key prefix of a RedisStore (default godelayq)
  --schema <schema>  schema of a PostgresStore (default godelayq)
  --json             { counts, total, nextDueAt, names?, source }
`;

/** Per job name, counts per state (the 20 names with the most jobs; JsonFileStore only). */
type NameCounts = Record<string, Record<JobState, number>>;

export async function statsCommand(argv: readonly string[]): Promise<void> {
  const parsed = parse('stats', argv, STORE_OPTIONS);
  if (parsed.values.help) return out(STATS_HELP);
  const [store] = positionals('stats', parsed, ['store']) as [string];
  const reader = await openReader(parseTarget(store, parsed.values));
  try {
    const c = reader.counts();
    const counts = { scheduled: c.scheduled, running: c.running, completed: c.completed, dead: c.dead, cancelled: c.cancelled, recurring: c.recurring };
    const total = c.scheduled + c.running + c.completed + c.dead + c.cancelled;
    const next = reader.nextDueAt();
    let names: NameCounts | undefined;
    if (reader.inspection) {
      const all = new Map<string, Record<JobState, number>>();
      for (const r of reader.inspection.records) {
        let row = all.get(r.name);
        if (!row) all.set(r.name, (row = { scheduled: 0, running: 0, completed: 0, dead: 0, cancelled: 0 }));
        row[r.state]++;
      }
      const sum = (row: Record<JobState, number>): number => STATES.reduce((n, s) => n + row[s], 0);
      names = Object.fromEntries([...all].sort((a, b) => sum(b[1]) - sum(a[1]) || (a[0] < b[0] ? -1 : 1)).slice(0, 20));
    }
    const source = sourceInfo(reader);
    if (parsed.values.json) {
      return printJson({ counts, total, nextDueAt: next === undefined ? null : new Date(next).toISOString(), ...(names ? { names } : {}), source });
    }
    out(table(['STATE', 'JOBS'], [...STATES.map((s) => [s, String(counts[s])]), ['total', String(total)], ['(recurring)', String(counts.recurring)]]));
    out(`next due: ${time(next)}\n`);
    if (names && Object.keys(names).length > 0) {
      out(`\n${table(['NAME', ...STATES.map((s) => s.toUpperCase())], Object.entries(names).map(([n, row]) => [n, ...STATES.map((s) => String(row[s]))]))}`);
    }
    out(footer(source));
  } finally {
    await reader.close();
  }
}
