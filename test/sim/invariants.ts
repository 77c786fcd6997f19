/**
 * The invariants the simulation checks, their failure type and the
 * coverage counters (how often each invariant was evaluated with something
 * to check, how often each fault kind fired).
 */

/** Every invariant, with the one-line statement printed on failure. */
export const INVARIANTS = {
  durable: 'every acknowledged change survives any crash',
  rejected: 'a rejected call changed nothing',
  notEarly: 'no job starts before its due time',
  noRerun: 'no completed, dead, cancelled or replaced job runs again',
  atLeastOnce: 'every due job eventually runs, dies or is cancelled',
  attempts: 'attempts never exceed the retry policy (a lost attempt counts)',
  slotOnce: 'each cron/every slot runs at most once, on its grid',
  allSlots: "with misfire 'all', a schedule runs every one of its slots, in order",
  stats: 'stats() equals a recount',
  heap: "the heap's check() holds",
  settled: 'no call stays pending forever, none after stop()',
  concurrency: 'concurrency limits (handlers, groups) hold and occurrences never overlap',
  reopen: 'the store reopens after any crash',
  quiescent: 'the process settles (no livelock)',
  phantom: 'a job completes only after its handler succeeded',
  atomicMany: 'scheduleMany is all or none, across crashes too',
  dedupe: "a dedupe call says what it did: throttled creates nothing, debounced updates its window's job, created makes a job",
} as const;

export type InvariantName = keyof typeof INVARIANTS;

export class SimViolation extends Error {
  constructor(
    readonly invariant: InvariantName,
    readonly detail: string,
  ) {
    super(`${INVARIANTS[invariant]} — ${detail}`);
  }
}

/** Counters: `inv.<name>` evaluations, `fault.*` / `crash.*` from the disk, `op.*`, `step.*`. */
export class Coverage {
  readonly counts: Record<string, number> = {};
  hit(key: string, n = 1): void {
    this.counts[key] = (this.counts[key] ?? 0) + n;
  }
  check(name: InvariantName, n = 1): void {
    this.hit(`inv.${name}`, n);
  }
  merge(other: Readonly<Record<string, number>>): void {
    for (const [k, v] of Object.entries(other)) this.hit(k, v);
  }
}
