/**
 * PostgresStore's settles, as the batcher sends them: one `<schema>.settle`
 * for many outcomes, or `<schema>.settle_claim` that also claims ahead for
 * the slots they free (claim.ts, ahead.ts); an outcome no longer ours is
 * reported lost once.
 */
import type { ItemOutcome } from '../redis/batcher.js';
import type { JobRecord, LostReason } from '../store.js';
import { PROMOTE_MAX, aheadClaim, giveBack, type ClaimHost } from './claim.js';
import { Columns, arrayLiteral, decodeRow, type EncodedRow, type JobRow } from './codec.js';
import type { PauseReply } from './control.js';

/** The reasons `<schema>.settle` (and a NOTIFY) gives for an attempt no longer ours. */
export const LOST_REASONS: ReadonlySet<string> = new Set(['cancelled', 'replaced', 'lease', 'lock']);

/** One outcome waiting in the settle batch. */
export interface SettleItem {
  id: string;
  name: string;
  token: string;
  seq: number;
  again: boolean;
  /** The outcome's record, encoded (payload left out when unchanged). */
  row: EncodedRow;
}

/** What settling needs from its PostgresStore (beyond claiming ahead). */
export interface SettleHost extends ClaimHost {
  keepCompleted(): number;
  keepDead(): number;
  /** Tells the attempt with `token` that job `id` is no longer its own (once). */
  notifyLost(id: string, token: string, reason: LostReason): void;
}

export async function flushSettles(host: SettleHost, items: SettleItem[]): Promise<ItemOutcome<boolean>[]> {
  const cols = new Columns(Infinity);
  for (const item of items) cols.addRow(item.row);
  const arrays = [
    items.map((i) => i.id), items.map((i) => i.token), items.map((i) => i.seq), items.map((i) => i.again), cols.state, cols.runAt, cols.attempt,
    cols.payload, cols.retry, cols.timeout, cols.lastError, cols.result, cols.finished, cols.recur, cols.signature, cols.lost, cols.relative,
    cols.extra, cols.rmAt, cols.rmCount,
  ];
  const params: unknown[] = [...arrays.map(arrayLiteral), host.keepCompleted(), host.keepDead()];
  const ahead = aheadClaim(host, items);
  type Reply = { r: string[]; jobs?: JobRow[]; pause?: PauseReply };
  let reply: Reply;
  if (ahead) {
    const sentAt = host.leases.now();
    try {
      reply = await host.call<Reply>('settleClaim', [...params, arrayLiteral(ahead.tokens), arrayLiteral(ahead.names), arrayLiteral(ahead.caps), host.options.leaseMs, PROMOTE_MAX], {
        late: (late) => giveBack(host, late.jobs),
      });
    } catch (error) {
      // The outcome is unknown: if the statement committed, its claimed jobs were never started.
      if (host.isOpen()) void host.call('giveBack', [ahead.tokens]).catch(() => undefined);
      throw error;
    }
    host.control.learn(reply.pause);
    const records: JobRecord[] = [];
    for (const row of reply.jobs ?? []) {
      const record = decodeRow(row);
      if (record.token === undefined) continue;
      records.push(record);
      host.leases.add(record.id, record.token, record.seq, sentAt, { fields: {}, payload: record.payload });
    }
    host.ahead.add(records);
  } else reply = await host.call<Reply>('settle', params);
  return reply.r.map((r, i): ItemOutcome<boolean> => {
    const item = items[i] as SettleItem;
    if (r === 'OK') return { ok: true, value: true };
    // Not ours any more: say so (once), so a late outcome is never silently dropped.
    const reason = (LOST_REASONS.has(r) ? r : 'lease') as LostReason;
    if (host.leases.held.get(item.id)?.token === item.token) host.leases.lose(item.id, item.token, reason);
    else host.notifyLost(item.id, item.token, reason);
    return { ok: true, value: false };
  });
}
