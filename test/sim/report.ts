/** Text reports of a batch: failures with their replay command, coverage tables. */
import { INVARIANTS } from './invariants.js';
import type { RunResult } from './run.js';

const GROUPS: [title: string, prefix: string][] = [
  ['invariant checks (times each was evaluated with something to check)', 'inv.'],
  ['disk faults fired', 'fault.'],
  ['crashes and what they undid', 'crash.'],
  ['steps', 'step.'],
  ['handler behaviours', 'handler.'],
  ['known gaps tolerated (known.ts)', 'tolerated.'],
];

export function formatCoverage(counts: Readonly<Record<string, number>>): string {
  const lines: string[] = [];
  for (const [title, prefix] of GROUPS) {
    const keys = Object.keys(counts)
      .filter((k) => k.startsWith(prefix))
      .sort();
    if (prefix === 'inv.') {
      for (const name of Object.keys(INVARIANTS)) if (!keys.includes(`inv.${name}`)) keys.push(`inv.${name}`);
    }
    if (keys.length === 0) continue;
    lines.push(`  ${title}:`);
    for (const k of keys) lines.push(`    ${k.slice(prefix.length).padEnd(34)} ${String(counts[k] ?? 0).padStart(10)}`);
  }
  const ops = Object.keys(counts).filter((k) => /^op\.[a-z]+$/.test(k));
  if (ops.length > 0) lines.push(`  calls: ${ops.map((k) => `${k.slice(3)} ${counts[k]}`).join(', ')}`);
  const dedupe = Object.keys(counts).filter((k) => k.startsWith('op.dedupe.')).sort();
  if (dedupe.length > 0) lines.push(`  dedupe outcomes (timed: checked against the window's time): ${dedupe.map((k) => `${k.slice('op.dedupe.'.length)} ${counts[k]}`).join(', ')}`);
  const windowOps = Object.keys(counts).filter((k) => k.endsWith('.windowJob')).sort();
  if (windowOps.length > 0) lines.push(`  ops on a dedupe window's job: ${windowOps.map((k) => `${k.slice(3, -'.windowJob'.length)} ${counts[k]}`).join(', ')}`);
  return lines.join('\n');
}

export function formatFailure(result: RunResult, repro: string): string {
  const where = result.failedStep === undefined || result.failedStep < 0 ? 'in the final drain' : `at step ${result.failedStep}`;
  return [`FAIL seed ${result.seed} ${where}: [${result.invariant}] ${result.message}`, `  replay: ${repro}`].join('\n');
}
