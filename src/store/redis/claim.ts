/**
 * RedisStore's claims: rounds of the CLAIM script (claim-script.ts) until the
 * request is filled, capacity asked for names the script reports as new,
 * and the jobs of a reply that came too late given back unstarted.
 */
import type { ClaimRequest, ClaimResult, JobRecord } from '../store.js';
import { CLAIM } from './claim-script.js';
import { decodeRecord, toMap, type RawHash } from './codec.js';
import type { Reply, StoreCore } from './host.js';
import { pauseFromFields } from './pause.js';
import { RELEASE } from './scripts.js';

/** Jobs moved from the due set to ready sets per claim (bounds one script's run time). */
const PROMOTE_MAX = 1000;
/** Tokens (so jobs) per claim script; a claim with a bigger limit runs several. */
const TOKENS_PER_CLAIM = 256;
const MAX_CLAIM_ROUNDS = 64;
/** Up to this many known job names, every claim carries all their capacities. */
const MAX_KNOWN_NAMES = 200;

/** The rate-limit arguments of a CLAIM script call (see scripts.ts). */
function rateArgs(request: ClaimRequest, names: Iterable<string>): (string | number)[] {
  const g = request.globalRateLimit;
  const out: (string | number)[] = g === undefined ? ['', '', 0] : [g.max, g.durationMs, 0];
  if (request.rateLimit) {
    for (const name of names) {
      const limit = request.rateLimit(name);
      if (limit !== undefined) out.push(name, limit.max, limit.durationMs);
    }
    out[2] = (out.length - 3) / 3;
  }
  return out;
}

/** Claims what is due at `request.now` (see RedisStore.claim). */
export async function claim(host: StoreCore, request: ClaimRequest): Promise<ClaimResult> {
  const jobs: JobRecord[] = [];
  const waiting = new Set<string>();
  const caps = new Map<string, number>();
  const taken = new Map<string, number>();
  for (const name of host.view.readyNames) host.knownNames.add(name);
  for (const name of host.knownNames.size <= MAX_KNOWN_NAMES ? host.knownNames : host.view.readyNames) caps.set(name, request.capacity(name));
  const bound = String(request.now);
  host.view.lastClaimNow = request.now;
  let retryAt: number | undefined;
  for (let round = 0; round < MAX_CLAIM_ROUNDS && jobs.length < request.limit; round++) {
    const k = Math.min(request.limit - jobs.length, TOKENS_PER_CLAIM);
    const args: (string | number)[] = [bound, PROMOTE_MAX, k];
    for (let i = 0; i < k; i++) args.push(request.token());
    args.push(...rateArgs(request, caps.keys()));
    for (const [name, cap] of caps) args.push(name, Math.max(0, cap - (taken.get(name) ?? 0)));
    const sentAt = host.leases.now();
    let reply: Reply;
    try {
      reply = await host.exec(CLAIM, args, (late) => giveBack(host, late));
    } catch (error) {
      // The jobs of earlier rounds run under leases this process renews:
      // hand them out, or nobody would start them. The next claim (or the
      // scheduler's retry after it fails) takes the rest.
      if (jobs.length === 0) throw error;
      break;
    }
    if (reply[0] === 'PAUSED') {
      // Paused everywhere (a notice this process missed, or one on its way): nothing was claimed.
      host.learnPause(pauseFromFields('1', String(reply[5])));
      break;
    }
    const claimed = reply[1] as RawHash[];
    for (const raw of claimed) {
      const fields = toMap(raw);
      const record = decodeRecord(fields);
      if (!record || record.token === undefined) continue;
      jobs.push(record);
      host.leases.add(record.id, record.token, record.seq, sentAt, { fields, payload: record.payload });
      taken.set(record.name, (taken.get(record.name) ?? 0) + 1);
    }
    for (const name of reply[2] as string[]) waiting.add(name);
    if (reply[4] !== '') retryAt = Math.min(retryAt ?? Infinity, Number(reply[4]));
    const unknown = reply[3] as string[];
    for (const name of unknown) {
      caps.set(name, request.capacity(name));
      host.knownNames.add(name);
    }
    // Another round only for names just seen, or when the tokens ran out.
    if (unknown.length === 0 && claimed.length < k) break;
  }
  // Whatever is still ready could not be taken now (no capacity here, per
  // name or in total); it matters again only when capacity frees up, and
  // the scheduler claims then. Until that, it must not make nextDueAt "now".
  host.view.blocked = new Set(host.view.readyNames);
  host.view.blockedGroups = host.view.freeGroups;
  return retryAt === undefined ? { jobs, waiting: [...waiting] } : { jobs, waiting: [...waiting], retryAt };
}

/** A claim reply that came after its deadline: nobody runs those jobs, give them back unstarted. */
export function giveBack(host: StoreCore, reply: Reply): void {
  const pairs: string[] = [];
  for (const raw of (reply[1] as RawHash[] | undefined) ?? []) {
    const record = decodeRecord(raw);
    if (record?.token !== undefined) pairs.push(record.id, record.token);
  }
  if (pairs.length > 0 && host.isOpen()) void host.exec(RELEASE, ['unstarted', ...pairs]).catch(() => undefined);
}
