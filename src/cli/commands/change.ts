/**
 * `godelayq retry|cancel|reschedule <store> <id>`: change one job. Through
 * Redis or PostgreSQL live (a scheduler picks the change up at once); on a JsonFileStore
 * folder only when no live process holds it (its LOCK is taken as an app
 * takes it; a held one exits 3 naming the holder).
 */
import { JobNotFoundError } from '../../errors.js';
import type { JobRecord, Store } from '../../store/store.js';
import { parse, parseWhen, positionals, STORE_OPTIONS } from '../args.js';
import { CliError, EXIT, UsageError } from '../exit.js';
import { openWriter, parseTarget } from '../open-store.js';
import { jobJson, out, printJson, time } from '../output.js';

const COMMON_HELP = `  <store>            a JsonFileStore folder (only while no process holds it), or a
                     redis:// or postgres:// URL (live)
  --prefix <prefix>  key prefix of a RedisStore (default godelayq)
  --schema <schema>  schema of a PostgresStore (default godelayq)
  --json             the changed job as JSON: { job }

Exit codes: 2 no such job, 3 store locked by a live process (or unreachable),
5 the job's state does not allow it.
`;

export const RETRY_HELP = `Usage: godelayq retry <store> <id> [--at <ISO time> | --in <duration>] [--json]

Puts a dead or cancelled job back to scheduled, attempts reset, due now (or at
--at / after --in, e.g. --in 5m).

${COMMON_HELP}`;

export const CANCEL_HELP = `Usage: godelayq cancel <store> <id> [--json]

Cancels a scheduled or running job (a running attempt is aborted by its
scheduler and never retried). Exit code 5 when the job had already finished.

${COMMON_HELP}`;

export const RESCHEDULE_HELP = `Usage: godelayq reschedule <store> <id> (--at <ISO time> | --in <duration>) [--json]

Moves a scheduled job (for a schedule: its next run) to a new time.

${COMMON_HELP}`;

type Kind = 'retry' | 'cancel' | 'reschedule';
const HELP: Record<Kind, string> = { retry: RETRY_HELP, cancel: CANCEL_HELP, reschedule: RESCHEDULE_HELP };

export async function changeCommand(kind: Kind, argv: readonly string[]): Promise<void> {
  const parsed = parse(kind, argv, kind === 'cancel' ? STORE_OPTIONS : { ...STORE_OPTIONS, at: { type: 'string' }, in: { type: 'string' } });
  if (parsed.values.help) return out(HELP[kind]);
  const [store, id] = positionals(kind, parsed, ['store', 'id']) as [string, string];
  const target = parseTarget(store, parsed.values);
  // Check the arguments before opening (and locking) anything.
  parseWhen(parsed.values, Date.now());
  if (kind === 'reschedule' && parsed.values.at === undefined && parsed.values.in === undefined) {
    throw new UsageError('reschedule: expected `--at <ISO time>` or `--in <duration>`, got neither');
  }
  const storeHandle = await openWriter(target);
  try {
    const job = await apply(kind, storeHandle, id, parsed.values);
    if (parsed.values.json) return printJson({ job: jobJson(job) });
    const verb = kind === 'retry' ? 'retried' : kind === 'cancel' ? 'cancelled' : 'rescheduled';
    out(`${verb} ${job.id} (${job.name}): ${job.state}${job.state === 'scheduled' ? `, due ${time(job.runAt)}` : ''}\n`);
  } finally {
    await storeHandle.close();
  }
}

async function apply(kind: Kind, store: Store, id: string, values: Record<string, string | boolean | undefined>): Promise<JobRecord> {
  // Times in the store's frame: a RedisStore or PostgresStore answers with its server's clock.
  const now = store.now?.() ?? Date.now();
  const when = parseWhen(values, now);
  if (kind === 'retry') return store.revive(id, when ?? now);
  if (kind === 'reschedule') return store.reschedule(id, when as number);
  const cancelled = await store.cancel(id, now);
  if (cancelled) return cancelled;
  const job = await store.get(id);
  if (!job) throw new JobNotFoundError(id);
  throw new CliError(`Expected job \`${id}\` to be scheduled or running, got state '${job.state}'`, EXIT.conflict);
}
