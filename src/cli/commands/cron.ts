/**
 * `godelayq cron '<expr>' [--tz Europe/Paris] [-n 10] [--from ISO]`: the next
 * runs of a cron expression as the scheduler computes them (src/cron, with
 * its DST rules), each run a DST change touches marked: a local time that
 * does not exist (spring forward) or that occurs twice (fall back).
 */
import { nextSlot, validateRecurrence } from '../../cron.js';
import { compileCron } from '../../cron/expression.js';
import { countWalls, DAY } from '../../cron/walls.js';
import { transitionsIn, zoneOf } from '../../cron/zone.js';
import { parse, parseInteger, positionals } from '../args.js';
import { UsageError } from '../exit.js';
import { out, printJson, table, time } from '../output.js';

export const CRON_HELP = `Usage: godelayq cron '<expression>' [--tz <zone>] [-n <count>] [--from <ISO time>] [--json]

Prints the next runs of a cron expression (5 or 6 fields, or @daily etc.), as
the scheduler computes them, and marks runs a daylight-saving change touches:
  gap       the local time does not exist (clocks spring forward): a fixed-time
            expression runs at the end of the gap, an interval one skips it
  repeated  the local time occurs twice (clocks fall back): a fixed-time
            expression runs once, at the first; an interval one runs in both

  --tz <zone>        IANA time zone the fields are read in (default UTC)
  -n, --count <n>    how many runs (default 10, at most 1000)
  --from <ISO time>  list runs after this instant (default now)
  --json             { expression, tz, kind, runs: [{ at, local, dst }] }
`;

export interface CronRun {
  at: string;
  /** Local wall time with its UTC offset, e.g. 2026-03-29 03:00:00 GMT+02:00. */
  local: string;
  dst: { kind: 'gap' | 'repeated'; note: string } | null;
}

function localFormat(tz: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  });
}

function local(format: Intl.DateTimeFormat, t: number): string {
  const p = Object.fromEntries(format.formatToParts(t).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName}`;
}

/** The wall time (`HH:MM`) of a wall-clock key (ms since epoch, in local reading). */
const hhmm = (wall: number): string => new Date(wall).toISOString().slice(11, 16);

/** The runs after `from`, each with its DST mark. */
export function cronRuns(expression: string, tz: string | undefined, count: number, from: number): { kind: 'interval' | 'fixed-time'; runs: CronRun[] } {
  const spec = { cron: expression, ...(tz === undefined ? {} : { tz }) };
  validateRecurrence(spec, from);
  const cron = compileCron(expression);
  const zone = zoneOf(tz, expression);
  const format = localFormat(tz ?? 'UTC');
  const runs: CronRun[] = [];
  let prev = from - 1;
  for (let i = 0; i < count; i++) {
    const t = nextSlot(spec, prev);
    if (t === undefined) break;
    let dst: CronRun['dst'] = null;
    for (const tr of transitionsIn(zone, t - DAY, t + DAY)) {
      const d = Math.abs(tr.before - tr.after);
      if (tr.before > tr.after) {
        // Fall back: local times in [at + after, at + before) occur twice.
        if (t >= tr.at - d && t < tr.at) {
          dst = { kind: 'repeated', note: cron.interval ? 'local time occurs twice (clocks fall back): first pass' : 'local time occurs twice (clocks fall back): runs once, at the first' };
        } else if (t >= tr.at && t < tr.at + d) {
          dst = { kind: 'repeated', note: 'local time occurs twice (clocks fall back): second pass' };
        }
      } else if (tr.at > prev && tr.at <= t) {
        // Spring forward between the previous run and this one: local times in [at + before, at + after) do not exist.
        const skipped = countWalls(cron, tr.at + tr.before, tr.at + tr.after);
        if (skipped > 0) {
          const gap = `${hhmm(tr.at + tr.before)}-${hhmm(tr.at + tr.after)}`;
          dst = cron.interval
            ? { kind: 'gap', note: `${skipped} run(s) at local times ${gap} skipped: they do not exist (clocks spring forward)` }
            : { kind: 'gap', note: `local time in ${gap} does not exist (clocks spring forward): runs at the end of the gap` };
        }
      }
    }
    runs.push({ at: new Date(t).toISOString(), local: local(format, t), dst });
    prev = t;
  }
  return { kind: cron.interval ? 'interval' : 'fixed-time', runs };
}

export async function cronCommand(argv: readonly string[]): Promise<void> {
  const parsed = parse('cron', argv, { tz: { type: 'string' }, count: { type: 'string', short: 'n' }, from: { type: 'string' } });
  if (parsed.values.help) return out(CRON_HELP);
  const [expression] = positionals('cron', parsed, ['expression']) as [string];
  const count = parseInteger(parsed.values.count as string | undefined, '--count', 10, 1, 1000);
  const fromText = parsed.values.from as string | undefined;
  const from = fromText === undefined ? Date.now() : Date.parse(fromText);
  if (!Number.isFinite(from)) throw new UsageError(`Expected \`--from\` to be an ISO 8601 time such as 2026-03-28T00:00:00Z, got ${JSON.stringify(fromText)}`);
  const tz = parsed.values.tz as string | undefined;
  const { kind, runs } = cronRuns(expression, tz, count, from);
  if (parsed.values.json) return printJson({ expression, tz: tz ?? 'UTC', kind, runs });
  const rows = runs.map((r, i) => [String(i + 1), time(Date.parse(r.at)), r.local, r.dst ? `${r.dst.kind === 'gap' ? 'DST gap' : 'DST repeat'}: ${r.dst.note}` : '']);
  out(table(['#', 'UTC', `LOCAL (${tz ?? 'UTC'})`, 'DST'], rows, 120));
  out(`${expression} is ${kind === 'interval' ? 'an interval' : 'a fixed-time'} expression${runs.length < count ? `; no more runs after ${runs.length}` : ''}\n`);
}
