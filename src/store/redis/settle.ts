/**
 * RedisStore's settles, as the batcher sends them: many outcomes in one
 * SETTLE script (scripts.ts); an outcome no longer ours is reported lost
 * once.
 */
import { StorePersistError } from '../../errors.js';
import type { JobRecord, LostReason } from '../store.js';
import type { ItemOutcome } from './batcher.js';
import type { StoreCore } from './host.js';
import { SETTLE } from './scripts.js';

/** The reasons the scripts (and `P:lost`) give for an attempt no longer ours. */
export const LOST_REASONS: ReadonlySet<string> = new Set(['cancelled', 'replaced', 'lease', 'lock']);

/** One outcome waiting in the settle batch. */
export interface SettleItem {
  id: string;
  token: string;
  seq: number;
  /** An earlier send of this outcome had no answer: if it got through, this one answers OK. */
  retry: boolean;
  /** 'F': `values` are the whole record's fields; 'D': field/value changes against the record as claimed. */
  mode: 'F' | 'D';
  values: string[];
  /** Per-job retention of a completed or dead outcome (see RETIRE in scripts.ts), '' otherwise. */
  removal: string;
}

export /** The SETTLE retention argument of outcome `next`: `<c|d>|<finishedAt>|<at>|<count>`, '' when it does not finish the job. */
function removalArg(next: JobRecord): string {
  if (next.state !== 'completed' && next.state !== 'dead') return '';
  const r = next.removal;
  return `${next.state === 'dead' ? 'd' : 'c'}|${next.finishedAt ?? ''}|${r?.at ?? ''}|${r?.count ?? ''}`;
}

export async function flushSettles(host: StoreCore, items: SettleItem[]): Promise<ItemOutcome<boolean>[]> {
  const args: (string | number)[] = [items.length];
  for (const item of items) args.push(item.id, item.token, item.seq, item.retry ? '1' : '', item.mode, item.values.length, item.removal, ...item.values);
  const reply = await host.exec(SETTLE, args);
  return (reply[1] as [string, string?][]).map((r, i): ItemOutcome<boolean> => {
    const item = items[i] as SettleItem;
    if (r[0] === 'OK') return { ok: true, value: true };
    if (r[0] === 'BROKEN') {
      return { ok: false, error: new StorePersistError(`Expected key ${JSON.stringify(host.keys.job(item.id))} to hold a hash for \`settle\`, got a ${String(r[1])} (written by another program?); nothing was changed`) };
    }
    // Not ours any more: say so (once), so a late outcome is never silently dropped.
    const reason = (LOST_REASONS.has(String(r[1])) ? r[1] : 'lease') as LostReason;
    if (host.leases.held.get(item.id)?.token === item.token) host.leases.lose(item.id, item.token, reason);
    else host.notifyLost(item.id, item.token, reason);
    return { ok: true, value: false };
  });
}
