/**
 * What the commands print: aligned text tables for people, JSON for
 * scripts, and the shared renderings of times and jobs.
 */
import type { JobRecord } from '../store/store.js';

/** Writes to stdout; a closed pipe (`godelayq jobs … | head`) ends quietly. */
export function out(text: string): void {
  process.stdout.write(text);
}

export function printJson(value: unknown): void {
  out(`${JSON.stringify(value, null, 2)}\n`);
}

/** `2027-01-31 09:00:00Z`: sortable, second precision, always UTC. */
export function time(t: number | undefined): string {
  if (t === undefined || !Number.isFinite(t)) return '-';
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** An aligned table (the last column is not padded), headers first. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], maxWidth = 48): string {
  const cells = rows.map((row) => row.map((c) => clip(c.replace(/\s+/g, ' '), maxWidth)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (row: readonly string[]): string =>
    row
      .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

/** A job as the JSON output shows it: times as ISO strings, the attempt's token left out. */
export function jobJson(record: JobRecord): Record<string, unknown> {
  const { token: _token, runAt, createdAt, finishedAt, recur, ...rest } = record;
  const job: Record<string, unknown> = { ...rest, runAt: new Date(runAt).toISOString(), createdAt: new Date(createdAt).toISOString() };
  if (finishedAt !== undefined) job.finishedAt = new Date(finishedAt).toISOString();
  if (recur) {
    const { slot, startAt, endAt, anchor: _anchor, signature: _signature, ...r } = recur;
    job.recur = {
      ...r,
      slot: new Date(slot).toISOString(),
      ...(startAt === undefined ? {} : { startAt: new Date(startAt).toISOString() }),
      ...(endAt === undefined ? {} : { endAt: new Date(endAt).toISOString() }),
    };
  }
  return job;
}

/** The schedule of a job in a few words: `cron 0 9 * * * (Europe/Paris)`, `every 15m`, or ''. */
export function schedule(record: JobRecord): string {
  const r = record.recur;
  if (!r) return '';
  if (r.cron !== undefined) return `cron ${r.cron}${r.tz ? ` (${r.tz})` : ''}`;
  if (r.every !== undefined) return `every ${duration(r.every)}`;
  return '';
}

/** `1h30m`, `250ms`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
